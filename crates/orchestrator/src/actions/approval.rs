//! Manual approval actions (codepipeline.md §3.11): answered by a flag for
//! every approval, or asked on the terminal by whoever renders the run.
//! Rejection and timeout fail the action.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::oneshot;

/// How approvals are answered in this run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApprovalPolicy {
    /// `--approve`.
    Approve,
    /// `--reject`.
    Reject,
    /// Ask a person: the renderer gets [`ApprovalRequest`]s.
    Ask,
    /// No terminal and no flag: the action fails naming the flags.
    Unanswerable,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApprovalAnswer {
    pub approved: bool,
    pub comment: String,
}

/// A question for the person running the pipeline; answer it once.
#[derive(Debug, Clone)]
pub struct ApprovalRequest {
    pub stage: String,
    pub action: String,
    pub custom_data: Option<String>,
    pub external_entity_link: Option<String>,
    pub timeout: Duration,
    reply: Arc<Mutex<Option<oneshot::Sender<ApprovalAnswer>>>>,
}

impl ApprovalRequest {
    pub fn new(
        stage: &str,
        action: &str,
        custom_data: Option<String>,
        external_entity_link: Option<String>,
        timeout: Duration,
    ) -> (Self, oneshot::Receiver<ApprovalAnswer>) {
        let (tx, rx) = oneshot::channel();
        (
            ApprovalRequest {
                stage: stage.to_string(),
                action: action.to_string(),
                custom_data,
                external_entity_link,
                timeout,
                reply: Arc::new(Mutex::new(Some(tx))),
            },
            rx,
        )
    }

    pub fn answer(&self, answer: ApprovalAnswer) {
        if let Some(tx) = self.reply.lock().expect("reply lock").take() {
            let _ = tx.send(answer);
        }
    }
}

/// How an approval ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApprovalOutcome {
    Approved(String),
    Rejected(String),
    TimedOut(Duration),
    /// Nobody can answer: no terminal and no flag.
    Unanswerable,
}

impl ApprovalOutcome {
    pub fn summary(&self) -> String {
        match self {
            ApprovalOutcome::Approved(c) => with_comment("Approved", c),
            ApprovalOutcome::Rejected(c) => with_comment("Rejected", c),
            ApprovalOutcome::TimedOut(d) => format!(
                "Approval timed out after {} minutes",
                d.as_secs().div_ceil(60)
            ),
            ApprovalOutcome::Unanswerable => "a manual approval needs an answer: run on a terminal, or pass --approve or --reject".into(),
        }
    }
}

fn with_comment(word: &str, comment: &str) -> String {
    if comment.trim().is_empty() {
        word.to_string()
    } else {
        format!("{word}: {}", comment.trim())
    }
}

/// `timeoutInMinutes` of an approval, default 7 days.
pub fn timeout(minutes: Option<i64>) -> Duration {
    Duration::from_secs(minutes.unwrap_or(7 * 24 * 60).max(1) as u64 * 60)
}
