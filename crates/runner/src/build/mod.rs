//! One build from start to end: the phase walk of the CodeBuild User Guide's "Build phase transitions" over an
//! executor, with timeouts, stops and guaranteed cleanup. DOWNLOAD_SOURCE's
//! checks are in `download_source`, how a phase's commands run (items,
//! `finally`, `on-failure`, pauses, run-as) in `commands`.

mod commands;
mod download_source;

use std::time::{Duration, SystemTime};

use pipelocal_model::buildspec::{is_shell_name, Buildspec};
use tokio::sync::watch;

use crate::cache::{keyed, local::link_local_cache, CachePlan};
use crate::clock::epoch_seconds;
use crate::environment::{BuildIdentity, SourceVersions, UserVariables};
use crate::events::{BuildEventKind, EventSink, PhaseContext};
use crate::executor::{ExecError, Executor};
use crate::pause::{DebugOptions, PauseReason, Resume, ShellTarget};
use crate::phases::{next_phase, PhaseType, Status};
use crate::probe::{build_shell, shell_values};
use crate::record::*;
use crate::reports::generate_reports;
use crate::shell::StateFiles;
use crate::upload::upload_artifacts;
use commands::{run_as, run_pause, run_phase, shell_target};
use download_source::download_source;

/// Everything a build needs besides its executor.
#[derive(Debug, Clone)]
pub struct BuildRequest {
    pub identity: BuildIdentity,
    /// The buildspec, or why DOWNLOAD_SOURCE fails with `YAML_FILE_ERROR`.
    pub buildspec: Result<Buildspec, BuildspecProblem>,
    /// Shown as `YAML location is ...`: a path below the source, or inline.
    pub buildspec_location: BuildspecLocation,
    pub variables: UserVariables,
    /// Where report JSON files go (`-r`).
    pub reports_dir: Option<std::path::PathBuf>,
    /// How `cache.paths` are kept between builds.
    pub cache: CachePlan,
    /// Where artifact zips go (`-a`); without it they are made and dropped.
    pub artifacts_dir: Option<std::path::PathBuf>,
    /// False when the project says NO_ARTIFACTS: the `artifacts` section is ignored.
    pub artifacts_enabled: bool,
    /// Problems in the buildspec that do not stop it (unknown keys, ...), logged.
    pub buildspec_warnings: Vec<String>,
    /// The cloud build this one reproduces, said in its log (`--from-build`).
    pub reproduces: Option<String>,
    /// Secret references no value is known for: DOWNLOAD_SOURCE fails naming them.
    pub unresolved: Vec<String>,
    pub sources: SourceVersions,
    pub timeout: Duration,
    /// The container's HOME (`/root`), or `None` to keep the host's.
    pub home: Option<String>,
    pub record: RecordDetails,
    /// Where the build pauses for debugging.
    pub debug: DebugOptions,
    /// Going on in a kept build's environment from a phase.
    pub resume: Option<Resume>,
}

/// Why a build has no buildspec.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BuildspecProblem {
    /// No file at `rel` (relative to `CODEBUILD_SRC_DIR`, or absolute).
    Missing {
        rel: String,
        host: std::path::PathBuf,
    },
    /// The file does not parse or validate: CodeBuild's message.
    Invalid(String),
}

impl BuildspecProblem {
    /// The phase context message, with the path as the build sees it.
    pub fn message(&self, src_dir: &str) -> String {
        match self {
            BuildspecProblem::Missing { rel, .. } if rel.starts_with('/') => {
                format!("stat {rel}: no such file or directory")
            }
            BuildspecProblem::Missing { rel, .. } => format!(
                "stat {src_dir}/{}: no such file or directory",
                rel.trim_start_matches("./")
            ),
            BuildspecProblem::Invalid(message) => message.clone(),
        }
    }
}

impl std::fmt::Display for BuildspecProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BuildspecProblem::Missing { host, .. } => {
                write!(f, "{}: no such file", host.display())
            }
            BuildspecProblem::Invalid(message) => f.write_str(message),
        }
    }
}

#[derive(Debug, Clone)]
pub enum BuildspecLocation {
    /// Relative to `CODEBUILD_SRC_DIR`.
    Source(String),
    Inline,
}

/// Project settings echoed into the build record.
#[derive(Debug, Clone)]
pub struct RecordDetails {
    pub source: SourceRecord,
    pub secondary_sources: Vec<SourceRecord>,
    pub environment: EnvironmentRecord,
    pub timeout_in_minutes: u64,
}

/// Ends a build early: `STOPPED`, as StopBuild does.
#[derive(Debug, Clone)]
pub struct StopHandle(watch::Sender<bool>);

