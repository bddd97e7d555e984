//! An ECS task in local containers: starting a task definition's containers
//! on a network of their own, waiting until the task is healthy as ECS
//! judges it (Amazon ECS API Reference, "HealthCheck"), stopping, starting
//! again and removing it. A task is found again by its containers' labels:
//! the service (`cluster/service`) and the revision of the task definition.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use pipelocal_model::config::PortMapping;
use pipelocal_model::ecs::{ContainerDefinition, TaskDefinition};
use pipelocal_runner::build::StopSignal;
use pipelocal_runner::executor::deploy_containers::{
    self as containers, ContainerPlan, DeployKind, Found, Health, HealthCheck, PublishedPort,
    Standing, TARGET_LABEL,
};
use pipelocal_runner::executor::{Docker, DockerExecutor};

use super::Local;

/// The revision of the task definition a task container runs.
const REVISION_LABEL: &str = "dev.pipelocal.ecs-revision";
/// The container's name in the task definition.
const CONTAINER_LABEL: &str = "dev.pipelocal.ecs-container";

/// How long a task whose essential containers have no health check must run
/// before it counts as healthy. ECS waits 40 s; locally a few seconds
/// catch a container that fails as it starts (docs/compatibility.md).
pub(super) const SETTLE: Duration = Duration::from_secs(3);
/// How often a starting task is looked at.
const POLL: Duration = Duration::from_millis(500);
/// ECS's default `stopTimeout`: SIGTERM, then SIGKILL this much later.
const STOP_GRACE: Duration = Duration::from_secs(30);
/// How much of a failed container's log the failure shows.
const LAST_LINES: usize = 20;

/// The ECS service (or blue/green target) being deployed.
pub(super) struct Service {
    pub cluster: String,
    pub name: String,
    /// The absolute state folder: labels and names are made from it.
    pub state_dir: String,
    /// `services:` ports published on 127.0.0.1.
    pub ports: Vec<PortMapping>,
}

impl Service {
    pub fn target(&self) -> String {
        format!("{}/{}", self.cluster, self.name)
    }

    fn network(&self, revision: u32) -> String {
        containers::deploy_name(
            &[&self.cluster, &self.name, &format!("r{revision}")],
            &self.state_dir,
        )
    }
}

/// A task that exists: its revision and containers.
pub(super) struct Task {
    pub revision: u32,
    pub containers: Vec<Found>,
    pub network: String,
}

impl Task {
    /// The image each container runs, by its name in the task definition.
    pub fn images(&self) -> BTreeMap<String, String> {
        self.containers
            .iter()
            .filter_map(|c| Some((c.labels.get(CONTAINER_LABEL)?.clone(), c.image.clone())))
            .collect()
    }

    fn running(&self) -> bool {
        self.containers.iter().any(|c| c.running)
    }
}

fn docker_error(e: impl std::fmt::Display) -> String {
    e.to_string()
}

/// The service's tasks that exist, oldest revision first.
pub(super) async fn tasks(docker: &Docker, service: &Service) -> Result<Vec<Task>, String> {
    let target = service.target();
    let mut by_revision: BTreeMap<u32, Vec<Found>> = BTreeMap::new();
    for c in containers::list(docker, Some(DeployKind::Task), &service.state_dir)
        .await
        .map_err(docker_error)?
    {
        if c.labels.get(TARGET_LABEL) != Some(&target) {
            continue;
        }
        if let Some(r) = c.labels.get(REVISION_LABEL).and_then(|r| r.parse().ok()) {
            by_revision.entry(r).or_default().push(c);
        }
    }
    Ok(by_revision
        .into_iter()
        .map(|(revision, containers)| Task {
            revision,
            containers,
            network: service.network(revision),
        })
        .collect())
}

