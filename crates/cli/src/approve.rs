//! Asking a person for a manual approval on the terminal. Input is read by
//! one thread for the whole run (`crate::input`), so a question that is no
//! longer waiting (it timed out, the run was stopped) is left without holding
//! the terminal.

use std::io::Write;
use std::sync::Mutex;
use std::time::Duration;

use tokio::sync::mpsc::error::TryRecvError;

use pipelocal_orchestrator::actions::approval::{ApprovalAnswer, ApprovalRequest};

/// Input read past the last line taken.
static PENDING: Mutex<String> = Mutex::new(String::new());

/// The next line, unless the request stops waiting first (`None`).
fn next_line(request: &ApprovalRequest) -> Option<String> {
    let mut rx = crate::input::chunks().blocking_lock();
    let mut pending = PENDING.lock().unwrap_or_else(|e| e.into_inner());
    loop {
        if let Some(end) = pending.find('\n') {
            let line: String = pending.drain(..=end).collect();
            return Some(line.trim_end_matches(['\n', '\r']).to_string());
        }
        match rx.try_recv() {
            Ok(chunk) => pending.push_str(&String::from_utf8_lossy(&chunk)),
            Err(TryRecvError::Empty) if request.is_waiting() => {
                std::thread::sleep(Duration::from_millis(100))
            }
            // End of input: what is left is the last line.
            Err(TryRecvError::Disconnected) if !pending.is_empty() => {
                return Some(std::mem::take(&mut *pending));
            }
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
        let mut rx = crate::input::chunks().blocking_lock();
        while rx.try_recv().is_ok() {}
        PENDING.lock().unwrap_or_else(|e| e.into_inner()).clear();
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
