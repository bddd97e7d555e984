//! Turns a build's `reports:` groups into report records: files chosen as
//! for artifacts, parsed by format, limited as CodeBuild limits them, masked,
//! and written to `-r DIR/<group>.json`.

use std::collections::BTreeMap;
use std::path::Path;

use pipelocal_model::buildspec::{Buildspec, ReportGroup};
use serde::Serialize;

use super::formats::{parse, CaseStatus, Coverage, Parsed, TestCase};
use crate::environment::{DEFAULT_REGION, LOCAL_ACCOUNT};
use crate::events::EventSink;
use crate::executor::Executor;
use crate::shell::StateFiles;
use crate::upload::{collect_files, FileQuery};

/// CodeBuild's limits (CodeBuild User Guide, "Test reports" quotas).
const MAX_CASES: usize = 500;
const MAX_NAME: usize = 1000;
const MAX_MESSAGE: usize = 5000;

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TestSummary {
    pub total: usize,
    pub status_counts: BTreeMap<String, usize>,
    pub duration_in_nano_seconds: u64,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CoverageSummary {
    pub line_coverage_percentage: f64,
    pub lines_covered: u64,
    pub lines_missed: u64,
    pub branch_coverage_percentage: f64,
    pub branches_covered: u64,
    pub branches_missed: u64,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TestCaseRecord {
    pub test_raw_data_path: String,
    pub prefix: String,
    pub name: String,
    pub status: String,
    pub duration_in_nano_seconds: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// A report, shaped like `batch-get-reports` with its `describe-test-cases`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ReportRecord {
    pub arn: String,
    #[serde(rename = "type")]
    pub report_type: String,
    pub name: String,
    pub report_group_arn: String,
    pub execution_id: String,
    pub status: String,
    pub file_format: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub test_summary: Option<TestSummary>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code_coverage_summary: Option<CoverageSummary>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status_message: Option<String>,
    pub test_cases: Vec<TestCaseRecord>,
}

fn cut(text: &str, max: usize) -> String {
    text.chars().take(max).collect()
}

fn percent(covered: u64, missed: u64) -> f64 {
    let total = covered + missed;
    if total == 0 {
        0.0
    } else {
        (covered as f64 * 10000.0 / total as f64).round() / 100.0
    }
}

/// Every report group of the buildspec, for the build `build_arn` of `project`.
pub(crate) async fn generate_reports(
    executor: &Executor,
    spec: &Buildspec,
    state: &StateFiles,
    project: &str,
    build_arn: &str,
    out_dir: Option<&Path>,
    events: &EventSink,
) -> Vec<ReportRecord> {
    let mut out = Vec::new();
    for group in &spec.reports {
        let record = one_group(executor, spec, state, project, build_arn, group, events).await;
        summarise(&record, events);
        if let Some(dir) = out_dir {
            let written = std::fs::create_dir_all(dir).and_then(|_| {
                std::fs::write(
                    dir.join(format!("{}.json", record.name)),
                    serde_json::to_string_pretty(&record).unwrap_or_default() + "\n",
                )
            });
            if let Err(e) = written {
                events.info(format!("Cannot write report {}: {e}", record.name));
            }
        }
        out.push(record);
    }
    out
}

async fn one_group(
    executor: &Executor,
    spec: &Buildspec,
    state: &StateFiles,
    project: &str,
    build_arn: &str,
    group: &ReportGroup,
    events: &EventSink,
) -> ReportRecord {
    let (group_arn, name) = match group.name.split_once(":report-group/") {
        Some((_, n)) => (group.name.clone(), n.to_string()),
        None => {
            let n = format!("{project}-{}", group.name);
            (
                format!("arn:aws:codebuild:{DEFAULT_REGION}:{LOCAL_ACCOUNT}:report-group/{n}"),
                n,
            )
        }
    };
    let coverage = group.file_format.is_coverage();
    let mut record = ReportRecord {
        arn: format!(
            "arn:aws:codebuild:{DEFAULT_REGION}:{LOCAL_ACCOUNT}:report/{name}:{}",
            uuid::Uuid::new_v4()
        ),
        report_type: if coverage { "CODE_COVERAGE" } else { "TEST" }.into(),
        name,
        report_group_arn: group_arn,
        execution_id: build_arn.to_string(),
        status: "INCOMPLETE".into(),
        file_format: group.file_format.name().into(),
        test_summary: None,
        code_coverage_summary: None,
        status_message: None,
        test_cases: Vec::new(),
    };
    let query = FileQuery {
        base_directory: group.base_directory.as_deref(),
        files: &group.files,
        exclude: &[],
        discard_paths: false,
    };
    let (_trees, files) = match collect_files(executor, spec, state, &query, events).await {
        Ok(found) => found,
        Err(e) => {
            record.status_message = Some(e);
            return record;
        }
    };
    if files.is_empty() {
        record.status_message = Some("no report files found".into());
        return record;
    }
    let mut cases: Vec<(String, TestCase)> = Vec::new();
    let mut total_coverage = Coverage::default();
    for (root, file) in &files {
        let path = root.join(&file.name);
        let parsed = std::fs::read_to_string(&path)
            .map_err(|e| e.to_string())
            .and_then(|t| parse(group.file_format, &t));
        match parsed {
            Ok(Parsed::Tests(found)) => {
                cases.extend(found.into_iter().map(|c| (file.name.clone(), c)))
            }
            Ok(Parsed::Coverage(c)) => total_coverage.add(c),
            Err(e) => {
                record.status_message = Some(format!("{}: {e}", file.name));
                return record;
            }
        }
    }
    let masker = events.masker();
    if coverage {
        record.code_coverage_summary = Some(CoverageSummary {
            line_coverage_percentage: percent(
                total_coverage.lines_covered,
                total_coverage.lines_missed,
            ),
            lines_covered: total_coverage.lines_covered,
            lines_missed: total_coverage.lines_missed,
            branch_coverage_percentage: percent(
                total_coverage.branches_covered,
                total_coverage.branches_missed,
            ),
            branches_covered: total_coverage.branches_covered,
            branches_missed: total_coverage.branches_missed,
        });
        record.status = "SUCCEEDED".into();
        return record;
    }
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for (_, c) in &cases {
        *counts.entry(c.status.as_str().to_string()).or_default() += 1;
    }
    let failed = cases.iter().any(|(_, c)| c.status.is_failure());
    record.test_summary = Some(TestSummary {
        total: cases.len(),
        status_counts: counts,
        duration_in_nano_seconds: cases.iter().map(|(_, c)| c.duration_ns).sum(),
    });
    // Past the limit, failures are kept first.
    cases.sort_by_key(|(_, c)| !c.status.is_failure());
    record.test_cases = cases
        .into_iter()
        .take(MAX_CASES)
        .map(|(file, c)| TestCaseRecord {
            test_raw_data_path: file,
            prefix: masker.mask(&c.prefix),
            name: masker.mask(&cut(&c.name, MAX_NAME)),
            status: c.status.as_str().into(),
            duration_in_nano_seconds: c.duration_ns,
            message: c.message.map(|m| masker.mask(&cut(&m, MAX_MESSAGE))),
        })
        .collect();
    record.status = if failed { "FAILED" } else { "SUCCEEDED" }.into();
    record
}

/// A line per report at the end of the log.
fn summarise(r: &ReportRecord, events: &EventSink) {
    if let Some(t) = &r.test_summary {
        let n = |s: CaseStatus| t.status_counts.get(s.as_str()).copied().unwrap_or(0);
        events.info(format!(
            "Report {}: {} passed, {} failed, {} errors, {} skipped of {} ({})",
            r.name,
            n(CaseStatus::Succeeded),
            n(CaseStatus::Failed),
            n(CaseStatus::Error),
            n(CaseStatus::Skipped),
            t.total,
            r.status
        ));
    } else if let Some(c) = &r.code_coverage_summary {
        events.info(format!(
            "Coverage {}: lines {:.2}% ({}/{}), branches {:.2}% ({}/{})",
            r.name,
            c.line_coverage_percentage,
            c.lines_covered,
            c.lines_covered + c.lines_missed,
            c.branch_coverage_percentage,
            c.branches_covered,
            c.branches_covered + c.branches_missed
        ));
    } else {
        events.info(format!(
            "Report {}: {} ({})",
            r.name,
            r.status,
            r.status_message.as_deref().unwrap_or_default()
        ));
    }
}
