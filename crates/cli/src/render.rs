//! Rendering a pipeline execution's events: as plain lines (stage and action
//! transitions, each log line prefixed `[Stage/Action] `, a summary of every
//! action's result and duration at the end), or, on a terminal, the same lines
//! above a live block with one line per action: its status and elapsed time.

use std::collections::HashMap;
use std::io::Write;
use std::time::{Duration, SystemTime};

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use pipelocal_orchestrator::events::{ActionLogLine, PipelineEvent, PipelineEventKind};
use pipelocal_orchestrator::status::ActionStatus;
use pipelocal_runner::events::{BuildEvent, BuildEventKind, LogText};
use pipelocal_runner::pause::ShellTarget;

use crate::approve::ask;
use crate::shell::Shells;

/// The build event of a pipeline event, if it is one.
fn build_event(event: &PipelineEvent) -> Option<&BuildEvent> {
    match &event.kind {
        PipelineEventKind::ActionLog {
            event: ActionLogLine::Build(build),
            ..
        } => Some(build),
        _ => None,
    }
}

/// Keeps `pipelocal shell`'s records in step with a run's builds; the shell
/// to open now, if any.
fn shell_to_open(shells: &Shells, event: &PipelineEvent) -> Option<ShellTarget> {
    build_event(event).and_then(|build| shells.on(build))
}

/// Opens a paused build's shell on this terminal, from a renderer.
fn open(target: &ShellTarget) {
    tokio::task::block_in_place(|| {
        tokio::runtime::Handle::current().block_on(crate::shell::open(target))
    });
}

/// Plain lines to a writer.
pub struct PlainRenderer<W: Write> {
    out: W,
    transcript: Transcript,
    shells: Shells,
}

impl<W: Write> PlainRenderer<W> {
    pub fn new(out: W, shells: Shells) -> Self {
        PlainRenderer {
            out,
            transcript: Transcript::default(),
            shells,
        }
    }

    pub fn render(&mut self, event: &PipelineEvent) {
        let text = self.transcript.text(event);
        let _ = self.out.write_all(text.as_bytes());
        let _ = self.out.flush();
        if let Some(target) = shell_to_open(&self.shells, event) {
            open(&target);
        }
        if let PipelineEventKind::ApprovalRequested(request) = &event.kind {
            if let Some(answer) = tokio::task::block_in_place(|| ask(request)) {
                request.answer(answer);
            }
        }
    }
}

/// One action on a stage's status line.
struct ActionView {
    name: String,
    started: std::time::Instant,
    finished: Option<(String, f64)>,
    /// Its build waits at a pause.
    paused: bool,
}

/// The actions of each stage, shared with the thread that redraws them.
type Board = std::sync::Arc<std::sync::Mutex<Vec<(String, ProgressBar, Vec<ActionView>)>>>;

/// A stage's status line: its actions side by side, each with its state and time.
fn stage_line(actions: &[ActionView]) -> String {
    actions
        .iter()
        .map(|a| match &a.finished {
            Some((status, took)) => format!("{} {status} {took:.1}s", a.name),
            None if a.paused => format!(
                "{} paused {:.1}s",
                a.name,
                a.started.elapsed().as_secs_f64()
            ),
            None => format!("{} {:.1}s", a.name, a.started.elapsed().as_secs_f64()),
        })
        .collect::<Vec<_>>()
        .join("  |  ")
}

/// The live view on a terminal: log lines scroll above one status line per
/// stage, whose actions (those of a run-order group running at once) stand
/// side by side with their elapsed times.
pub struct LiveRenderer {
    multi: MultiProgress,
    board: Board,
    transcript: Transcript,
    ticker: Option<std::thread::JoinHandle<()>>,
    done: std::sync::Arc<std::sync::atomic::AtomicBool>,
    shells: Shells,
}

impl LiveRenderer {
    pub fn new(shells: Shells) -> Self {
        let board: Board = Default::default();
        let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        // Elapsed times move even while no action logs anything.
        let ticker = {
            let (board, done) = (board.clone(), done.clone());
            std::thread::spawn(move || {
                while !done.load(std::sync::atomic::Ordering::Relaxed) {
                    for (_, bar, actions) in board.lock().expect("board lock").iter() {
                        if !bar.is_finished() {
                            bar.set_message(stage_line(actions));
                        }
                    }
                    std::thread::sleep(Duration::from_millis(200));
                }
            })
        };
        LiveRenderer {
            multi: MultiProgress::with_draw_target(ProgressDrawTarget::stdout()),
            board,
            transcript: Transcript::default(),
            ticker: Some(ticker),
            done,
            shells,
        }
    }

