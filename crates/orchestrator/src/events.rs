//! The typed progress stream of a pipeline execution. Renderers (live,
//! plain lines, JSON) live in the CLI; this only says what happened.

use std::time::SystemTime;

use pipelocal_runner::events::BuildEvent;
use tokio::sync::mpsc;

use crate::actions::approval::ApprovalRequest;
use crate::status::{ActionStatus, ExecutionStatus, StageStatus};

#[derive(Debug, Clone)]
pub enum PipelineEventKind {
    ExecutionStarted {
        pipeline: String,
        execution_id: String,
    },
    StageStarted {
        stage: String,
    },
    ActionStarted {
        stage: String,
        action: String,
    },
    /// A line of an action's log: a build's event, or a note of the orchestrator's.
    ActionLog {
        stage: String,
        action: String,
        event: ActionLogLine,
    },
    ActionFinished {
        stage: String,
        action: String,
        status: ActionStatus,
        summary: Option<String>,
        /// When it failed: where and why, in one line (for a build its
        /// phase, status code, command and exit status).
        reason: Option<String>,
    },
    /// Something the execution as a whole has to say (a rollback that cannot run, ...).
    Note(String),
    /// A manual approval waits for an answer (with the Ask policy).
    ApprovalRequested(ApprovalRequest),
    StageFinished {
        stage: String,
        status: StageStatus,
    },
    ExecutionFinished {
        status: ExecutionStatus,
        summary: Option<String>,
    },
}

#[derive(Debug, Clone)]
pub enum ActionLogLine {
    Build(BuildEvent),
    Note(String),
}

#[derive(Debug, Clone)]
pub struct PipelineEvent {
    pub at: SystemTime,
    pub kind: PipelineEventKind,
}

/// Where an execution reports progress; sending never blocks.
#[derive(Debug, Clone)]
pub struct PipelineEvents(mpsc::UnboundedSender<PipelineEvent>);

impl PipelineEvents {
    pub fn channel() -> (Self, mpsc::UnboundedReceiver<PipelineEvent>) {
        let (tx, rx) = mpsc::unbounded_channel();
        (PipelineEvents(tx), rx)
    }

    pub fn send(&self, kind: PipelineEventKind) {
        let _ = self.0.send(PipelineEvent {
            at: SystemTime::now(),
            kind,
        });
    }
}
