//! `aws codepipeline get-pipeline-execution` output (CodePipeline API
//! Reference, "GetPipelineExecution", "PipelineExecution",
//! "ArtifactRevision", "ResolvedPipelineVariable", "ExecutionTrigger"): the
//! source revisions and the variable values one execution ran with.

use std::path::Path;

use serde::Deserialize;

use super::Timestamp;
use crate::document::Document;
use crate::locate::DocPath;
use crate::pipeline::{Action, Pipeline};
use crate::problem::{LoadError, Place, Problem};

/// `pipelineExecution`: one execution of a pipeline in the cloud.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PipelineExecution {
    pub pipeline_name: String,
    /// The version of the pipeline's definition the execution ran.
    pub pipeline_version: Option<i64>,
    pub pipeline_execution_id: String,
    pub status: Option<CloudExecutionStatus>,
    pub status_summary: Option<String>,
    /// One per source artifact: the revision the execution pinned.
    #[serde(default)]
    pub artifact_revisions: Vec<ArtifactRevision>,
    /// V2 pipelines: every pipeline variable with the value it had.
    #[serde(default)]
    pub variables: Vec<ResolvedPipelineVariable>,
    pub trigger: Option<ExecutionTrigger>,
    /// `QUEUED`, `SUPERSEDED` or `PARALLEL`; kept as told, for the record.
    pub execution_mode: Option<String>,
    /// `STANDARD` or `ROLLBACK`; kept as told, for the record.
    pub execution_type: Option<String>,
    pub rollback_metadata: Option<PipelineRollbackMetadata>,
    /// Where `pipelineExecution` is in its file.
    #[serde(skip)]
    pub place: Place,
}

/// A pipeline execution's `status`; a value AWS adds later is `Other`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum CloudExecutionStatus {
    Cancelled,
    InProgress,
    Stopped,
    Stopping,
    Succeeded,
    Superseded,
    Failed,
    #[serde(other)]
    Other,
}

/// `artifactRevisions[]`: a source artifact and the revision it had.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ArtifactRevision {
    /// The output artifact's name (not the action's).
    pub name: String,
    /// A commit id for git sources, the object's version id for S3, the
    /// image digest for ECR.
    pub revision_id: Option<String>,
    /// The commit date for git sources, the ETag for S3.
    pub revision_change_identifier: Option<String>,
    pub revision_summary: Option<String>,
    pub created: Option<Timestamp>,
    pub revision_url: Option<String>,
    #[serde(skip)]
    pub place: Place,
}

/// `variables[]`: a pipeline variable and its value in the execution.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResolvedPipelineVariable {
    pub name: String,
    pub resolved_value: String,
    #[serde(skip)]
    pub place: Place,
}

/// `trigger`: what started the execution (`triggerType`, e.g. `Webhook`).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExecutionTrigger {
    pub trigger_type: Option<String>,
    pub trigger_detail: Option<String>,
}

/// `rollbackMetadata`: the execution a ROLLBACK execution went back to.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PipelineRollbackMetadata {
    pub rollback_target_pipeline_execution_id: Option<String>,
}

const HOW_TO_GET: &str = "aws codepipeline get-pipeline-execution --pipeline-name NAME --pipeline-execution-id ID > execution.json";

/// Reads get-pipeline-execution output (`{"pipelineExecution": {...}}`, or
/// the bare `pipelineExecution` object).
pub fn load_pipeline_execution(path: &Path) -> Result<PipelineExecution, LoadError> {
    pipeline_execution_from_document(&Document::read(path)?)
}

/// get-pipeline-execution output from a parsed document.
pub fn pipeline_execution_from_document(doc: &Document) -> Result<PipelineExecution, LoadError> {
    let path = doc.path.as_path();
    let base = if doc.value.get("pipelineExecution").is_some() {
        DocPath::root().key("pipelineExecution")
    } else if doc.value.get("pipelineExecutionId").is_some() {
        DocPath::root()
    } else {
        return Err(LoadError::Syntax {
            place: Place::file(path).into(),
            message: format!(
                "not get-pipeline-execution output: no `pipelineExecution` (make it with `{HOW_TO_GET}`)"
            ),
        });
    };
    let value = if base.0.is_empty() {
        doc.value.clone()
    } else {
        doc.value["pipelineExecution"].clone()
    };
    let mut execution: PipelineExecution =
        serde_path_to_error::deserialize(value).map_err(|e| {
            let at = base.join_serde(e.path());
            LoadError::invalid(doc.error(&at, at.prefix(e.inner())))
        })?;
    execution.place = doc.place(&base);
    for (i, a) in execution.artifact_revisions.iter_mut().enumerate() {
        a.place = doc.place(&base.key("artifactRevisions").index(i));
    }
    for (i, v) in execution.variables.iter_mut().enumerate() {
        v.place = doc.place(&base.key("variables").index(i));
    }
    Ok(execution)
}

impl PipelineExecution {
    /// The revision the execution pinned for a source action: that of its
    /// (first) output artifact.
    pub fn revision_for(&self, action: &Action) -> Option<&ArtifactRevision> {
        action
            .outputs()
            .find_map(|o| self.artifact_revisions.iter().find(|r| r.name == o))
    }

