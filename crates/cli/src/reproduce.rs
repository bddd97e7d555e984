//! Renders the comparison of a cloud build with its local reproduction:
//! the phases side by side, the verdict line, and the first command whose
//! exit status or output differs in the two logs.

use pipelocal_runner::reproduce::log_diff::CommandSide;
use pipelocal_runner::reproduce::verdict::{Comparison, PhaseOutcome};

/// The table, the verdict and (with a cloud log) the log difference, as text.
pub fn render(c: &Comparison, with_log: bool) -> String {
    let cell = |o: &Option<PhaseOutcome>| match o {
        None => "-".to_string(),
        Some(o) => o.text(),
    };
    let rows: Vec<(String, String, String)> = c
        .phases
        .iter()
        .map(|r| (r.phase_type.clone(), cell(&r.cloud), cell(&r.local)))
        .collect();
    let w0 = rows.iter().map(|r| r.0.len()).chain([5]).max().unwrap_or(5);
    let w1 = rows.iter().map(|r| r.1.len()).chain([5]).max().unwrap_or(5);
    let mut out = String::new();
    out.push_str(&format!("{:<w0$}  {:<w1$}  local\n", "phase", "cloud"));
    for (phase, cloud, local) in &rows {
        out.push_str(&format!("{phase:<w0$}  {cloud:<w1$}  {local}\n"));
    }
    out.push_str(&c.verdict);
    out.push('\n');
    if with_log {
        match &c.log_difference {
            None => out.push_str(
                "the logs agree: the same commands with the same exit statuses and output\n",
            ),
            Some(d) => {
                out.push_str(&format!("first difference in the logs: {}\n", d.summary));
                side(&mut out, "cloud", d.cloud.as_ref());
                side(&mut out, "local", d.local.as_ref());
            }
        }
    }
    out
}

fn side(out: &mut String, name: &str, side: Option<&CommandSide>) {
    let Some(s) = side else {
        out.push_str(&format!("  {name}: did not run it\n"));
        return;
    };
    out.push_str(&format!(
        "  {name} (log line {}, exit status {}):\n",
        s.line, s.exit_status
    ));
    for line in &s.excerpt {
        out.push_str(&format!("    | {line}\n"));
    }
}
