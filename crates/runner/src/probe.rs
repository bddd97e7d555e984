//! Asks the build's own shell for values: expansions of buildspec strings
//! (`base-directory`, file patterns) and variables, in the state the commands
//! left. Nothing here is logged as a command.

use pipelocal_model::buildspec::{Buildspec, BuildspecVersion};

use crate::executor::{CommandRun, ExecError, Executor};
use crate::shell::{quote, StateFiles};

/// The shell commands run in: `env.shell` (0.2), else `/bin/sh`.
pub(crate) fn build_shell(spec: &Buildspec) -> &str {
    match spec.env.shell.as_deref() {
        Some("bash" | "/bin/bash") => "bash",
        Some(other) if spec.version == BuildspecVersion::V0_2 => other,
        _ => "/bin/sh",
    }
}

/// `text` inside double quotes: variables and `$(...)` expand, globs do not.
pub(crate) fn double_quoted(text: &str) -> String {
    format!("\"{}\"", text.replace('\\', "\\\\").replace('"', "\\\""))
}

/// Runs `body` after restoring the build's variables, in `cwd`, and returns
/// the NUL-separated values it prints with `printf '%s\0'`.
pub(crate) async fn shell_values(
    executor: &Executor,
    spec: &Buildspec,
    state: &StateFiles,
    cwd: &str,
    body: &str,
) -> Result<Vec<String>, ExecError> {
    let script = format!(
        ". {}\ncd {} || exit 1\n{body}\n",
        quote(&state.env),
        quote(cwd)
    );
    let run = CommandRun {
        shell: build_shell(spec),
        script: &script,
        script_name: &state.script_name,
        user: None,
        env: &state.secret_env,
    };
    let mut text = String::new();
    let mut collect = |chunk: &str| text.push_str(chunk);
    executor.run(&run, &mut collect).await?;
    let mut values: Vec<String> = text.split('\0').map(String::from).collect();
    values.pop();
    Ok(values)
}
