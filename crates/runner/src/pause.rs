//! Pausing a build for debugging (docs/debugging.md): `codebuild-breakpoint`
//! with a debug session (CodeBuild's `debugSessionEnabled`), and pipelocal's
//! own pauses, `--break-on-failure` and `--break-before PHASE`. Every pause is
//! one command of the build that blocks until `codebuild-resume` (the
//! `codebuild-breakpoint` helper), so the command loop, the phase machine and
//! the timeout need nothing special; the shell opened at a pause starts from
//! the state that command saved.

use std::path::{Path, PathBuf};

use pipelocal_model::buildspec::is_shell_name;

use crate::phases::PhaseType;
use crate::shell::quote;

/// What the user asked to pause at.
#[derive(Debug, Clone, Default)]
pub struct DebugOptions {
    /// `--debug-session`: `codebuild-breakpoint` pauses.
    pub session: bool,
    /// `--break-on-failure`: a failed command pauses before the phase transition.
    pub break_on_failure: bool,
    /// `--break-before PHASE`.
    pub break_before: Vec<PhaseType>,
    /// `--keep`: the build environment stays after the build for `pipelocal shell`.
    pub keep: bool,
}

/// `--resume BUILD-ID --from-phase PHASE`: a build that goes on in a kept
/// build's environment, with its shell state, from a phase.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resume {
    pub from_build: String,
    pub from_phase: PhaseType,
}

/// Why a build paused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PauseReason {
    Breakpoint,
    Failure { command: String, exit_code: i64 },
    BeforePhase(PhaseType),
}

impl PauseReason {
    /// The argument `codebuild-breakpoint` is given for it.
    fn word(&self) -> String {
        match self {
            PauseReason::Breakpoint => "codebuild-breakpoint".into(),
            PauseReason::Failure { .. } => "failure".into(),
            PauseReason::BeforePhase(p) => format!("before-{}", p.as_str()),
        }
    }

    /// One line for the log.
    pub fn describe(&self) -> String {
        match self {
            PauseReason::Breakpoint => "at codebuild-breakpoint".into(),
            PauseReason::Failure { command, exit_code } => {
                format!("after the failure of `{command}` (exit status {exit_code})")
            }
            PauseReason::BeforePhase(p) => format!("before phase {}", p.as_str()),
        }
    }
}

/// The line `codebuild-breakpoint` prints when it pauses.
pub(crate) fn sentinel(word: &str) -> String {
    format!("pipelocal-paused: {word}")
}

/// Watches a command's output for the line `codebuild-breakpoint` prints
/// when it pauses for a reason.
pub(crate) struct Watch {
    line: String,
    partial: String,
}

impl Watch {
    pub(crate) fn new(reason: &PauseReason) -> Self {
        Watch {
            line: sentinel(&reason.word()),
            partial: String::new(),
        }
    }

    /// Feeds output; whether the pause line has just been completed.
    pub(crate) fn push(&mut self, text: &str) -> bool {
        let mut seen = false;
        for piece in text.split_inclusive('\n') {
            if self.partial.len() < 256 {
                self.partial.push_str(piece);
            }
            if piece.ends_with('\n') {
                seen |= self.partial.trim_end_matches(['\n', '\r']) == self.line;
                self.partial.clear();
            }
        }
        seen
    }
}

/// The folder of pause files inside the build environment.
pub fn pause_dir(state_dir: &str) -> String {
    format!("{state_dir}/pause")
}

/// The variables every build gets for its debugging helpers.
pub(crate) fn variables(
    state_dir: &str,
    options: &DebugOptions,
    secret_names: &[&str],
) -> Vec<(String, String)> {
    vec![
        ("PIPELOCAL_PAUSE_DIR".into(), pause_dir(state_dir)),
        (
            "PIPELOCAL_DEBUG_SESSION".into(),
            if options.session { "1" } else { "0" }.into(),
        ),
        (
            "PIPELOCAL_SECRET_NAMES".into(),
            secret_names
                .iter()
                .filter(|n| is_shell_name(n))
                .copied()
                .collect::<Vec<_>>()
                .join(" "),
        ),
    ]
}

