//! One pipeline execution (CodePipeline User Guide, "How pipeline executions work"): stages in order; in a stage,
//! run-order groups in ascending order, the actions of a group concurrently.
//! A failed action lets its siblings finish, then no later group or stage
//! starts. Every change is written to the history as it happens.

use std::collections::{BTreeMap, HashMap};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use futures_util::future::join_all;
use pipelocal_model::config::ExecutorKind;
use pipelocal_model::pipeline::variables::substitute;
use pipelocal_model::pipeline::{Action, ConditionResult, Pipeline, Stage};
use pipelocal_runner::artifacts::extract::unzip;
use pipelocal_runner::build::StopSignal;
use pipelocal_runner::environment::DEFAULT_REGION;
use pipelocal_runner::events::{BuildEventKind, EventSink, LogText};

use crate::actions::approval::{self, ApprovalOutcome, ApprovalPolicy, ApprovalRequest};
use crate::actions::build::{
    missing_project, run_codebuild, run_commands, unobtainable_project_image, BuildSettings,
    InputArtifact,
};
use crate::actions::deploy::{
    deploy_locally, unmade_output_hint, Context, DeployFailed, Done, Emulation, Local,
};
use crate::actions::handler::Handler;
pub use crate::actions::handler::LocalCommands;
use crate::actions::mapped::{lambda_event, run_mapped, Invocation};
use crate::actions::source::{fetch as fetch_source, GitContent, SourceRequest};
use crate::conditions::evaluate;
use crate::events::{ActionLogLine, PipelineEventKind, PipelineEvents};
use crate::from_execution::{self, FromExecution, SourcePins};
use crate::history::{
    epoch_now, structure, ActionExecution, ActionInput, ActionOutput, ActionTypeIdRecord,
    ArtifactDetail, ArtifactRevision, ConditionRecord, ErrorDetails, ExecutionRecord,
    ExecutionResult, History, HistoryError, ResolvedVariable, RollbackMetadata, SourceRevision,
    StageExecution, StageRetry, Trigger,
};
use crate::locks::{enter_stage, Entry};
use crate::plan::{Plan, StagePlan};
use crate::resume::{seed, RetryMode, Start};
use crate::status::{ActionStatus, ExecutionStatus, StageStatus};
use crate::store::{ArtifactStore, StoredArtifact};

mod action;
mod hooks;

use action::run_action;
use hooks::{check_conditions, on_failure, roll_back, Hook};

