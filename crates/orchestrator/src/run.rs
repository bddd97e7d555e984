//! One pipeline execution (codepipeline.md §3.2): stages in order; in a stage,
//! run-order groups in ascending order, the actions of a group concurrently.
//! A failed action lets its siblings finish, then no later group or stage
//! starts. Every change is written to the history as it happens.

use std::collections::{BTreeMap, HashMap};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use futures_util::future::join_all;
use pipelocal_model::config::LocalCommand;
use pipelocal_model::pipeline::variables::substitute;
use pipelocal_model::pipeline::{Action, Category, ConditionResult, Owner, Pipeline, Stage};
use pipelocal_runner::artifacts::extract::unzip;
use pipelocal_runner::build::StopSignal;
use pipelocal_runner::environment::DEFAULT_REGION;
use pipelocal_runner::events::{BuildEventKind, EventSink, LogText};
use pipelocal_runner::local::ExecutorKind;

use crate::actions::approval::{self, ApprovalOutcome, ApprovalPolicy, ApprovalRequest};
use crate::actions::build::{
    missing_project, run_codebuild, run_commands, BuildSettings, InputArtifact,
};
use crate::actions::deploy::{emulated, Context};
use crate::actions::mapped::{lambda_event, mapping, run_mapped, Invocation};
use crate::actions::source::{ecr_source, is_git_provider, run_source, GitContent, SourceInput};
use crate::conditions::evaluate;
use crate::events::{ActionLogLine, PipelineEventKind, PipelineEvents};
use crate::history::{
    epoch_now, ActionExecution, ActionInput, ActionOutput, ActionTypeIdRecord, ArtifactDetail,
    ArtifactRevision, ConditionRecord, ErrorDetails, ExecutionRecord, ExecutionResult, History,
    HistoryError, ResolvedVariable, RollbackMetadata, SourceRevision, StageExecution, StageRetry,
    Trigger,
};
use crate::locks::{enter_stage, Entry};
use crate::plan::{Plan, StagePlan};
use crate::resume::{seed, RetryMode, Start};
use crate::status::{ActionStatus, ExecutionStatus, StageStatus};
use crate::store::{s3_path, ArtifactStore, S3Location};

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
    /// The settings as given (configuration and flags), kept in the record.
    pub config: pipelocal_model::config::Config,
}

