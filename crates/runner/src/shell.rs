//! The 0.2 shell model (docs/compatibility.md, "0.2: variables and working directory"): every command item runs in its own
//! shell process, which first restores the variables and working directory the
//! previous item left, and saves them again when it ends normally. An item that
//! calls `exit` skips the save, as in CodeBuild.

use std::fmt::Write;

use pipelocal_model::buildspec::{is_shell_name, BuildspecVersion};

/// Where the state files live inside the build environment.
#[derive(Debug, Clone)]
pub struct StateFiles {
    /// Variables as `export NAME='value'` lines, sourced by each command.
    pub env: String,
    /// The working directory to start the next command in.
    pub cwd: String,
    /// `$0` of each command's shell: CodeBuild reports errors from this file name.
    pub script_name: String,
    /// Secret variables: given to each command's process environment, and
    /// unset before the variables are saved, so no file ever holds them.
    pub secret_env: Vec<(String, String)>,
    /// Sourced first by every 0.2 command item: restores variables and directory.
    pub restore: String,
    /// Sourced last by every 0.2 command item: saves them, then exits with `$1`.
    pub save: String,
}

impl StateFiles {
    pub fn under(dir: &str) -> Self {
        StateFiles {
            env: format!("{dir}/env.sh"),
            cwd: format!("{dir}/cwd"),
            script_name: format!("{dir}/script.sh"),
            secret_env: Vec::new(),
            restore: format!("{dir}/restore.sh"),
            save: format!("{dir}/save.sh"),
        }
    }

    pub fn with_secrets(mut self, secret_env: Vec<(String, String)>) -> Self {
        self.secret_env = secret_env;
        self
    }
}

/// Quotes a value for a POSIX shell: single quotes, with `'` written as `'\''`.
pub fn quote(value: &str) -> String {
    format!("'{}'", value.replace('\'', "'\\''"))
}

/// The initial env file: every build variable, exported.
pub fn env_file(vars: &[(String, String)]) -> String {
    let mut out = String::new();
    // Other names cannot be shell variables (and must never be shell code).
    for (name, value) in vars.iter().filter(|(n, _)| is_shell_name(n)) {
        let _ = writeln!(out, "export {name}={}", quote(value));
    }
    out
}

/// The two scripts every 0.2 command item sources, as (path, contents),
/// written once per build: kept out of each item's script, which the
/// container's command loop reads a byte at a time. Restoring uses
/// builtins only (the command may change PATH); saving unsets the secret
/// variables first, so no file ever holds them.
pub fn state_scripts(state: &StateFiles) -> [(String, String); 2] {
    let env = quote(&state.env);
    let cwd = quote(&state.cwd);
    let names: Vec<&str> = state
        .secret_env
        .iter()
        .map(|(n, _)| n.as_str())
        .filter(|n| is_shell_name(n))
        .collect();
    let unset = if names.is_empty() {
        String::new()
    } else {
        format!(" unset {};", names.join(" "))
    };
    [
        (
            state.restore.clone(),
            format!(
                "[ -r {env} ] && . {env}; if [ -r {cwd} ]; then read -r __pipelocal_cwd < {cwd}; cd \"$__pipelocal_cwd\" 2>/dev/null; unset __pipelocal_cwd; fi\n"
            ),
        ),
        (
            state.save.clone(),
            format!("set +a;{unset} export -p > {env}; pwd > {cwd}; exit $1\n"),
        ),
    ]
}