/// The host ports each container publishes: a `services:` port goes to the
/// container whose `portMappings` hold its container port.
pub(super) fn published(
    td: &TaskDefinition,
    service: &Service,
) -> Result<BTreeMap<String, Vec<PublishedPort>>, String> {
    let mut out: BTreeMap<String, Vec<PublishedPort>> = BTreeMap::new();
    for p in &service.ports {
        let owner = td
            .container_definitions
            .iter()
            .find(|c| c.port_mappings.iter().any(|m| m.container_port == p.container))
            .ok_or_else(|| {
                format!(
                    "services: {} publishes port {}:{}, but no container of the task definition has containerPort {} in its portMappings",
                    service.target(),
                    p.host,
                    p.container,
                    p.container
                )
            })?;
        out.entry(owner.name.clone())
            .or_default()
            .push(PublishedPort {
                host: p.host,
                container: p.container,
            });
    }
    Ok(out)
}

fn plan(
    service: &Service,
    revision: u32,
    c: &ContainerDefinition,
    ports: Vec<PublishedPort>,
) -> ContainerPlan {
    let network = service.network(revision);
    ContainerPlan {
        kind: DeployKind::Task,
        name: containers::deploy_name(
            &[
                &service.cluster,
                &service.name,
                &format!("r{revision}"),
                &c.name,
            ],
            &service.state_dir,
        ),
        target: service.target(),
        state_dir: service.state_dir.clone(),
        image: c.image.clone(),
        entrypoint: c.entry_point.clone(),
        command: c.command.clone(),
        env: c
            .environment
            .iter()
            .map(|e| (e.name.clone(), e.value.clone()))
            .collect(),
        user: c.user.clone(),
        working_dir: c.working_directory.clone(),
        ports,
        health: c.health_check.as_ref().map(|h| HealthCheck {
            command: h.command.clone(),
            interval: Duration::from_secs(h.interval.into()),
            timeout: Duration::from_secs(h.timeout.into()),
            retries: h.retries,
            start_period: h.start_period.map(|s| Duration::from_secs(s.into())),
        }),
        network: Some((network, vec![c.name.clone()])),
        labels: vec![
            (REVISION_LABEL.into(), revision.to_string()),
            (CONTAINER_LABEL.into(), c.name.clone()),
        ],
    }
}

/// Starts revision `revision` of the service's task: its images obtained,
/// its network made, its containers started in the task definition's
/// order. What started is removed again when a container cannot start.
pub(super) async fn start(
    docker: &Docker,
    local: &Local<'_>,
    service: &Service,
    td: &TaskDefinition,
    revision: u32,
) -> Result<Task, String> {
    let mut ports = published(td, service)?;
    for c in &td.container_definitions {
        DockerExecutor::ensure_image(docker, &c.image, local.sink)
            .await
            .map_err(|e| format!("container {}: {e}", c.name))?;
    }
    let network = service.network(revision);
    containers::ensure_network(docker, &network, &service.target(), &service.state_dir)
        .await
        .map_err(docker_error)?;
    let mut task = Task {
        revision,
        containers: Vec::new(),
        network,
    };
    for c in &td.container_definitions {
        let plan = plan(
            service,
            revision,
            c,
            ports.remove(&c.name).unwrap_or_default(),
        );
        match containers::start(docker, &plan, false).await {
            Ok(found) => {
                local.say(format!("started container {} ({})", c.name, c.image));
                task.containers.push(found);
            }
            Err(e) => {
                remove(docker, &task).await;
                return Err(format!("container {}: {e}", c.name));
            }
        }
    }
    Ok(task)
}

