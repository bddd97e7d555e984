//! The containers local deploys run in (`run --deploy local`): CodeDeploy
//! instances and ECS tasks. Unlike a build's container they outlive
//! pipelocal, as an instance or a service does: each carries
//! [`DEPLOY_LABEL`] (and no owner label, so no reaper takes it) and the state
//! folder of the runs that made it ([`STATE_LABEL`]), and is found again by
//! name ([`deploy_name`]) on the next run. `pipelocal clean` removes a state
//! folder's ([`remove_all`]), `pipelocal shell` enters them ([`list`]).

use std::collections::HashMap;
use std::time::Duration;

use bollard::exec::{CreateExecOptions, StartExecOptions, StartExecResults};
use bollard::models::{
    ContainerCreateBody, EndpointSettings, HealthConfig, HealthStatusEnum, HostConfig,
    NetworkCreateRequest, NetworkingConfig, PortBinding,
};
use bollard::query_parameters::{
    CreateContainerOptionsBuilder, ListContainersOptionsBuilder, ListNetworksOptionsBuilder,
    LogsOptionsBuilder, RemoveContainerOptionsBuilder, StopContainerOptionsBuilder,
    UploadToContainerOptionsBuilder,
};
use bollard::Docker;
use futures_util::StreamExt;

use super::ExecError;

/// What a deploy container or network is: `instance` (CodeDeploy) or `task`
/// (ECS). Its value names the kind; [`TARGET_LABEL`] names whose it is.
pub const DEPLOY_LABEL: &str = "dev.pipelocal.deploy";
/// `Application/DeploymentGroup` of an instance, `cluster/service` of a task.
pub const TARGET_LABEL: &str = "dev.pipelocal.deploy-target";
/// The absolute state folder of the runs that deployed it: two projects'
/// instances of the same names stay apart, and `clean` takes only its own.
pub const STATE_LABEL: &str = "dev.pipelocal.state-dir";

/// How a state folder is written in [`STATE_LABEL`]: its canonical path
/// (absolute as given when it does not exist yet), so every spelling of one
/// folder finds the same containers.
pub fn state_label(state_dir: &std::path::Path) -> String {
    std::fs::canonicalize(state_dir)
        .or_else(|_| std::path::absolute(state_dir))
        .unwrap_or_else(|_| state_dir.to_path_buf())
        .to_string_lossy()
        .into_owned()
}

/// FNV-1a of `text` from `seed`: stable across Rust versions and machines,
/// unlike the std hasher, so names and ids made from it stay the same from
/// run to run.
pub fn stable_hash(seed: u64, text: &str) -> u64 {
    text.bytes().fold(seed, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// FNV-1a's offset basis, the usual seed of [`stable_hash`].
pub const HASH_SEED: u64 = 0xcbf2_9ce4_8422_2325;

/// The name of a deploy container or network: `pipelocal-<parts>-<hash>`.
/// The parts are made fit for a name (so `web-api`+`prod` and `web`+`api-prod`
/// read alike); the hash, of the state folder (see [`STATE_LABEL`]) and of the
/// parts as given, keeps them apart.
pub fn deploy_name(parts: &[&str], state_dir: &str) -> String {
    let hash = stable_hash(HASH_SEED, &format!("{state_dir}\0{}", parts.join("\0")));
    let parts: Vec<String> = parts
        .iter()
        .map(|p| super::container_name_part(p))
        .collect();
    format!("pipelocal-{}-{:08x}", parts.join("-"), hash as u32)
}

/// Which of the two a deploy container is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeployKind {
    /// A CodeDeploy EC2/on-premises instance, kept between deployments.
    Instance,
    /// A container of an ECS task, replaced by the next revision's.
    Task,
}

impl DeployKind {
    pub fn label(self) -> &'static str {
        match self {
            DeployKind::Instance => "instance",
            DeployKind::Task => "task",
        }
    }
}

