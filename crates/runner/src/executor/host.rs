//! The host executor: the same phase and shell semantics, with commands run by
//! the host's shell in a private temporary copy of the sources. It cannot
//! isolate the build from the machine (see docs/compatibility.md).

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Mutex;
use std::time::Duration;

use tokio::io::AsyncReadExt;
use tokio::process::Command;

use super::utf8::Utf8Chunks;
use super::{CommandRun, EnvironmentSpec, ExecError, Workspace};

/// How long output is still read after a command exits: a background process
/// may hold the pipe open for ever, and CodeBuild does not wait for it.
const DRAIN_AFTER_EXIT: Duration = Duration::from_millis(100);

pub struct HostExecutor {
    spec: EnvironmentSpec,
    root: Option<tempfile::TempDir>,
    /// The build folder, once kept.
    kept: Option<PathBuf>,
    workspace: Workspace,
    /// Process groups of commands, killed at cleanup with whatever they left running.
    groups: Mutex<Vec<libc::pid_t>>,
}

impl HostExecutor {
    pub fn new(spec: EnvironmentSpec) -> Result<Self, ExecError> {
        if let Some(adopted) = &spec.adopt {
            let folder = adopted.folder.clone().ok_or_else(|| {
                ExecError::io(
                    "resuming a kept build",
                    std::io::Error::other("the kept build has no folder"),
                )
            })?;
            if !folder.is_dir() {
                return Err(ExecError::io(
                    "resuming a kept build",
                    std::io::Error::other(format!("{} is gone", folder.display())),
                ));
            }
            return Ok(HostExecutor {
                workspace: adopted.workspace.clone(),
                spec,
                root: None,
                kept: Some(folder),
                groups: Mutex::new(Vec::new()),
            });
        }
        let root = tempfile::Builder::new()
            .prefix("pipelocal-build-")
            .tempdir()
            .map_err(|e| ExecError::io("making the build folder", e))?;
        let base = root.path().display().to_string();
        let ids: Vec<String> = spec
            .secondary_sources
            .iter()
            .map(|(id, _)| id.clone())
            .collect();
        let mut workspace = Workspace::lay_out(
            &format!("{base}/output"),
            &format!("{base}/output/tmp"),
            &ids,
        );
        if spec.mount_source {
            let dir = std::fs::canonicalize(&spec.primary_source).map_err(|e| {
                ExecError::io(
                    format!("reading source {}", spec.primary_source.display()),
                    e,
                )
            })?;
            workspace.src_dir = dir.display().to_string();
        }
        Ok(HostExecutor {
            spec,
            root: Some(root),
            kept: None,
            workspace,
            groups: Mutex::new(Vec::new()),
        })
    }

    pub fn workspace(&self) -> &Workspace {
        &self.workspace
    }

    pub fn kept_folder(&self) -> Option<String> {
        self.kept.as_ref().map(|p| p.display().to_string())
    }

    /// The private copy: inside git only the files a push would carry
    /// (source_files.rs), as in a container.
    pub async fn copy_sources(&mut self) -> Result<Vec<String>, ExecError> {
        if self.spec.adopt.is_some() {
            return Ok(Vec::new());
        }
        let mut copies: Vec<(PathBuf, PathBuf)> = Vec::new();
        if !self.spec.mount_source {
            copies.push((
                self.spec.primary_source.clone(),
                PathBuf::from(&self.workspace.src_dir),
            ));
        }
        for ((_, host), (_, inside)) in self
            .spec
            .secondary_sources
            .iter()
            .zip(&self.workspace.secondary)
        {
            copies.push((host.clone(), PathBuf::from(inside)));
        }
        let chosen = crate::source_files::choose(copies, self.spec.all_files).await?;
        let counting = crate::source_files::count_left_out(&chosen);
        let state = PathBuf::from(&self.workspace.state_dir);
        tokio::task::spawn_blocking(move || -> std::io::Result<()> {
            std::fs::create_dir_all(&state)?;
            for (files, to) in &chosen {
                files.copy_to(to)?;
            }
            Ok(())
        })
        .await
        .map_err(|e| ExecError::io("copying the sources", std::io::Error::other(e)))?
        .map_err(|e| ExecError::io("copying the sources", e))?;
        Ok(counting.await)
    }