    /// What does not fit `pipeline`: a source artifact it does not have is an
    /// error; another pipeline's name, another version of the definition, a
    /// variable it does not declare or a source without a revision are
    /// warnings (the run goes on as the definition here says).
    pub fn check(&self, pipeline: &Pipeline) -> Vec<Problem> {
        let mut problems = Vec::new();
        if self.pipeline_name != pipeline.name {
            problems.push(Problem::warning(
                self.place.clone(),
                format!(
                    "execution {} is of pipeline {}, and this definition is pipeline {}",
                    self.pipeline_execution_id, self.pipeline_name, pipeline.name
                ),
            ));
        }
        if let (Some(ran), Some(here)) = (self.pipeline_version, pipeline.version) {
            if ran != here {
                problems.push(Problem::warning(
                    self.place.clone(),
                    format!(
                        "execution {} ran version {ran} of the pipeline, and this definition is version {here}: its sources and variables are pinned, its stages and actions are as defined here",
                        self.pipeline_execution_id
                    ),
                ));
            }
        }
        let source_outputs: Vec<&str> = pipeline
            .source_actions()
            .flat_map(|a| a.outputs())
            .collect();
        for revision in &self.artifact_revisions {
            if !source_outputs.contains(&revision.name.as_str()) {
                problems.push(Problem::error(
                    revision.place.clone(),
                    format!(
                        "artifactRevisions: {} is not an output artifact of a source action of pipeline {} (its source artifacts: {}): give an execution of this pipeline, or run the definition it ran (aws codepipeline get-pipeline --name NAME --version N)",
                        revision.name,
                        pipeline.name,
                        source_outputs.join(", ")
                    ),
                ));
            }
        }
        for action in pipeline.source_actions() {
            match self.revision_for(action) {
                Some(r) if r.revision_id.is_none() => problems.push(Problem::warning(
                    r.place.clone(),
                    format!(
                        "artifactRevisions: {} has no revisionId: source action {} takes its local input as it is",
                        r.name, action.name
                    ),
                )),
                Some(_) => {}
                None => problems.push(Problem::warning(
                    self.place.clone(),
                    format!(
                        "execution {} names no revision for source action {}: it takes its local input as it is",
                        self.pipeline_execution_id, action.name
                    ),
                )),
            }
        }
        for variable in &self.variables {
            if !pipeline.variables.iter().any(|v| v.name == variable.name) {
                problems.push(Problem::warning(
                    variable.place.clone(),
                    format!(
                        "variables: pipeline {} declares no variable {}: its value is not used",
                        pipeline.name, variable.name
                    ),
                ));
            }
        }
        problems
    }

    /// The execution's variable values the pipeline declares.
    pub fn declared_variables<'a>(
        &'a self,
        pipeline: &'a Pipeline,
    ) -> impl Iterator<Item = &'a ResolvedPipelineVariable> + 'a {
        self.variables
            .iter()
            .filter(|v| pipeline.variables.iter().any(|d| d.name == v.name))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(text: &str) -> (tempfile::TempDir, std::path::PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("execution.json");
        std::fs::write(&path, text).unwrap();
        (dir, path)
    }

    #[test]
    fn reads_the_cli_output_and_accepts_fields_it_does_not_know() {
        let (_dir, path) = write(
            r#"{
  "pipelineExecution": {
    "pipelineName": "shop",
    "pipelineVersion": 3,
    "pipelineExecutionId": "3137f7cb-7cf7-4e4f-9ac4-5b3e2b4a1c2d",
    "status": "Failed",
    "artifactRevisions": [
      {
        "name": "Src",
        "revisionId": "0123456789abcdef0123456789abcdef01234567",
        "revisionChangeIdentifier": "2026-11-30T10:00:00Z",
        "created": 1764496800.0,
        "someFieldAwsAddsLater": true
      }
    ],
    "variables": [
      { "name": "Env", "resolvedValue": "prod" }
    ],
    "trigger": { "triggerType": "Webhook", "triggerDetail": "arn:aws:..." },
    "executionMode": "QUEUED",
    "statusSummary": "Stage Build failed",
    "newTopLevelField": {"x": 1}
  }
}"#,
        );
        let e = load_pipeline_execution(&path).unwrap();
        assert_eq!(e.pipeline_version, Some(3));
        assert_eq!(e.status, Some(CloudExecutionStatus::Failed));
        assert_eq!(e.artifact_revisions[0].place.line, Some(8));
        assert_eq!(
            e.artifact_revisions[0].created,
            Some(Timestamp::Epoch(1764496800.0))
        );
        assert_eq!(e.variables[0].resolved_value, "prod");
        assert_eq!(e.variables[0].place.line, Some(17));
    }

    #[test]
    fn a_wrong_field_names_its_file_and_line() {
        let (_dir, path) = write(
            "{\n  \"pipelineExecution\": {\n    \"pipelineName\": \"shop\",\n    \"pipelineExecutionId\": \"x\",\n    \"artifactRevisions\": [\n      {\"revisionId\": \"abc\"}\n    ]\n  }\n}\n",
        );
        let message = load_pipeline_execution(&path).unwrap_err().summary();
        assert!(message.contains("execution.json:6"), "{message}");
        assert!(message.contains("missing field `name`"), "{message}");
        let (_dir, path) = write("{\"pipeline\": {}}");
        let message = load_pipeline_execution(&path).unwrap_err().summary();
        assert!(message.contains("get-pipeline-execution"), "{message}");
    }
}