/// A port published on 127.0.0.1: `host` on this machine to `container`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PublishedPort {
    pub host: u16,
    pub container: u16,
}

/// Docker's health check, in ECS's terms (ECS API Reference, `HealthCheck`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HealthCheck {
    /// `["CMD", ...]` or `["CMD-SHELL", "..."]`, as ECS and Docker take it.
    pub command: Vec<String>,
    pub interval: Duration,
    pub timeout: Duration,
    pub retries: u32,
    pub start_period: Option<Duration>,
}

/// Everything a deploy container is made from.
#[derive(Debug, Clone)]
pub struct ContainerPlan {
    pub kind: DeployKind,
    /// The container's name; also how the next run finds it.
    pub name: String,
    /// `Application/DeploymentGroup` or `cluster/service`.
    pub target: String,
    /// The absolute state folder (see [`STATE_LABEL`]).
    pub state_dir: String,
    pub image: String,
    /// Replaces the image's entrypoint when given.
    pub entrypoint: Option<Vec<String>>,
    /// Replaces the image's command when given.
    pub command: Option<Vec<String>>,
    pub env: Vec<(String, String)>,
    pub user: Option<String>,
    pub working_dir: Option<String>,
    pub ports: Vec<PublishedPort>,
    pub health: Option<HealthCheck>,
    /// A network to join, and the names the container answers to on it.
    pub network: Option<(String, Vec<String>)>,
    /// More labels (revision, container name, ...).
    pub labels: Vec<(String, String)>,
}

/// A deploy container that exists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    pub id: String,
    pub name: String,
    pub image: String,
    pub running: bool,
    pub labels: HashMap<String, String>,
}

/// How a container stands, as a health wait reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Standing {
    /// Running, with its health check's status when it has one.
    Running { health: Option<Health> },
    /// Not running (any more): its exit code.
    Exited { code: i64 },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Health {
    Starting,
    Healthy,
    Unhealthy,
}

/// Which stream an exec's line came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    Stdout,
    Stderr,
}

/// How a script run by [`exec`] ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExecEnd {
    Exited(i64),
    /// It ran past its timeout; its process group was ended (see [`KILL_GRACE`]).
    TimedOut,
    /// The stop future resolved first; its process group was ended likewise.
    Stopped,
}

/// How long a timed-out or stopped script's process group has between
/// SIGTERM and SIGKILL. docs/deploying-locally.md promises this second.
pub const KILL_GRACE: Duration = Duration::from_secs(1);

fn docker_error(doing: &'static str) -> impl Fn(bollard::errors::Error) -> ExecError {
    move |source| ExecError::Docker { doing, source }
}

fn is_not_found(e: &bollard::errors::Error) -> bool {
    matches!(
        e,
        bollard::errors::Error::DockerResponseServerError {
            status_code: 404,
            ..
        }
    )
}

/// The deploy container named `name`, if there is one.
pub async fn find(docker: &Docker, name: &str) -> Result<Option<Found>, ExecError> {
    match docker.inspect_container(name, None).await {
        Ok(c) => {
            let config = c.config.unwrap_or_default();
            Ok(Some(Found {
                id: c.id.unwrap_or_default(),
                name: c.name.unwrap_or_default().trim_start_matches('/').into(),
                image: config.image.unwrap_or_default(),
                running: c.state.and_then(|s| s.running).unwrap_or(false),
                labels: config.labels.unwrap_or_default(),
            }))
        }
        Err(e) if is_not_found(&e) => Ok(None),
        Err(source) => Err(ExecError::Docker {
            doing: "looking for a deploy container",
            source,
        }),
    }
}