/// The command item that pauses the build for `reason` (pipelocal's own
/// pauses: they need no debug session).
pub(crate) fn pause_command(reason: &PauseReason) -> String {
    format!(
        "PIPELOCAL_DEBUG_SESSION=1 codebuild-breakpoint {}",
        reason.word()
    )
}

/// The script `pipelocal-rerun` (an alias of the pause's shell) runs: the
/// failed command again, as the build runs it (`script` from
/// `command_script`); on success the build goes on as if it had succeeded.
pub(crate) fn rerun_script(
    shell: &str,
    script: &str,
    script_name: &str,
    pause_dir: &str,
) -> String {
    let d = quote(pause_dir);
    format!(
        "if {shell} -c {} {}; then
  touch {d}/rerun-ok {d}/resume
  echo 'pipelocal: the command succeeded: the build goes on'
else
  echo \"pipelocal: the command failed again (exit status $?)\"
  exit 1
fi
",
        quote(script),
        quote(script_name)
    )
}

/// Where a paused or kept build's shell opens: enough to reach it from
/// another pipelocal process (`pipelocal shell BUILD-ID`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ShellTarget {
    pub build_id: String,
    /// The container, for the Docker executor; `None` on the host.
    pub container: Option<String>,
    /// The user commands run as (`run-as`), if not root.
    pub user: Option<String>,
    /// `sh` or `bash`.
    pub shell: String,
    /// The shell state files of the build (`env.sh`, `cwd`) and the pause folder.
    pub env_file: String,
    pub cwd_file: String,
    pub pause_dir: String,
    /// Whether the build is paused (not only kept).
    pub paused: bool,
    /// The host executor's build folder, removed by `pipelocal clean`.
    #[serde(default)]
    pub folder: Option<String>,
    /// Where the sources are: a resumed build goes on with the same paths.
    #[serde(default)]
    pub workspace: Option<crate::executor::Workspace>,
    /// Secret variables for a shell opened by the build's own process; never
    /// written anywhere, so a shell from another process goes without them.
    #[serde(skip)]
    pub secrets: Vec<(String, String)>,
}

impl ShellTarget {
    /// The script the interactive shell is started by: the state of the
    /// pause (or, when kept, the build's last state), a greeting, then the
    /// shell; with `resume_on_exit`, leaving it resumes the build.
    pub fn script(&self, resume_on_exit: bool) -> String {
        let d = quote(&self.pause_dir);
        let (env, cwd) = (quote(&self.env_file), quote(&self.cwd_file));
        let shell = if self.shell.contains("bash") {
            "bash"
        } else {
            "sh"
        };
        let greeting = if self.paused {
            let leave = if resume_on_exit {
                "leaving this shell (exit) or `codebuild-resume` lets it go on"
            } else {
                "`codebuild-resume` lets it go on; leaving this shell (exit) keeps it paused"
            };
            format!(
                "pipelocal: build {} is paused ({{reason}}); {leave}.\n\
                 pipelocal: after a failure, `pipelocal-rerun` runs the failed command again here; when it succeeds the build goes on as if it had.",
                self.build_id
            )
        } else {
            format!(
                "pipelocal: build {} has ended; this is its container (or folder) as it left it. `exit` leaves.",
                self.build_id
            )
        };
        let mut s = format!(
            "if [ -r {d}/env.sh ]; then . {d}/env.sh; elif [ -r {env} ]; then . {env}; fi\n\
             if [ -r {d}/cwd ]; then read -r __pl_cwd < {d}/cwd; elif [ -r {cwd} ]; then read -r __pl_cwd < {cwd}; fi\n\
             cd \"${{__pl_cwd:-/}}\" 2>/dev/null; unset __pl_cwd\n\
             __pl_reason=$(cat {d}/reason 2>/dev/null)\n\
             printf '%s\\n' {}\n\
             unset __pl_reason\n\
             __pl_rc=$(mktemp 2>/dev/null || echo /tmp/pipelocal-shell-rc.$$)\n\
             cat > \"$__pl_rc\" <<'__PL_RC'\n\
             alias codebuild-resume='command codebuild-resume && exit 0'\n\
             alias pipelocal-rerun='sh \"$PIPELOCAL_PAUSE_DIR/rerun.sh\" && exit 0'\n\
             PS1='pipelocal:{}$ '\n\
             __PL_RC\n\
             {}\n\
             rm -f \"$__pl_rc\"\n",
            // The reason is the only part the shell fills in: nothing else may expand.
            quote(&greeting).replace("{reason}", "'\"$__pl_reason\"'"),
            self.build_id.replace('\'', ""),
            // Aliases let `codebuild-resume` close the shell it is typed in.
            if shell == "bash" {
                "bash --rcfile \"$__pl_rc\" -i"
            } else {
                "ENV=\"$__pl_rc\" sh -i"
            }
        );
        if resume_on_exit && self.paused {
            s.push_str(&format!("[ -e {d}/reason ] && touch {d}/resume\n"));
        }
        s.push_str("exit 0\n");
        s
    }

