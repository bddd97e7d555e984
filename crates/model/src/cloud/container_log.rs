//! A CodeBuild build's log read back as the commands it ran: for each
//! `Running command ...` line, the phase it ran in, its output and its exit
//! status (`Command did not exit successfully ... exit status N`).
//!
//! The log comes as CloudWatch Logs gives it: `aws logs get-log-events` or
//! `filter-log-events` JSON (`{"events": [{"timestamp", "message", ...}]}`,
//! CloudWatch Logs API Reference, `OutputLogEvent` and `FilteredLogEvent`),
//! or the plain text of the console's download, one line per event. The
//! `[Container] YYYY/MM/DD HH:MM:SS.ffffff` prefix is CodeBuild's (the
//! microseconds are missing in older logs).

use std::path::Path;

use serde::Deserialize;

use crate::problem::{LoadError, Place};

/// One command of a build's log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoggedCommand {
    /// The phase it ran in (`BUILD`), as the log named it.
    pub phase: String,
    /// The command's text (its first line, for a command of several lines).
    pub command: String,
    /// The exit status when the command failed; `None` when it did not fail.
    pub exit_status: Option<i64>,
    /// What it printed, line by line.
    pub output: Vec<String>,
    /// The log line (1-based) of its `Running command` line.
    pub line: usize,
}

/// A build log as the commands it ran.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ContainerLog {
    /// `CODEBUILD_SRC_DIR` as the log printed it, to tell paths apart from output.
    pub src_dir: Option<String>,
    pub commands: Vec<LoggedCommand>,
}

/// `GetLogEvents` / `FilterLogEvents` output: only the events' messages matter.
#[derive(Deserialize)]
struct Events {
    events: Vec<Event>,
}

#[derive(Deserialize)]
struct Event {
    #[serde(default)]
    message: String,
}