/// The ports `container` was made to publish (running or not), sorted.
pub async fn published_ports(
    docker: &Docker,
    container: &str,
) -> Result<Vec<PublishedPort>, ExecError> {
    let c = docker
        .inspect_container(container, None)
        .await
        .map_err(docker_error("inspecting a deploy container"))?;
    let bindings = c
        .host_config
        .and_then(|h| h.port_bindings)
        .unwrap_or_default();
    let mut ports: Vec<PublishedPort> = bindings
        .iter()
        .filter_map(|(exposed, hosts)| {
            let container = exposed.split('/').next()?.parse().ok()?;
            Some((container, hosts.as_deref().unwrap_or_default()))
        })
        .flat_map(|(container, hosts)| {
            hosts.iter().filter_map(move |b| {
                let host = b.host_port.as_deref()?.parse().ok()?;
                Some(PublishedPort { host, container })
            })
        })
        .collect();
    ports.sort_by_key(|p| (p.host, p.container));
    Ok(ports)
}

/// Every deploy container of `kind` (all kinds with `None`) deployed from
/// `state_dir`, running or not.
pub async fn list(
    docker: &Docker,
    kind: Option<DeployKind>,
    state_dir: &str,
) -> Result<Vec<Found>, ExecError> {
    let kind = match kind {
        Some(k) => format!("{DEPLOY_LABEL}={}", k.label()),
        None => DEPLOY_LABEL.to_string(),
    };
    let labels = vec![kind, format!("{STATE_LABEL}={state_dir}")];
    let options = ListContainersOptionsBuilder::default()
        .all(true)
        .filters(&HashMap::from([("label".to_string(), labels)]))
        .build();
    let found = docker
        .list_containers(Some(options))
        .await
        .map_err(docker_error("listing deploy containers"))?;
    Ok(found
        .into_iter()
        .map(|c| Found {
            id: c.id.unwrap_or_default(),
            name: c
                .names
                .and_then(|n| n.into_iter().next())
                .unwrap_or_default()
                .trim_start_matches('/')
                .to_string(),
            image: c.image.unwrap_or_default(),
            running: c.state.map(|s| s.to_string()) == Some("running".into()),
            labels: c.labels.unwrap_or_default(),
        })
        .collect())
}

/// Makes the network `name` of `target`'s tasks unless it exists.
pub async fn ensure_network(
    docker: &Docker,
    name: &str,
    target: &str,
    state_dir: &str,
) -> Result<(), ExecError> {
    let options = ListNetworksOptionsBuilder::default()
        .filters(&HashMap::from([(
            "name".to_string(),
            vec![name.to_string()],
        )]))
        .build();
    let existing = docker
        .list_networks(Some(options))
        .await
        .map_err(docker_error("listing networks"))?;
    if existing.iter().any(|n| n.name.as_deref() == Some(name)) {
        return Ok(());
    }
    docker
        .create_network(NetworkCreateRequest {
            name: name.to_string(),
            labels: Some(HashMap::from([
                (
                    DEPLOY_LABEL.to_string(),
                    DeployKind::Task.label().to_string(),
                ),
                (TARGET_LABEL.to_string(), target.to_string()),
                (STATE_LABEL.to_string(), state_dir.to_string()),
            ])),
            ..Default::default()
        })
        .await
        .map_err(docker_error("creating a deploy network"))?;
    Ok(())
}