/// Waits until the task is healthy: every essential container running, and
/// those with a health check healthy (with none, running for [`SETTLE`]).
/// An essential container that exits or turns unhealthy fails it at once:
/// ECS would replace the task, which would fail the same way.
pub(super) async fn wait_healthy(
    docker: &Docker,
    td: &TaskDefinition,
    task: &Task,
    limit: Duration,
    stop: &mut StopSignal,
) -> Result<(), String> {
    let started = Instant::now();
    let by_name: BTreeMap<&str, &Found> = task
        .containers
        .iter()
        .filter_map(|c| Some((c.labels.get(CONTAINER_LABEL)?.as_str(), c)))
        .collect();
    let essential: Vec<(&ContainerDefinition, &Found)> = td
        .container_definitions
        .iter()
        .filter(|c| c.is_essential())
        .filter_map(|c| Some((c, *by_name.get(c.name.as_str())?)))
        .collect();
    let checked = essential.iter().any(|(c, _)| c.health_check.is_some());
    loop {
        let mut healthy = true;
        for (def, found) in &essential {
            match containers::standing(docker, &found.id)
                .await
                .map_err(docker_error)?
            {
                Standing::Exited { code } => {
                    return Err(failure(
                        docker,
                        found,
                        format!("essential container {} exited with code {code}", def.name),
                    )
                    .await)
                }
                Standing::Running {
                    health: Some(Health::Unhealthy),
                } => {
                    let check = last_check(docker, found).await;
                    return Err(failure(
                        docker,
                        found,
                        format!("container {} failed its health check{check}", def.name),
                    )
                    .await);
                }
                Standing::Running { health } => {
                    if def.health_check.is_some() && health != Some(Health::Healthy) {
                        healthy = false;
                    }
                }
            }
        }
        if healthy && (checked || started.elapsed() >= SETTLE) {
            return Ok(());
        }
        if started.elapsed() >= limit {
            let (def, found) = essential
                .iter()
                .find(|(d, _)| d.health_check.is_some())
                .or(essential.first())
                .ok_or("the task has no essential container")?;
            let check = last_check(docker, found).await;
            return Err(failure(
                docker,
                found,
                format!(
                    "the task did not turn healthy within {} minute(s): container {}{check}",
                    limit.as_secs() / 60,
                    def.name
                ),
            )
            .await);
        }
        tokio::select! {
            () = tokio::time::sleep(POLL) => {}
            () = stop.stopped() => return Err("stopped while the task was starting".into()),
        }
    }
}

/// What the container's last health check said, as ` (exit status N: output)`.
async fn last_check(docker: &Docker, found: &Found) -> String {
    match containers::last_health_output(docker, &found.id).await {
        Some((code, output)) => format!(
            " (exit status {code}: {})",
            output.trim().lines().collect::<Vec<_>>().join(" / ")
        ),
        None => String::new(),
    }
}

/// `why`, with the container's last lines.
async fn failure(docker: &Docker, found: &Found, why: String) -> String {
    let lines = containers::last_log_lines(docker, &found.id, LAST_LINES).await;
    if lines.is_empty() {
        format!("{why}; it printed nothing")
    } else {
        format!("{why}; its last lines:\n{}", lines.join("\n"))
    }
}

/// Stops the task's containers (SIGTERM, then SIGKILL after ECS's 30 s).
pub(super) async fn stop(docker: &Docker, task: &Task) -> Result<(), String> {
    for c in &task.containers {
        containers::stop(docker, &c.id, STOP_GRACE)
            .await
            .map_err(docker_error)?;
    }
    Ok(())
}

/// Starts a stopped task's containers again.
pub(super) async fn restart(docker: &Docker, task: &Task) -> Result<(), String> {
    for c in &task.containers {
        containers::restart(docker, &c.id)
            .await
            .map_err(docker_error)?;
    }
    Ok(())
}

/// Starts `tasks` again, each said in the log: every one is tried, so one
/// that cannot start never keeps the others down. The error lists those
/// that could not start.
pub(super) async fn restart_all<'t>(
    docker: &Docker,
    local: &Local<'_>,
    tasks: impl IntoIterator<Item = &'t Task>,
) -> Result<(), String> {
    let mut failed = Vec::new();
    for task in tasks {
        local.say(format!(
            "starting the previous task (revision {}) again",
            task.revision
        ));
        if let Err(e) = restart(docker, task).await {
            failed.push(format!("revision {}: {e}", task.revision));
        }
    }
    match failed.is_empty() {
        true => Ok(()),
        false => Err(format!(
            "the previous task could not be started again ({})",
            failed.join("; ")
        )),
    }
}

