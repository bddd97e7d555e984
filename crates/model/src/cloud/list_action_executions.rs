//! `aws codepipeline list-action-executions` output (CodePipeline API
//! Reference, "ListActionExecutions", "ActionExecutionDetail",
//! "ActionExecutionInput", "ActionExecutionOutput", "ActionExecutionResult"):
//! how each action of the cloud's executions ended.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;

use super::Timestamp;
use crate::document::Document;
use crate::locate::DocPath;
use crate::pipeline::Pipeline;
use crate::problem::{LoadError, Place, Problem};

/// `actionExecutionDetails[]`: one run of one action.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ActionExecutionDetail {
    pub pipeline_execution_id: Option<String>,
    pub action_execution_id: Option<String>,
    pub pipeline_version: Option<i64>,
    pub stage_name: String,
    pub action_name: String,
    pub start_time: Option<Timestamp>,
    pub last_update_time: Option<Timestamp>,
    pub updated_by: Option<String>,
    pub status: CloudActionStatus,
    pub input: Option<ActionExecutionInput>,
    pub output: Option<ActionExecutionOutput>,
    #[serde(skip)]
    pub place: Place,
}

/// An action execution's `status`; a value AWS adds later is `Other`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum CloudActionStatus {
    InProgress,
    Abandoned,
    Succeeded,
    Failed,
    #[serde(other)]
    Other,
}

impl std::fmt::Display for CloudActionStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(self, f)
    }
}

/// `input`: what the action was given.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ActionExecutionInput {
    pub action_type_id: Option<CloudActionTypeId>,
    #[serde(default)]
    pub configuration: BTreeMap<String, String>,
    /// The configuration with every variable reference replaced.
    #[serde(default)]
    pub resolved_configuration: BTreeMap<String, String>,
    pub role_arn: Option<String>,
    pub region: Option<String>,
    #[serde(default)]
    pub input_artifacts: Vec<CloudArtifactDetail>,
    pub namespace: Option<String>,
}

/// `actionTypeId`, kept as told.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CloudActionTypeId {
    pub category: Option<String>,
    pub owner: Option<String>,
    pub provider: Option<String>,
    pub version: Option<String>,
}

/// `inputArtifacts[]` / `outputArtifacts[]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CloudArtifactDetail {
    pub name: Option<String>,
    pub s3location: Option<CloudS3Location>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CloudS3Location {
    pub bucket: Option<String>,
    pub key: Option<String>,
}

/// `output`: what the action made.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ActionExecutionOutput {
    #[serde(default)]
    pub output_artifacts: Vec<CloudArtifactDetail>,
    pub execution_result: Option<ActionExecutionResult>,
    #[serde(default)]
    pub output_variables: BTreeMap<String, String>,
}

/// `executionResult`: the provider's side (a CodeBuild build id, ...).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ActionExecutionResult {
    pub external_execution_id: Option<String>,
    pub external_execution_summary: Option<String>,
    pub external_execution_url: Option<String>,
    pub error_details: Option<CloudErrorDetails>,
    #[serde(rename = "logStreamARN")]
    pub log_stream_arn: Option<String>,
}

/// `errorDetails`: `code` (`JobFailed`, ...) and `message`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CloudErrorDetails {
    pub code: Option<String>,
    pub message: Option<String>,
}

impl ActionExecutionDetail {
    /// The summary the cloud gave, or its error message.
    pub fn summary(&self) -> Option<&str> {
        let result = self.output.as_ref()?.execution_result.as_ref()?;
        result
            .error_details
            .as_ref()
            .and_then(|e| e.message.as_deref())
            .or(result.external_execution_summary.as_deref())
    }
}

/// Reads list-action-executions output (`{"actionExecutionDetails": [...]}`,
/// or the bare list).
pub fn load_action_executions(path: &Path) -> Result<Vec<ActionExecutionDetail>, LoadError> {
    action_executions_from_document(&Document::read(path)?)
}

/// list-action-executions output from a parsed document.
pub fn action_executions_from_document(
    doc: &Document,
) -> Result<Vec<ActionExecutionDetail>, LoadError> {
    let path = doc.path.as_path();
    let (items, base) = match &doc.value {
        serde_json::Value::Array(_) => (doc.value.clone(), DocPath::root()),
        v if v.get("actionExecutionDetails").is_some() => (
            v["actionExecutionDetails"].clone(),
            DocPath::root().key("actionExecutionDetails"),
        ),
        _ => {
            return Err(LoadError::Syntax {
                place: Place::file(path).into(),
                message: "not list-action-executions output: no `actionExecutionDetails` (make it with `aws codepipeline list-action-executions --pipeline-name NAME --filter pipelineExecutionId=ID > actions.json`)".into(),
            })
        }
    };
    let mut details: Vec<ActionExecutionDetail> =
        serde_path_to_error::deserialize(items).map_err(|e| {
            let at = base.join_serde(e.path());
            LoadError::invalid(doc.error(&at, at.prefix(e.inner())))
        })?;
    for (i, d) in details.iter_mut().enumerate() {
        d.place = doc.place(&base.index(i));
    }
    Ok(details)
}

/// Problems of the records against `pipeline`: an action it does not have
/// (in that stage) is an error: the records are of another pipeline, or of
/// another version of it.
pub fn check_action_executions(
    details: &[ActionExecutionDetail],
    pipeline: &Pipeline,
) -> Vec<Problem> {
    details
        .iter()
        .filter(|d| {
            !pipeline
                .actions()
                .any(|(s, a)| s.name == d.stage_name && a.name == d.action_name)
        })
        .map(|d| {
            let known: Vec<String> = pipeline
                .actions()
                .map(|(s, a)| format!("{}/{}", s.name, a.name))
                .collect();
            Problem::error(
                d.place.clone(),
                format!(
                    "actionExecutionDetails: pipeline {} has no action {}/{} (its actions: {}): give the records of this pipeline's execution, or run the definition that execution ran (aws codepipeline get-pipeline --name {} --version N)",
                    pipeline.name,
                    d.stage_name,
                    d.action_name,
                    known.join(", "),
                    pipeline.name
                ),
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_details_and_keeps_their_lines() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("actions.json");
        std::fs::write(
            &path,
            r#"{
  "actionExecutionDetails": [
    {
      "pipelineExecutionId": "3137f7cb-7cf7-4e4f-9ac4-5b3e2b4a1c2d",
      "stageName": "Build",
      "actionName": "Unit",
      "status": "Failed",
      "startTime": "2026-11-30T10:01:00.000000+00:00",
      "output": {
        "executionResult": {
          "externalExecutionId": "shop-unit:7f1c",
          "errorDetails": {"code": "JobFailed", "message": "Build terminated with state: FAILED"},
          "logStreamARN": "arn:aws:logs:..."
        },
        "outputVariables": {}
      },
      "anUnknownField": 1
    },
    {
      "stageName": "Source",
      "actionName": "Code",
      "status": "SomethingNew"
    }
  ],
  "nextToken": "abc"
}"#,
        )
        .unwrap();
        let details = load_action_executions(&path).unwrap();
        assert_eq!(details.len(), 2);
        assert_eq!(details[0].status, CloudActionStatus::Failed);
        assert_eq!(
            details[0].summary(),
            Some("Build terminated with state: FAILED")
        );
        assert_eq!(details[1].status, CloudActionStatus::Other);
        assert_eq!(details[1].place.line, Some(19));
    }
}