#[derive(Debug, Clone)]
pub struct StopSignal(watch::Receiver<bool>);

pub fn stop_channel() -> (StopHandle, StopSignal) {
    let (tx, rx) = watch::channel(false);
    (StopHandle(tx), StopSignal(rx))
}

impl StopHandle {
    pub fn stop(&self) {
        let _ = self.0.send(true);
    }
}

impl StopSignal {
    /// Whether a stop was asked for already.
    pub fn is_stopped(&self) -> bool {
        *self.0.borrow()
    }

    /// Never resolves unless stopped.
    pub async fn stopped(&mut self) {
        if self.0.wait_for(|s| *s).await.is_err() {
            std::future::pending::<()>().await;
        }
    }
}

/// Why the phase walk ended before COMPLETED on its own.
enum Interruption {
    TimedOut,
    Stopped,
    Fault(String),
    /// No build environment could be had (no engine, no image): nothing ran.
    Unavailable(ExecError),
}

struct Walk {
    phases: Vec<PhaseRecord>,
    current: Option<(PhaseType, SystemTime)>,
    succeeding: bool,
    any_failed: bool,
    events: EventSink,
    /// `exported-variables` with their values at the end of POST_BUILD.
    exported: Vec<(String, String)>,
    artifacts: Option<ArtifactRecord>,
    secondary_artifacts: Vec<ArtifactRecord>,
    report_arns: Vec<String>,
    build_id: String,
    debug: DebugOptions,
}

impl Walk {
    fn begin(&mut self, phase: PhaseType) {
        self.current = Some((phase, SystemTime::now()));
        if phase >= PhaseType::DownloadSource && phase <= PhaseType::UploadArtifacts {
            self.events.send(BuildEventKind::PhaseStarted(phase));
        }
    }

    fn finish(&mut self, status: Status, context: PhaseContext) {
        let Some((phase, start)) = self.current.take() else {
            return;
        };
        let end = SystemTime::now();
        if status != Status::Succeeded {
            self.any_failed = true;
        }
        // A failed PROVISIONING has no container log in CodeBuild, but the user must see why.
        let logged = phase >= PhaseType::DownloadSource && phase <= PhaseType::UploadArtifacts;
        if logged || (phase == PhaseType::Provisioning && status != Status::Succeeded) {
            self.events.send(BuildEventKind::PhaseFinished {
                phase,
                status,
                context: context.clone(),
            });
        }
        self.phases.push(PhaseRecord {
            phase_type: phase.as_str().into(),
            phase_status: Some(status.as_str().into()),
            start_time: epoch_seconds(start),
            end_time: Some(epoch_seconds(end)),
            duration_in_seconds: Some(end.duration_since(start).unwrap_or_default().as_secs()),
            contexts: Some(vec![PhaseContextRecord {
                status_code: context.status_code,
                message: self.events.masker().mask(&context.message),
            }]),
        });
    }

    fn instant(&mut self, phase: PhaseType) {
        self.begin(phase);
        self.finish(Status::Succeeded, PhaseContext::default());
    }
}