    pub fn render(&mut self, event: &PipelineEvent) {
        let text = self.transcript.text(event);
        self.mark_paused(event);
        if let Some(target) = shell_to_open(&self.shells, event) {
            for line in text.lines() {
                let _ = self.multi.println(line);
            }
            self.multi.suspend(|| open(&target));
            return;
        }
        match &event.kind {
            PipelineEventKind::ActionStarted { stage, action } => {
                let mut board = self.board.lock().expect("board lock");
                if !board
                    .iter()
                    .any(|(s, bar, _)| s == stage && !bar.is_finished())
                {
                    let bar = self.multi.add(ProgressBar::new_spinner());
                    bar.set_style(
                        ProgressStyle::with_template("{spinner} {prefix:<12} {msg}")
                            .expect("a valid template"),
                    );
                    bar.set_prefix(stage.clone());
                    bar.enable_steady_tick(Duration::from_millis(120));
                    board.push((stage.clone(), bar, Vec::new()));
                }
                if let Some((_, bar, actions)) = board.iter_mut().rev().find(|(s, _, _)| s == stage)
                {
                    actions.push(ActionView {
                        name: action.clone(),
                        started: std::time::Instant::now(),
                        finished: None,
                        paused: false,
                    });
                    bar.set_message(stage_line(actions));
                }
            }
            PipelineEventKind::ActionFinished {
                stage,
                action,
                status,
                ..
            } => {
                // Lines the action left unfinished go above first.
                for line in text.lines().filter(|l| !l.starts_with("<- ")) {
                    let _ = self.multi.println(line);
                }
                let took = self.transcript.took(&format!("{stage}/{action}"));
                let mut board = self.board.lock().expect("board lock");
                if let Some((_, bar, actions)) = board.iter_mut().rev().find(|(s, _, _)| s == stage)
                {
                    if let Some(view) = actions.iter_mut().rev().find(|a| &a.name == action) {
                        view.finished = Some((status.to_string(), took));
                    }
                    bar.set_message(stage_line(actions));
                }
            }
            PipelineEventKind::StageFinished { stage, status } => {
                let board = self.board.lock().expect("board lock");
                if let Some((_, bar, actions)) = board.iter().rev().find(|(s, _, _)| s == stage) {
                    bar.set_style(
                        ProgressStyle::with_template("  {prefix:<12} {msg}")
                            .expect("a valid template"),
                    );
                    bar.finish_with_message(format!("{status}: {}", stage_line(actions)));
                }
                drop(board);
                for line in text.lines() {
                    let _ = self.multi.println(line);
                }
            }
            PipelineEventKind::ApprovalRequested(request) => {
                let answer = self
                    .multi
                    .suspend(|| tokio::task::block_in_place(|| ask(request)));
                if let Some(answer) = answer {
                    request.answer(answer);
                }
            }
            PipelineEventKind::ExecutionFinished { .. } => {
                // The summary says what the status lines said: they go.
                let _ = self.multi.clear();
                print!("{text}");
            }
            _ => {
                for line in text.lines() {
                    let _ = self.multi.println(line);
                }
            }
        }
    }
}

impl LiveRenderer {
    /// "paused" on the action's status line while its build waits at a pause.
    fn mark_paused(&self, event: &PipelineEvent) {
        let PipelineEventKind::ActionLog {
            stage,
            action,
            event: ActionLogLine::Build(build),
        } = &event.kind
        else {
            return;
        };
        let paused = match build.kind {
            BuildEventKind::Paused { .. } => true,
            BuildEventKind::Resumed { .. } => false,
            _ => return,
        };
        let mut board = self.board.lock().expect("board lock");
        if let Some((_, bar, actions)) = board.iter_mut().rev().find(|(s, _, _)| s == stage) {
            if let Some(view) = actions.iter_mut().rev().find(|a| &a.name == action) {
                view.paused = paused;
            }
            bar.set_message(stage_line(actions));
        }
    }
}

impl Drop for LiveRenderer {
    fn drop(&mut self) {
        self.done.store(true, std::sync::atomic::Ordering::Relaxed);
        if let Some(ticker) = self.ticker.take() {
            let _ = ticker.join();
        }
    }
}