/// Creates and starts a container from `plan`. With `keep_alive` its main
/// process only waits (an instance: scripts come as execs); otherwise it
/// runs the image's own command (a task).
pub async fn start(
    docker: &Docker,
    plan: &ContainerPlan,
    keep_alive: bool,
) -> Result<Found, ExecError> {
    let mut labels: HashMap<String, String> = plan.labels.iter().cloned().collect();
    labels.insert(DEPLOY_LABEL.into(), plan.kind.label().into());
    labels.insert(TARGET_LABEL.into(), plan.target.clone());
    labels.insert(STATE_LABEL.into(), plan.state_dir.clone());
    let port_bindings: HashMap<String, Option<Vec<PortBinding>>> = plan
        .ports
        .iter()
        .map(|p| {
            (
                format!("{}/tcp", p.container),
                Some(vec![PortBinding {
                    host_ip: Some("127.0.0.1".into()),
                    host_port: Some(p.host.to_string()),
                }]),
            )
        })
        .collect();
    let exposed: Vec<String> = plan
        .ports
        .iter()
        .map(|p| format!("{}/tcp", p.container))
        .collect();
    let (entrypoint, command) = if keep_alive {
        // docker-init reaps what hook scripts leave behind; the loop outlives
        // any sleep the image's busybox or coreutils may limit.
        (
            Some(vec!["/bin/sh".to_string(), "-c".to_string()]),
            Some(vec!["while :; do sleep 3600; done".to_string()]),
        )
    } else {
        (plan.entrypoint.clone(), plan.command.clone())
    };
    let body = ContainerCreateBody {
        image: Some(plan.image.clone()),
        entrypoint,
        cmd: command,
        env: Some(plan.env.iter().map(|(k, v)| format!("{k}={v}")).collect()),
        user: plan.user.clone(),
        working_dir: plan.working_dir.clone(),
        labels: Some(labels),
        exposed_ports: (!exposed.is_empty()).then_some(exposed),
        healthcheck: plan.health.as_ref().map(|h| HealthConfig {
            test: Some(h.command.clone()),
            interval: Some(nanos(h.interval)),
            timeout: Some(nanos(h.timeout)),
            retries: Some(i64::from(h.retries)),
            start_period: h.start_period.map(nanos),
            start_interval: None,
        }),
        host_config: Some(HostConfig {
            init: Some(true),
            port_bindings: (!port_bindings.is_empty()).then_some(port_bindings),
            network_mode: plan.network.as_ref().map(|(n, _)| n.clone()),
            ..Default::default()
        }),
        networking_config: plan
            .network
            .as_ref()
            .map(|(network, aliases)| NetworkingConfig {
                endpoints_config: Some(HashMap::from([(
                    network.clone(),
                    EndpointSettings {
                        aliases: Some(aliases.clone()),
                        ..Default::default()
                    },
                )])),
            }),
        ..Default::default()
    };
    let options = CreateContainerOptionsBuilder::default()
        .name(&plan.name)
        .build();
    let created = docker
        .create_container(Some(options), body)
        .await
        .map_err(|source| ExecError::engine("creating a deploy container", source))?;
    docker
        .start_container(&created.id, None)
        .await
        .map_err(|source| ExecError::engine("starting a deploy container", source))?;
    find(docker, &created.id).await?.ok_or_else(|| {
        ExecError::io(
            "starting a deploy container",
            std::io::Error::other("it went away as it started"),
        )
    })
}

fn nanos(d: Duration) -> i64 {
    i64::try_from(d.as_nanos()).unwrap_or(i64::MAX)
}

/// Starts a stopped container again (an instance after the engine restarted,
/// the previous task when its replacement failed).
pub async fn restart(docker: &Docker, id: &str) -> Result<(), ExecError> {
    docker
        .start_container(id, None)
        .await
        .map_err(|source| ExecError::engine("starting a deploy container again", source))
}

/// Unpacks the tar archive `tar` at `dest` (which must exist) in `container`.
pub async fn upload_tar(
    docker: &Docker,
    container: &str,
    dest: &str,
    tar: Vec<u8>,
) -> Result<(), ExecError> {
    let options = UploadToContainerOptionsBuilder::default()
        .path(dest)
        .build();
    docker
        .upload_to_container(container, Some(options), bollard::body_full(tar.into()))
        .await
        .map_err(docker_error("copying files into a deploy container"))
}

/// What [`exec`] runs.
#[derive(Debug, Clone, Default)]
pub struct ExecPlan {
    pub argv: Vec<String>,
    /// Default: the image's user.
    pub user: Option<String>,
    pub env: Vec<(String, String)>,
    pub working_dir: Option<String>,
    /// SIGTERM to the process group after this long, SIGKILL [`KILL_GRACE`] later.
    pub timeout: Option<Duration>,
}