    /// Where the target of `build_id` is kept in a state folder.
    pub fn file(state_dir: &Path, build_id: &str) -> PathBuf {
        let safe = pipelocal_model::file_name::path_component(build_id);
        state_dir.join("shells").join(format!("{safe}.json"))
    }

    /// Writes the target for `pipelocal shell` (temp file and rename).
    pub fn save(&self, state_dir: &Path) -> std::io::Result<PathBuf> {
        let path = Self::file(state_dir, &self.build_id);
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let tmp = path.with_extension(format!("tmp{}", std::process::id()));
        std::fs::write(
            &tmp,
            serde_json::to_vec_pretty(self).map_err(std::io::Error::other)?,
        )?;
        std::fs::rename(&tmp, &path)?;
        Ok(path)
    }

    /// The target of `build_id`, if one is saved.
    pub fn load(state_dir: &Path, build_id: &str) -> Result<Option<Self>, String> {
        let path = Self::file(state_dir, build_id);
        match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map(Some)
                .map_err(|e| format!("{}: {e}", path.display())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(format!("{}: {e}", path.display())),
        }
    }

    /// Every saved target, for listing.
    pub fn list(state_dir: &Path) -> Vec<Self> {
        let Ok(entries) = std::fs::read_dir(state_dir.join("shells")) else {
            return Vec::new();
        };
        let mut out: Vec<Self> = entries
            .filter_map(Result::ok)
            .filter(|e| e.path().extension().is_some_and(|x| x == "json"))
            .filter_map(|e| std::fs::read(e.path()).ok())
            .filter_map(|b| serde_json::from_slice(&b).ok())
            .collect();
        out.sort_by(|a: &Self, b: &Self| a.build_id.cmp(&b.build_id));
        out
    }

    /// Forgets the target (the build resumed or ended).
    pub fn remove(state_dir: &Path, build_id: &str) {
        let _ = std::fs::remove_file(Self::file(state_dir, build_id));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pause_commands_name_their_reason() {
        assert_eq!(
            pause_command(&PauseReason::BeforePhase(PhaseType::Build)),
            "PIPELOCAL_DEBUG_SESSION=1 codebuild-breakpoint before-BUILD"
        );
        let mut w = Watch::new(&PauseReason::Breakpoint);
        assert!(!w.push("x\npipelocal-paused: codebreak"));
        assert!(!w.push("pipelocal-paused: codebuild-breakpoint\n"));
        assert!(w.push("pipelocal-paused: codebuild-breakpoint\n"));
        let mut w = Watch::new(&PauseReason::BeforePhase(PhaseType::Build));
        assert!(w.push("pipelocal-paused: before-BUILD\n"));
    }

    #[test]
    fn targets_round_trip_through_the_state_folder() {
        let dir = tempfile::tempdir().unwrap();
        let t = ShellTarget {
            build_id: "p:1234".into(),
            container: Some("abc".into()),
            user: None,
            shell: "sh".into(),
            env_file: "/t/env.sh".into(),
            cwd_file: "/t/cwd".into(),
            pause_dir: "/t/pause".into(),
            paused: true,
            folder: None,
            workspace: None,
            secrets: Vec::new(),
        };
        t.save(dir.path()).unwrap();
        assert_eq!(
            ShellTarget::load(dir.path(), "p:1234").unwrap(),
            Some(t.clone())
        );
        assert_eq!(ShellTarget::list(dir.path()), vec![t]);
        ShellTarget::remove(dir.path(), "p:1234");
        assert_eq!(ShellTarget::load(dir.path(), "p:1234").unwrap(), None);
    }
}