/// Runs a build to its end and returns its record. `Err` only when the build
/// environment cannot be had at all (no engine, no image): nothing ran.
pub async fn run_build(
    executor: &mut Executor,
    req: &BuildRequest,
    events: &EventSink,
    mut stop: StopSignal,
) -> Result<BuildRecord, ExecError> {
    let masked = events.masking(&req.variables.secret_values());
    let events = &masked;
    let mut walk = Walk {
        phases: Vec::new(),
        current: None,
        succeeding: true,
        any_failed: false,
        events: events.clone(),
        exported: Vec::new(),
        artifacts: None,
        secondary_artifacts: Vec::new(),
        report_arns: Vec::new(),
        build_id: req.identity.id(),
        debug: req.debug.clone(),
    };
    walk.instant(PhaseType::Submitted);
    walk.instant(PhaseType::Queued);
    let interruption = {
        let work = walk_phases(&mut walk, executor, req);
        tokio::pin!(work);
        tokio::select! {
            r = &mut work => r,
            _ = tokio::time::sleep(req.timeout) => Err(Interruption::TimedOut),
            _ = stop.stopped() => Err(Interruption::Stopped),
        }
    };
    let cleanup = executor.cleanup().await;
    if req.debug.keep {
        let state = StateFiles::under(&executor.workspace().state_dir);
        let shell = req.buildspec.as_ref().map_or("sh", build_shell);
        let target = shell_target(executor, &req.identity.id(), &state, shell, None);
        events.send(BuildEventKind::Kept(Box::new(ShellTarget {
            paused: false,
            folder: executor.kept_folder(),
            workspace: Some(executor.workspace().clone()),
            secrets: Vec::new(),
            ..target
        })));
    }
    let build_status = match interruption {
        Ok(()) if walk.any_failed => Status::Failed,
        Ok(()) => Status::Succeeded,
        Err(Interruption::TimedOut) => {
            walk.finish(
                Status::TimedOut,
                PhaseContext::new("BUILD_TIMED_OUT", "Build has timed out. "),
            );
            Status::TimedOut
        }
        Err(Interruption::Stopped) => {
            walk.finish(
                Status::Stopped,
                PhaseContext::new("BUILD_STOPPED", "Build has been stopped. "),
            );
            Status::Stopped
        }
        Err(Interruption::Unavailable(error)) => {
            if let Err(e) = cleanup {
                events.info(format!("Cleanup failed: {e}"));
            }
            return Err(error);
        }
        Err(Interruption::Fault(message)) => {
            walk.finish(Status::Fault, PhaseContext::new("CLIENT_ERROR", message));
            Status::Fault
        }
    };
    if let Err(e) = cleanup {
        events.info(format!("Cleanup failed: {e}"));
    }
    walk.instant(PhaseType::Finalizing);
    let end = SystemTime::now();
    walk.phases.push(PhaseRecord {
        phase_type: PhaseType::Completed.as_str().into(),
        phase_status: None,
        start_time: epoch_seconds(end),
        end_time: None,
        duration_in_seconds: None,
        contexts: None,
    });
    events.send(BuildEventKind::BuildFinished(build_status));
    let exported = std::mem::take(&mut walk.exported);
    let mut record = record(req, walk.phases, build_status, end);
    record.exported_secrets = req
        .variables
        .secret_values()
        .into_iter()
        .filter(|s| !s.is_empty() && exported.iter().any(|(_, v)| v.contains(s.as_str())))
        .collect();
    record.exported_environment_variables = exported
        .into_iter()
        .map(|(name, value)| ExportedVariableRecord { name, value })
        .collect();
    record.artifacts = walk.artifacts.take();
    record.secondary_artifacts = std::mem::take(&mut walk.secondary_artifacts);
    record.report_arns = std::mem::take(&mut walk.report_arns);
    Ok(record)
}

fn record(
    req: &BuildRequest,
    phases: Vec<PhaseRecord>,
    status: Status,
    end: SystemTime,
) -> BuildRecord {
    let who = &req.identity;
    BuildRecord {
        id: who.id(),
        arn: who.arn(),
        build_number: who.number,
        start_time: epoch_seconds(who.start),
        end_time: Some(epoch_seconds(end)),
        current_phase: PhaseType::Completed.as_str().into(),
        build_status: status.as_str().into(),
        source_version: req.sources.source_version.clone(),
        resolved_source_version: req.sources.resolved_source_version.clone(),
        project_name: who.project.clone(),
        phases,
        source: req.record.source.clone(),
        secondary_sources: req.record.secondary_sources.clone(),
        environment: req.record.environment.clone(),
        logs: LogsRecord {
            group_name: format!("/aws/codebuild/{}", who.project),
            stream_name: who.uuid.clone(),
        },
        timeout_in_minutes: req.record.timeout_in_minutes,
        queued_timeout_in_minutes: 480,
        build_complete: true,
        initiator: who.initiator.clone(),
        exported_environment_variables: Vec::new(),
        exported_secrets: Vec::new(),
        artifacts: None,
        secondary_artifacts: Vec::new(),
        report_arns: Vec::new(),
        debug_session: req.debug.session.then(|| DebugSessionRecord {
            session_enabled: true,
            session_target: format!("pipelocal shell {}", who.id()),
        }),
        resumed_from: req.resume.as_ref().map(|r| ResumedFromRecord {
            build_id: r.from_build.clone(),
            phase: r.from_phase.as_str().to_string(),
        }),
        encryption_key: format!(
            "arn:aws:kms:{}:{}:alias/aws/s3",
            who.region,
            crate::environment::LOCAL_ACCOUNT
        ),
        reproduction: None,
    }
}

