//! Asking a person for a manual approval on the terminal.

use std::io::{BufRead, Write};

use pipelocal_orchestrator::actions::approval::{ApprovalAnswer, ApprovalRequest};

/// Shows the approval and reads `y`/`n` and a comment from standard input.
/// End of input rejects, so a closed terminal never approves.
pub fn ask(request: &ApprovalRequest) -> ApprovalAnswer {
    let mut out = std::io::stdout();
    let _ = writeln!(
        out,
        "\nApproval needed: {}/{}",
        request.stage, request.action
    );
    if let Some(data) = &request.custom_data {
        let _ = writeln!(out, "  CustomData: {data}");
    }
    if let Some(link) = &request.external_entity_link {
        let _ = writeln!(out, "  ExternalEntityLink: {link}");
    }
    let _ = writeln!(
        out,
        "  (times out in {} minutes)",
        request.timeout.as_secs().div_ceil(60)
    );
    let stdin = std::io::stdin();
    let mut lines = stdin.lock().lines();
    let approved = loop {
        let _ = write!(out, "Approve? [y/n]: ");
        let _ = out.flush();
        match lines.next() {
            Some(Ok(line)) => match line.trim().to_ascii_lowercase().as_str() {
                "y" | "yes" => break true,
                "n" | "no" => break false,
                _ => continue,
            },
            _ => break false,
        }
    };
    let _ = write!(out, "Comment: ");
    let _ = out.flush();
    let comment = lines.next().and_then(Result::ok).unwrap_or_default();
    ApprovalAnswer { approved, comment }
}