/// Everything a run needs besides the stop signal.
#[derive(Debug, Clone)]
pub struct RunOptions {
    pub pipeline: Pipeline,
    pub settings: BuildSettings,
    /// `--source NAME=PATH`, NAME an action or its output artifact.
    pub sources: Vec<(String, PathBuf)>,
    /// The folder whose git repository is the default source.
    pub workdir: PathBuf,
    /// `--variable NAME=VALUE`: pipeline variables.
    pub variables: Vec<(String, String)>,
    /// Which files of git sources are taken (`--uncommitted`).
    pub git_content: GitContent,
    /// Actions and Lambda functions mapped to local commands.
    pub local: LocalCommands,
    /// How manual approvals are answered.
    pub approvals: ApprovalPolicy,
    /// The template's ECS services and blue/green deployment groups (read
    /// with `--deploy local`).
    pub ecs: pipelocal_model::ecs::EcsServices,
    /// The settings as given (configuration and flags), kept in the record.
    pub config: pipelocal_model::config::Config,
    /// `--from-execution`: the cloud execution this run reproduces.
    pub from_execution: Option<FromExecution>,
    /// The source revisions the execution pins, filled when the run starts.
    pub pins: SourcePins,
    /// The CodeDeploy deployment groups the pipeline's template defines.
    pub deployment_groups: Vec<pipelocal_model::codedeploy::DeploymentGroup>,
}

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// Nothing ran: the inputs cannot make an execution.
    #[error("{0}")]
    Unusable(String),
    #[error(transparent)]
    History(#[from] HistoryError),
    #[error("stage lock in {}: {source}", dir.display())]
    Lock {
        dir: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// The message AWS gives when a reference cannot be resolved (CodePipeline User Guide, "Variables reference").
fn unresolved_message(action: &str) -> String {
    format!("An action in this pipeline failed because one or more variables could not be resolved: Action name={action}")
}

/// Checks what can be checked before anything runs.
fn preflight(opts: &RunOptions) -> Result<Vec<ResolvedVariable>, RunError> {
    let p = &opts.pipeline;
    let mut resolved = Vec::new();
    for (name, _) in &opts.variables {
        if !p.variables.iter().any(|v| &v.name == name) {
            let declared: Vec<&str> = p.variables.iter().map(|v| v.name.as_str()).collect();
            return Err(RunError::Unusable(format!(
                "--variable {name}: the pipeline declares no such variable (it declares: {})",
                if declared.is_empty() {
                    "none".to_string()
                } else {
                    declared.join(", ")
                }
            )));
        }
    }
    for v in &p.variables {
        let given = opts
            .variables
            .iter()
            .rev()
            .find(|(n, _)| n == &v.name)
            .map(|(_, v)| v.clone());
        match given.or_else(|| v.default_value.clone()) {
            Some(value) => resolved.push(ResolvedVariable {
                name: v.name.clone(),
                resolved_value: value,
            }),
            None => {
                return Err(RunError::Unusable(format!(
                    "pipeline variable {} has no default: give it with --variable {}=VALUE",
                    v.name, v.name
                )))
            }
        }
    }
    for (name, _) in &opts.sources {
        if !p.source_actions().any(|a| a.answers_to(name)) {
            let names: Vec<&str> = p.source_actions().map(|a| a.name.as_str()).collect();
            return Err(RunError::Unusable(format!(
                "--source {name}: no source action or source artifact has that name (source actions: {})",
                names.join(", ")
            )));
        }
    }
    for (stage, a) in p.actions() {
        if let Handler::CodeBuild = Handler::of(&stage.name, a, &opts.local) {
            let name = a.config("ProjectName").unwrap_or_default();
            let has_refs = name.contains("#{");
            let assumed = opts.settings.assume_undefined_projects;
            if !has_refs && !assumed && opts.settings.project(name).is_none() {
                return Err(RunError::Unusable(format!(
                    "action {}: {}",
                    a.name,
                    missing_project(name)
                )));
            }
        }
    }
    Ok(resolved)
}

/// Whether some action of the pipeline will need the Docker engine.
fn needs_docker(opts: &RunOptions) -> bool {
    let docker_builds = opts.settings.executor == ExecutorKind::Docker;
    opts.pipeline
        .actions()
        .any(|(stage, a)| Handler::of(&stage.name, a, &opts.local).needs_docker(a, docker_builds))
}

/// What every action of the run shares, behind locks where actions of one
/// group write concurrently.
struct Shared {
    opts: RunOptions,
    store: ArtifactStore,
    history: History,
    record: Mutex<ExecutionRecord>,
    artifacts: Mutex<HashMap<String, StoredArtifact>>,
    namespaces: Mutex<HashMap<String, BTreeMap<String, String>>>,
    /// Secret values earlier actions exported, masked in every later log.
    secrets: Mutex<Vec<String>>,
    events: PipelineEvents,
    stop: StopSignal,
}

impl Shared {
    /// Changes the record and writes it at once.
    fn update(&self, change: impl FnOnce(&mut ExecutionRecord)) -> Result<(), HistoryError> {
        let mut record = self.record.lock().expect("record lock");
        change(&mut record);
        record.last_update_time = epoch_now();
        self.history.save(&record)
    }

    /// Changes one action execution of the record and writes it.
    fn update_action(
        &self,
        id: &str,
        change: impl FnOnce(&mut ActionExecution),
    ) -> Result<(), HistoryError> {
        self.update(|r| {
            if let Some(a) = r
                .action_executions
                .iter_mut()
                .find(|a| a.action_execution_id == id)
            {
                change(a);
            }
        })
    }

    fn execution_id(&self) -> String {
        self.record
            .lock()
            .expect("record lock")
            .pipeline_execution_id
            .clone()
    }
}

/// Runs the pipeline from `start` to its end (or until stopped) and returns
/// the final record.
pub async fn run_pipeline(
    mut opts: RunOptions,
    start: Start,
    events: PipelineEvents,
    stop: StopSignal,
) -> Result<ExecutionRecord, RunError> {
    let reproduction = match opts.from_execution.clone() {
        Some(from) => Some(from_execution::prepare(&mut opts, &from).await?),
        None => None,
    };
    if let Some(r) = &reproduction {
        opts.pins = r.pins.clone();
    }
    let variables = preflight(&opts)?;
    let p = &opts.pipeline;
    if let Some(first) = start.first_stage() {
        if !p.stages.iter().any(|s| s.name == first) {
            let names: Vec<&str> = p.stages.iter().map(|s| s.name.as_str()).collect();
            return Err(RunError::Unusable(format!(
                "the pipeline has no stage {first} (its stages: {})",
                names.join(", ")
            )));
        }
    }
    let bucket = p
        .artifact_store
        .as_ref()
        .map(|s| s.location.clone())
        .or_else(|| {
            p.artifact_stores
                .as_ref()
                .and_then(|m| m.values().next().map(|s| s.location.clone()))
        })
        .unwrap_or_else(|| "pipelocal-artifacts".into());
    let now = epoch_now();
    let mut record = match &start {
        Start::Retry {
            execution,
            stage,
            mode,
        } => {
            let mut r = (**execution).clone();
            r.status = ExecutionStatus::InProgress;
            r.status_summary = None;
            r.stage_retries
                .push(StageRetry::new(stage, mode.as_str(), "ManualStageRetry"));
            r
        }
        _ => new_record(&opts.config, p, variables, &opts.variables, &start, now),
    };
    if let Some(from) = &opts.from_execution {
        record.trigger.trigger_detail = format!(
            "pipelocal run --from-execution {} (execution {} of {})",
            from.file.display(),
            from.execution.pipeline_execution_id,
            from.execution.pipeline_name
        );
    }
    let (seeded, namespaces) = start.base().map(seed).unwrap_or_default();
    // Nothing has run yet: an engine that does not answer, or a state folder
    // that cannot be written, leaves the pipeline untouched.
    if needs_docker(&opts) {
        let docker = pipelocal_runner::executor::connect()
            .await
            .map_err(|e| RunError::Unusable(e.to_string()))?;
        if opts.settings.executor == ExecutorKind::Docker {
            for (stage, a) in p.actions() {
                if !matches!(Handler::of(&stage.name, a, &opts.local), Handler::CodeBuild) {
                    continue;
                }
                if let Some(message) = unobtainable_project_image(&opts.settings, &docker, a).await
                {
                    return Err(RunError::Unusable(message));
                }
            }
        }
    }
    let history = History::new(&opts.settings.state_dir);
    history
        .save(&record)
        .map_err(|e| RunError::Unusable(e.to_string()))?;
    let shared = Arc::new(Shared {
        store: ArtifactStore::new(&opts.settings.state_dir, &bucket),
        history,
        record: Mutex::new(record.clone()),
        artifacts: Mutex::new(seeded),
        namespaces: Mutex::new(namespaces),
        secrets: Mutex::new(Vec::new()),
        events: events.clone(),
        stop,
        opts,
    });
    events.send(PipelineEventKind::ExecutionStarted {
        pipeline: record.pipeline_name.clone(),
        execution_id: record.pipeline_execution_id.clone(),
    });
    for note in reproduction.iter().flat_map(|r| &r.notes) {
        events.send(PipelineEventKind::Note(note.clone()));
    }
    let pipeline = shared.opts.pipeline.clone();
    let plan = Plan::new(&pipeline);
    let first = start
        .first_stage()
        .and_then(|f| plan.stages.iter().position(|s| s.stage.name == f))
        .unwrap_or(0);
    let mut outcome = ExecutionStatus::Succeeded;
    let mut summary = None;
    let mut rollback = None;
    let lock_dir = shared.history.lock_dir(&record.pipeline_name);
    let mode = shared.opts.pipeline.execution_mode();
    for stage in &plan.stages[first..] {
        if shared.stop.is_stopped() {
            outcome = ExecutionStatus::Stopped;
            break;
        }
        let name = stage.stage.name.clone();
        let entry = enter_stage(
            &lock_dir,
            &name,
            mode,
            &record.pipeline_execution_id,
            // A retry arrives now, not when its execution first started.
            now,
            &shared.stop,
        )
        .await
        .map_err(|source| RunError::Lock {
            dir: lock_dir.clone(),
            source,
        })?;
        // Held until this stage ends: the next execution waits for it.
        let _stage_lock = match entry {
            Entry::Entered(lock) => lock,
            Entry::Superseded { by } => {
                outcome = ExecutionStatus::Superseded;
                summary = Some(format!("Superseded at stage {name} by execution {by}"));
                break;
            }
            Entry::Stopped => {
                outcome = ExecutionStatus::Stopped;
                break;
            }
        };
        shared.update(|r| {
            r.stages.push(StageExecution {
                stage_name: name.clone(),
                status: StageStatus::InProgress,
                start_time: epoch_now(),
                end_time: None,
            })
        })?;
        events.send(PipelineEventKind::StageStarted {
            stage: name.clone(),
        });
        // A gate that fails is the stage's end: onFailure is for failed actions.
        let gate = check_conditions(&shared, &name, Hook::BeforeEntry)?;
        let mut stage_status = match gate {
            Some(ConditionResult::Skip) => StageStatus::Skipped,
            Some(_) => StageStatus::Failed,
            None => run_groups(&shared, stage, &start).await?,
        };
        // One action (--only) or a rollback: no automatic retry or rollback.
        if gate.is_none() && stage_status == StageStatus::Failed && !start.is_single() {
            match on_failure(&shared, stage.stage)? {
                Some((ConditionResult::Retry, mode)) => {
                    shared.update(|r| {
                        r.stage_retries.push(StageRetry::new(
                            &name,
                            mode.as_str(),
                            "AutomatedStageRetry",
                        ))
                    })?;
                    let record = shared.record.lock().expect("record lock").clone();
                    let again = Start::Retry {
                        stage: name.clone(),
                        mode,
                        execution: Box::new(record),
                    };
                    stage_status = run_groups(&shared, stage, &again).await?;
                }
                Some((ConditionResult::Rollback, _)) => rollback = Some(name.clone()),
                _ => {}
            }
        }
        // onSuccess is checked however the stage came to succeed (a retry too).
        if gate.is_none() && stage_status == StageStatus::Succeeded {
            match check_conditions(&shared, &name, Hook::OnSuccess)? {
                Some(ConditionResult::Rollback) => {
                    stage_status = StageStatus::Failed;
                    rollback = Some(name.clone());
                }
                Some(_) => stage_status = StageStatus::Failed,
                None => {}
            }
        }
        shared.update(|r| {
            if let Some(s) = r.stages.iter_mut().rev().find(|s| s.stage_name == name) {
                s.status = stage_status;
                s.end_time = Some(epoch_now());
            }
        })?;
        events.send(PipelineEventKind::StageFinished {
            stage: name.clone(),
            status: stage_status,
        });
        match stage_status {
            StageStatus::Failed => {
                outcome = ExecutionStatus::Failed;
                summary = Some(format!("Stage {name} failed"));
                break;
            }
            StageStatus::Stopped => {
                outcome = ExecutionStatus::Stopped;
                break;
            }
            _ if start.is_single() => break,
            _ => {}
        }
    }
    if outcome == ExecutionStatus::Stopped {
        summary = Some("Stopped (Ctrl-C)".into());
    }
    shared.update(|r| {
        r.status = outcome;
        r.status_summary = summary.clone();
    })?;
    events.send(PipelineEventKind::ExecutionFinished {
        status: outcome,
        summary,
    });
    let record = shared.record.lock().expect("record lock").clone();
    // A rollback that fails does not roll back again.
    if let (Some(stage), false) = (rollback, matches!(start, Start::Rollback { .. })) {
        roll_back(&shared, &record, &stage).await?;
    }
    Ok(record)
}

/// Runs a stage's run-order groups (the actions `start` lets run) and says
/// how the stage ended.
async fn run_groups(
    shared: &Arc<Shared>,
    stage: &StagePlan<'_>,
    start: &Start,
) -> Result<StageStatus, RunError> {
    let name = &stage.stage.name;
    for group in &stage.groups {
        if shared.stop.is_stopped() {
            return Ok(StageStatus::Stopped);
        }
        let runs = group
            .actions
            .iter()
            .filter(|a| start.runs(name, &a.name))
            .map(|a| run_action(shared.clone(), name.clone(), (*a).clone()));
        let mut statuses = Vec::new();
        for r in join_all(runs).await {
            statuses.push(r?);
        }
        if statuses.contains(&ActionStatus::Abandoned) || shared.stop.is_stopped() {
            return Ok(StageStatus::Stopped);
        }
        if statuses.contains(&ActionStatus::Failed) {
            return Ok(StageStatus::Failed);
        }
    }
    Ok(StageStatus::Succeeded)
}

/// A new execution's record.
fn new_record(
    config: &pipelocal_model::config::Config,
    p: &Pipeline,
    variables: Vec<ResolvedVariable>,
    given: &[(String, String)],
    start: &Start,
    now: f64,
) -> ExecutionRecord {
    let detail = match start {
        Start::FromStage { stage, base } => format!(
            "pipelocal run --from-stage {stage} (artifacts of {})",
            base.pipeline_execution_id
        ),
        Start::Only {
            stage,
            action,
            base,
        } => format!(
            "pipelocal run --only {stage}/{action} (artifacts of {})",
            base.pipeline_execution_id
        ),
        Start::Rollback { stage, target } => format!(
            "rollback of stage {stage} to the artifacts of {}",
            target.pipeline_execution_id
        ),
        _ => "pipelocal run".into(),
    };
    // A resumed execution keeps the base's variables, but for those given again.
    let variables = match start.base() {
        Some(base) if matches!(start, Start::Rollback { .. }) => base.variables.clone(),
        Some(base) => variables
            .into_iter()
            .map(|v| {
                let kept = base.variables.iter().find(|b| b.name == v.name);
                match kept {
                    Some(b) if !given.iter().any(|(n, _)| n == &v.name) => b.clone(),
                    _ => v,
                }
            })
            .collect(),
        None => variables,
    };
    let (stage_names, stage_actions) = structure(p);
    ExecutionRecord {
        pipeline_name: p.name.clone(),
        pipeline_version: p.version.unwrap_or(1),
        pipeline_execution_id: uuid::Uuid::new_v4().to_string(),
        status: ExecutionStatus::InProgress,
        status_summary: None,
        start_time: now,
        last_update_time: now,
        trigger: Trigger {
            trigger_type: match start {
                Start::Rollback { .. } => "AutomatedRollback",
                _ => "StartPipelineExecution",
            }
            .into(),
            trigger_detail: detail,
        },
        execution_mode: p.execution_mode().as_str().into(),
        execution_type: match start {
            Start::Rollback { .. } => "ROLLBACK",
            _ => "STANDARD",
        }
        .into(),
        variables,
        source_revisions: start
            .base()
            .map(|b| b.source_revisions.clone())
            .unwrap_or_default(),
        artifact_revisions: start
            .base()
            .map(|b| b.artifact_revisions.clone())
            .unwrap_or_default(),
        stage_retries: Vec::new(),
        conditions: Vec::new(),
        rollback_metadata: match start {
            Start::Rollback { target, .. } => Some(RollbackMetadata {
                rollback_target_pipeline_execution_id: target.pipeline_execution_id.clone(),
            }),
            _ => None,
        },
        settings: config.clone(),
        stages: Vec::new(),
        action_executions: Vec::new(),
        pipeline_file: std::fs::canonicalize(&p.origin.file)
            .unwrap_or_else(|_| p.origin.file.clone())
            .display()
            .to_string(),
        stage_names,
        stage_actions,
    }
}

/// The variables a reference can name at this moment of the execution.
struct Scope {
    execution_id: String,
    variables: Vec<ResolvedVariable>,
    namespaces: HashMap<String, BTreeMap<String, String>>,
}

impl Scope {
    fn of(shared: &Shared) -> Scope {
        Scope {
            execution_id: shared.execution_id(),
            variables: shared.record.lock().expect("record lock").variables.clone(),
            namespaces: shared.namespaces.lock().expect("namespaces lock").clone(),
        }
    }

    fn get(&self, ns: &str, key: &str) -> Option<String> {
        match ns {
            "codepipeline" if key == "PipelineExecutionId" => Some(self.execution_id.clone()),
            "variables" => self
                .variables
                .iter()
                .find(|v| v.name == key)
                .map(|v| v.resolved_value.clone()),
            _ => self
                .namespaces
                .get(ns)
                .and_then(|vars| vars.get(key))
                .cloned(),
        }
    }
}
