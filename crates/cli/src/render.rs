//! Rendering a pipeline execution's events as plain lines: stage and action
//! transitions, each log line prefixed `[Stage/Action] `, and a summary of
//! every action's result and duration at the end.

use std::collections::HashMap;
use std::io::Write;
use std::time::SystemTime;

use pipelocal_orchestrator::events::{ActionLogLine, PipelineEvent, PipelineEventKind};
use pipelocal_runner::events::LogText;

pub struct PlainRenderer<W: Write> {
    out: W,
    /// One log text per action, so partial lines of parallel actions never mix.
    logs: HashMap<String, (LogText, String)>,
    started: HashMap<String, SystemTime>,
    finished: Vec<(String, String, f64)>,
}

fn seconds(from: SystemTime, to: SystemTime) -> f64 {
    to.duration_since(from)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

impl<W: Write> PlainRenderer<W> {
    pub fn new(out: W) -> Self {
        PlainRenderer {
            out,
            logs: HashMap::new(),
            started: HashMap::new(),
            finished: Vec::new(),
        }
    }

    pub fn render(&mut self, event: &PipelineEvent) {
        let text = self.text(event);
        let _ = self.out.write_all(text.as_bytes());
        let _ = self.out.flush();
    }

    fn text(&mut self, event: &PipelineEvent) -> String {
        match &event.kind {
            PipelineEventKind::ExecutionStarted {
                pipeline,
                execution_id,
            } => format!("Pipeline {pipeline}: execution {execution_id}\n"),
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
                let (log, pending) = self.logs.entry(key.clone()).or_default();
                let text = match line {
                    ActionLogLine::Build(e) => log.render(e),
                    ActionLogLine::Note(n) => format!("{n}\n"),
                };
                // Whole lines only, each with its action's prefix.
                pending.push_str(&text);
                let mut out = String::new();
                while let Some(end) = pending.find('\n') {
                    let line: String = pending.drain(..=end).collect();
                    out.push_str(&format!("[{key}] {line}"));
                }
                out
            }
            PipelineEventKind::ActionFinished {
                stage,
                action,
                status,
                summary,
            } => {
                let key = format!("{stage}/{action}");
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
                out
            }
        }
    }
}
