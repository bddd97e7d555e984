//! Starting a process in a container with its standard input and output
//! attached (bollard's exec with `detach: false`): the command loops of
//! `run-as` users, `tar -x` fed with the sources, and a debugging shell.

use std::pin::Pin;

use bollard::container::LogOutput;
use bollard::exec::{CreateExecOptions, StartExecOptions, StartExecResults};
use bollard::Docker;
use futures_util::Stream;
use tokio::io::AsyncWrite;

use super::ExecError;

/// A started exec: its id (for its exit code), what it prints, its stdin.
pub(super) struct AttachedExec {
    pub id: String,
    pub output: Pin<Box<dyn Stream<Item = Result<LogOutput, bollard::errors::Error>> + Send>>,
    pub input: Pin<Box<dyn AsyncWrite + Send>>,
}

/// Runs `cmd` as `user` in `container` with stdin, stdout and stderr
/// attached; `tty` gives it a terminal. `doing` names the step in errors.
pub(super) async fn start(
    docker: &Docker,
    container: &str,
    cmd: Vec<&str>,
    user: &str,
    env: Vec<&str>,
    tty: bool,
    doing: &'static str,
) -> Result<AttachedExec, ExecError> {
    let failed = |source| ExecError::Docker { doing, source };
    let exec = docker
        .create_exec(
            container,
            CreateExecOptions {
                cmd: Some(cmd),
                env: (!env.is_empty()).then_some(env),
                attach_stdin: Some(true),
                attach_stdout: Some(true),
                attach_stderr: Some(true),
                tty: Some(tty),
                user: Some(user),
                ..Default::default()
            },
        )
        .await
        .map_err(failed)?;
    let started = docker
        .start_exec(
            &exec.id,
            Some(StartExecOptions {
                detach: false,
                tty,
                output_capacity: None,
            }),
        )
        .await
        .map_err(failed)?;
    match started {
        StartExecResults::Attached { output, input } => Ok(AttachedExec {
            id: exec.id,
            output,
            input,
        }),
        StartExecResults::Detached => Err(ExecError::io(
            doing,
            std::io::Error::other("the engine did not attach to it"),
        )),
    }
}
