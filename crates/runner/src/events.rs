//! The typed progress stream of a build, and its rendering as CodeBuild log lines.

use std::time::SystemTime;

use tokio::sync::mpsc;

use crate::clock::log_stamp;
use crate::phases::{PhaseType, Status};

/// A phase's status code and message, as in `Phase context status code: X Message: Y`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PhaseContext {
    pub status_code: String,
    pub message: String,
}

impl PhaseContext {
    pub fn new(status_code: &str, message: impl Into<String>) -> Self {
        PhaseContext {
            status_code: status_code.to_string(),
            message: message.into(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BuildEventKind {
    /// An informational agent line (`CODEBUILD_SRC_DIR=...`, `YAML location is ...`).
    Info(String),
    /// Progress of pulling the build image.
    ImagePull(String),
    PhaseStarted(PhaseType),
    PhaseFinished {
        phase: PhaseType,
        status: Status,
        context: PhaseContext,
    },
    CommandStarted(String),
    /// Command output, stdout and stderr together, possibly not ending in a newline.
    Output(String),
    CommandFailed {
        command: String,
        exit_code: i64,
    },
    BuildFinished(Status),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildEvent {
    pub at: SystemTime,
    pub kind: BuildEventKind,
}

/// Where a build reports progress. Sending never blocks the build; a closed
/// receiver only means nobody is listening.
#[derive(Debug, Clone)]
pub struct EventSink(mpsc::UnboundedSender<BuildEvent>);

impl EventSink {
    pub fn channel() -> (Self, mpsc::UnboundedReceiver<BuildEvent>) {
        let (tx, rx) = mpsc::unbounded_channel();
        (EventSink(tx), rx)
    }

    pub fn send(&self, kind: BuildEventKind) {
        let _ = self.0.send(BuildEvent {
            at: SystemTime::now(),
            kind,
        });
    }

    pub fn info(&self, message: impl Into<String>) {
        self.send(BuildEventKind::Info(message.into()));
    }
}

/// The CodeBuild log text of an event: `[Container]` lines, or the raw output.
pub fn render(event: &BuildEvent) -> String {
    let line = |msg: &str| format!("[Container] {} {msg}\n", log_stamp(event.at));
    match &event.kind {
        BuildEventKind::Info(m) => line(m),
        BuildEventKind::ImagePull(m) => line(&format!("Pulling image: {m}")),
        BuildEventKind::PhaseStarted(PhaseType::DownloadSource) => line("Phase is DOWNLOAD_SOURCE"),
        BuildEventKind::PhaseStarted(p) => line(&format!("Entering phase {}", p.as_str())),
        BuildEventKind::PhaseFinished {
            phase,
            status,
            context,
        } => {
            line(&format!(
                "Phase complete: {} State: {}",
                phase.as_str(),
                status.as_str()
            )) + &line(&format!(
                "Phase context status code: {} Message: {}",
                context.status_code, context.message
            ))
        }
        BuildEventKind::CommandStarted(c) => line(&format!("Running command {c}")),
        BuildEventKind::Output(text) => text.clone(),
        BuildEventKind::CommandFailed { command, exit_code } => line(&format!(
            "Command did not exit successfully {command} exit status {exit_code}"
        )),
        BuildEventKind::BuildFinished(status) => {
            line(&format!("Build completed: {}", status.as_str()))
        }
    }
}
