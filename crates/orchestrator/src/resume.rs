//! Starting somewhere other than the beginning (CodePipeline User Guide, "Retry a failed stage or failed actions in a stage"; docs/user-guide.md):
//! retrying a stage of an execution, starting a new execution at a stage, or
//! running one action, with the artifacts and variables an earlier execution
//! stored. Nothing before the starting point runs again.

use std::collections::{BTreeMap, HashMap};

use pipelocal_model::pipeline::Pipeline;

use crate::history::{structure, ExecutionRecord, History};
use crate::run::RunError;
use crate::status::{ActionStatus, StageStatus};
use crate::store::StoredArtifact;

/// Which actions a retry runs again (RetryStageExecution's `retryMode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetryMode {
    FailedActions,
    AllActions,
}

impl RetryMode {
    pub fn as_str(self) -> &'static str {
        match self {
            RetryMode::FailedActions => "FAILED_ACTIONS",
            RetryMode::AllActions => "ALL_ACTIONS",
        }
    }
}

/// Where an execution starts.
#[derive(Debug, Clone)]
pub enum Start {
    /// A new execution from the first stage.
    Fresh,
    /// A new execution from `stage`, with `base`'s artifacts and variables.
    FromStage {
        stage: String,
        base: Box<ExecutionRecord>,
    },
    /// A new execution of one action, with `base`'s artifacts and variables.
    Only {
        stage: String,
        action: String,
        base: Box<ExecutionRecord>,
    },
    /// The same execution again from `stage`: its failed actions, or all of them.
    Retry {
        stage: String,
        mode: RetryMode,
        execution: Box<ExecutionRecord>,
    },
    /// A ROLLBACK execution: `stage` alone, with `target`'s artifacts and variables.
    Rollback {
        stage: String,
        target: Box<ExecutionRecord>,
    },
}

impl Start {
    /// The execution whose stored artifacts and variables are reused.
    pub fn base(&self) -> Option<&ExecutionRecord> {
        match self {
            Start::Fresh => None,
            Start::FromStage { base, .. } | Start::Only { base, .. } => Some(base),
            Start::Retry { execution, .. } => Some(execution),
            Start::Rollback { target, .. } => Some(target),
        }
    }

    /// The stage the walk begins with.
    pub fn first_stage(&self) -> Option<&str> {
        match self {
            Start::Fresh => None,
            Start::FromStage { stage, .. }
            | Start::Only { stage, .. }
            | Start::Retry { stage, .. }
            | Start::Rollback { stage, .. } => Some(stage),
        }
    }

    /// Whether the action runs in this execution.
    pub fn runs(&self, stage: &str, action: &str) -> bool {
        match self {
            Start::Only {
                stage: s,
                action: a,
                ..
            } => s == stage && a == action,
            Start::Retry {
                stage: s,
                mode: RetryMode::FailedActions,
                execution,
            } if s == stage => {
                latest_status(execution, stage, action) != Some(ActionStatus::Succeeded)
            }
            _ => true,
        }
    }

    /// One stage (or one action), then stop.
    pub fn is_single(&self) -> bool {
        matches!(self, Start::Only { .. } | Start::Rollback { .. })
    }
}

fn latest_status(record: &ExecutionRecord, stage: &str, action: &str) -> Option<ActionStatus> {
    record
        .action_executions
        .iter()
        .rev()
        .find(|a| a.stage_name == stage && a.action_name == action)
        .map(|a| a.status)
}

/// The artifacts (by name) and namespaces the successful actions of `record` left.
pub fn seed(
    record: &ExecutionRecord,
) -> (
    HashMap<String, StoredArtifact>,
    HashMap<String, BTreeMap<String, String>>,
) {
    let mut artifacts = HashMap::new();
    let mut namespaces = HashMap::new();
    for a in record
        .action_executions
        .iter()
        .filter(|a| a.status == ActionStatus::Succeeded)
    {
        for out in &a.output.output_artifacts {
            let revision = record
                .artifact_revisions
                .iter()
                .find(|r| r.name == out.name)
                .map(|r| r.revision_id.clone());
            artifacts.insert(
                out.name.clone(),
                StoredArtifact {
                    location: out.s3location.clone(),
                    revision,
                },
            );
        }
        if let Some(ns) = &a.input.namespace {
            namespaces.insert(ns.clone(), a.output.output_variables.clone());
        }
    }
    (artifacts, namespaces)
}

/// The execution to take artifacts from: the one named, else the newest.
pub fn base_execution(
    history: &History,
    pipeline: &str,
    id: Option<&str>,
) -> Result<ExecutionRecord, RunError> {
    match id {
        Some(id) => {
            let found = history.find(id)?;
            if found.pipeline_name != pipeline {
                return Err(RunError::Unusable(format!(
                    "execution {id} is an execution of pipeline {}, not {pipeline}",
                    found.pipeline_name
                )));
            }
            Ok(found)
        }
        // A rollback holds one stage's outputs: the newest standard execution is the base.
        None => history
            .executions(pipeline)?
            .into_iter()
            .find(|e| e.execution_type != "ROLLBACK")
            .ok_or_else(|| {
                RunError::Unusable(format!(
                    "pipeline {pipeline} has no earlier execution to take artifacts from: run it once first"
                ))
            }),
    }
}

/// Checks a retry as RetryStageExecution does, and picks the stage: the one
/// named, else the execution's failed or stopped stage.
pub fn retry_stage(
    history: &History,
    pipeline: &Pipeline,
    record: &ExecutionRecord,
    stage: Option<&str>,
) -> Result<String, RunError> {
    let unusable = |m: String| Err(RunError::Unusable(m));
    let (names, actions) = structure(pipeline);
    if !record.same_structure(&names, &actions) {
        return unusable(format!(
            "StageNotRetryableException: the pipeline's structure changed since execution {} ran: start a new one with `pipelocal run`",
            record.pipeline_execution_id
        ));
    }
    let latest = |name: &str| record.stages.iter().rev().find(|s| s.stage_name == name);
    let stage = match stage {
        Some(s) => {
            if latest(s).is_none() {
                return unusable(format!(
                    "execution {} never reached stage {s}",
                    record.pipeline_execution_id
                ));
            }
            s.to_string()
        }
        // A stage's latest attempt counts: a retried stage is no longer failed.
        None => match record
            .stage_names
            .iter()
            .filter_map(|name| latest(name))
            .find(|s| matches!(s.status, StageStatus::Failed | StageStatus::Stopped))
        {
            Some(s) => s.stage_name.clone(),
            None => {
                return unusable(format!(
                    "execution {} has no failed or stopped stage to retry (name one with --stage)",
                    record.pipeline_execution_id
                ))
            }
        },
    };
    let status = latest(&stage).map(|s| s.status);
    if !matches!(status, Some(StageStatus::Failed | StageStatus::Stopped)) {
        return unusable(format!(
            "StageNotRetryableException: stage {stage} of execution {} is {}, not failed or stopped",
            record.pipeline_execution_id,
            status.map(|s| s.to_string()).unwrap_or_default()
        ));
    }
    // Only the latest execution to reach the stage may be retried.
    let newer = history
        .executions(&record.pipeline_name)?
        .into_iter()
        .filter(|e| e.start_time > record.start_time)
        .find(|e| e.stages.iter().any(|s| s.stage_name == stage));
    if let Some(e) = newer {
        return unusable(format!(
            "NotLatestPipelineExecutionException: execution {} reached stage {stage} later",
            e.pipeline_execution_id
        ));
    }
    Ok(stage)
}
