//! The build record, shaped like one element of `aws codebuild
//! batch-get-builds`' `builds` list (codebuild.md §3.4).

use serde::Serialize;

#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct PhaseContextRecord {
    pub status_code: String,
    pub message: String,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
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

#[derive(Debug, Clone, Serialize, PartialEq)]
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

#[derive(Debug, Clone, Serialize, PartialEq)]
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

#[derive(Debug, Clone, Serialize, PartialEq)]
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

#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct LogsRecord {
    pub group_name: String,
    pub stream_name: String,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ExportedVariableRecord {
    pub name: String,
    pub value: String,
}

/// An artifact of the build: where it was written and its hashes.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ArtifactRecord {
    pub location: String,
    pub sha256sum: String,
    pub md5sum: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub artifact_identifier: Option<String>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
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
}

#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct DebugSessionRecord {
    pub session_enabled: bool,
    pub session_target: String,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ResumedFromRecord {
    pub build_id: String,
    pub phase: String,
}