/// Runs `plan` in `container` with stdin closed, handing each line of its
/// output to `on_line` as it comes: [`exec_until`] without a stop.
pub async fn exec(
    docker: &Docker,
    container: &str,
    plan: &ExecPlan,
    on_line: impl FnMut(Stream, &str),
) -> Result<ExecEnd, ExecError> {
    exec_until(
        docker,
        container,
        plan,
        None::<std::future::Pending<()>>,
        on_line,
    )
    .await
}

/// Runs `plan` in `container` with stdin closed, handing each line of its
/// output to `on_line` as it comes. When `plan.timeout` passes or `stop`
/// resolves first, its process group gets SIGTERM (as the CodeDeploy agent
/// sends it), SIGKILL [`KILL_GRACE`] later, and the wait ends.
///
/// Only then is its process id needed: a shell wrapper, which leads the
/// exec's process group, writes it to a marker file *before* it runs the
/// command, so a kill finds it once the exec has started, and removes the
/// marker when the command ends. Without a timeout or stop the command runs
/// as it is.
pub async fn exec_until(
    docker: &Docker,
    container: &str,
    plan: &ExecPlan,
    stop: Option<impl std::future::Future<Output = ()>>,
    mut on_line: impl FnMut(Stream, &str),
) -> Result<ExecEnd, ExecError> {
    let armed = plan.timeout.is_some() || stop.is_some();
    let marker = format!("/tmp/.pipelocal-exec-{}", super::random_digits());
    let argv = if armed {
        // Not `exec "$@"`: the wrapper stays to remove the marker, and as the
        // group's leader its id is the group's.
        let mut argv = vec![
            "/bin/sh".to_string(),
            "-c".to_string(),
            format!(
                "{{ echo $$ > {marker}; }} 2>/dev/null || {{ echo \"pipelocal: cannot write {marker}\" >&2; exit 126; }}; \"$@\"; s=$?; rm -f {marker}; exit $s"
            ),
            "sh".to_string(),
        ];
        argv.extend(plan.argv.iter().cloned());
        argv
    } else {
        plan.argv.clone()
    };
    let env: Vec<String> = plan.env.iter().map(|(k, v)| format!("{k}={v}")).collect();
    let created = docker
        .create_exec(
            container,
            CreateExecOptions {
                cmd: Some(argv),
                env: (!env.is_empty()).then_some(env),
                attach_stdout: Some(true),
                attach_stderr: Some(true),
                user: plan.user.clone(),
                working_dir: plan.working_dir.clone(),
                ..Default::default()
            },
        )
        .await
        .map_err(docker_error("starting a script"))?;
    let started = docker
        .start_exec(
            &created.id,
            Some(StartExecOptions {
                detach: false,
                tty: false,
                output_capacity: None,
            }),
        )
        .await
        .map_err(docker_error("starting a script"))?;
    let StartExecResults::Attached { mut output, .. } = started else {
        return Err(ExecError::io(
            "starting a script",
            std::io::Error::other("the engine did not attach to it"),
        ));
    };
    let mut lines = LineSplitter::default();
    let cut_short = {
        let reading = async {
            while let Some(item) = output.next().await {
                match item.map_err(docker_error("reading a script's output"))? {
                    bollard::container::LogOutput::StdErr { message } => {
                        lines.push(Stream::Stderr, &message, &mut on_line)
                    }
                    other => lines.push(Stream::Stdout, &other.into_bytes(), &mut on_line),
                }
            }
            Ok::<(), ExecError>(())
        };
        tokio::pin!(reading);
        let deadline = async {
            match plan.timeout {
                Some(limit) => tokio::time::sleep(limit).await,
                None => std::future::pending().await,
            }
        };
        let stopped = async {
            match stop {
                Some(stop) => stop.await,
                None => std::future::pending().await,
            }
        };
        // A read error is the exec's error, whether or not a timeout is armed.
        let cut_short = tokio::select! {
            // Output that ends as the deadline comes is the script's own end.
            biased;
            read = &mut reading => {
                read?;
                None
            }
            () = deadline => Some(ExecEnd::TimedOut),
            () = stopped => Some(ExecEnd::Stopped),
        };
        match cut_short {
            // What the script prints once signalled (a TERM trap's words)
            // is still its output: read on while its group is ended.
            Some(end) => {
                let drain = async {
                    let _ = tokio::time::timeout(KILL_GRACE * 3, &mut reading).await;
                };
                let (ended, ()) =
                    tokio::join!(end_group(docker, container, &created.id, &marker), drain);
                Some((end, ended))
            }
            None => None,
        }
    };
    lines.finish(&mut on_line);
    if let Some((end, ended)) = cut_short {
        ended?;
        return Ok(end);
    }
    let inspect = docker
        .inspect_exec(&created.id)
        .await
        .map_err(docker_error("reading a script's exit status"))?;
    Ok(ExecEnd::Exited(inspect.exit_code.unwrap_or(-1)))
}

