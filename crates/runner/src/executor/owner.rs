//! Who made a container, volume or network: every one pipelocal makes for a
//! build carries its owner (host, pid, process start time) as a label, so a
//! later pipelocal can tell the leftovers of a process that died (SIGKILL, a
//! crash) from those of one still running, and remove them. Kept builds are
//! labelled as such and never removed here; `pipelocal clean` removes them
//! ([`discard`]).

use std::collections::HashMap;

use bollard::query_parameters::{
    ListContainersOptionsBuilder, ListNetworksOptionsBuilder, ListVolumesOptionsBuilder,
    RemoveContainerOptionsBuilder, RemoveVolumeOptionsBuilder,
};
use bollard::Docker;

use super::ExecError;

/// `host/pid/start` of the process that made the thing.
pub const OWNER_LABEL: &str = "dev.pipelocal.owner";
/// Present on builds the user asked to keep: never reaped.
pub const KEPT_LABEL: &str = "dev.pipelocal.kept";

/// This process, as written in [`OWNER_LABEL`].
pub fn this_process() -> String {
    let pid = std::process::id();
    format!(
        "{}/{pid}/{}",
        hostname(),
        start_time(pid).unwrap_or_default()
    )
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "localhost".into())
}

/// The process's start time in clock ticks since boot (field 22 of
/// `/proc/PID/stat`): with the pid, it names one process even after the pid
/// is reused. `None` where there is no /proc.
fn start_time(pid: u32) -> Option<String> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) may hold spaces and parentheses: skip past its last ')'.
    let after = &stat[stat.rfind(')')? + 1..];
    after.split_whitespace().nth(19).map(String::from)
}

/// Whether the owner written in a label is dead. Owners on other hosts (an
/// engine shared over TCP) are never judged dead: we cannot see them.
fn is_dead(owner: &str) -> bool {
    let mut parts = owner.splitn(3, '/');
    let (Some(host), Some(pid), Some(start)) = (parts.next(), parts.next(), parts.next()) else {
        return false;
    };
    if host != hostname() {
        return false;
    }
    let Ok(pid) = pid.parse::<u32>() else {
        return false;
    };
    if pid == std::process::id() {
        return false;
    }
    match start_time(pid) {
        Some(now) => !start.is_empty() && now != start,
        // No such process (or no /proc: ask the kernel).
        None => {
            let Ok(raw) = libc::pid_t::try_from(pid) else {
                return false;
            };
            // SAFETY: signal 0 only checks that the process exists.
            let alive = unsafe { libc::kill(raw, 0) } == 0
                || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM);
            !alive
        }
    }
}

/// What [`reap`] removed, by kind, as names.
#[derive(Debug, Default)]
pub struct Reaped {
    pub containers: Vec<String>,
    pub volumes: Vec<String>,
    pub networks: Vec<String>,
}

impl Reaped {
    pub fn is_empty(&self) -> bool {
        self.containers.is_empty() && self.volumes.is_empty() && self.networks.is_empty()
    }

    /// One line saying what was removed.
    pub fn summary(&self) -> String {
        let mut parts = Vec::new();
        for (kind, names) in [
            ("container", &self.containers),
            ("volume", &self.volumes),
            ("network", &self.networks),
        ] {
            if !names.is_empty() {
                let plural = if names.len() == 1 { "" } else { "s" };
                parts.push(format!(
                    "{} {kind}{plural} ({})",
                    names.len(),
                    names.join(", ")
                ));
            }
        }
        format!(
            "Removed what pipelocal processes that died left behind: {}",
            parts.join(", ")
        )
    }
}

/// Removes the containers, volumes and networks whose owner is dead and that
/// are not kept. Errors removing one thing do not stop the others.
pub async fn reap(docker: &Docker) -> Reaped {
    let mut reaped = Reaped::default();
    let filters = HashMap::from([("label".to_string(), vec![OWNER_LABEL.to_string()])]);
    let dead = |labels: Option<&HashMap<String, String>>| {
        labels.is_some_and(|l| {
            !l.contains_key(KEPT_LABEL) && l.get(OWNER_LABEL).is_some_and(|o| is_dead(o))
        })
    };
    let options = ListContainersOptionsBuilder::default()
        .all(true)
        .filters(&filters)
        .build();
    for c in docker
        .list_containers(Some(options))
        .await
        .unwrap_or_default()
    {
        if !dead(c.labels.as_ref()) {
            continue;
        }
        let Some(id) = c.id else { continue };
        let options = RemoveContainerOptionsBuilder::default()
            .force(true)
            .v(true)
            .build();
        if docker.remove_container(&id, Some(options)).await.is_ok() {
            let name = c
                .names
                .and_then(|n| n.first().map(|n| n.trim_start_matches('/').to_string()))
                .unwrap_or(id);
            reaped.containers.push(name);
        }
    }
    let options = ListVolumesOptionsBuilder::default()
        .filters(&filters)
        .build();
    if let Ok(list) = docker.list_volumes(Some(options)).await {
        for v in list.volumes.unwrap_or_default() {
            if dead(Some(&v.labels)) {
                let options = RemoveVolumeOptionsBuilder::default().force(true).build();
                if docker.remove_volume(&v.name, Some(options)).await.is_ok() {
                    reaped.volumes.push(v.name);
                }
            }
        }
    }
    let options = ListNetworksOptionsBuilder::default()
        .filters(&filters)
        .build();
    for n in docker
        .list_networks(Some(options))
        .await
        .unwrap_or_default()
    {
        if !dead(n.labels.as_ref()) {
            continue;
        }
        let Some(name) = n.name else { continue };
        if docker.remove_network(&name).await.is_ok() {
            reaped.networks.push(name);
        }
    }
    reaped
}

/// Connects to the engine and reaps; `None` when no engine answers (the
/// build itself then says so) or nothing was left behind.
pub async fn reap_leftovers() -> Option<Reaped> {
    let docker = super::connect().await.ok()?;
    let reaped = reap(&docker).await;
    (!reaped.is_empty()).then_some(reaped)
}

/// Removes a kept build: its container, or its host folder.
pub async fn discard(target: &crate::pause::ShellTarget) -> Result<(), ExecError> {
    if let Some(container) = &target.container {
        let docker = super::connect().await?;
        let options = bollard::query_parameters::RemoveContainerOptionsBuilder::default()
            .force(true)
            .v(true)
            .build();
        return match docker.remove_container(container, Some(options)).await {
            Ok(())
            | Err(bollard::errors::Error::DockerResponseServerError {
                status_code: 404, ..
            }) => Ok(()),
            Err(source) => Err(ExecError::Docker {
                doing: "removing a kept build container",
                source,
            }),
        };
    }
    if let Some(folder) = &target.folder {
        match std::fs::remove_dir_all(folder) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(ExecError::io(format!("removing {folder}"), e)),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_is_alive_and_a_finished_one_is_dead() {
        assert!(!is_dead(&this_process()));
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id();
        let owner = format!(
            "{}/{pid}/{}",
            hostname(),
            start_time(pid).unwrap_or_default()
        );
        child.wait().unwrap();
        assert!(is_dead(&owner), "{owner}");
        // Another host's owner is never judged.
        assert!(!is_dead(&format!("elsewhere-{}/{pid}/1", hostname())));
        assert!(!is_dead("garbage"));
    }

    #[test]
    fn a_reused_pid_is_another_process() {
        let parent = std::os::unix::process::parent_id();
        assert!(is_dead(&format!("{}/{parent}/1", hostname())));
    }
}
