//! The page: one self-contained HTML document (inline CSS, no script, nothing
//! fetched) drawn like CodePipeline's console: stages as columns, each with
//! its run-order groups of actions in status colours; then a timeline of
//! every action on one time axis; then each action's details and log.

use std::fmt::Write;

use pipelocal_orchestrator::history::ExecutionRecord;
use pipelocal_runner::record::BuildRecord;

use super::gather::{ActionPage, Artifact, Execution};

/// Text made safe inside HTML elements and attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The console's status colours (green, red, blue, grey), by status name.
const STYLE: &str = r#"
:root{--ok:#1d8102;--fail:#d13212;--run:#0073bb;--idle:#687078;--line:#d5dbdb;--bg:#f2f3f3}
*{box-sizing:border-box}
body{font:14px/1.45 "Amazon Ember",Helvetica,Arial,sans-serif;margin:0;background:var(--bg);color:#16191f}
header,main{padding:16px 24px}
header{background:#fff;border-bottom:1px solid var(--line)}
h1{font-size:22px;margin:0 0 4px}
h2{font-size:17px;margin:0 0 8px}
h3{font-size:15px;margin:0}
.meta{color:#545b64}
.meta span+span:before{content:" · "}
a{color:#0073bb}
.badge{display:inline-block;border-radius:10px;padding:0 8px;font-size:12px;font-weight:bold;color:#fff;background:var(--idle)}
.badge.s-Succeeded{background:var(--ok)}
.badge.s-Failed{background:var(--fail)}
.badge.s-InProgress,.badge.s-Stopping{background:var(--run)}
.pipeline{display:flex;gap:16px;overflow-x:auto;padding-bottom:8px;align-items:flex-start}
.stage{background:#fff;border:1px solid var(--line);border-top:4px solid var(--idle);border-radius:4px;min-width:240px;max-width:400px;padding:12px}
.stage.s-Succeeded{border-top-color:var(--ok)}
.stage.s-Failed{border-top-color:var(--fail)}
.stage.s-InProgress{border-top-color:var(--run)}
.stage.s-Skipped,.stage.s-NotRun{border-style:dashed;opacity:.75}
.group{border-left:2px solid var(--line);padding-left:8px;margin:8px 0}
.group>.order{font-size:11px;color:var(--idle)}
.action{display:block;text-decoration:none;color:inherit;border:1px solid var(--line);border-left:6px solid var(--idle);border-radius:3px;padding:6px 8px;margin:6px 0;background:#fafafa}
.action.s-Succeeded{border-left-color:var(--ok)}
.action.s-Failed{border-left-color:var(--fail);background:#fdf3f1}
.action.s-InProgress{border-left-color:var(--run)}
.action .summary{font-size:12px;color:#545b64;word-break:break-word}
.marks{margin:6px 0;padding:0;list-style:none;font-size:12px}
.marks li{border-radius:3px;padding:2px 6px;margin:2px 0;background:#f1faff}
.marks li.s-Failed{background:#fdf3f1}
.timeline{background:#fff;border:1px solid var(--line);border-radius:4px;padding:12px;margin-top:16px}
.row{display:flex;align-items:center;height:22px}
.row .label{width:220px;flex:none;font-size:12px;overflow:hidden;text-overflow:ellipsis;white-space:nowrap}
.track{position:relative;flex:1;height:14px;background:#f7f7f7;border-radius:2px}
.bar{position:absolute;top:0;bottom:0;border-radius:2px;background:var(--idle);min-width:2px}
.bar.s-Succeeded{background:var(--ok)}
.bar.s-Failed{background:var(--fail)}
.bar.s-InProgress{background:var(--run)}
.axis{display:flex;justify-content:space-between;margin-left:220px;font-size:11px;color:var(--idle)}
article{background:#fff;border:1px solid var(--line);border-radius:4px;padding:12px;margin-top:16px}
table{border-collapse:collapse;margin:6px 0}
td,th{border-bottom:1px solid var(--line);padding:3px 10px 3px 0;text-align:left;vertical-align:top;font-size:13px}
details{margin:6px 0}
summary{cursor:pointer}
pre.log{background:#16191f;color:#d5dbdb;padding:10px;overflow-x:auto;font:12px/1.4 Menlo,Consolas,monospace;max-height:600px}
pre.log .c{color:#7fb2de}
pre.log .fail{color:#fff;background:#a31f0b;display:inline-block;width:100%}
"#;

/// Seconds as the console shows durations: `4.2s`, `3m 05s`.
fn duration(seconds: f64) -> String {
    if seconds < 60.0 {
        format!("{seconds:.1}s")
    } else {
        let whole = seconds.round() as u64;
        format!("{}m {:02}s", whole / 60, whole % 60)
    }
}

fn stamp(epoch: f64) -> String {
    let at = std::time::UNIX_EPOCH + std::time::Duration::from_secs_f64(epoch.max(0.0));
    let text = pipelocal_runner::clock::log_stamp(at);
    // To the second: the page is for people.
    format!("{} UTC", text.split('.').next().unwrap_or(&text))
}

fn head(out: &mut String, title: &str, refresh: bool) {
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width\">{}<title>{}</title><style>{STYLE}</style></head><body>",
        if refresh { "<meta http-equiv=\"refresh\" content=\"3\">" } else { "" },
        escape(title)
    );
}

/// The page of one execution. `refresh` reloads it every few seconds (a
/// running execution, served).
pub fn execution_page(e: &Execution, refresh: bool) -> String {
    let r = &e.record;
    let mut out = String::new();
    head(
        &mut out,
        &format!("{} · {}", r.pipeline_name, r.pipeline_execution_id),
        refresh,
    );
    let end = r.last_update_time.max(r.start_time);
    let _ = write!(
        out,
        "<header><h1>{}</h1><div class=\"meta s-{status}\"><span class=\"badge s-{status}\">{status}</span> <span>execution <code id=\"execution-id\">{}</code></span><span>{}</span><span>started {}</span><span>{}</span><span>{} mode</span></div>",
        escape(&r.pipeline_name),
        escape(&r.pipeline_execution_id),
        escape(&r.execution_type),
        stamp(r.start_time),
        duration(end - r.start_time),
        escape(&r.execution_mode),
        status = r.status,
    );
    if let Some(s) = &r.status_summary {
        let _ = write!(out, "<p class=\"summary\">{}</p>", escape(s));
    }
    if let Some(rb) = &r.rollback_metadata {
        let _ = write!(
            out,
            "<p class=\"mark rollback\">Rollback: with the artifacts of execution <code>{}</code></p>",
            escape(&rb.rollback_target_pipeline_execution_id)
        );
    }
    let _ = write!(
        out,
        "<p class=\"meta\">trigger {}: {}</p></header><main>",
        escape(&r.trigger.trigger_type),
        escape(&r.trigger.trigger_detail)
    );
    stages(&mut out, e);
    timeline(&mut out, e);
    out.push_str("<h2 style=\"margin-top:16px\">Actions</h2>");
    for a in &e.actions {
        action_details(&mut out, a);
    }
    out.push_str("</main></body></html>\n");
    out
}

/// The anchor of an action attempt's details.
fn anchor(a: &ActionPage) -> String {
    let safe = |s: &str| {
        s.chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
            .collect::<String>()
    };
    format!(
        "a-{}-{}-{}",
        safe(&a.run.stage_name),
        safe(&a.run.action_name),
        a.attempt
    )
}

fn stages(out: &mut String, e: &Execution) {
    let r = &e.record;
    out.push_str("<section class=\"pipeline\">");
    for (i, name) in r.stage_names.iter().enumerate() {
        let status = r
            .stages
            .iter()
            .rfind(|s| &s.stage_name == name)
            .map(|s| s.status.to_string())
            .unwrap_or_else(|| "NotRun".to_string());
        let shown = if status == "NotRun" {
            "Not run"
        } else {
            status.as_str()
        };
        let _ = write!(
            out,
            "<div class=\"stage s-{status}\" data-stage=\"{n}\"><h2>{n} <span class=\"badge s-{status}\">{shown}</span></h2>",
            n = escape(name)
        );
        marks(out, r, name);
        for (g, group) in e.groups.get(i).into_iter().flatten().enumerate() {
            let _ = write!(
                out,
                "<div class=\"group\"><div class=\"order\">run order {}</div>",
                g + 1
            );
            for action in group {
                // The latest attempt stands for the action.
                let latest = e
                    .actions
                    .iter()
                    .rfind(|a| &a.run.stage_name == name && &a.run.action_name == action);
                match latest {
                    Some(a) => {
                        let status = a.run.status.to_string();
                        let _ = write!(
                            out,
                            "<a class=\"action s-{status}\" href=\"#{}\" data-action=\"{}\"><h3>{} <span class=\"badge s-{status}\">{status}</span></h3><div class=\"meta\"><span>{}</span><span>{}</span>{}</div>",
                            anchor(a),
                            escape(action),
                            escape(action),
                            escape(&a.run.input.action_type_id.provider),
                            duration(a.run.last_update_time - a.run.start_time),
                            if a.attempt > 1 { format!("<span class=\"retried\">attempt {}</span>", a.attempt) } else { String::new() },
                        );
                        if let Some(s) = &a.run.output.execution_result.external_execution_summary {
                            let _ = write!(out, "<div class=\"summary\">{}</div>", escape(s));
                        }
                        out.push_str("</a>");
                    }
                    None => {
                        let _ = write!(
                            out,
                            "<div class=\"action s-NotRun\" data-action=\"{a}\"><h3>{a} <span class=\"badge s-NotRun\">Not run</span></h3></div>",
                            a = escape(action)
                        );
                    }
                }
            }
            out.push_str("</div>");
        }
        out.push_str("</div>");
    }
    out.push_str("</section>");
}

/// A stage's conditions and retries, marked on its column.
fn marks(out: &mut String, r: &ExecutionRecord, stage: &str) {
    let conditions = r.conditions.iter().filter(|c| c.stage_name == stage);
    let retries = r.stage_retries.iter().filter(|s| s.stage_name == stage);
    let mut items = String::new();
    for c in conditions {
        let _ = write!(
            items,
            "<li class=\"condition s-{}\">condition {} {}: {}</li>",
            escape(&c.status),
            escape(&c.hook),
            escape(&c.status),
            escape(&c.summary)
        );
    }
    for retry in retries {
        let _ = write!(
            items,
            "<li class=\"retry\">retried ({}, {}) at {}</li>",
            escape(&retry.retry_mode),
            escape(&retry.trigger),
            stamp(retry.time)
        );
    }
    if !items.is_empty() {
        let _ = write!(out, "<ul class=\"marks\">{items}</ul>");
    }
}

/// Every action attempt on one time axis, from the execution's start.
fn timeline(out: &mut String, e: &Execution) {
    let start = e.record.start_time;
    let end = e
        .actions
        .iter()
        .map(|a| a.run.last_update_time)
        .fold(e.record.last_update_time, f64::max);
    let span = (end - start).max(0.001);
    out.push_str("<section class=\"timeline\"><h2>Timeline</h2>");
    for a in &e.actions {
        let left = ((a.run.start_time - start) / span * 100.0).clamp(0.0, 100.0);
        let width =
            ((a.run.last_update_time - a.run.start_time) / span * 100.0).clamp(0.0, 100.0 - left);
        let label = format!(
            "{}/{}{}",
            a.run.stage_name,
            a.run.action_name,
            if a.attempt > 1 {
                format!(" (attempt {})", a.attempt)
            } else {
                String::new()
            }
        );
        let _ = write!(
            out,
            "<div class=\"row\"><div class=\"label\" title=\"{l}\">{l}</div><div class=\"track\"><a class=\"bar s-{}\" href=\"#{}\" style=\"left:{left:.2}%;width:{width:.2}%\" title=\"{l}: {}\"></a></div></div>",
            a.run.status,
            anchor(a),
            duration(a.run.last_update_time - a.run.start_time),
            l = escape(&label),
        );
    }
    let _ = write!(
        out,
        "<div class=\"axis\"><span>0s</span><span>{}</span><span>{}</span></div></section>",
        duration(span / 2.0),
        duration(span)
    );
}

fn action_details(out: &mut String, a: &ActionPage) {
    let run = &a.run;
    let status = run.status.to_string();
    let _ = write!(
        out,
        "<article id=\"{}\" class=\"s-{status}\"><h3>{}/{} <span class=\"badge s-{status}\">{status}</span>{}</h3><table><tr><th>provider</th><td>{} ({})</td></tr><tr><th>started</th><td>{}</td></tr><tr><th>duration</th><td>{}</td></tr>",
        anchor(a),
        escape(&run.stage_name),
        escape(&run.action_name),
        if a.attempt > 1 { format!(" <span class=\"retried\">attempt {}</span>", a.attempt) } else { String::new() },
        escape(&run.input.action_type_id.provider),
        escape(&run.input.action_type_id.category),
        stamp(run.start_time),
        duration(run.last_update_time - run.start_time),
    );
    let result = &run.output.execution_result;
    if let Some(id) = &result.external_execution_id {
        let _ = write!(
            out,
            "<tr><th>external id</th><td><code>{}</code></td></tr>",
            escape(id)
        );
    }
    if let Some(s) = &result.external_execution_summary {
        let _ = write!(
            out,
            "<tr><th>summary</th><td class=\"summary\">{}</td></tr>",
            escape(s)
        );
    }
    if let Some(err) = &result.error_details {
        let _ = write!(out, "<tr><th>error</th><td>{}</td></tr>", escape(&err.code));
    }
    out.push_str("</table>");
    if !run.output.output_variables.is_empty() {
        out.push_str("<h4>Variables</h4><table class=\"variables\">");
        for (k, v) in &run.output.output_variables {
            let _ = write!(
                out,
                "<tr><th>{}</th><td><code>{}</code></td></tr>",
                escape(k),
                escape(v)
            );
        }
        out.push_str("</table>");
    }
    artifacts(out, "Input artifacts", &a.inputs);
    artifacts(out, "Output artifacts", &a.outputs);
    if let Some(build) = &a.build {
        phase_table(out, build);
    }
    reports(out, &a.log);
    if !a.log.is_empty() {
        let lines = a.log.lines().count();
        let _ = write!(
            out,
            "<details class=\"log\"{}><summary>Log ({lines} lines)</summary><pre class=\"log\">{}</pre></details>",
            if status == "Failed" { " open" } else { "" },
            log_html(&a.log)
        );
    }
    out.push_str("</article>");
}

fn size(bytes: u64) -> String {
    match bytes {
        b if b < 1024 => format!("{b} B"),
        b if b < 1024 * 1024 => format!("{:.1} KB", b as f64 / 1024.0),
        b => format!("{:.1} MB", b as f64 / (1024.0 * 1024.0)),
    }
}

fn artifacts(out: &mut String, title: &str, list: &[Artifact]) {
    if list.is_empty() {
        return;
    }
    let _ = write!(out, "<h4>{title}</h4>");
    for artifact in list {
        let shown = artifact
            .size
            .map(size)
            .unwrap_or_else(|| "no longer in the store".into());
        let _ = write!(
            out,
            "<details class=\"artifact\"><summary>{} — {shown}, {} files</summary><table>",
            escape(&artifact.name),
            artifact.files.len()
        );
        for (name, bytes) in &artifact.files {
            let _ = write!(
                out,
                "<tr><td><code>{}</code></td><td>{}</td></tr>",
                escape(name),
                size(*bytes)
            );
        }
        out.push_str("</table></details>");
    }
}

/// A build's phases with their status, duration and context.
fn phase_table(out: &mut String, build: &BuildRecord) {
    out.push_str("<h4>Phases</h4><table class=\"phases\"><tr><th>phase</th><th>status</th><th>duration</th><th>context</th></tr>");
    for p in &build.phases {
        let status = p.phase_status.as_deref().unwrap_or("");
        let context = p
            .contexts
            .iter()
            .flatten()
            .filter(|c| !c.status_code.is_empty())
            .map(|c| format!("{}: {}", c.status_code, c.reason()))
            .collect::<Vec<_>>()
            .join("; ");
        let took = p
            .end_time
            .map(|end| duration(end - p.start_time))
            .unwrap_or_default();
        let _ = write!(
            out,
            "<tr class=\"{}\"><td>{}</td><td>{}</td><td>{took}</td><td>{}</td></tr>",
            if status.is_empty() || status == "SUCCEEDED" {
                ""
            } else {
                "failed"
            },
            escape(&p.phase_type),
            escape(status),
            escape(&context)
        );
    }
    out.push_str("</table>");
}

/// The message of a `[Container] <date> <time> <message>` line.
fn container_message(line: &str) -> Option<&str> {
    let rest = line.strip_prefix("[Container] ")?;
    let mut parts = rest.splitn(3, ' ');
    parts.next()?;
    parts.next()?;
    parts.next()
}

/// The report and coverage summaries a build logs at its end.
fn reports(out: &mut String, log: &str) {
    let lines: Vec<&str> = log
        .lines()
        .filter_map(container_message)
        .filter(|m| m.starts_with("Report ") || m.starts_with("Coverage "))
        .collect();
    if lines.is_empty() {
        return;
    }
    out.push_str("<h4>Reports</h4><ul class=\"reports\">");
    for line in lines {
        let _ = write!(out, "<li>{}</li>", escape(line));
    }
    out.push_str("</ul>");
}

const FAILED_COMMAND: &str = "Command did not exit successfully ";

/// The log with `[Container]` lines styled, and the failing command (its
/// `Running command` line and its failure) highlighted.
pub fn log_html(log: &str) -> String {
    // The commands that failed: `Command did not exit successfully <cmd> exit status <n>`.
    let failed: Vec<&str> = log
        .lines()
        .filter_map(container_message)
        .filter_map(|m| m.strip_prefix(FAILED_COMMAND))
        .filter_map(|m| m.rsplit_once(" exit status ").map(|(cmd, _)| cmd))
        .collect();
    let mut out = String::new();
    for line in log.lines() {
        let class = match container_message(line) {
            Some(m) if m.starts_with(FAILED_COMMAND) => "c fail",
            Some(m)
                if m.strip_prefix("Running command ")
                    .is_some_and(|cmd| failed.contains(&cmd)) =>
            {
                "c fail"
            }
            Some(m) if m.starts_with("Phase complete: ") && m.contains(" State: FAILED") => {
                "c fail"
            }
            Some(_) => "c",
            None => "",
        };
        if class.is_empty() {
            let _ = writeln!(out, "{}", escape(line));
        } else {
            let _ = writeln!(out, "<span class=\"{class}\">{}</span>", escape(line));
        }
    }
    out
}

/// The page of one `pipelocal build --record` file: that build alone.
pub fn build_page(build: &BuildRecord) -> String {
    let mut out = String::new();
    head(
        &mut out,
        &format!("{} · {}", build.project_name, build.id),
        false,
    );
    let end = build.end_time.unwrap_or(build.start_time);
    let _ = write!(
        out,
        "<header><h1>{}</h1><div class=\"meta s-{s}\"><span class=\"badge s-{s}\">{s}</span> <span>build <code id=\"build-id\">{}</code></span><span>started {}</span><span>{}</span><span>image {}</span></div>",
        escape(&build.project_name),
        escape(&build.id),
        stamp(build.start_time),
        duration(end - build.start_time),
        escape(&build.environment.image),
        s = build_status(&build.build_status),
    );
    if let Some(line) = build.failure_line() {
        let _ = write!(out, "<p class=\"summary\">{}</p>", escape(&line));
    }
    out.push_str("</header><main><article>");
    phase_table(&mut out, build);
    if !build.exported_environment_variables.is_empty() {
        out.push_str("<h4>Exported variables</h4><table class=\"variables\">");
        for v in &build.exported_environment_variables {
            let _ = write!(
                out,
                "<tr><th>{}</th><td><code>{}</code></td></tr>",
                escape(&v.name),
                escape(&v.value)
            );
        }
        out.push_str("</table>");
    }
    let artifacts: Vec<&str> = build
        .artifacts
        .iter()
        .chain(&build.secondary_artifacts)
        .map(|a| a.location.as_str())
        .filter(|l| !l.is_empty())
        .collect();
    if !artifacts.is_empty() {
        out.push_str("<h4>Artifacts</h4><ul>");
        for a in artifacts {
            let _ = write!(out, "<li><code>{}</code></li>", escape(a));
        }
        out.push_str("</ul>");
    }
    out.push_str("</article></main></body></html>\n");
    out
}

/// CodeBuild's `SUCCEEDED` / `FAILED` / ... as the console's status classes.
fn build_status(status: &str) -> &'static str {
    match status {
        "SUCCEEDED" => "Succeeded",
        "IN_PROGRESS" => "InProgress",
        "STOPPED" => "Stopped",
        _ => "Failed",
    }
}

/// The list of every execution the history holds, newest first, linking each.
pub fn list_page(records: &[ExecutionRecord]) -> String {
    let mut out = String::new();
    let running = records.iter().any(|r| r.status.to_string() == "InProgress");
    head(&mut out, "pipelocal executions", running);
    out.push_str("<header><h1>Executions</h1></header><main><article><table class=\"executions\"><tr><th>pipeline</th><th>execution</th><th>status</th><th>started</th><th>summary</th></tr>");
    for r in records {
        let _ = write!(
            out,
            "<tr class=\"s-{s}\"><td>{}</td><td><a href=\"/execution/{id}\">{id}</a></td><td><span class=\"badge s-{s}\">{s}</span></td><td>{}</td><td>{}</td></tr>",
            escape(&r.pipeline_name),
            stamp(r.start_time),
            escape(r.status_summary.as_deref().unwrap_or("")),
            id = escape(&r.pipeline_execution_id),
            s = r.status,
        );
    }
    out.push_str("</table></article></main></body></html>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_failing_command_is_highlighted_and_html_escaped() {
        let log = "[Container] 2024/06/05 02:04:07.161900 Running command echo <ok>\n<ok>\n[Container] 2024/06/05 02:04:07.2 Running command sh check.sh\n[Container] 2024/06/05 02:04:07.3 Command did not exit successfully sh check.sh exit status 4\n";
        let html = log_html(log);
        assert!(html.contains("<span class=\"c\">[Container] 2024/06/05 02:04:07.161900 Running command echo &lt;ok&gt;</span>"), "{html}");
        assert!(html.contains("\n&lt;ok&gt;\n"), "{html}");
        assert!(html.contains("<span class=\"c fail\">[Container] 2024/06/05 02:04:07.2 Running command sh check.sh</span>"), "{html}");
        assert!(
            html.contains(
                "<span class=\"c fail\">[Container] 2024/06/05 02:04:07.3 Command did not exit"
            ),
            "{html}"
        );
    }

    #[test]
    fn report_and_coverage_summaries_come_from_the_log() {
        let log = "[Container] 2024/06/05 02:04:07.1 Running command make test\nReport unit: not a container line\n[Container] 2024/06/05 02:04:09.0 Report unit: 3 passed, 1 failed, 0 errors, 0 skipped of 4 (FAILED)\n[Container] 2024/06/05 02:04:09.1 Coverage cov: lines 80.00% (8/10), branches 50.00% (1/2)\n";
        let mut out = String::new();
        reports(&mut out, log);
        assert_eq!(
            out,
            "<h4>Reports</h4><ul class=\"reports\"><li>Report unit: 3 passed, 1 failed, 0 errors, 0 skipped of 4 (FAILED)</li><li>Coverage cov: lines 80.00% (8/10), branches 50.00% (1/2)</li></ul>"
        );
    }

    #[test]
    fn durations_read_as_the_console_shows_them() {
        assert_eq!(duration(4.24), "4.2s");
        assert_eq!(duration(185.0), "3m 05s");
    }
}
