//! The cloud build and its local reproduction side by side: each phase's
//! status and context on both sides, and one verdict line saying whether
//! the cloud result was reproduced or where the two first part.

use pipelocal_model::cloud::batch_get_builds::CloudBuild;
use serde::{Deserialize, Serialize};

use crate::phases::PhaseType;
use crate::record::{command_error_message_parts, BuildRecord};

use super::log_diff::LogDifference;

const COMMAND_EXECUTION_ERROR: &str = "COMMAND_EXECUTION_ERROR";

/// A phase's outcome on one side.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PhaseOutcome {
    pub phase_status: String,
    /// The context's status code; empty (and left out) for a phase that succeeded.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub status_code: String,
    /// What the context says in short: `sh check.sh, exit status 1` for a
    /// failed command, else its message's first line.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub detail: String,
}

impl PhaseOutcome {
    /// A phase from its status and its contexts' `(statusCode, message)`.
    fn of<'a>(status: &str, mut contexts: impl Iterator<Item = (&'a str, &'a str)>) -> Self {
        let (status_code, message) = contexts
            .find(|(code, _)| !code.is_empty())
            .unwrap_or_default();
        let detail = match command_error_message_parts(message) {
            Some((command, why)) => format!("{command}, {why}"),
            None => message.lines().next().unwrap_or("").trim().to_string(),
        };
        PhaseOutcome {
            phase_status: status.to_string(),
            status_code: status_code.to_string(),
            detail,
        }
    }

    /// The context in one line: `COMMAND_EXECUTION_ERROR, sh check.sh, exit
    /// status 1`; empty when the phase has none.
    pub fn context(&self) -> String {
        match (self.status_code.is_empty(), self.detail.is_empty()) {
            (true, _) => String::new(),
            (false, true) => self.status_code.clone(),
            (false, false) => format!("{}, {}", self.status_code, self.detail),
        }
    }

    /// The status, with the context in brackets when there is one.
    pub fn text(&self) -> String {
        match self.context() {
            c if c.is_empty() => self.phase_status.clone(),
            c => format!("{} ({c})", self.phase_status),
        }
    }

    /// Whether two outcomes are the same result: the same status and status
    /// code and, for a failed command, the same command and exit status.
    /// Other messages are not compared: they carry paths and ids that differ
    /// between any two builds.
    fn same_as(&self, other: &PhaseOutcome) -> bool {
        self.phase_status == other.phase_status
            && self.status_code == other.status_code
            && (self.status_code != COMMAND_EXECUTION_ERROR || self.detail == other.detail)
    }
}

/// One phase of either build.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PhaseRow {
    pub phase_type: String,
    /// `None`: the phase is not in that build's record (it never ran).
    pub cloud: Option<PhaseOutcome>,
    pub local: Option<PhaseOutcome>,
}

/// The comparison `--record` carries as `pipelocalReproduction`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Comparison {
    pub cloud_build_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cloud_build_number: Option<i64>,
    pub reproduced: bool,
    /// `reproduced: ...` or `not reproduced: ...`.
    pub verdict: String,
    pub phases: Vec<PhaseRow>,
    /// With `--cloud-log`: the first command whose exit status or output differs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub log_difference: Option<LogDifference>,
}

/// Compares a cloud build's record with the local build's.
pub fn compare(cloud: &CloudBuild, local: &BuildRecord) -> Comparison {
    let cloud_phases: Vec<(String, PhaseOutcome)> = cloud
        .phases
        .iter()
        .filter_map(|p| {
            let contexts = p
                .contexts
                .iter()
                .map(|c| (c.status_code.as_str(), c.message.as_str()));
            Some((
                p.phase_type.clone(),
                PhaseOutcome::of(p.phase_status.as_deref()?, contexts),
            ))
        })
        .collect();
    let local_phases: Vec<(String, PhaseOutcome)> = local
        .phases
        .iter()
        .filter_map(|p| {
            let contexts = p
                .contexts
                .iter()
                .flatten()
                .map(|c| (c.status_code.as_str(), c.message.as_str()));
            Some((
                p.phase_type.clone(),
                PhaseOutcome::of(p.phase_status.as_deref()?, contexts),
            ))
        })
        .collect();
    let phases = side_by_side(&cloud_phases, &local_phases);
    let cloud_status = cloud.build_status.as_deref().unwrap_or("IN_PROGRESS");
    let (reproduced, verdict) = verdict(cloud_status, &local.build_status, &phases);
    Comparison {
        cloud_build_id: cloud.id.clone(),
        cloud_build_number: cloud.build_number,
        reproduced,
        verdict,
        phases,
        log_difference: None,
    }
}

/// Every phase of either side, in CodeBuild's order.
fn side_by_side(
    cloud: &[(String, PhaseOutcome)],
    local: &[(String, PhaseOutcome)],
) -> Vec<PhaseRow> {
    let mut names: Vec<&str> = Vec::new();
    for (name, _) in cloud.iter().chain(local) {
        if !names.contains(&name.as_str()) {
            names.push(name);
        }
    }
    // A phase type this version does not know goes last (the sort is stable).
    names.sort_by_key(|n| {
        PhaseType::ALL
            .iter()
            .position(|p| p.as_str() == *n)
            .unwrap_or(usize::MAX)
    });
    let find = |list: &[(String, PhaseOutcome)], name: &str| {
        list.iter().find(|(n, _)| n == name).map(|(_, o)| o.clone())
    };
    names
        .into_iter()
        .map(|name| PhaseRow {
            phase_type: name.to_string(),
            cloud: find(cloud, name),
            local: find(local, name),
        })
        .collect()
}