/// The configuration's `actions:` and `functions:`.
#[derive(Debug, Clone, Default)]
pub struct LocalCommands {
    pub actions: BTreeMap<String, LocalCommand>,
    pub functions: BTreeMap<String, LocalCommand>,
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

/// The message AWS gives when a reference cannot be resolved (codepipeline.md §3.4).
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
        let known = p.actions().any(|(_, a)| {
            a.action_type_id.category == Category::Source
                && (&a.name == name || a.outputs().any(|o| o == name))
        });
        if !known {
            let names: Vec<&str> = p
                .actions()
                .filter(|(_, a)| a.action_type_id.category == Category::Source)
                .map(|(_, a)| a.name.as_str())
                .collect();
            return Err(RunError::Unusable(format!(
                "--source {name}: no source action or source artifact has that name (source actions: {})",
                names.join(", ")
            )));
        }
    }
    for (stage, a) in p.actions() {
        let mapped = mapping(&opts.local.actions, &stage.name, &a.name).is_some();
        if a.action_type_id.is(Owner::Aws, "CodeBuild") && !mapped {
            let name = a.config("ProjectName").unwrap_or_default();
            let has_refs = name.contains("#{");
            if !has_refs && opts.settings.project(name).is_none() {
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
    opts.pipeline.actions().any(|(stage, a)| {
        let t = &a.action_type_id;
        match mapping(&opts.local.actions, &stage.name, &a.name) {
            Some(command) => command.image.is_some(),
            None => {
                (docker_builds && (t.is(Owner::Aws, "CodeBuild") || t.is(Owner::Aws, "Commands")))
                    || t.is(Owner::Aws, "ECR")
                    || t.is(Owner::Aws, "ECS")
            }
        }
    })
}

/// An artifact made in this execution.
#[derive(Debug, Clone)]
struct StoredArtifact {
    location: S3Location,
    revision: Option<String>,
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
    opts: RunOptions,
    start: Start,
    events: PipelineEvents,
    stop: StopSignal,
) -> Result<ExecutionRecord, RunError> {
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
    let record = match &start {
        Start::Retry {
            execution,
            stage,
            mode,
        } => {
            let mut r = (**execution).clone();
            r.status = ExecutionStatus::InProgress;
            r.status_summary = None;
            r.stage_retries.push(StageRetry {
                stage_name: stage.clone(),
                retry_mode: mode.as_str().into(),
                trigger: "ManualStageRetry".into(),
                time: now,
            });
            r
        }
        _ => new_record(&opts.config, p, variables, &opts.variables, &start, now),
    };
    let (seeded, namespaces) = start.base().map(seed).unwrap_or_default();
    // Nothing has run yet: an engine that does not answer, or a state folder
    // that cannot be written, leaves the pipeline untouched.
    if needs_docker(&opts) {
        pipelocal_runner::executor::connect()
            .await
            .map_err(|e| RunError::Unusable(e.to_string()))?;
    }
    let history = History::new(&opts.settings.state_dir);
    history
        .save(&record)
        .map_err(|e| RunError::Unusable(e.to_string()))?;
    let shared = Arc::new(Shared {
        store: ArtifactStore::new(&opts.settings.state_dir, &bucket),
        history,
        record: Mutex::new(record.clone()),
        artifacts: Mutex::new(
            seeded
                .into_iter()
                .map(|(name, a)| {
                    (
                        name,
                        StoredArtifact {
                            location: a.location,
                            revision: a.revision,
                        },
                    )
                })
                .collect(),
        ),
        namespaces: Mutex::new(namespaces),
        events: events.clone(),
        stop,
        opts,
    });
    events.send(PipelineEventKind::ExecutionStarted {
        pipeline: record.pipeline_name.clone(),
        execution_id: record.pipeline_execution_id.clone(),
    });
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
                    let (stage_name, mode_name) = (name.clone(), mode.as_str().to_string());
                    shared.update(|r| {
                        r.stage_retries.push(StageRetry {
                            stage_name,
                            retry_mode: mode_name,
                            trigger: "AutomatedStageRetry".into(),
                            time: epoch_now(),
                        })
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

/// Evaluates a stage's conditions for `hook` and records them; the result of
/// the first condition not met, if any.
fn check_conditions(
    shared: &Shared,
    stage: &str,
    hook: Hook,
) -> Result<Option<ConditionResult>, RunError> {
    let Some(declared) = shared.opts.pipeline.stages.iter().find(|s| s.name == stage) else {
        return Ok(None);
    };
    let conditions = match hook {
        Hook::BeforeEntry => declared.before_entry.as_ref().map(|c| &c.conditions),
        Hook::OnSuccess => declared.on_success.as_ref().map(|c| &c.conditions),
        Hook::OnFailure => declared.on_failure.as_ref().map(|c| &c.conditions),
    };
    let scope = Scope::of(shared);
    let mut failed = None;
    for condition in conditions.into_iter().flatten() {
        let outcome = evaluate(condition, |ns, key| scope.get(ns, key));
        let met = outcome.met;
        let record = ConditionRecord {
            stage_name: stage.to_string(),
            hook: hook.as_str().into(),
            status: if met { "Succeeded" } else { "Failed" }.into(),
            summary: outcome.summary(),
            rules: outcome.rules,
            time: epoch_now(),
        };
        shared.update(|r| r.conditions.push(record))?;
        if !met && failed.is_none() {
            let default = match hook {
                Hook::BeforeEntry | Hook::OnSuccess => ConditionResult::Fail,
                Hook::OnFailure => ConditionResult::Fail,
            };
            failed = Some(condition.result.unwrap_or(default));
        }
    }
    Ok(failed)
}

/// What `onFailure` asks for: its result when its conditions (if any) are all met.
fn on_failure(
    shared: &Shared,
    stage: &Stage,
) -> Result<Option<(ConditionResult, RetryMode)>, RunError> {
    let Some(on) = &stage.on_failure else {
        return Ok(None);
    };
    if !on.conditions.is_empty()
        && check_conditions(shared, &stage.name, Hook::OnFailure)?.is_some()
    {
        return Ok(None);
    }
    let mode = match on.retry_configuration.as_ref().and_then(|c| c.retry_mode) {
        Some(pipelocal_model::pipeline::RetryMode::AllActions) => RetryMode::AllActions,
        _ => RetryMode::FailedActions,
    };
    // One automatic retry per stage and execution.
    let retried = shared
        .record
        .lock()
        .expect("record lock")
        .stage_retries
        .iter()
        .any(|r| r.stage_name == stage.name && r.trigger == "AutomatedStageRetry");
    Ok(match on.result {
        Some(ConditionResult::Retry) if retried => None,
        Some(result) => Some((result, mode)),
        None => None,
    })
}

/// ROLLBACK: a new execution of the stage with the artifacts and variables
/// of the last execution that succeeded in it (codepipeline.md §3.9).
async fn roll_back(
    shared: &Arc<Shared>,
    failed: &ExecutionRecord,
    stage: &str,
) -> Result<(), RunError> {
    let note = |text: String| shared.events.send(PipelineEventKind::Note(text));
    if shared
        .opts
        .pipeline
        .stages
        .first()
        .is_some_and(|s| s.name == stage)
    {
        note(format!(
            "UnableToRollbackStageException: stage {stage} is a source stage"
        ));
        return Ok(());
    }
    let target = shared
        .history
        .executions(&failed.pipeline_name)?
        .into_iter()
        // The target ran under the current structure, and is no rollback itself.
        .filter(|e| {
            e.pipeline_execution_id != failed.pipeline_execution_id
                && e.execution_type != "ROLLBACK"
                && e.stage_names == failed.stage_names
                && e.stage_actions == failed.stage_actions
        })
        .find(|e| {
            e.stages
                .iter()
                .rev()
                .find(|s| s.stage_name == stage)
                .is_some_and(|s| s.status == StageStatus::Succeeded)
        });
    let Some(target) = target else {
        note(format!(
            "UnableToRollbackStageException: no earlier execution succeeded in stage {stage}"
        ));
        return Ok(());
    };
    let start = Start::Rollback {
        stage: stage.to_string(),
        target: Box::new(target),
    };
    Box::pin(run_pipeline(
        shared.opts.clone(),
        start,
        shared.events.clone(),
        shared.stop.clone(),
    ))
    .await
    .map(|_| ())
}

/// The moments a stage's conditions are checked.
#[derive(Debug, Clone, Copy)]
enum Hook {
    BeforeEntry,
    OnSuccess,
    OnFailure,
}

impl Hook {
    fn as_str(self) -> &'static str {
        match self {
            Hook::BeforeEntry => "BEFORE_ENTRY",
            Hook::OnSuccess => "ON_SUCCESS",
            Hook::OnFailure => "ON_FAILURE",
        }
    }
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
        stage_names: p.stages.iter().map(|s| s.name.clone()).collect(),
        stage_actions: p
            .stages
            .iter()
            .map(|s| s.actions.iter().map(|a| a.name.clone()).collect())
            .collect(),
    }
}

/// The result of an action, before it is written down.
#[derive(Default)]
struct Finished {
    status: Option<ActionStatus>,
    summary: Option<String>,
    error: Option<ErrorDetails>,
    external_id: Option<String>,
    outputs: Vec<(String, PathBuf, Option<String>)>,
    variables: BTreeMap<String, String>,
}

impl Finished {
    fn failed(code: &str, message: impl Into<String>) -> Self {
        let message = message.into();
        Finished {
            status: Some(ActionStatus::Failed),
            summary: Some(message.clone()),
            error: Some(ErrorDetails {
                code: code.into(),
                message,
            }),
            ..Finished::default()
        }
    }
}

/// Runs one action and records it; returns its final status.
async fn run_action(
    shared: Arc<Shared>,
    stage: String,
    action: Action,
) -> Result<ActionStatus, RunError> {
    let execution_id = shared.execution_id();
    let action_execution_id = uuid::Uuid::new_v4().to_string();
    let (inputs, missing): (Vec<(String, StoredArtifact)>, Vec<String>) = {
        let artifacts = shared.artifacts.lock().expect("artifacts lock");
        let inputs = action
            .inputs()
            .filter_map(|n| artifacts.get(n).map(|a| (n.to_string(), a.clone())))
            .collect();
        let missing = action
            .inputs()
            .filter(|n| !artifacts.contains_key(*n))
            .map(String::from)
            .collect();
        (inputs, missing)
    };
    let t = &action.action_type_id;
    let start = epoch_now();
    let entry = ActionExecution {
        pipeline_execution_id: execution_id.clone(),
        action_execution_id: action_execution_id.clone(),
        pipeline_version: shared.opts.pipeline.version.unwrap_or(1),
        stage_name: stage.clone(),
        action_name: action.name.clone(),
        start_time: start,
        last_update_time: start,
        status: ActionStatus::InProgress,
        input: ActionInput {
            action_type_id: ActionTypeIdRecord {
                category: t.category.to_string(),
                owner: t.owner.to_string(),
                provider: t.provider.clone(),
                version: t.version.clone(),
            },
            configuration: action.configuration.clone(),
            resolved_configuration: BTreeMap::new(),
            role_arn: action.role_arn.clone(),
            region: action
                .region
                .clone()
                .unwrap_or_else(|| DEFAULT_REGION.into()),
            namespace: action.namespace.clone(),
            input_artifacts: inputs
                .iter()
                .map(|(name, a)| ArtifactDetail {
                    name: name.clone(),
                    s3location: a.location.clone(),
                })
                .collect(),
        },
        output: ActionOutput::default(),
    };
    shared.update(|r| r.action_executions.push(entry))?;
    shared.events.send(PipelineEventKind::ActionStarted {
        stage: stage.clone(),
        action: action.name.clone(),
    });
    let log_path = shared.history.log_path(
        &shared.opts.pipeline.name,
        &execution_id,
        &stage,
        &action.name,
    );
    let (sink, log_task) = action_log(&shared.events, &stage, &action.name, &log_path);
    // Inputs, outputs and the build's copy live here until the outputs are stored.
    let work = tempfile::Builder::new()
        .prefix("work-")
        .tempdir_in(work_root(&shared.opts.settings.state_dir));
    let finished = match (&work, resolve_action(&shared, &action)) {
        _ if !missing.is_empty() => Finished::failed(
            "ConfigurationError",
            format!(
                "input artifact {} is not available: the action that makes it did not run or did not succeed in this execution (or in the one --from-stage/--only took artifacts from)",
                missing.join(", ")
            ),
        ),
        (Err(e), _) => Finished::failed("JobFailed", format!("making a work folder: {e}")),
        (Ok(_), Err(message)) => Finished::failed("ConfigurationError", message),
        (Ok(work), Ok(resolved)) => {
            shared.update_action(&action_execution_id, |a| {
                a.input.resolved_configuration = resolved.configuration.clone();
            })?;
            perform(&shared, &stage, &resolved, &inputs, work.path(), &sink).await
        }
    };
    drop(sink);
    let _ = log_task.await;
    let _keep_until_stored = work;
    // Outputs go to the store, variables to the namespace (a failed action has none).
    let mut output_artifacts = Vec::new();
    let mut finished = finished;
    if finished
        .status
        .is_some_and(|s| s != ActionStatus::Succeeded)
    {
        finished.outputs.clear();
    }
    for (name, zip, revision) in &finished.outputs {
        match shared.store.put(&shared.opts.pipeline.name, name, zip) {
            Ok(location) => {
                shared.artifacts.lock().expect("artifacts lock").insert(
                    name.clone(),
                    StoredArtifact {
                        location: location.clone(),
                        revision: revision.clone(),
                    },
                );
                output_artifacts.push(ArtifactDetail {
                    name: name.clone(),
                    s3location: location,
                });
                if let Some(revision) = revision {
                    let (name, revision) = (name.clone(), revision.clone());
                    shared.update(|r| {
                        r.artifact_revisions.retain(|a| a.name != name);
                        r.artifact_revisions.push(ArtifactRevision {
                            name,
                            revision_id: revision,
                        });
                    })?;
                }
            }
            Err(e) => {
                finished = Finished::failed("JobFailed", format!("storing artifact {name}: {e}"));
                break;
            }
        }
    }
    let status = finished.status.unwrap_or(ActionStatus::Succeeded);
    if status == ActionStatus::Succeeded {
        if let Some(ns) = &action.namespace {
            shared
                .namespaces
                .lock()
                .expect("namespaces lock")
                .insert(ns.clone(), finished.variables.clone());
        }
    }
    shared.update_action(&action_execution_id, |a| {
        a.status = status;
        a.last_update_time = epoch_now();
        a.output = ActionOutput {
            output_artifacts,
            execution_result: ExecutionResult {
                external_execution_id: finished.external_id.clone(),
                external_execution_summary: finished.summary.clone(),
                error_details: finished.error.clone(),
            },
            output_variables: finished.variables.clone(),
        };
    })?;
    shared.events.send(PipelineEventKind::ActionFinished {
        stage,
        action: action.name.clone(),
        status,
        summary: finished.summary,
    });
    Ok(status)
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

/// The action with every `#{...}` replaced in its configuration (and in a
/// Commands action's commands and environment variables), or AWS's message.
fn resolve_action(shared: &Shared, action: &Action) -> Result<Action, String> {
    let scope = Scope::of(shared);
    let lookup = |ns: &str, key: &str| scope.get(ns, key);
    let resolve =
        |text: &str| substitute(text, lookup).map_err(|_| unresolved_message(&action.name));
    let mut resolved = action.clone();
    for value in resolved.configuration.values_mut() {
        *value = resolve(value)?;
    }
    for command in resolved.commands.iter_mut().flatten() {
        *command = resolve(command)?;
    }
    for variable in resolved.environment_variables.iter_mut().flatten() {
        variable.value = resolve(&variable.value)?;
    }
    Ok(resolved)
}

/// An event sink for the action's build, and a task that writes each line to
/// the action's log file and passes it on.
fn action_log(
    events: &PipelineEvents,
    stage: &str,
    action: &str,
    path: &Path,
) -> (EventSink, tokio::task::JoinHandle<()>) {
    let (sink, mut rx) = EventSink::channel();
    let events = events.clone();
    let (stage, action) = (stage.to_string(), action.to_string());
    let path = path.to_path_buf();
    let task = tokio::spawn(async move {
        let mut file = path
            .parent()
            .and_then(|dir| std::fs::create_dir_all(dir).ok())
            .and_then(|_| {
                std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(&path)
                    .ok()
            });
        let mut text = LogText::default();
        while let Some(event) = rx.recv().await {
            if let Some(f) = file.as_mut() {
                let _ = f.write_all(text.render(&event).as_bytes());
            }
            events.send(PipelineEventKind::ActionLog {
                stage: stage.clone(),
                action: action.clone(),
                event: ActionLogLine::Build(event),
            });
        }
    });
    (sink, task)
}

/// Does what the action's provider does: a local command when the
/// configuration maps the action, else the provider's emulation.
async fn perform(
    shared: &Shared,
    stage: &str,
    action: &Action,
    inputs: &[(String, StoredArtifact)],
    work: &Path,
    sink: &EventSink,
) -> Finished {
    let t = &action.action_type_id;
    let opts = &shared.opts;
    let mapped = mapping(&opts.local.actions, stage, &action.name);
    if t.category == Category::Source && mapped.is_none() {
        return source_action(shared, action, work, sink).await;
    }
    if t.is(Owner::Aws, "Manual") && mapped.is_none() {
        return approval_action(shared, stage, action).await;
    }
    // Inputs are unzipped, refusing entries that escape their folder.
    let mut unpacked = Vec::new();
    let mut zips = BTreeMap::new();
    for (name, artifact) in inputs {
        let dir = work.join("inputs").join(name);
        let zip = shared.store.path(&artifact.location);
        if let Err(e) = std::fs::create_dir_all(&dir) {
            return Finished::failed("JobFailed", format!("unpacking {name}: {e}"));
        }
        if let Err(e) = unzip(&zip, &dir) {
            return Finished::failed("JobFailed", format!("input artifact {name}: {e}"));
        }
        zips.insert(name.clone(), zip);
        unpacked.push(InputArtifact {
            name: name.clone(),
            dir,
            location: artifact.location.clone(),
            revision: artifact.revision.clone(),
        });
    }
    let out_dir = work.join("outputs");
    let settings = &opts.settings;
    let stop = shared.stop.clone();
    let config = &action.configuration;
    let configuration = serde_json::to_string(config).expect("strings serialize");
    let function = t
        .is(Owner::Aws, "Lambda")
        .then(|| {
            config
                .get("FunctionName")
                .and_then(|f| opts.local.functions.get(f))
        })
        .flatten();
    let result = if let Some(command) = mapped.or(function) {
        let mut variables = vec![("PIPELOCAL_ACTION_CONFIGURATION".to_string(), configuration)];
        if function.is_some() && mapped.is_none() {
            let outputs: Vec<&str> = action.outputs().collect();
            let job = uuid::Uuid::new_v4().to_string();
            variables.push((
                "CODEPIPELINE_JOB".into(),
                lambda_event(&job, config, &unpacked, &outputs),
            ));
            variables.push((
                "USER_PARAMETERS".into(),
                config.get("UserParameters").cloned().unwrap_or_default(),
            ));
        }
        let invocation = Invocation {
            variables,
            function: function.is_some() && mapped.is_none(),
        };
        run_mapped(
            settings, action, command, invocation, &unpacked, &out_dir, sink, stop,
        )
        .await
    } else if t.is(Owner::Aws, "CodeBuild") {
        run_codebuild(settings, action, config, &unpacked, &out_dir, sink, stop).await
    } else if t.is(Owner::Aws, "Commands") {
        run_commands(settings, action, &unpacked, &out_dir, sink, stop).await
    } else if t.is(Owner::Aws, "Lambda") {
        let name = config.get("FunctionName").cloned().unwrap_or_default();
        if let Some(output) = action.outputs().next() {
            return Finished::failed(
                "ConfigurationError",
                format!("output artifact {output} comes from running function {name}: map it to a local command under `functions: {{{name}: {{command: ...}}}}` in .pipelocal.yml"),
            );
        }
        return Finished {
            status: Some(ActionStatus::Succeeded),
            summary: Some(format!(
                "Recorded an invocation of {name} with UserParameters {:?} (not run: map it to a local command under `functions: {{{name}: {{command: ...}}}}` in .pipelocal.yml)",
                config.get("UserParameters").map(String::as_str).unwrap_or("")
            )),
            ..Finished::default()
        };
    } else if let Some(emulate) = emulated(action) {
        let cx = Context {
            action,
            config,
            inputs: &unpacked,
            input_zips: &zips,
            state_dir: &settings.state_dir,
            out_dir: &out_dir,
        };
        if let Err(e) = std::fs::create_dir_all(&out_dir) {
            return Finished::failed("JobFailed", e.to_string());
        }
        let result = match emulate(&cx) {
            Ok(done) => check_images(&done.images, sink).await.map(|()| done),
            Err(message) => Err(message),
        };
        // Every declared output must be made: a consumer cannot run without it.
        let result = result.and_then(|done| {
            match action.outputs().find(|o| !done.outputs.iter().any(|(n, _)| n == o)) {
                Some(missing) => Err(format!(
                    "output artifact {missing} is not made by {t} locally{}: map the action to a local command that writes outputs/{missing}/",
                    if t.is(Owner::Aws, "CloudFormation") { " without OutputFileName" } else { "" }
                )),
                None => Ok(done),
            }
        });
        return match result {
            Ok(done) => {
                for line in &done.lines {
                    note(sink, line.clone());
                }
                note(sink, done.summary.clone());
                Finished {
                    status: Some(ActionStatus::Succeeded),
                    summary: Some(done.summary),
                    outputs: done
                        .outputs
                        .into_iter()
                        .map(|(n, z)| (n, z, None))
                        .collect(),
                    variables: done.variables,
                    ..Finished::default()
                }
            }
            Err(message) => {
                note(sink, message.clone());
                Finished::failed("JobFailed", message)
            }
        };
    } else {
        return Finished::failed(
            "ConfigurationError",
            format!(
                "{t} actions are not emulated: map this one to a local command in .pipelocal.yml (actions: {{{stage}/{}: {{command: ..., image: ...}}}})",
                action.name
            ),
        );
    };
    let outcome = match result {
        Ok(o) => o,
        Err(message) => return Finished::failed("ConfigurationError", message),
    };
    let revision = unpacked.first().and_then(|i| i.revision.clone());
    let status = match (outcome.status.as_str(), &outcome.failure) {
        ("STOPPED", _) => ActionStatus::Abandoned,
        (_, Some(_)) => ActionStatus::Failed,
        _ => ActionStatus::Succeeded,
    };
    let outputs = outcome
        .outputs
        .into_iter()
        .map(|(name, zip)| (name, zip, revision.clone()))
        .collect();
    Finished {
        status: Some(status),
        summary: outcome.failure.clone(),
        error: outcome.failure.map(|message| ErrorDetails {
            code: "JobFailed".into(),
            message,
        }),
        external_id: Some(outcome.id.clone()),
        outputs,
        variables: outcome.variables,
    }
}

/// Checks that each image is in the local engine or can be pulled, as the
/// service would need to pull it.
async fn check_images(images: &[String], sink: &EventSink) -> Result<(), String> {
    if images.is_empty() {
        return Ok(());
    }
    let docker = pipelocal_runner::executor::connect()
        .await
        .map_err(|e| format!("checking images: {e}"))?;
    for image in images {
        pipelocal_runner::executor::DockerExecutor::ensure_image(&docker, image, sink)
            .await
            .map_err(|e| format!("{e}: the service could not start it either"))?;
    }
    Ok(())
}

/// A manual approval: answered by the run's policy, or by a person within
/// the action's timeout.
async fn approval_action(shared: &Shared, stage: &str, action: &Action) -> Finished {
    let config = &action.configuration;
    let outcome = match shared.opts.approvals {
        ApprovalPolicy::Approve => ApprovalOutcome::Approved("--approve".into()),
        ApprovalPolicy::Reject => ApprovalOutcome::Rejected("--reject".into()),
        ApprovalPolicy::Unanswerable => ApprovalOutcome::Unanswerable,
        ApprovalPolicy::Ask => {
            let wait = approval::timeout(action.timeout_in_minutes);
            let (request, answer) = ApprovalRequest::new(
                stage,
                &action.name,
                config.get("CustomData").cloned(),
                config.get("ExternalEntityLink").cloned(),
                wait,
            );
            shared
                .events
                .send(PipelineEventKind::ApprovalRequested(request));
            match approval::wait_for(answer, wait, shared.stop.clone()).await {
                Some(outcome) => outcome,
                None => {
                    return Finished {
                        status: Some(ActionStatus::Abandoned),
                        summary: Some("Stopped while waiting for approval".into()),
                        ..Finished::default()
                    }
                }
            }
        }
    };
    let summary = outcome.summary();
    match outcome {
        ApprovalOutcome::Approved(_) => Finished {
            status: Some(ActionStatus::Succeeded),
            summary: Some(summary),
            ..Finished::default()
        },
        _ => Finished::failed("JobFailed", summary),
    }
}

/// A line of the orchestrator's own in an action's log (no `[Container]`:
/// no container said it).
fn note(sink: &EventSink, text: impl Into<String>) {
    let text = sink.masker().mask(&text.into());
    sink.send(BuildEventKind::Output(format!("{text}\n")));
}

/// `<state-dir>/work`, made if missing.
fn work_root(state_dir: &Path) -> PathBuf {
    let dir = state_dir.join("work");
    let _ = std::fs::create_dir_all(&dir);
    dir
}

async fn source_action(
    shared: &Shared,
    action: &Action,
    work: &Path,
    sink: &EventSink,
) -> Finished {
    let zip = work.join("source.zip");
    let config = &action.configuration;
    let mapped = shared
        .opts
        .sources
        .iter()
        .rev()
        .find(|(name, _)| name == &action.name || action.outputs().any(|o| o == name))
        .map(|(_, path)| path.clone());
    let t = &action.action_type_id;
    let result = if t.is(Owner::Aws, "ECR") {
        ecr_source(config, &zip).await
    } else {
        let get = |key: &str| config.get(key).map(String::as_str).unwrap_or_default();
        let input = match (t.is(Owner::Aws, "S3"), mapped) {
            (true, Some(file)) => SourceInput::File(file),
            (true, None) => {
                let s3 = shared.opts.settings.state_dir.join("s3");
                match s3_path(&s3, get("S3Bucket"), get("S3ObjectKey")) {
                    Ok(file) => SourceInput::File(file),
                    Err(message) => return Finished::failed("ConfigurationError", message),
                }
            }
            (false, mapped) => {
                SourceInput::Folder(mapped.unwrap_or_else(|| shared.opts.workdir.clone()))
            }
        };
        let action = action.clone();
        let config = config.clone();
        let zip = zip.clone();
        let content = shared.opts.git_content;
        tokio::task::spawn_blocking(move || run_source(&action, &config, &input, content, &zip))
            .await
            .unwrap_or_else(|e| Err(e.to_string()))
    };
    let out = match result {
        Ok(out) => out,
        Err(message) => return Finished::failed("ConfigurationError", message),
    };
    for line in &out.notes {
        note(sink, line.clone());
    }
    if is_git_provider(action) || t.is(Owner::Aws, "S3") || t.is(Owner::Aws, "ECR") {
        let summary = out.revision_summary.clone();
        let revision = out.revision.clone();
        let name = action.name.clone();
        let _ = shared.update(|r| {
            r.source_revisions.retain(|s| s.action_name != name);
            r.source_revisions.push(SourceRevision {
                action_name: name,
                revision_id: revision,
                revision_summary: summary,
            })
        });
    }
    let outputs = action
        .outputs()
        .map(|name| (name.to_string(), zip.clone(), out.revision.clone()))
        .collect();
    Finished {
        status: Some(ActionStatus::Succeeded),
        summary: out.revision_summary.clone(),
        external_id: out.revision.clone(),
        outputs,
        variables: out.variables,
        ..Finished::default()
    }
}
