//! The build record, shaped like one element of `aws codebuild
//! batch-get-builds`' `builds` list (CodeBuild API Reference, `Build`).

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct PhaseContextRecord {
    pub status_code: String,
    pub message: String,
}

/// What a failed command's phase context says, in CodeBuild's words:
/// `Error while executing command: <command>. Reason: exit status <n>`.
pub fn command_error_message(command: &str, exit: i64) -> String {
    format!("{COMMAND_ERROR}{command}{COMMAND_REASON}exit status {exit}")
}

/// The command and the reason (`exit status 1`) of a failed command's
/// context message; `None` for any other message.
pub fn command_error_message_parts(message: &str) -> Option<(&str, &str)> {
    message
        .strip_prefix(COMMAND_ERROR)
        .and_then(|rest| rest.rsplit_once(COMMAND_REASON))
}

const COMMAND_ERROR: &str = "Error while executing command: ";
const COMMAND_REASON: &str = ". Reason: ";

impl PhaseContextRecord {
    /// The context in one line for a person: a failed command as
    /// `<command>: exit status <n>`, anything else its message's first line.
    pub fn reason(&self) -> String {
        match command_error_message_parts(&self.message) {
            Some((command, why)) => format!("{command}: {why}"),
            None => self.message.lines().next().unwrap_or("").trim().to_string(),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct PhaseRecord {
    pub phase_type: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phase_status: Option<String>,
    pub start_time: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end_time: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duration_in_seconds: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub contexts: Option<Vec<PhaseContextRecord>>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct SourceRecord {
    #[serde(rename = "type")]
    pub source_type: String,
    pub location: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub buildspec: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_identifier: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct EnvironmentVariableRecord {
    pub name: String,
    pub value: String,
    #[serde(rename = "type")]
    pub var_type: String,
}

impl EnvironmentVariableRecord {
    /// A variable as the record shows it: a secret's reference, never its value.
    pub fn of(v: &pipelocal_model::project::EnvironmentVariable) -> Self {
        EnvironmentVariableRecord {
            name: v.name.clone(),
            value: v.value.clone(),
            var_type: v.var_type.as_str().into(),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct EnvironmentRecord {
    #[serde(rename = "type")]
    pub env_type: String,
    pub image: String,
    pub compute_type: String,
    pub environment_variables: Vec<EnvironmentVariableRecord>,
    pub privileged_mode: bool,
    pub image_pull_credentials_type: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct LogsRecord {
    pub group_name: String,
    pub stream_name: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ExportedVariableRecord {
    pub name: String,
    pub value: String,
}

/// An artifact of the build: where it was written and its hashes.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ArtifactRecord {
    pub location: String,
    pub sha256sum: String,
    pub md5sum: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub artifact_identifier: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct BuildRecord {
    pub id: String,
    pub arn: String,
    pub build_number: u64,
    pub start_time: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end_time: Option<f64>,
    pub current_phase: String,
    pub build_status: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_version: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resolved_source_version: Option<String>,
    pub project_name: String,
    pub phases: Vec<PhaseRecord>,
    pub source: SourceRecord,
    pub secondary_sources: Vec<SourceRecord>,
    pub environment: EnvironmentRecord,
    pub logs: LogsRecord,
    pub timeout_in_minutes: u64,
    pub queued_timeout_in_minutes: u64,
    pub build_complete: bool,
    pub initiator: String,
    pub exported_environment_variables: Vec<ExportedVariableRecord>,
    /// Parameter Store / Secrets Manager values that reach
    /// `exported_environment_variables`: whoever shows them later masks them.
    #[serde(skip)]
    pub exported_secrets: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub artifacts: Option<ArtifactRecord>,
    pub secondary_artifacts: Vec<ArtifactRecord>,
    pub report_arns: Vec<String>,
    /// `--debug-session`: AWS's `debugSession`, whose target here is the shell command.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub debug_session: Option<DebugSessionRecord>,
    /// pipelocal's own: the kept build this one went on from (`--resume`).
    #[serde(
        rename = "pipelocalResumedFrom",
        skip_serializing_if = "Option::is_none"
    )]
    pub resumed_from: Option<ResumedFromRecord>,
    pub encryption_key: String,
    /// pipelocal's own: the cloud build this one reproduces (`--from-build`)
    /// and how the two compare.
    #[serde(
        rename = "pipelocalReproduction",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub reproduction: Option<crate::reproduce::verdict::Comparison>,
}

impl BuildRecord {
    /// The first phase that did not succeed, and its context with a status
    /// code, if any.
    pub fn failed_phase(&self) -> Option<(&PhaseRecord, Option<&PhaseContextRecord>)> {
        let phase = self
            .phases
            .iter()
            .find(|p| p.phase_status.as_deref().is_some_and(|s| s != "SUCCEEDED"))?;
        let context = phase
            .contexts
            .iter()
            .flatten()
            .find(|c| !c.status_code.is_empty());
        Some((phase, context))
    }

    /// Where and why the build failed, in one line:
    /// `BUILD: COMMAND_EXECUTION_ERROR: sh check.sh: exit status 4`; `None`
    /// when no phase failed.
    pub fn failure_line(&self) -> Option<String> {
        let (phase, context) = self.failed_phase()?;
        Some(match context {
            Some(c) => format!("{}: {}: {}", phase.phase_type, c.status_code, c.reason()),
            None => format!("{}: {}", phase.phase_type, self.build_status),
        })
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct DebugSessionRecord {
    pub session_enabled: bool,
    pub session_target: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ResumedFromRecord {
    pub build_id: String,
    pub phase: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_command_reads_as_command_and_exit_status() {
        let context = PhaseContextRecord {
            status_code: "COMMAND_EXECUTION_ERROR".into(),
            message: command_error_message("sh check.sh", 4),
        };
        assert_eq!(context.reason(), "sh check.sh: exit status 4");
        let other = PhaseContextRecord {
            status_code: "BUILD_TIMED_OUT".into(),
            message: "Build has timed out. ".into(),
        };
        assert_eq!(other.reason(), "Build has timed out.");
    }
}