/// `failure`, and after it what [`restart_all`] could not do.
pub(super) fn and_restart(failure: String, restarted: Result<(), String>) -> String {
    match restarted {
        Ok(()) => failure,
        Err(e) => format!("{failure}; and {e}"),
    }
}

/// Removes the task's containers and network; what cannot be removed stays
/// for `pipelocal clean` (a failed removal must not hide the deploy's result).
pub(super) async fn remove(docker: &Docker, task: &Task) {
    for c in &task.containers {
        let _ = containers::remove(docker, &c.id).await;
    }
    let _ = containers::remove_network(docker, &task.network).await;
}

/// A new task running and healthy, and the revisions of the tasks stopped
/// to make way for it.
pub(super) struct Replacement {
    pub task: Task,
    pub stopped: Vec<u32>,
}

/// Starts the new revision beside the service's `existing` tasks and waits
/// until it is healthy. A published host port cannot be held by two: then
/// every running task stops first, not only the newest (a task a stopped
/// run left behind may hold the port), and they start again if the new
/// one fails. On failure the new task is gone and the previous ones run.
#[allow(clippy::too_many_arguments)]
pub(super) async fn start_replacement(
    docker: &Docker,
    local: &Local<'_>,
    service: &Service,
    td: &TaskDefinition,
    revision: u32,
    existing: &[Task],
    limit: Duration,
    stop: &mut StopSignal,
) -> Result<Replacement, String> {
    let stop_first: Vec<&Task> = if service.ports.is_empty() {
        Vec::new()
    } else {
        existing.iter().filter(|t| t.running()).collect()
    };
    if !stop_first.is_empty() {
        local.say(format!(
            "the service publishes host ports ({}): {} before the new one starts, and {} again if the new one fails",
            service
                .ports
                .iter()
                .map(|p| format!("127.0.0.1:{}", p.host))
                .collect::<Vec<_>>()
                .join(", "),
            match stop_first.as_slice() {
                [one] => format!("the running task (revision {}) stops", one.revision),
                many => format!(
                    "the running tasks (revisions {}) stop",
                    revisions(many.iter().copied())
                ),
            },
            if stop_first.len() == 1 { "starts" } else { "start" }
        ));
        for (n, task) in stop_first.iter().enumerate() {
            if let Err(e) = self::stop(docker, task).await {
                // Those already stopped must not stay down for it.
                let restarted = restart_all(docker, local, stop_first[..n].iter().copied()).await;
                return Err(and_restart(e, restarted));
            }
        }
    }
    let outcome = match start(docker, local, service, td, revision).await {
        Ok(task) => match wait_healthy(docker, td, &task, limit, stop).await {
            Ok(()) => Ok(task),
            Err(e) => {
                remove(docker, &task).await;
                Err(e)
            }
        },
        Err(e) => Err(e),
    };
    match outcome {
        Ok(task) => {
            local.say(format!(
                "task of revision {revision} is running and healthy"
            ));
            Ok(Replacement {
                task,
                stopped: stop_first.iter().map(|t| t.revision).collect(),
            })
        }
        Err(e) => Err(and_restart(e, restart_all(docker, local, stop_first).await)),
    }
}

/// `1, 2`: the revisions of `tasks`.
fn revisions<'t>(tasks: impl Iterator<Item = &'t Task>) -> String {
    tasks
        .map(|t| t.revision.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Stops and removes tasks the service no longer runs.
pub(super) async fn retire(docker: &Docker, local: &Local<'_>, old: &[Task]) -> Result<(), String> {
    for task in old {
        stop(docker, task).await?;
        remove(docker, task).await;
        local.say(format!(
            "stopped and removed the task of revision {}",
            task.revision
        ));
    }
    Ok(())
}
