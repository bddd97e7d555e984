//! One deployment at a time per target, across every run that shares the
//! state folder: a CodeDeploy deployment group refuses a second deployment
//! while one is active (CodeDeploy API Reference, CreateDeployment:
//! `DeploymentLimitExceededException`, "The Deployment Group '...' already
//! has an active Deployment '...'"), and an ECS service's tasks must not be
//! replaced by two deploys at once (ECS starts the newer deployment after
//! the older; here the second waits for the first).
//!
//! The target's lock is an exclusive file lock on
//! `deployments/<target>.lock`, holding who deploys; file locks go with
//! their process, so a crashed run never holds a target.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use pipelocal_model::file_name::path_component;
use pipelocal_runner::build::StopSignal;
use pipelocal_runner::executor::deploy_containers::{stable_hash, HASH_SEED};

/// A target held by this deployment until dropped.
pub struct ActiveDeployment {
    _file: File,
}

fn lock_file(state_dir: &Path, kind: &str, target: &[&str]) -> Result<(File, PathBuf), String> {
    let dir = state_dir.join("deployments").join(kind);
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    // Readable names, and a hash of them as given: `web api` and `web_api`
    // read alike once made fit for a file name, but are two targets.
    let name: Vec<String> = target.iter().map(|p| path_component(p)).collect();
    let hash = stable_hash(HASH_SEED, &target.join("\0"));
    let path = dir.join(format!("{}-{:08x}.lock", name.join("--"), hash as u32));
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .map_err(|e| format!("{}: {e}", path.display()))?;
    Ok((file, path))
}

fn hold(mut file: File, who: &str) -> ActiveDeployment {
    // Who holds it, for the message of the deployment it turns away: written
    // over the old name before cutting it to length, so a reader never finds
    // it empty.
    let _ = file.rewind();
    let _ = file.write_all(who.as_bytes());
    let _ = file.set_len(who.len() as u64);
    let _ = file.flush();
    ActiveDeployment { _file: file }
}

/// CodeDeploy: takes deployment group `group` of `application` for `who`
/// (which execution and action deploys), or fails as CodeDeploy does
/// while another deployment to it is active.
pub fn begin_codedeploy(
    state_dir: &Path,
    application: &str,
    group: &str,
    who: &str,
) -> Result<ActiveDeployment, String> {
    let (mut file, path) = lock_file(state_dir, "codedeploy", &[application, group])?;
    match file.try_lock() {
        Ok(()) => Ok(hold(file, who)),
        Err(TryLockError::WouldBlock) => {
            let mut holder = String::new();
            let _ = file.read_to_string(&mut holder);
            Err(format!(
                "DeploymentLimitExceeded: The Deployment Group '{group}' already has an active Deployment ({})",
                if holder.is_empty() { "of another run" } else { holder.as_str() }
            ))
        }
        Err(TryLockError::Error(e)) => Err(format!("{}: {e}", path.display())),
    }
}

/// ECS: takes service `service` of `cluster` for `who`, waiting while
/// another deploy replaces its task (the log says whose); `None` when the
/// run is stopped while waiting.
pub async fn begin_ecs(
    state_dir: &Path,
    cluster: &str,
    service: &str,
    who: &str,
    mut stop: StopSignal,
    mut waiting: impl FnMut(&str),
) -> Result<Option<ActiveDeployment>, String> {
    let (mut file, path) = lock_file(state_dir, "ecs", &[cluster, service])?;
    let mut said = false;
    loop {
        match file.try_lock() {
            Ok(()) => return Ok(Some(hold(file, who))),
            Err(TryLockError::WouldBlock) => {
                if !said {
                    let mut holder = String::new();
                    let _ = file.rewind();
                    let _ = file.read_to_string(&mut holder);
                    waiting(&holder);
                    said = true;
                }
            }
            Err(TryLockError::Error(e)) => return Err(format!("{}: {e}", path.display())),
        }
        tokio::select! {
            () = tokio::time::sleep(Duration::from_millis(200)) => {}
            () = stop.stopped() => return Ok(None),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_codedeploy_deployment_to_a_group_is_refused_until_the_first_ends() {
        let state = tempfile::tempdir().unwrap();
        let first = begin_codedeploy(state.path(), "App", "Blue", "e1 Deploy/Blue").unwrap();
        let refused = begin_codedeploy(state.path(), "App", "Blue", "e2 Deploy/Blue")
            .err()
            .unwrap();
        assert_eq!(
            refused,
            "DeploymentLimitExceeded: The Deployment Group 'Blue' already has an active Deployment (e1 Deploy/Blue)"
        );
        // Another group of the same application is free.
        assert!(begin_codedeploy(state.path(), "App", "Green", "e2 Deploy/Green").is_ok());
        drop(first);
        assert!(begin_codedeploy(state.path(), "App", "Blue", "e2 Deploy/Blue").is_ok());
    }

    #[tokio::test]
    async fn a_second_ecs_deploy_waits_for_the_first_and_a_stop_ends_the_wait() {
        let state = tempfile::tempdir().unwrap();
        let (stop_handle, stop) = pipelocal_runner::build::stop_channel();
        let first = begin_ecs(
            state.path(),
            "shop",
            "web",
            "e1 Deploy/Web",
            stop.clone(),
            |_| {},
        )
        .await
        .unwrap()
        .unwrap();
        let path = state.path().to_path_buf();
        let second = {
            let stop = stop.clone();
            tokio::spawn(async move {
                let mut holder = String::new();
                let held = begin_ecs(&path, "shop", "web", "e2 Deploy/Web", stop, |h| {
                    holder = h.to_string()
                })
                .await
                .unwrap();
                (held.is_some(), holder)
            })
        };
        tokio::time::sleep(Duration::from_millis(500)).await;
        assert!(!second.is_finished(), "it waits while the first deploys");
        drop(first);
        let (got, holder) = second.await.unwrap();
        assert!(got);
        assert_eq!(
            holder, "e1 Deploy/Web",
            "the wait names whose deploy it waits for"
        );
        // A stop ends a wait.
        let _third = begin_ecs(state.path(), "shop", "api", "e3", stop.clone(), |_| {})
            .await
            .unwrap()
            .unwrap();
        let waiting = begin_ecs(state.path(), "shop", "api", "e4", stop, |_| {});
        stop_handle.stop();
        assert!(waiting.await.unwrap().is_none());
    }
}