/// The script one command item runs as. The user's command starts on line 4,
/// as CodeBuild's `script.sh` puts it, so shell errors name the same line.
pub fn command_script(
    command: &str,
    state: &StateFiles,
    version: BuildspecVersion,
    succeeding: bool,
) -> String {
    let mut s = String::new();
    // Line 1: restore variables and directory ([`state_scripts`]).
    let _ = writeln!(s, ". {}", quote(&state.restore));
    // Line 2: the build's success so far.
    let _ = writeln!(
        s,
        "export CODEBUILD_BUILD_SUCCEEDING={}",
        u8::from(succeeding)
    );
    match version {
        // Line 3: assignments made by the command are carried to later commands.
        BuildspecVersion::V0_2 => {
            let _ = writeln!(s, "set -a");
            s.push_str(command);
            if !command.ends_with('\n') {
                s.push('\n');
            }
            let _ = writeln!(s, "set -- $?; . {}", quote(&state.save));
        }
        // 0.1: nothing is saved, so every command starts from the initial state.
        BuildspecVersion::V0_1 => {
            let _ = writeln!(s, ":");
            s.push_str(command);
            s.push('\n');
        }
    }
    s
}

/// A POSIX sh script writing `files` (with their folders and modes), when
/// every file is text a shell can hold (no NUL byte): the contents are
/// single-quoted literals, so nothing in them expands.
pub fn write_files_script(files: &[crate::executor::NewFile<'_>]) -> Option<String> {
    let mut script = String::from("set -e\n");
    for file in files {
        let text = std::str::from_utf8(file.contents).ok()?;
        if text.contains('\0') {
            return None;
        }
        let path = quote(file.path);
        if let Some((parent, _)) = file.path.rsplit_once('/') {
            if !parent.is_empty() {
                script.push_str(&format!("mkdir -p {}\n", quote(parent)));
            }
        }
        script.push_str(&format!(
            "printf '%s' {} > {path}\nchmod {:o} {path}\n",
            quote(text),
            file.mode
        ));
    }
    Some(script)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_survives_single_quotes() {
        assert_eq!(quote("it's"), "'it'\\''s'");
        assert_eq!(env_file(&[("A".into(), "$B".into())]), "export A='$B'\n");
    }

    #[test]
    fn the_command_is_on_line_four() {
        let s = command_script(
            "false",
            &StateFiles::under("/t"),
            BuildspecVersion::V0_2,
            true,
        );
        assert_eq!(s.lines().next(), Some(". '/t/restore.sh'"));
        assert_eq!(s.lines().nth(3), Some("false"));
        assert_eq!(s.lines().last(), Some("set -- $?; . '/t/save.sh'"));
        let s = command_script(
            "false",
            &StateFiles::under("/t"),
            BuildspecVersion::V0_1,
            true,
        );
        assert_eq!(s.lines().nth(3), Some("false"));
        assert!(!s.contains("save.sh"));
        // The status is kept in $1, not in a variable the next command would see.
        let [_, (_, save)] = state_scripts(&StateFiles::under("/t"));
        assert!(!save.contains("__pipelocal_rc"));
        assert!(save.ends_with("exit $1\n"), "{save}");
        let state = StateFiles::under("/t").with_secrets(vec![("TOKEN".into(), "x".into())]);
        let [(_, restore), (_, save)] = state_scripts(&state);
        assert!(save.contains("unset TOKEN; export -p"), "{save}");
        assert!(
            restore.starts_with("[ -r '/t/env.sh' ] && . '/t/env.sh';"),
            "{restore}"
        );
    }

    #[test]
    fn text_files_become_a_script_and_binary_ones_do_not() {
        let files = [crate::executor::NewFile {
            path: "/t/bin/a b",
            contents: b"it's $HOME\n",
            mode: 0o755,
        }];
        let script = write_files_script(&files).unwrap();
        assert!(script.contains("mkdir -p '/t/bin'"), "{script}");
        assert!(
            script.contains("printf '%s' 'it'\\''s $HOME\n' > '/t/bin/a b'"),
            "{script}"
        );
        assert!(script.contains("chmod 755 '/t/bin/a b'"));
        let binary = [crate::executor::NewFile {
            path: "/t/x",
            contents: &[0, 1, 2],
            mode: 0o644,
        }];
        assert_eq!(write_files_script(&binary), None);
    }
}
