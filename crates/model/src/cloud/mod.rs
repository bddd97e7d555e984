//! What AWS gives about runs that already happened in the cloud, read to
//! reproduce them here: the record `aws codebuild batch-get-builds` prints
//! (`batch_get_builds`) and the build's `[Container]` log as CloudWatch Logs
//! exports it (`container_log`); the output of
//! `aws codepipeline get-pipeline-execution` (`get_pipeline_execution.rs`)
//! and of `aws codepipeline list-action-executions`
//! (`list_action_executions.rs`).
//!
//! AWS adds fields over time: unknown fields of the pipeline records are
//! accepted and ignored, never an error, and every item keeps its place (file
//! and line) so that a later check can point at it.

pub mod batch_get_builds;
pub mod container_log;
mod get_pipeline_execution;
mod list_action_executions;

pub use get_pipeline_execution::{
    load_pipeline_execution, pipeline_execution_from_document, ArtifactRevision,
    CloudExecutionStatus, ExecutionTrigger, PipelineExecution, ResolvedPipelineVariable,
};
pub use list_action_executions::{
    action_executions_from_document, check_action_executions, load_action_executions,
    ActionExecutionDetail, ActionExecutionInput, ActionExecutionOutput, ActionExecutionResult,
    CloudActionStatus, CloudErrorDetails,
};

use serde::Deserialize;

/// A time as the AWS CLI prints it (ISO 8601 text) or as the API sends it
/// (seconds since the epoch): both are accepted, neither is interpreted.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(untagged)]
pub enum Timestamp {
    Epoch(f64),
    Text(String),
}

impl std::fmt::Display for Timestamp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Timestamp::Epoch(seconds) => write!(f, "{seconds}"),
            Timestamp::Text(text) => f.write_str(text),
        }
    }
}
