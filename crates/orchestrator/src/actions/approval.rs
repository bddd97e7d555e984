//! Manual approval actions (CodePipeline User Guide, "Add a manual approval action to a stage"): answered by a flag for
//! every approval, or asked on the terminal by whoever renders the run.
//! Rejection and timeout fail the action.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use pipelocal_runner::build::StopSignal;
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

    /// Whether the execution still waits for this answer (not timed out or stopped).
    pub fn is_waiting(&self) -> bool {
        self.reply
            .lock()
            .expect("reply lock")
            .as_ref()
            .is_some_and(|tx| !tx.is_closed())
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

/// Waits for a person's answer until `wait` has passed; `None` when the
/// execution is stopped meanwhile.
pub async fn wait_for(
    answer: oneshot::Receiver<ApprovalAnswer>,
    wait: Duration,
    mut stop: StopSignal,
) -> Option<ApprovalOutcome> {
    tokio::select! {
        answer = answer => Some(match answer {
            Ok(a) if a.approved => ApprovalOutcome::Approved(a.comment),
            Ok(a) => ApprovalOutcome::Rejected(a.comment),
            Err(_) => ApprovalOutcome::Unanswerable,
        }),
        _ = tokio::time::sleep(wait) => Some(ApprovalOutcome::TimedOut(wait)),
        _ = stop.stopped() => None,
    }
}

/// `timeoutInMinutes` of an approval, default 7 days.
pub fn timeout(minutes: Option<i64>) -> Duration {
    Duration::from_secs(minutes.unwrap_or(7 * 24 * 60).max(1) as u64 * 60)
}

#[cfg(test)]
mod tests {
    use super::*;
    use pipelocal_runner::build::stop_channel;

    #[tokio::test(start_paused = true)]
    async fn an_unanswered_approval_times_out() {
        let (request, answer) =
            ApprovalRequest::new("Gate", "Approve", None, None, timeout(Some(5)));
        let (_stop, signal) = stop_channel();
        let outcome = wait_for(answer, request.timeout, signal).await;
        assert_eq!(
            outcome,
            Some(ApprovalOutcome::TimedOut(Duration::from_secs(300)))
        );
        assert_eq!(
            outcome.unwrap().summary(),
            "Approval timed out after 5 minutes"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn an_answer_and_a_stop_end_the_wait() {
        let (request, answer) = ApprovalRequest::new("Gate", "Approve", None, None, timeout(None));
        request.answer(ApprovalAnswer {
            approved: false,
            comment: " not today ".into(),
        });
        let (_stop, signal) = stop_channel();
        let outcome = wait_for(answer, request.timeout, signal).await.unwrap();
        assert_eq!(outcome.summary(), "Rejected: not today");
        let (_request, answer) = ApprovalRequest::new("Gate", "Approve", None, None, timeout(None));
        let (stop, signal) = stop_channel();
        stop.stop();
        assert_eq!(
            wait_for(answer, Duration::from_secs(60), signal).await,
            None
        );
    }
}
