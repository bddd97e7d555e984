//! An interactive shell in a paused or kept build: a `docker exec` with a
//! terminal whose input and output the caller pumps (bollard's attach), or,
//! on the host executor, the host's shell on the caller's own terminal.

use bollard::container::LogOutput;
use bollard::exec::ResizeExecOptions;
use futures_util::StreamExt;
use tokio::io::{AsyncWrite, AsyncWriteExt};

use super::ExecError;
use crate::pause::ShellTarget;

/// The caller's terminal, for a shell in a container.
pub struct Terminal<'a> {
    /// What the user types, as it arrives; closed at end of input.
    pub input: &'a mut tokio::sync::mpsc::UnboundedReceiver<Vec<u8>>,
    pub output: &'a mut (dyn AsyncWrite + Unpin + Send),
    /// Columns and rows.
    pub size: Option<(u16, u16)>,
}

/// Runs the shell until it is left; returns its exit status. A container
/// shell needs `terminal`; a host shell uses the process's own stdio.
pub async fn open_shell(
    target: &ShellTarget,
    resume_on_exit: bool,
    terminal: Option<Terminal<'_>>,
) -> Result<i64, ExecError> {
    let script = target.script(resume_on_exit);
    match (&target.container, terminal) {
        (Some(container), Some(terminal)) => {
            let user = target.user.as_deref().unwrap_or("0");
            in_container(container, user, &target.secrets, &script, terminal).await
        }
        (Some(_), None) => Err(ExecError::io(
            "opening a shell in the build container",
            std::io::Error::other("no terminal: run `pipelocal shell` from a terminal"),
        )),
        (None, _) => {
            let secrets = target.secrets.clone();
            tokio::task::spawn_blocking(move || {
                std::process::Command::new("/bin/sh")
                    .arg("-c")
                    .arg(&script)
                    .envs(secrets)
                    .status()
            })
            .await
            .map_err(|e| ExecError::io("opening a shell", std::io::Error::other(e)))?
            .map(|s| i64::from(s.code().unwrap_or(1)))
            .map_err(|e| ExecError::io("opening a shell", e))
        }
    }
}

/// Opens a login shell in a deploy container (a CodeDeploy instance, an ECS
/// task's container) on the terminal; returns its exit status.
pub async fn open_deploy_shell(
    container: &super::deploy_containers::Found,
    terminal: Terminal<'_>,
) -> Result<i64, ExecError> {
    let greeting = format!(
        "pipelocal: {} of {}; it stays after `exit` (pipelocal clean removes it).",
        container.name,
        container
            .labels
            .get(super::deploy_containers::TARGET_LABEL)
            .map_or("a local deploy", String::as_str),
    );
    let script = format!(
        "printf '%s\\n' {}\nif command -v bash >/dev/null 2>&1; then exec bash; else exec sh; fi\n",
        crate::shell::quote(&greeting)
    );
    in_container(&container.id, "0", &[], &script, terminal).await
}

async fn in_container(
    container: &str,
    user: &str,
    secrets: &[(String, String)],
    script: &str,
    terminal: Terminal<'_>,
) -> Result<i64, ExecError> {
    let docker = super::connect().await?;
    let env: Vec<String> = secrets
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .chain(["TERM=xterm".to_string()])
        .collect();
    let super::attached_exec::AttachedExec {
        id,
        mut output,
        mut input,
    } = super::attached_exec::start(
        &docker,
        container,
        vec!["/bin/sh", "-c", script],
        user,
        env.iter().map(String::as_str).collect(),
        true,
        "opening a shell in the build container",
    )
    .await?;
    if let Some((width, height)) = terminal.size {
        let _ = docker
            .resize_exec(&id, ResizeExecOptions { height, width })
            .await;
    }
    let (from_user, to_user) = (terminal.input, terminal.output);
    loop {
        tokio::select! {
            typed = from_user.recv() => match typed {
                None => {
                    let _ = input.shutdown().await;
                    // Keep showing what the shell prints until it ends.
                    while let Some(Ok(chunk)) = output.next().await {
                        write_out(to_user, chunk).await;
                    }
                    break;
                }
                Some(bytes) => {
                    if input.write_all(&bytes).await.is_err() {
                        break;
                    }
                    let _ = input.flush().await;
                }
            },
            chunk = output.next() => match chunk {
                Some(Ok(chunk)) => write_out(to_user, chunk).await,
                _ => break,
            },
        }
    }
    let inspect = docker
        .inspect_exec(&id)
        .await
        .map_err(|source| ExecError::Docker {
            doing: "reading the shell's exit status",
            source,
        })?;
    Ok(inspect.exit_code.unwrap_or(0))
}

async fn write_out(to: &mut (dyn AsyncWrite + Unpin + Send), chunk: LogOutput) {
    let bytes = chunk.into_bytes();
    let _ = to.write_all(&bytes).await;
    let _ = to.flush().await;
}