/// SIGTERM to the process group whose leader's id is in `marker`, SIGKILL
/// [`KILL_GRACE`] later, the marker removed. The exec `exec_id` may not
/// have written the marker yet: it is waited for while the exec has not
/// ended (one that ended has nothing left to end).
/// Refuses a marker that does not hold a process id above 1: `kill -TERM
/// -1` would signal every process of the instance.
const ONLY_A_PID: &str = "case $p in ''|*[!0-9]*|0|1) exit 0;; esac;";

async fn end_group(
    docker: &Docker,
    container: &str,
    exec_id: &str,
    marker: &str,
) -> Result<(), ExecError> {
    // Exit 3: no marker yet.
    let term = format!(
        "[ -s {marker} ] || exit 3; p=$(cat {marker}); {ONLY_A_PID} kill -TERM -$p 2>/dev/null || kill -TERM $p 2>/dev/null; true"
    );
    // Bounded: an exec the engine says neither runs nor ended would
    // otherwise be waited for without end.
    for waited in 0.. {
        if run_root(docker, container, &term).await? != 3 {
            break;
        }
        if waited == 500 {
            return Err(ExecError::io(
                "ending a script",
                std::io::Error::other(format!("it never wrote {marker}")),
            ));
        }
        let e = docker
            .inspect_exec(exec_id)
            .await
            .map_err(docker_error("looking at a script to end"))?;
        // Not running with an exit code: it ended. Not running without one:
        // not started yet, so its marker is still to come.
        if e.running != Some(true) && e.exit_code.is_some() {
            return run_root(docker, container, &format!("rm -f {marker}"))
                .await
                .map(drop);
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    tokio::time::sleep(KILL_GRACE).await;
    let kill = format!(
        "p=$(cat {marker} 2>/dev/null) && {{ {ONLY_A_PID} kill -KILL -$p 2>/dev/null || kill -KILL $p 2>/dev/null; }}; rm -f {marker}; true"
    );
    run_root(docker, container, &kill).await.map(drop)
}

/// Runs a short `sh -c` script of pipelocal's own as root, output dropped:
/// its exit status.
async fn run_root(docker: &Docker, container: &str, script: &str) -> Result<i64, ExecError> {
    let created = docker
        .create_exec(
            container,
            CreateExecOptions {
                cmd: Some(vec!["/bin/sh".into(), "-c".into(), script.to_string()]),
                attach_stdout: Some(true),
                attach_stderr: Some(true),
                user: Some("0".into()),
                ..Default::default()
            },
        )
        .await
        .map_err(docker_error("ending a script"))?;
    if let StartExecResults::Attached { mut output, .. } = docker
        .start_exec(&created.id, None)
        .await
        .map_err(docker_error("ending a script"))?
    {
        while output.next().await.is_some() {}
    }
    let inspect = docker
        .inspect_exec(&created.id)
        .await
        .map_err(docker_error("ending a script"))?;
    Ok(inspect.exit_code.unwrap_or(-1))
}

/// Output split into lines per stream; a last line without a newline is
/// handed over at the end.
#[derive(Default)]
struct LineSplitter {
    pending: [Vec<u8>; 2],
}

impl LineSplitter {
    fn push(&mut self, stream: Stream, bytes: &[u8], on_line: &mut impl FnMut(Stream, &str)) {
        let buf = &mut self.pending[stream as usize];
        buf.extend_from_slice(bytes);
        while let Some(at) = buf.iter().position(|b| *b == b'\n') {
            let line: Vec<u8> = buf.drain(..=at).collect();
            let text = String::from_utf8_lossy(&line[..line.len() - 1]);
            on_line(stream, text.trim_end_matches('\r'));
        }
    }

    fn finish(&mut self, on_line: &mut impl FnMut(Stream, &str)) {
        for (i, stream) in [Stream::Stdout, Stream::Stderr].into_iter().enumerate() {
            let rest = std::mem::take(&mut self.pending[i]);
            if !rest.is_empty() {
                on_line(stream, &String::from_utf8_lossy(&rest));
            }
        }
    }
}

/// How the container stands now.
pub async fn standing(docker: &Docker, container: &str) -> Result<Standing, ExecError> {
    let c = docker
        .inspect_container(container, None)
        .await
        .map_err(docker_error("inspecting a deploy container"))?;
    let state = c.state.unwrap_or_default();
    if state.running != Some(true) {
        return Ok(Standing::Exited {
            code: state.exit_code.unwrap_or(-1),
        });
    }
    let health = state.health.and_then(|h| h.status).and_then(|s| match s {
        HealthStatusEnum::STARTING => Some(Health::Starting),
        HealthStatusEnum::HEALTHY => Some(Health::Healthy),
        HealthStatusEnum::UNHEALTHY => Some(Health::Unhealthy),
        _ => None,
    });
    Ok(Standing::Running { health })
}

/// The last `lines` lines the container printed.
pub async fn last_log_lines(docker: &Docker, container: &str, lines: usize) -> Vec<String> {
    let options = LogsOptionsBuilder::default()
        .stdout(true)
        .stderr(true)
        .tail(&lines.to_string())
        .build();
    let mut stream = docker.logs(container, Some(options));
    let mut out = String::new();
    while let Some(Ok(chunk)) = stream.next().await {
        out.push_str(&String::from_utf8_lossy(&chunk.into_bytes()));
    }
    out.lines().map(String::from).collect()
}

/// Stops a container, giving its process `grace` to end after SIGTERM.
pub async fn stop(docker: &Docker, container: &str, grace: Duration) -> Result<(), ExecError> {
    let options = StopContainerOptionsBuilder::default()
        .t(i32::try_from(grace.as_secs()).unwrap_or(i32::MAX))
        .build();
    match docker.stop_container(container, Some(options)).await {
        Ok(()) => Ok(()),
        Err(bollard::errors::Error::DockerResponseServerError {
            status_code: 304 | 404,
            ..
        }) => Ok(()),
        Err(source) => Err(ExecError::Docker {
            doing: "stopping a deploy container",
            source,
        }),
    }
}

/// Removes a container, running or not.
pub async fn remove(docker: &Docker, container: &str) -> Result<(), ExecError> {
    let options = RemoveContainerOptionsBuilder::default()
        .force(true)
        .v(true)
        .build();
    match docker.remove_container(container, Some(options)).await {
        Ok(()) => Ok(()),
        Err(e) if is_not_found(&e) => Ok(()),
        Err(source) => Err(ExecError::Docker {
            doing: "removing a deploy container",
            source,
        }),
    }
}

/// Removes a deploy network (after its containers).
pub async fn remove_network(docker: &Docker, name: &str) -> Result<(), ExecError> {
    match docker.remove_network(name).await {
        Ok(()) => Ok(()),
        Err(e) if is_not_found(&e) => Ok(()),
        Err(source) => Err(ExecError::Docker {
            doing: "removing a deploy network",
            source,
        }),
    }
}

/// What [`remove_all`] removed.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Removed {
    pub containers: Vec<String>,
    pub networks: Vec<String>,
}

/// `pipelocal clean`: every deploy container and network of `state_dir`.
pub async fn remove_all(docker: &Docker, state_dir: &str) -> Result<Removed, ExecError> {
    let mut removed = Removed::default();
    for c in list(docker, None, state_dir).await? {
        remove(docker, &c.id).await?;
        removed.containers.push(c.name);
    }
    let labels = vec![
        DEPLOY_LABEL.to_string(),
        format!("{STATE_LABEL}={state_dir}"),
    ];
    let options = ListNetworksOptionsBuilder::default()
        .filters(&HashMap::from([("label".to_string(), labels)]))
        .build();
    let networks = docker
        .list_networks(Some(options))
        .await
        .map_err(docker_error("listing networks"))?;
    for n in networks {
        let name = n.name.unwrap_or_default();
        remove_network(docker, &name).await?;
        removed.networks.push(name);
    }
    Ok(removed)
}

/// The output of the container's last health check, when it has had one:
/// why it is unhealthy, which its own log seldom says.
pub async fn last_health_output(docker: &Docker, container: &str) -> Option<(i64, String)> {
    let c = docker.inspect_container(container, None).await.ok()?;
    let last = c.state?.health?.log?.pop()?;
    Some((
        last.exit_code.unwrap_or(-1),
        last.output.unwrap_or_default(),
    ))
}

/// Copies the folder `dir` of this machine to `dest` in `container` (made
/// with its parents, modes kept, symbolic links as links): a revision's
/// bundle into an instance.
pub async fn upload_dir(
    docker: &Docker,
    container: &str,
    dest: &str,
    dir: &std::path::Path,
) -> Result<(), ExecError> {
    let inside = dest.trim_matches('/').to_string();
    let dir = dir.to_path_buf();
    let tar = tokio::task::spawn_blocking(move || {
        let mut b = tar::Builder::new(Vec::new());
        b.follow_symlinks(false);
        super::source_tar::append_parents(&mut b, &inside, 0o755)?;
        b.append_dir_all(&inside, &dir)?;
        b.into_inner()
    })
    .await
    .map_err(|e| ExecError::io("packing a bundle", std::io::Error::other(e.to_string())))?
    .map_err(|e| ExecError::io("packing a bundle", e))?;
    upload_tar(docker, container, "/", tar).await
}

/// Writes `contents` to the absolute `path` in `container` with `mode`,
/// making its parents (a script of pipelocal's own, too long for a command line).
pub async fn upload_file(
    docker: &Docker,
    container: &str,
    path: &str,
    contents: &[u8],
    mode: u32,
) -> Result<(), ExecError> {
    let pack = || {
        let inside = path.trim_start_matches('/');
        let mut b = tar::Builder::new(Vec::new());
        if let Some((parent, _)) = inside.rsplit_once('/') {
            super::source_tar::append_parents(&mut b, parent, 0o755)?;
        }
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(tar::EntryType::Regular);
        h.set_mode(mode);
        h.set_size(contents.len() as u64);
        h.set_mtime(0);
        b.append_data(&mut h, inside, contents)?;
        b.into_inner()
    };
    let tar = pack().map_err(|e| ExecError::io("packing a file", e))?;
    upload_tar(docker, container, "/", tar).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_that_read_alike_get_different_names_and_one_target_always_the_same() {
        let a = deploy_name(&["web-api", "prod"], "/s");
        let b = deploy_name(&["web", "api-prod"], "/s");
        assert!(
            a.starts_with("pipelocal-web-api-prod-") && b.starts_with("pipelocal-web-api-prod-")
        );
        assert_ne!(a, b);
        assert_eq!(a, deploy_name(&["web-api", "prod"], "/s"));
        assert_ne!(a, deploy_name(&["web-api", "prod"], "/other"));
    }
}