/// What each event says as text, keeping per-action partial lines and timings.
#[derive(Default)]
struct Transcript {
    /// One log text per action, so partial lines of parallel actions never mix.
    logs: HashMap<String, (LogText, String)>,
    started: HashMap<String, SystemTime>,
    finished: Vec<(String, String, f64)>,
    /// Each failed action and where and why it failed, in order.
    failures: Vec<(String, String)>,
    execution_id: Option<String>,
}

fn seconds(from: SystemTime, to: SystemTime) -> f64 {
    to.duration_since(from)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

impl Transcript {
    /// The whole lines (without their newline) an action's log event completes.
    fn log_lines(&mut self, key: &str, line: &ActionLogLine) -> Vec<String> {
        let (log, pending) = self.logs.entry(key.to_string()).or_default();
        let text = match line {
            ActionLogLine::Build(e) => log.render(e),
            ActionLogLine::Note(n) => format!("{n}\n"),
        };
        pending.push_str(&text);
        let mut out = Vec::new();
        while let Some(end) = pending.find('\n') {
            let line: String = pending.drain(..=end).collect();
            out.push(line.trim_end_matches('\n').to_string());
        }
        out
    }

    /// How long a finished action took, in seconds.
    fn took(&self, key: &str) -> f64 {
        // The latest attempt: a retried action shows its last duration.
        self.finished
            .iter()
            .rfind(|(k, _, _)| k == key)
            .map(|f| f.2)
            .unwrap_or(0.0)
    }

    fn text(&mut self, event: &PipelineEvent) -> String {
        match &event.kind {
            PipelineEventKind::ExecutionStarted {
                pipeline,
                execution_id,
            } => {
                self.execution_id = Some(execution_id.clone());
                format!("Pipeline {pipeline}: execution {execution_id}\n")
            }
            PipelineEventKind::StageStarted { stage } => format!("== Stage {stage}\n"),
            PipelineEventKind::ActionStarted { stage, action } => {
                self.started.insert(format!("{stage}/{action}"), event.at);
                format!("-> {stage}/{action} started\n")
            }
            PipelineEventKind::ActionLog {
                stage,
                action,
                event: line,
            } => {
                let key = format!("{stage}/{action}");
                // Whole lines only, each with its action's prefix.
                self.log_lines(&key, line)
                    .into_iter()
                    .map(|l| format!("[{key}] {l}\n"))
                    .collect()
            }
            PipelineEventKind::ActionFinished {
                stage,
                action,
                status,
                summary,
                reason,
            } => {
                let key = format!("{stage}/{action}");
                if *status == ActionStatus::Failed {
                    let why = reason
                        .as_deref()
                        .or_else(|| summary.as_deref().and_then(|s| s.lines().next()))
                        .unwrap_or("no reason was given");
                    self.failures.push((key.clone(), why.to_string()));
                }
                let mut out = String::new();
                if let Some((_, pending)) = self.logs.get_mut(&key) {
                    if !pending.is_empty() {
                        out.push_str(&format!("[{key}] {}\n", std::mem::take(pending)));
                    }
                }
                let took = self
                    .started
                    .get(&key)
                    .map(|s| seconds(*s, event.at))
                    .unwrap_or(0.0);
                self.finished.push((key.clone(), status.to_string(), took));
                out.push_str(&format!("<- {key} {status} in {took:.1}s"));
                if let Some(s) = summary {
                    out.push_str(&format!(": {s}"));
                }
                out.push('\n');
                out
            }
            PipelineEventKind::ApprovalRequested(_) => String::new(),
            PipelineEventKind::Note(text) => format!("{text}\n"),
            PipelineEventKind::StageFinished { stage, status } => {
                format!("== Stage {stage} {status}\n")
            }
            PipelineEventKind::ExecutionFinished { status, summary } => {
                let mut out = String::from("\nActions:\n");
                let width = self.finished.iter().map(|f| f.0.len()).max().unwrap_or(0);
                for (name, status, took) in &self.finished {
                    out.push_str(&format!("  {name:<width$}  {status:<10} {took:>7.1}s\n"));
                }
                out.push_str(&format!("Execution {status}"));
                if let Some(s) = summary {
                    out.push_str(&format!(": {s}"));
                }
                out.push('\n');
                out.push_str(&self.next_steps());
                out
            }
        }
    }
}

impl Transcript {
    /// Where and why each failed action failed, then what to do next.
    fn next_steps(&self) -> String {
        let Some((first, _)) = self.failures.first() else {
            return String::new();
        };
        let id = self.execution_id.as_deref().unwrap_or("<execution-id>");
        let mut out = String::from("\nFailed:\n");
        for (key, why) in &self.failures {
            out.push_str(&format!("  {key}: {why}\n"));
        }
        let steps = [
            (format!("pipelocal logs {id} {first}"), "its whole log"),
            (
                format!("pipelocal retry {id}"),
                "the failed stage again, in this execution",
            ),
            (
                "--break-on-failure".to_string(),
                "on run or retry: pause at the failing command, with a shell in its state",
            ),
            (
                format!("pipelocal view {id}"),
                "the execution as an HTML page",
            ),
        ];
        let width = steps.iter().map(|s| s.0.len()).max().unwrap_or(0);
        out.push_str("Next:\n");
        for (command, meaning) in steps {
            out.push_str(&format!("  {command:<width$}  {meaning}\n"));
        }
        out
    }
}

/// One JSON object per line and event, for tools: `{"at", "event", ...}`;
/// log lines come whole, one object each.
pub struct JsonRenderer<W: Write> {
    out: W,
    transcript: Transcript,
    /// Records pauses and kept builds for `pipelocal shell`; never opens one.
    shells: Shells,
}

impl<W: Write> JsonRenderer<W> {
    pub fn new(out: W, shells: Shells) -> Self {
        JsonRenderer {
            out,
            transcript: Transcript::default(),
            shells: Shells {
                interactive: false,
                ..shells
            },
        }
    }

    pub fn render(&mut self, event: &PipelineEvent) {
        use serde_json::json;
        let _ = shell_to_open(&self.shells, event);
        let at = event
            .at
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs_f64())
            .unwrap_or(0.0);
        let objects = match &event.kind {
            PipelineEventKind::ExecutionStarted {
                pipeline,
                execution_id,
            } => vec![
                json!({"event": "ExecutionStarted", "pipeline": pipeline, "executionId": execution_id}),
            ],
            PipelineEventKind::StageStarted { stage } => {
                vec![json!({"event": "StageStarted", "stage": stage})]
            }
            PipelineEventKind::ActionStarted { stage, action } => {
                vec![json!({"event": "ActionStarted", "stage": stage, "action": action})]
            }
            PipelineEventKind::ActionLog {
                stage,
                action,
                event: line,
            } => self
                .transcript
                .log_lines(&format!("{stage}/{action}"), line)
                .into_iter()
                .map(|l| json!({"event": "Log", "stage": stage, "action": action, "line": l}))
                .collect(),
            PipelineEventKind::ActionFinished {
                stage,
                action,
                status,
                summary,
                reason,
            } => vec![
                json!({"event": "ActionFinished", "stage": stage, "action": action, "status": status, "summary": summary, "reason": reason}),
            ],
            PipelineEventKind::StageFinished { stage, status } => {
                vec![json!({"event": "StageFinished", "stage": stage, "status": status})]
            }
            PipelineEventKind::ExecutionFinished { status, summary } => {
                vec![json!({"event": "ExecutionFinished", "status": status, "summary": summary})]
            }
            PipelineEventKind::Note(text) => vec![json!({"event": "Note", "text": text})],
            PipelineEventKind::ApprovalRequested(request) => vec![json!({
                "event": "ApprovalRequested",
                "stage": request.stage,
                "action": request.action,
                "customData": request.custom_data,
                "externalEntityLink": request.external_entity_link,
            })],
        };
        for mut object in objects {
            object["at"] = json!(at);
            let _ = writeln!(self.out, "{object}");
        }
        let _ = self.out.flush();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_paused_action_says_so_on_its_stage_line() {
        let view = |paused, finished: Option<(String, f64)>| ActionView {
            name: "Left".into(),
            started: std::time::Instant::now(),
            finished,
            paused,
        };
        assert!(stage_line(&[view(true, None)]).starts_with("Left paused "));
        assert!(!stage_line(&[view(false, None)]).contains("paused"));
        assert_eq!(
            stage_line(&[view(false, Some(("Succeeded".into(), 1.0)))]),
            "Left Succeeded 1.0s"
        );
    }
}