/// Reads a build log file: CloudWatch Logs JSON or plain text.
pub fn load_container_log(path: &Path) -> Result<ContainerLog, LoadError> {
    let text = std::fs::read_to_string(path).map_err(|source| LoadError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let trimmed = text.trim_start();
    // A plain log starts with `[` too: `[Container] ...`.
    let json = trimmed.starts_with('{')
        || (trimmed.starts_with('[') && !trimmed.starts_with("[Container]"));
    let not_a_log = || {
        LoadError::Syntax {
        place: Place::file(path).into(),
        message: "no `[Container]` line: not a CodeBuild log (give `aws logs get-log-events` JSON, or the console's plain-text download)".into(),
    }
    };
    let is_log = |t: &str| t.lines().any(|l| l.starts_with("[Container] "));
    if !json {
        return if is_log(&text) {
            Ok(ContainerLog::from_text(&text))
        } else {
            Err(not_a_log())
        };
    }
    let events: Vec<Event> = if trimmed.starts_with('[') {
        serde_json::from_str(&text)
    } else {
        serde_json::from_str::<Events>(&text).map(|e| e.events)
    }
    .map_err(|e| LoadError::Syntax {
        place: Place::file(path).at_line(Some(e.line())).into(),
        message: format!(
            "not a CloudWatch Logs export: expected `aws logs get-log-events` or `filter-log-events` JSON (`events[].message`), or the log's plain text ({e})"
        ),
    })?;
    let mut joined = String::new();
    for event in events {
        joined.push_str(&event.message);
        if !event.message.ends_with('\n') {
            joined.push('\n');
        }
    }
    if !is_log(&joined) {
        return Err(not_a_log());
    }
    Ok(ContainerLog::from_text(&joined))
}

impl ContainerLog {
    /// Reads the commands of a log's text.
    pub fn from_text(text: &str) -> ContainerLog {
        let mut log = ContainerLog::default();
        let mut phase = String::new();
        let mut current: Option<usize> = None;
        for (i, raw) in text.lines().enumerate() {
            let line = raw.trim_end_matches('\r');
            let Some(message) = line.strip_prefix("[Container] ").map(without_stamp) else {
                if let Some(c) = current {
                    log.commands[c].output.push(line.to_string());
                }
                continue;
            };
            if let Some(p) = message
                .strip_prefix("Entering phase ")
                .or_else(|| message.strip_prefix("Phase is "))
            {
                phase = p.trim().to_string();
                current = None;
            } else if let Some(command) = message.strip_prefix("Running command ") {
                log.commands.push(LoggedCommand {
                    phase: phase.clone(),
                    command: command.to_string(),
                    exit_status: None,
                    output: Vec::new(),
                    line: i + 1,
                });
                current = Some(log.commands.len() - 1);
            } else if let Some(rest) = message.strip_prefix("Command did not exit successfully ") {
                let status = rest
                    .rsplit_once(" exit status ")
                    .and_then(|(_, n)| n.trim().parse().ok());
                if let (Some(c), Some(n)) = (current, status) {
                    log.commands[c].exit_status = Some(n);
                }
                current = None;
            } else if message.starts_with("Phase complete: ") {
                current = None;
            } else if let Some(dir) = message.strip_prefix("CODEBUILD_SRC_DIR=") {
                log.src_dir.get_or_insert_with(|| dir.trim().to_string());
            }
        }
        log
    }
}

/// A `[Container]` line's message without its `YYYY/MM/DD HH:MM:SS[.ffffff]` stamp.
fn without_stamp(rest: &str) -> &str {
    let mut parts = rest.splitn(3, ' ');
    match (parts.next(), parts.next(), parts.next()) {
        (Some(date), Some(time), Some(message))
            if date.len() == 10 && date.as_bytes()[4] == b'/' && time.contains(':') =>
        {
            message
        }
        _ => rest,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOG: &str = "[Container] 2024/06/05 02:04:07.161900 Running on CodeBuild On-demand
[Container] 2024/06/05 02:04:08.786311 Phase is DOWNLOAD_SOURCE
[Container] 2024/06/05 02:04:08.8 CODEBUILD_SRC_DIR=/codebuild/output/src2740/src/s3/00
[Container] 2024/06/05 02:04:09 Entering phase BUILD
[Container] 2024/06/05 02:04:09.1 Running command echo hi
hi
[Container] 2024/06/05 02:04:09.2 Running command sh check.sh
checking
bad value\r
[Container] 2024/06/05 02:04:09.3 Command did not exit successfully sh check.sh exit status 1
[Container] 2024/06/05 02:04:09.4 Phase complete: BUILD State: FAILED
";

    #[test]
    fn commands_carry_phase_output_and_exit_status() {
        let log = ContainerLog::from_text(LOG);
        assert_eq!(
            log.src_dir.as_deref(),
            Some("/codebuild/output/src2740/src/s3/00")
        );
        assert_eq!(
            log.commands,
            vec![
                LoggedCommand {
                    phase: "BUILD".into(),
                    command: "echo hi".into(),
                    exit_status: None,
                    output: vec!["hi".into()],
                    line: 5,
                },
                LoggedCommand {
                    phase: "BUILD".into(),
                    command: "sh check.sh".into(),
                    exit_status: Some(1),
                    output: vec!["checking".into(), "bad value".into()],
                    line: 7,
                },
            ]
        );
    }

    #[test]
    fn cloudwatch_json_is_its_messages() {
        let dir = tempfile::tempdir().unwrap();
        let plain = dir.path().join("build.log");
        std::fs::write(&plain, LOG).unwrap();
        assert_eq!(
            load_container_log(&plain).unwrap(),
            ContainerLog::from_text(LOG)
        );
        let path = dir.path().join("events.json");
        let events: Vec<serde_json::Value> = LOG
            .lines()
            .map(|l| serde_json::json!({"timestamp": 1, "message": format!("{l}\n"), "ingestionTime": 2}))
            .collect();
        let json = serde_json::json!({"events": events, "nextForwardToken": "f/1"});
        std::fs::write(&path, json.to_string()).unwrap();
        assert_eq!(
            load_container_log(&path).unwrap(),
            ContainerLog::from_text(LOG)
        );
        std::fs::write(
            &plain,
            "EVENTS\t1\t[Container] 2024/06/05 02:04:07 Running command ls\t2\n",
        )
        .unwrap();
        let err = load_container_log(&plain).unwrap_err().to_string();
        assert!(err.contains("no `[Container]` line"), "{err}");
        std::fs::write(&path, "{\"events\": 3}").unwrap();
        let err = load_container_log(&path).unwrap_err().to_string();
        assert!(err.contains("get-log-events"), "{err}");
    }
}