    pub async fn write_files(&self, files: &[super::NewFile<'_>]) -> Result<(), ExecError> {
        for file in files {
            self.write_file(file.path, file.contents, file.mode).await?;
        }
        Ok(())
    }

    async fn write_file(&self, path: &str, contents: &[u8], mode: u32) -> Result<(), ExecError> {
        use std::os::unix::fs::PermissionsExt;
        if let Some(parent) = Path::new(path).parent() {
            tokio::fs::create_dir_all(parent)
                .await
                .map_err(|e| ExecError::io(format!("creating {}", parent.display()), e))?;
        }
        tokio::fs::write(path, contents)
            .await
            .map_err(|e| ExecError::io(format!("writing {path}"), e))?;
        tokio::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
            .await
            .map_err(|e| ExecError::io(format!("setting the mode of {path}"), e))
    }

    pub async fn upload_dir(&self, host: &Path, inside: &str) -> Result<(), ExecError> {
        let (from, to) = (host.to_path_buf(), PathBuf::from(inside));
        tokio::task::spawn_blocking(move || copy_tree(&from, &to))
            .await
            .map_err(|e| ExecError::io(format!("copying into {inside}"), std::io::Error::other(e)))?
            .map_err(|e| ExecError::io(format!("copying into {inside}"), e))
    }

    pub async fn run(
        &self,
        cmd: &CommandRun<'_>,
        output: &mut (dyn FnMut(&str) + Send),
    ) -> Result<i64, ExecError> {
        let shell = match cmd.shell {
            "bash" | "/bin/bash" => "bash",
            _ => "/bin/sh",
        };
        let mut child = Command::new(shell)
            .arg("-c")
            .arg(cmd.script)
            .arg(cmd.script_name)
            .envs(cmd.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0)
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| ExecError::io(format!("starting {shell}"), e))?;
        let pgid = child.id().and_then(|p| libc::pid_t::try_from(p).ok());
        if let Some(p) = pgid {
            self.groups
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(p);
        }
        // Killed if this run is cut short (timeout, stop); kept otherwise.
        let mut guard = ProcessGroup(pgid);
        let mut stdout = child.stdout.take().expect("piped stdout");
        let mut stderr = child.stderr.take().expect("piped stderr");
        let (mut out_text, mut err_text) = (Utf8Chunks::default(), Utf8Chunks::default());
        let (mut out_buf, mut err_buf) = (vec![0u8; 16 * 1024], vec![0u8; 16 * 1024]);
        let (mut out_open, mut err_open) = (true, true);
        let mut status = None;
        while out_open || err_open {
            let drain = async {
                match status {
                    Some(_) => tokio::time::sleep(DRAIN_AFTER_EXIT).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                n = stdout.read(&mut out_buf), if out_open => match n {
                    Ok(0) | Err(_) => out_open = false,
                    Ok(n) => output(&out_text.push(&out_buf[..n])),
                },
                n = stderr.read(&mut err_buf), if err_open => match n {
                    Ok(0) | Err(_) => err_open = false,
                    Ok(n) => output(&err_text.push(&err_buf[..n])),
                },
                s = child.wait(), if status.is_none() => {
                    status = Some(s.map_err(|e| ExecError::io("waiting for a command", e))?);
                }
                _ = drain => break,
            }
        }
        output(&(out_text.finish() + &err_text.finish()));
        let status = match status {
            Some(s) => s,
            None => child
                .wait()
                .await
                .map_err(|e| ExecError::io("waiting for a command", e))?,
        };
        guard.0 = None;
        Ok(status.code().map(i64::from).unwrap_or_else(|| {
            use std::os::unix::process::ExitStatusExt;
            128 + i64::from(status.signal().unwrap_or(0))
        }))
    }

    pub async fn cleanup(&mut self) -> Result<(), ExecError> {
        // The build is over: background processes go with it (also from a
        // kept folder: nothing of the build runs on the host after it).
        for pgid in self
            .groups
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .drain(..)
        {
            kill_group(pgid);
        }
        if self.spec.keep {
            // Kept: the folder stays for `pipelocal shell`; `pipelocal clean` removes it.
            if let Some(root) = self.root.take() {
                self.kept = Some(root.keep());
            }
            return Ok(());
        }
        if let Some(root) = self.root.take() {
            root.close()
                .map_err(|e| ExecError::io("removing the build folder", e))?;
        }
        // A resumed build not kept again: its adopted folder goes now.
        if let Some(folder) = self.kept.take() {
            std::fs::remove_dir_all(&folder)
                .map_err(|e| ExecError::io(format!("removing {}", folder.display()), e))?;
        }
        Ok(())
    }
}

/// Sends SIGKILL to a process group of ours; never to 0 or 1, which would
/// signal far more than the build.
fn kill_group(pgid: libc::pid_t) {
    if pgid > 1 {
        // SAFETY: killpg only sends a signal to the group this build made.
        unsafe {
            libc::killpg(pgid, libc::SIGKILL);
        }
    }
}

/// Kills a command's process group when dropped while still armed.
struct ProcessGroup(Option<libc::pid_t>);

impl Drop for ProcessGroup {
    fn drop(&mut self) {
        if let Some(pgid) = self.0 {
            kill_group(pgid);
        }
    }
}

/// Copies a tree, keeping symlinks as links and file modes, over what is
/// at `to` already.
pub(crate) fn copy_tree(from: &Path, to: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in walkdir::WalkDir::new(from).follow_links(false).min_depth(1) {
        let entry = entry.map_err(std::io::Error::other)?;
        let rel = entry
            .path()
            .strip_prefix(from)
            .map_err(std::io::Error::other)?;
        if rel.starts_with(".pipelocal") {
            continue;
        }
        let target = to.join(rel);
        let ft = entry.file_type();
        if ft.is_dir() {
            std::fs::create_dir_all(&target)?;
        } else if ft.is_symlink() {
            if target.symlink_metadata().is_ok() {
                std::fs::remove_file(&target)?;
            }
            std::os::unix::fs::symlink(std::fs::read_link(entry.path())?, &target)?;
        } else {
            std::fs::copy(entry.path(), &target)?;
        }
    }
    Ok(())
}
