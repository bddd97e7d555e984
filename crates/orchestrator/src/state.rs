//! The inspection views, in AWS's exact shapes (CodePipeline API Reference: GetPipelineState, GetPipelineExecution, ListPipelineExecutions, ListActionExecutions):
//! GetPipelineState (per stage, the latest execution that reached it) and
//! ListPipelineExecutions (newest first), made from the history.

use serde::Serialize;

use crate::history::{ErrorDetails, ExecutionRecord, RollbackMetadata, SourceRevision, Trigger};
use crate::status::{ActionStatus, ExecutionStatus, StageStatus};

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PipelineState {
    pub pipeline_name: String,
    pub pipeline_version: i64,
    pub stage_states: Vec<StageState>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub updated: Option<f64>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StageState {
    pub stage_name: String,
    pub inbound_transition_state: TransitionState,
    pub action_states: Vec<ActionState>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub latest_execution: Option<StageExecutionState>,
    /// The execution waiting to enter (SUPERSEDED).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub inbound_execution: Option<InboundExecution>,
    /// The executions waiting to enter, in order (QUEUED).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub inbound_executions: Vec<InboundExecution>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry_stage_metadata: Option<RetryStageMetadata>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub before_entry_condition_state: Option<StageConditionState>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub on_success_condition_state: Option<StageConditionState>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub on_failure_condition_state: Option<StageConditionState>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StageConditionState {
    pub latest_execution: ConditionExecution,
    pub condition_states: Vec<ConditionState>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ConditionExecution {
    pub status: String,
    pub summary: String,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ConditionState {
    pub latest_execution: ConditionStateExecution,
    pub rule_states: Vec<RuleState>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ConditionStateExecution {
    pub status: String,
    pub summary: String,
    pub last_status_change: f64,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RuleState {
    pub rule_name: String,
    pub latest_execution: ConditionExecution,
}

/// The conditions of `hook` the latest execution to reach `stage` evaluated.
fn condition_state(
    reached: Option<&ExecutionRecord>,
    stage: &str,
    hook: &str,
) -> Option<StageConditionState> {
    let records: Vec<_> = reached?
        .conditions
        .iter()
        .filter(|c| c.stage_name == stage && c.hook == hook)
        .collect();
    let last = records.last()?;
    let failed = records.iter().find(|c| c.status != "Succeeded");
    Some(StageConditionState {
        latest_execution: ConditionExecution {
            status: failed
                .map(|c| c.status.clone())
                .unwrap_or_else(|| last.status.clone()),
            summary: failed
                .map(|c| c.summary.clone())
                .unwrap_or_else(|| last.summary.clone()),
        },
        condition_states: records
            .iter()
            .map(|c| ConditionState {
                latest_execution: ConditionStateExecution {
                    status: c.status.clone(),
                    summary: c.summary.clone(),
                    last_status_change: c.time,
                },
                rule_states: c
                    .rules
                    .iter()
                    .map(|r| RuleState {
                        rule_name: r.rule_name.clone(),
                        latest_execution: ConditionExecution {
                            status: format!("{:?}", r.status),
                            summary: r.summary.clone(),
                        },
                    })
                    .collect(),
            })
            .collect(),
    })
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct InboundExecution {
    pub pipeline_execution_id: String,
    pub status: String,
    #[serde(rename = "type")]
    pub execution_type: String,
}

/// Adds the executions waiting at each stage (from the stage locks).
pub fn add_inbound(state: &mut PipelineState, mode: &str, waiting: impl Fn(&str) -> Vec<String>) {
    for stage in &mut state.stage_states {
        let inbound: Vec<InboundExecution> = waiting(&stage.stage_name)
            .into_iter()
            .map(|id| InboundExecution {
                pipeline_execution_id: id,
                status: "InProgress".into(),
                execution_type: "STANDARD".into(),
            })
            .collect();
        if mode == "QUEUED" {
            stage.inbound_executions = inbound;
        } else {
            stage.inbound_execution = inbound.into_iter().next();
        }
    }
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RetryStageMetadata {
    pub auto_stage_retry_attempt: usize,
    pub manual_stage_retry_attempt: usize,
    pub latest_retry_trigger: String,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TransitionState {
    pub enabled: bool,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StageExecutionState {
    pub pipeline_execution_id: String,
    pub status: StageStatus,
    #[serde(rename = "type")]
    pub execution_type: String,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ActionState {
    pub action_name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub latest_execution: Option<ActionExecutionState>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ActionExecutionState {
    pub action_execution_id: String,
    pub status: ActionStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
    pub last_status_change: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub external_execution_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_details: Option<ErrorDetails>,
}

/// The state of a pipeline from its executions (newest first).
pub fn pipeline_state(executions: &[ExecutionRecord]) -> Option<PipelineState> {
    let newest = executions.first()?;
    let stage_states = newest
        .stage_names
        .iter()
        .enumerate()
        .map(|(i, stage)| {
            // The latest execution that reached this stage.
            let reached = executions
                .iter()
                .find(|e| e.stages.iter().any(|s| &s.stage_name == stage));
            let actions = newest.stage_actions.get(i).cloned().unwrap_or_default();
            let retries: Vec<_> = reached
                .iter()
                .flat_map(|e| e.stage_retries.iter())
                .filter(|r| &r.stage_name == stage)
                .collect();
            let retry_stage_metadata = retries.last().map(|last| RetryStageMetadata {
                auto_stage_retry_attempt: retries
                    .iter()
                    .filter(|r| r.trigger == "AutomatedStageRetry")
                    .count(),
                manual_stage_retry_attempt: retries
                    .iter()
                    .filter(|r| r.trigger == "ManualStageRetry")
                    .count(),
                latest_retry_trigger: last.trigger.clone(),
            });
            StageState {
                inbound_execution: None,
                inbound_executions: Vec::new(),
                before_entry_condition_state: condition_state(reached, stage, "BEFORE_ENTRY"),
                on_success_condition_state: condition_state(reached, stage, "ON_SUCCESS"),
                on_failure_condition_state: condition_state(reached, stage, "ON_FAILURE"),
                retry_stage_metadata,
                stage_name: stage.clone(),
                inbound_transition_state: TransitionState { enabled: true },
                latest_execution: reached.and_then(|e| {
                    e.stages
                        .iter()
                        .rev()
                        .find(|s| &s.stage_name == stage)
                        .map(|s| StageExecutionState {
                            pipeline_execution_id: e.pipeline_execution_id.clone(),
                            status: s.status,
                            execution_type: e.execution_type.clone(),
                        })
                }),
                action_states: actions
                    .iter()
                    .map(|action| ActionState {
                        action_name: action.clone(),
                        latest_execution: executions
                            .iter()
                            .flat_map(|e| e.action_executions.iter().rev())
                            .find(|a| &a.stage_name == stage && &a.action_name == action)
                            .map(|a| ActionExecutionState {
                                action_execution_id: a.action_execution_id.clone(),
                                status: a.status,
                                summary: a
                                    .output
                                    .execution_result
                                    .external_execution_summary
                                    .clone(),
                                last_status_change: a.last_update_time,
                                external_execution_id: a
                                    .output
                                    .execution_result
                                    .external_execution_id
                                    .clone(),
                                error_details: a.output.execution_result.error_details.clone(),
                            }),
                    })
                    .collect(),
            }
        })
        .collect();
    Some(PipelineState {
        pipeline_name: newest.pipeline_name.clone(),
        pipeline_version: newest.pipeline_version,
        stage_states,
        created: executions.last().map(|e| e.start_time),
        updated: Some(newest.last_update_time),
    })
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ExecutionSummary {
    pub pipeline_execution_id: String,
    pub status: ExecutionStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status_summary: Option<String>,
    pub start_time: f64,
    pub last_update_time: f64,
    pub source_revisions: Vec<SourceRevision>,
    pub trigger: Trigger,
    pub execution_mode: String,
    pub execution_type: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rollback_metadata: Option<RollbackMetadata>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ExecutionList {
    pub pipeline_execution_summaries: Vec<ExecutionSummary>,
}

/// ListPipelineExecutions' answer for these executions (newest first).
pub fn execution_list(executions: &[ExecutionRecord]) -> ExecutionList {
    ExecutionList {
        pipeline_execution_summaries: executions
            .iter()
            .map(|e| ExecutionSummary {
                pipeline_execution_id: e.pipeline_execution_id.clone(),
                status: e.status,
                status_summary: e.status_summary.clone(),
                start_time: e.start_time,
                last_update_time: e.last_update_time,
                source_revisions: e.source_revisions.clone(),
                trigger: e.trigger.clone(),
                execution_mode: e.execution_mode.clone(),
                execution_type: e.execution_type.clone(),
                rollback_metadata: e.rollback_metadata.clone(),
            })
            .collect(),
    }
}
