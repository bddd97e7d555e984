//! Asking a person for a manual approval on the terminal. Lines are read by
//! one thread for the whole run, so a question that is no longer waiting (it
//! timed out, the run was stopped) is left without holding the terminal.

use std::io::{BufRead, Write};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use pipelocal_orchestrator::actions::approval::{ApprovalAnswer, ApprovalRequest};

/// Standard input, a line at a time, from one reader thread.
fn lines() -> &'static Mutex<Receiver<String>> {
    static LINES: OnceLock<Mutex<Receiver<String>>> = OnceLock::new();
    LINES.get_or_init(|| {
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in std::io::stdin().lock().lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Mutex::new(rx)
    })
}

/// The next line, unless the request stops waiting first (`None`).
fn next_line(request: &ApprovalRequest) -> Option<String> {
    let rx = lines().lock().expect("stdin lines lock");
    loop {
        match rx.recv_timeout(Duration::from_millis(100)) {
            Ok(line) => return Some(line),
            Err(RecvTimeoutError::Timeout) if request.is_waiting() => continue,
            Err(_) => return None,
        }
    }
}

fn prompt(text: &str) {
    let mut out = std::io::stdout();
    let _ = write!(out, "{text}");
    let _ = out.flush();
}

/// Shows the approval and reads `y`/`n` and a comment. End of input rejects,
/// so a closed terminal never approves; `None` when nobody waits any more.
pub fn ask(request: &ApprovalRequest) -> Option<ApprovalAnswer> {
    let mut text = format!("\nApproval needed: {}/{}\n", request.stage, request.action);
    if let Some(data) = &request.custom_data {
        text.push_str(&format!("  CustomData: {data}\n"));
    }
    if let Some(link) = &request.external_entity_link {
        text.push_str(&format!("  ExternalEntityLink: {link}\n"));
    }
    text.push_str(&format!(
        "  (times out in {} minutes)\n",
        request.timeout.as_secs().div_ceil(60)
    ));
    // Lines typed before this question are not its answer.
    {
        let rx = lines().lock().expect("stdin lines lock");
        while rx.try_recv().is_ok() {}
    }
    prompt(&text);
    let approved = loop {
        prompt("Approve? [y/n]: ");
        match next_line(request) {
            Some(line) => match line.trim().to_ascii_lowercase().as_str() {
                "y" | "yes" => break true,
                "n" | "no" => break false,
                _ => continue,
            },
            None if request.is_waiting() => break false,
            None => {
                prompt("\n(the approval is no longer waiting for an answer)\n");
                return None;
            }
        }
    };
    prompt("Comment: ");
    let comment = next_line(request).unwrap_or_default();
    Some(ApprovalAnswer { approved, comment })
}