/// Whether the cloud result was reproduced, and the verdict line.
fn verdict(cloud_status: &str, local_status: &str, rows: &[PhaseRow]) -> (bool, String) {
    if cloud_status == "IN_PROGRESS" {
        return (
            false,
            "not reproduced: the cloud build is IN_PROGRESS: its record has no result to compare yet"
                .into(),
        );
    }
    for row in rows {
        let phase = &row.phase_type;
        let difference = match (&row.cloud, &row.local) {
            (Some(c), Some(l)) if c.same_as(l) => continue,
            (Some(c), Some(l)) => format!("{phase} {} in the cloud, {} here", c.text(), l.text()),
            (Some(c), None) => format!("{phase} {} in the cloud, did not run here", c.text()),
            (None, Some(l)) => format!("{phase} {} here, did not run in the cloud", l.text()),
            (None, None) => continue,
        };
        return (false, format!("not reproduced: {difference}"));
    }
    if cloud_status != local_status {
        return (
            false,
            format!("not reproduced: the cloud build {cloud_status}, this one {local_status}"),
        );
    }
    let failed = rows.iter().find_map(|r| {
        let c = r.cloud.as_ref()?;
        (c.phase_status != "SUCCEEDED").then_some((r, c))
    });
    let line = match failed {
        Some((row, c)) if c.context().is_empty() => format!(
            "reproduced: {cloud_status} in {} like the cloud build",
            row.phase_type
        ),
        Some((row, c)) => format!(
            "reproduced: {cloud_status} in {} like the cloud build ({})",
            row.phase_type,
            c.context()
        ),
        None => format!("reproduced: {cloud_status} like the cloud build"),
    };
    (true, line)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outcome(status: &str, code: &str, message: &str) -> PhaseOutcome {
        PhaseOutcome::of(status, [(code, message)].into_iter())
    }

    fn row(phase: &str, cloud: Option<PhaseOutcome>, local: Option<PhaseOutcome>) -> PhaseRow {
        PhaseRow {
            phase_type: phase.into(),
            cloud,
            local,
        }
    }

    #[test]
    fn a_failed_command_is_the_same_failure_only_with_the_same_command_and_exit_status() {
        let failed = |n: i64| {
            outcome(
                "FAILED",
                COMMAND_EXECUTION_ERROR,
                &crate::record::command_error_message("sh check.sh", n),
            )
        };
        let same = [row("BUILD", Some(failed(1)), Some(failed(1)))];
        assert_eq!(
            verdict("FAILED", "FAILED", &same),
            (
                true,
                "reproduced: FAILED in BUILD like the cloud build (COMMAND_EXECUTION_ERROR, sh check.sh, exit status 1)".into()
            )
        );
        let other = [row("BUILD", Some(failed(1)), Some(failed(2)))];
        assert_eq!(
            verdict("FAILED", "FAILED", &other).1,
            "not reproduced: BUILD FAILED (COMMAND_EXECUTION_ERROR, sh check.sh, exit status 1) in the cloud, FAILED (COMMAND_EXECUTION_ERROR, sh check.sh, exit status 2) here"
        );
    }

    #[test]
    fn other_contexts_compare_by_status_code_and_a_missing_phase_is_a_difference() {
        let cloud = outcome(
            "FAILED",
            "YAML_FILE_ERROR",
            "stat /codebuild/output/src1/src/x.yml: no such file",
        );
        let local = outcome(
            "FAILED",
            "YAML_FILE_ERROR",
            "stat /tmp/p/src/x.yml: no such file",
        );
        let rows = [row("DOWNLOAD_SOURCE", Some(cloud), Some(local))];
        assert!(verdict("FAILED", "FAILED", &rows).0);
        let ok = outcome("SUCCEEDED", "", "");
        let rows = [row("POST_BUILD", Some(ok.clone()), None)];
        assert_eq!(
            verdict("FAILED", "FAILED", &rows).1,
            "not reproduced: POST_BUILD SUCCEEDED in the cloud, did not run here"
        );
        let rows = [row("BUILD", Some(ok.clone()), Some(ok))];
        assert_eq!(
            verdict("FAILED", "SUCCEEDED", &rows).1,
            "not reproduced: the cloud build FAILED, this one SUCCEEDED"
        );
        assert!(!verdict("IN_PROGRESS", "SUCCEEDED", &[]).0);
    }

    #[test]
    fn phases_line_up_in_codebuilds_order() {
        let ok = || Some(outcome("SUCCEEDED", "", ""));
        let cloud = vec![
            ("BUILD".to_string(), outcome("SUCCEEDED", "", "")),
            ("INSTALL".to_string(), outcome("SUCCEEDED", "", "")),
        ];
        let local = vec![
            ("INSTALL".to_string(), outcome("SUCCEEDED", "", "")),
            ("POST_BUILD".to_string(), outcome("SUCCEEDED", "", "")),
        ];
        let rows = side_by_side(&cloud, &local);
        let names: Vec<&str> = rows.iter().map(|r| r.phase_type.as_str()).collect();
        assert_eq!(names, vec!["INSTALL", "BUILD", "POST_BUILD"]);
        assert_eq!(rows[1].local, None);
        assert_eq!(rows[2].cloud, None);
        assert_eq!(rows[0].cloud, ok());
    }
}