async fn walk_phases(
    walk: &mut Walk,
    executor: &mut Executor,
    req: &BuildRequest,
) -> Result<(), Interruption> {
    let events = walk.events.clone();
    walk.begin(PhaseType::Provisioning);
    match executor.provision(&events).await {
        Ok(()) => walk.finish(Status::Succeeded, PhaseContext::default()),
        Err(
            e @ (ExecError::Unreachable(_)
            | ExecError::ImageUnavailable { .. }
            | ExecError::CuratedImageUnavailable { .. }),
        ) => {
            walk.current = None;
            return Err(Interruption::Unavailable(e));
        }
        Err(e) => {
            walk.finish(
                Status::Failed,
                PhaseContext::new("BUILD_CONTAINER_UNABLE_TO_START", e.to_string()),
            );
            return Ok(());
        }
    }
    let Some(spec) = download_source(walk, executor, req).await? else {
        return Ok(());
    };
    let state =
        StateFiles::under(&executor.workspace().state_dir).with_secrets(req.variables.secrets());
    match &req.cache {
        // A resumed build's environment has its cache in place already.
        _ if req.resume.is_some() => {}
        CachePlan::Off => {}
        CachePlan::Linked { root } => {
            link_local_cache(executor, &spec, &state, root, &walk.events).await
        }
        CachePlan::Keyed { store } => {
            keyed::restore(executor, &spec, &state, store, &walk.events).await
        }
    }
    let mut phase = req
        .resume
        .as_ref()
        .map_or(PhaseType::Install, |r| r.from_phase);
    while phase != PhaseType::Finalizing {
        if walk.debug.break_before.contains(&phase) {
            let user = run_as(&spec, phase).filter(|_| executor.supports_run_as());
            run_pause(
                walk,
                executor,
                &spec,
                &state,
                user,
                PauseReason::BeforePhase(phase),
            )
            .await?;
        }
        walk.begin(phase);
        if let (PhaseType::UploadArtifacts, CachePlan::Keyed { store }) = (phase, &req.cache) {
            keyed::save(executor, &spec, &state, store, &walk.events).await;
        }
        let (status, context, on_failure) = match phase.buildspec_phase() {
            Some(name) => {
                let body = spec.phase(name);
                let mut user = run_as(&spec, phase);
                if let Some(name) = user.filter(|_| !executor.supports_run_as()) {
                    walk.events.info(format!(
                        "run-as {name} is ignored by the host executor: commands run as the current user"
                    ));
                    user = None;
                }
                let (status, ctx) = run_phase(walk, executor, &spec, &state, body, user).await?;
                (status, ctx, body.and_then(|p| p.on_failure.clone()))
            }
            None if phase == PhaseType::UploadArtifacts && req.artifacts_enabled => {
                let up = upload_artifacts(
                    executor,
                    &spec,
                    &state,
                    req.artifacts_dir.as_deref(),
                    &walk.events,
                )
                .await;
                walk.artifacts = up.primary;
                walk.secondary_artifacts = up.secondary;
                (up.status, up.context, None)
            }
            None => (Status::Succeeded, PhaseContext::default(), None),
        };
        walk.finish(status, context);
        phase = next_phase(phase, status, on_failure.as_ref());
        if phase == PhaseType::UploadArtifacts
            || (phase == PhaseType::Finalizing && walk.exported.is_empty())
        {
            // Project-level secrets are never exported; a buildspec's own
            // parameter-store / secrets-manager variables are, with their
            // value (CodeBuild User Guide, buildspec reference,
            // env/exported-variables). Log lines still mask the value.
            let project_secrets: Vec<&str> = req
                .variables
                .project
                .iter()
                .filter(|v| v.secret)
                .map(|v| v.name.as_str())
                .collect();
            walk.exported = exported_values(executor, &spec, &state)
                .await
                .into_iter()
                .filter(|(name, _)| !project_secrets.contains(&name.as_str()))
                .collect();
        }
    }
    // Reports come last, for failed builds too: that is what they are for.
    if !spec.reports.is_empty() {
        let reports = generate_reports(
            executor,
            &spec,
            &state,
            &req.identity.project,
            &req.identity.arn(),
            req.reports_dir.as_deref(),
            &walk.events,
        )
        .await;
        walk.report_arns = reports.into_iter().map(|r| r.arn).collect();
    }
    Ok(())
}

/// The values of `exported-variables` in the shell state the commands left.
/// Names starting with `AWS_` are never exported (CodeBuild User Guide, buildspec reference, `exported-variables`).
async fn exported_values(
    executor: &Executor,
    spec: &Buildspec,
    state: &StateFiles,
) -> Vec<(String, String)> {
    let names: Vec<&String> = spec
        .env
        .exported_variables
        .iter()
        .filter(|n| is_shell_name(n) && !n.starts_with("AWS_"))
        .collect();
    if names.is_empty() {
        return Vec::new();
    }
    let body: String = names
        .iter()
        .map(|n| {
            format!("if [ \"${{{n}+set}}\" = set ]; then printf '%s\\0%s\\0' {n} \"${n}\"; fi\n")
        })
        .collect();
    let cwd = executor.workspace().src_dir.clone();
    match shell_values(executor, spec, state, &cwd, &body).await {
        Ok(values) => values
            .chunks_exact(2)
            .map(|p| (p[0].clone(), p[1].clone()))
            .collect(),
        Err(_) => Vec::new(),
    }
}
