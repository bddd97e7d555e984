//! The typed progress stream of a build, and its rendering as CodeBuild log lines.

use std::time::SystemTime;

use std::sync::Arc;

use tokio::sync::mpsc;

use crate::mask::Masker;

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
    /// The build paused for debugging: a shell can be opened at `target`.
    Paused {
        reason: crate::pause::PauseReason,
        target: Box<crate::pause::ShellTarget>,
    },
    /// The pause ended (`codebuild-resume`, or the shell was left).
    Resumed {
        build_id: String,
    },
    /// The build environment was kept (`--keep`): a shell can be opened in it.
    Kept(Box<crate::pause::ShellTarget>),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildEvent {
    pub at: SystemTime,
    /// Which build of a batch sent it; `None` for a single build.
    pub build: Option<Arc<str>>,
    pub kind: BuildEventKind,
}

/// Where a build reports progress. Sending never blocks the build; a closed
/// receiver only means nobody is listening. Every text sent through a sink
/// made by [`EventSink::masking`] has its secret values replaced by `***`.
#[derive(Debug, Clone)]
pub struct EventSink {
    tx: mpsc::UnboundedSender<BuildEvent>,
    masker: Arc<Masker>,
    build: Option<Arc<str>>,
}

impl EventSink {
    pub fn channel() -> (Self, mpsc::UnboundedReceiver<BuildEvent>) {
        let (tx, rx) = mpsc::unbounded_channel();
        (
            EventSink {
                tx,
                masker: Arc::default(),
                build: None,
            },
            rx,
        )
    }

    /// The same sink, masking these values (and those it already masked).
    pub fn masking(&self, values: &[String]) -> EventSink {
        EventSink {
            tx: self.tx.clone(),
            masker: Arc::new(self.masker.with(values)),
            build: self.build.clone(),
        }
    }

    /// The same sink, marking every event as coming from one build of a batch.
    pub fn for_build(&self, identifier: &str) -> EventSink {
        EventSink {
            tx: self.tx.clone(),
            masker: self.masker.clone(),
            build: Some(Arc::from(identifier)),
        }
    }

    pub fn masker(&self) -> &Masker {
        &self.masker
    }

    pub fn send(&self, kind: BuildEventKind) {
        let m = &self.masker;
        let kind = match kind {
            BuildEventKind::Info(t) => BuildEventKind::Info(m.mask(&t)),
            BuildEventKind::CommandStarted(t) => BuildEventKind::CommandStarted(m.mask(&t)),
            // Output is masked a line at a time by the caller, before it gets here.
            BuildEventKind::Output(t) => BuildEventKind::Output(t),
            BuildEventKind::CommandFailed { command, exit_code } => BuildEventKind::CommandFailed {
                command: m.mask(&command),
                exit_code,
            },
            BuildEventKind::PhaseFinished {
                phase,
                status,
                context,
            } => BuildEventKind::PhaseFinished {
                phase,
                status,
                context: PhaseContext {
                    status_code: context.status_code,
                    message: m.mask(&context.message),
                },
            },
            other => other,
        };
        let _ = self.tx.send(BuildEvent {
            at: SystemTime::now(),
            build: self.build.clone(),
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
        // The end of a build has no container line; callers summarise it their way.
        BuildEventKind::BuildFinished(_) => String::new(),
        BuildEventKind::Paused { reason, target } => line(&format!(
            "Paused {}: open its shell with `pipelocal shell {}`; `codebuild-resume` there goes on",
            reason.describe(),
            target.build_id
        )),
        BuildEventKind::Resumed { .. } => line("Resuming the build"),
        BuildEventKind::Kept(target) => line(&format!(
            "Kept the build environment: `pipelocal shell {}` opens a shell in it, `pipelocal clean` removes it",
            target.build_id
        )),
    }
}

/// Renders events as one log text: like [`render`], but a `[Container]` line
/// always starts on a line of its own, even after output with no final
/// newline; in a batch every line starts with `[<identifier>] `.
#[derive(Debug, Default)]
pub struct LogText {
    mid_line: std::collections::HashMap<Option<Arc<str>>, bool>,
}

impl LogText {
    pub fn render(&mut self, event: &BuildEvent) -> String {
        let text = render(event);
        if text.is_empty() {
            return text;
        }
        let mid = self.mid_line.entry(event.build.clone()).or_default();
        let is_output = matches!(event.kind, BuildEventKind::Output(_));
        let text = if *mid && !is_output {
            format!("\n{text}")
        } else {
            text
        };
        let out = match &event.build {
            None => text.clone(),
            Some(id) => {
                let mut out = String::new();
                let mut at_start = !(*mid && is_output);
                for piece in text.split_inclusive('\n') {
                    if at_start {
                        out.push_str(&format!("[{id}] "));
                    }
                    out.push_str(piece);
                    at_start = piece.ends_with('\n');
                }
                out
            }
        };
        *mid = !text.ends_with('\n');
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn container_lines_start_their_own_line() {
        let at = SystemTime::UNIX_EPOCH;
        let mut log = LogText::default();
        let text = log.render(&BuildEvent {
            at,
            build: None,
            kind: BuildEventKind::Output("done".into()),
        }) + &log.render(&BuildEvent {
            at,
            build: None,
            kind: BuildEventKind::CommandStarted("ls".into()),
        });
        assert_eq!(
            text,
            "done\n[Container] 1970/01/01 00:00:00.000000 Running command ls\n"
        );
        let b: Option<Arc<str>> = Some(Arc::from("linux"));
        let out = |t: &str| BuildEvent {
            at,
            build: b.clone(),
            kind: BuildEventKind::Output(t.into()),
        };
        let text = log.render(&out("a\nb")) + &log.render(&out("c\n"));
        assert_eq!(text, "[linux] a\n[linux] bc\n");
    }
}
