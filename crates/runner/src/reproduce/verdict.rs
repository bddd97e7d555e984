//! The cloud build and its local reproduction side by side: each phase's
//! status and context on both sides, and one verdict line saying whether
//! the cloud result was reproduced or where the two first part.

use pipelocal_model::cloud::batch_get_builds::{CloudBuild, CloudPhaseContext};
use serde::{Deserialize, Serialize};

use crate::phases::PhaseType;
use crate::record::{command_error_message_parts, BuildRecord};

use super::log_diff::LogDifference;

/// A phase's outcome on one side.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PhaseOutcome {
    pub phase_status: String,
    /// The context of a phase that did not succeed: `COMMAND_EXECUTION_ERROR,
    /// sh check.sh, exit status 1`; empty for one that did.
    pub context: String,
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
            let status = p.phase_status.clone()?;
            let context = p
                .contexts
                .iter()
                .find(|c| !c.status_code.is_empty())
                .map(describe)
                .unwrap_or_default();
            Some((
                p.phase_type.clone(),
                PhaseOutcome {
                    phase_status: status,
                    context,
                },
            ))
        })
        .collect();
    let local_phases: Vec<(String, PhaseOutcome)> = local
        .phases
        .iter()
        .filter_map(|p| {
            let status = p.phase_status.clone()?;
            let context = p
                .contexts
                .iter()
                .flatten()
                .find(|c| !c.status_code.is_empty())
                .map(|c| {
                    describe(&CloudPhaseContext {
                        status_code: c.status_code.clone(),
                        message: c.message.clone(),
                    })
                })
                .unwrap_or_default();
            Some((
                p.phase_type.clone(),
                PhaseOutcome {
                    phase_status: status,
                    context,
                },
            ))
        })
        .collect();
    let rows = rows(&cloud_phases, &local_phases);
    let (reproduced, verdict) = verdict(cloud, local, &rows);
    Comparison {
        cloud_build_id: cloud.id.clone(),
        cloud_build_number: cloud.build_number,
        reproduced,
        verdict,
        phases: rows,
        log_difference: None,
    }
}

/// Every phase of either side, in CodeBuild's order.
fn rows(cloud: &[(String, PhaseOutcome)], local: &[(String, PhaseOutcome)]) -> Vec<PhaseRow> {
    let mut names: Vec<&str> = Vec::new();
    for (name, _) in cloud.iter().chain(local) {
        if !names.contains(&name.as_str()) {
            names.push(name);
        }
    }
    // Known phases in their order; a phase this version does not know keeps its place at the end.
    names.sort_by_key(|n| order(n));
    names
        .into_iter()
        .map(|name| PhaseRow {
            phase_type: name.to_string(),
            cloud: find(cloud, name),
            local: find(local, name),
        })
        .collect()
}

fn find(list: &[(String, PhaseOutcome)], name: &str) -> Option<PhaseOutcome> {
    list.iter().find(|(n, _)| n == name).map(|(_, o)| o.clone())
}

fn order(name: &str) -> usize {
    PhaseType::ALL
        .iter()
        .position(|p| p.as_str() == name)
        .unwrap_or(usize::MAX)
}

/// A context as `CODE, command, exit status N` or `CODE, message`.
fn describe(context: &CloudPhaseContext) -> String {
    match command_error_message_parts(&context.message) {
        Some((command, why)) => format!("{}, {command}, {why}", context.status_code),
        None => {
            let first = context.message.lines().next().unwrap_or("").trim();
            if first.is_empty() {
                context.status_code.clone()
            } else {
                format!("{}, {first}", context.status_code)
            }
        }
    }
}

/// Whether two outcomes are the same result: the same status, and for a
/// phase that did not succeed, the same status code and, for a failed
/// command, the same command and exit status. Other messages are not
/// compared: they carry paths and ids that differ between any two builds.
fn same(cloud: &PhaseOutcome, local: &PhaseOutcome) -> bool {
    if cloud.phase_status != local.phase_status {
        return false;
    }
    let code = |c: &str| c.split(", ").next().unwrap_or("").to_string();
    let is_command = cloud.context.starts_with("COMMAND_EXECUTION_ERROR");
    if is_command {
        cloud.context == local.context
    } else {
        code(&cloud.context) == code(&local.context)
    }
}

fn outcome_text(o: &PhaseOutcome) -> String {
    if o.context.is_empty() {
        o.phase_status.clone()
    } else {
        format!("{} ({})", o.phase_status, o.context)
    }
}

fn verdict(cloud: &CloudBuild, local: &BuildRecord, rows: &[PhaseRow]) -> (bool, String) {
    let cloud_status = cloud.build_status.as_deref().unwrap_or("IN_PROGRESS");
    if cloud_status == "IN_PROGRESS" {
        return (
            false,
            "not reproduced: the cloud build is IN_PROGRESS: its record has no result to compare yet"
                .into(),
        );
    }
    for row in rows {
        match (&row.cloud, &row.local) {
            (Some(c), Some(l)) if same(c, l) => continue,
            (Some(c), Some(l)) => {
                return (
                    false,
                    format!(
                        "not reproduced: {} {} in the cloud, {} here",
                        row.phase_type,
                        outcome_text(c),
                        outcome_text(l)
                    ),
                )
            }
            (Some(c), None) => {
                return (
                    false,
                    format!(
                        "not reproduced: {} {} in the cloud, did not run here",
                        row.phase_type,
                        outcome_text(c)
                    ),
                )
            }
            (None, Some(l)) => {
                return (
                    false,
                    format!(
                        "not reproduced: {} {} here, did not run in the cloud",
                        row.phase_type,
                        outcome_text(l)
                    ),
                )
            }
            (None, None) => {}
        }
    }
    if cloud_status != local.build_status {
        return (
            false,
            format!(
                "not reproduced: the cloud build {cloud_status}, this one {}",
                local.build_status
            ),
        );
    }
    let first_failed = rows.iter().find(|r| {
        r.cloud
            .as_ref()
            .is_some_and(|c| c.phase_status != "SUCCEEDED")
    });
    let line = match first_failed.and_then(|r| Some((r, r.cloud.as_ref()?))) {
        Some((row, c)) if c.context.is_empty() => format!(
            "reproduced: {cloud_status} in {} like the cloud build",
            row.phase_type
        ),
        Some((row, c)) => format!(
            "reproduced: {cloud_status} in {} like the cloud build ({})",
            row.phase_type, c.context
        ),
        None => format!("reproduced: {cloud_status} like the cloud build"),
    };
    (true, line)
}
