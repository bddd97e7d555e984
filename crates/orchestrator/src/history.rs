//! Execution history under `<state-dir>/pipelines/<pipeline>/`: one JSON file
//! per execution, shaped after GetPipelineExecution and ListActionExecutions,
//! rewritten whole through a temporary file and a rename, so a crash or
//! Ctrl-C leaves the previous version or the next, never half of one. Action
//! logs are plain text files beside it, appended as lines arrive.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use pipelocal_model::file_name::path_component;
use serde::{Deserialize, Serialize};

use crate::status::{ActionStatus, ExecutionStatus, StageStatus};
use crate::store::S3Location;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Trigger {
    pub trigger_type: String,
    pub trigger_detail: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResolvedVariable {
    pub name: String,
    pub resolved_value: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SourceRevision {
    pub action_name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revision_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revision_summary: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ArtifactRevision {
    pub name: String,
    pub revision_id: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConditionRecord {
    pub stage_name: String,
    /// `BEFORE_ENTRY`, `ON_SUCCESS` or `ON_FAILURE`.
    pub hook: String,
    pub status: String,
    pub summary: String,
    pub rules: Vec<crate::conditions::RuleOutcome>,
    pub time: f64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RollbackMetadata {
    pub rollback_target_pipeline_execution_id: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StageRetry {
    pub stage_name: String,
    /// `FAILED_ACTIONS` or `ALL_ACTIONS`.
    pub retry_mode: String,
    /// `ManualStageRetry` or `AutomatedStageRetry`.
    pub trigger: String,
    pub time: f64,
}

impl StageRetry {
    pub fn new(stage: &str, mode: &str, trigger: &str) -> Self {
        StageRetry {
            stage_name: stage.to_string(),
            retry_mode: mode.to_string(),
            trigger: trigger.to_string(),
            time: epoch_now(),
        }
    }
}

/// A pipeline's stage names, and the action names of each stage: what a
/// record keeps to tell whether the pipeline changed since.
pub fn structure(p: &pipelocal_model::pipeline::Pipeline) -> (Vec<String>, Vec<Vec<String>>) {
    (
        p.stages.iter().map(|s| s.name.clone()).collect(),
        p.stages
            .iter()
            .map(|s| s.actions.iter().map(|a| a.name.clone()).collect())
            .collect(),
    )
}

impl ExecutionRecord {
    /// Whether this execution ran with the same stages and actions.
    pub fn same_structure(&self, stage_names: &[String], stage_actions: &[Vec<String>]) -> bool {
        self.stage_names == stage_names && self.stage_actions == stage_actions
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StageExecution {
    pub stage_name: String,
    pub status: StageStatus,
    pub start_time: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end_time: Option<f64>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ActionTypeIdRecord {
    pub category: String,
    pub owner: String,
    pub provider: String,
    pub version: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ArtifactDetail {
    pub name: String,
    pub s3location: S3Location,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ActionInput {
    pub action_type_id: ActionTypeIdRecord,
    pub configuration: BTreeMap<String, String>,
    pub resolved_configuration: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role_arn: Option<String>,
    pub region: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    pub input_artifacts: Vec<ArtifactDetail>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ErrorDetails {
    pub code: String,
    pub message: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExecutionResult {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub external_execution_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub external_execution_summary: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_details: Option<ErrorDetails>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ActionOutput {
    pub output_artifacts: Vec<ArtifactDetail>,
    pub execution_result: ExecutionResult,
    pub output_variables: BTreeMap<String, String>,
}

/// One action execution, as ListActionExecutions shows it.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ActionExecution {
    pub pipeline_execution_id: String,
    pub action_execution_id: String,
    pub pipeline_version: i64,
    pub stage_name: String,
    pub action_name: String,
    pub start_time: f64,
    pub last_update_time: f64,
    pub status: ActionStatus,
    pub input: ActionInput,
    pub output: ActionOutput,
}

/// One execution: GetPipelineExecution's fields, with its stages and action
/// executions so the state and the logs can be told from it alone.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExecutionRecord {
    pub pipeline_name: String,
    pub pipeline_version: i64,
    pub pipeline_execution_id: String,
    pub status: ExecutionStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status_summary: Option<String>,
    pub start_time: f64,
    pub last_update_time: f64,
    pub trigger: Trigger,
    pub execution_mode: String,
    pub execution_type: String,
    pub variables: Vec<ResolvedVariable>,
    pub source_revisions: Vec<SourceRevision>,
    /// The revision (a commit, an object version) each artifact carries.
    #[serde(default)]
    pub artifact_revisions: Vec<ArtifactRevision>,
    /// The settings the execution ran with (projects, images, sources, ...),
    /// so a retry uses the same.
    #[serde(default)]
    pub settings: pipelocal_model::config::Config,
    /// Stage conditions evaluated in this execution.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<ConditionRecord>,
    /// For a ROLLBACK execution: the execution whose artifacts it used.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rollback_metadata: Option<RollbackMetadata>,
    /// Retries of stages of this execution (`pipelocal retry`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub stage_retries: Vec<StageRetry>,
    pub stages: Vec<StageExecution>,
    pub action_executions: Vec<ActionExecution>,
    /// The definition file the execution ran.
    pub pipeline_file: String,
    /// Every stage of the pipeline, in order (for the state of stages never reached).
    pub stage_names: Vec<String>,
    /// The actions of each stage, in order.
    pub stage_actions: Vec<Vec<String>>,
}

pub fn epoch_now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| (d.as_millis() as f64) / 1000.0)
        .unwrap_or(0.0)
}

#[derive(Debug, thiserror::Error)]
pub enum HistoryError {
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{}: not an execution record: {message}", path.display())]
    Corrupt { path: PathBuf, message: String },
    #[error("no execution {id} under {} (see `pipelocal executions`)", state_dir.display())]
    NotFound { id: String, state_dir: PathBuf },
}

/// The history of every pipeline run with one state folder.
#[derive(Debug, Clone)]
pub struct History {
    state_dir: PathBuf,
}

impl History {
    pub fn new(state_dir: &Path) -> Self {
        History {
            state_dir: state_dir.to_path_buf(),
        }
    }

    fn pipelines_dir(&self) -> PathBuf {
        self.state_dir.join("pipelines")
    }

    fn execution_dir(&self, pipeline: &str, id: &str) -> PathBuf {
        self.pipelines_dir()
            .join(path_component(pipeline))
            .join("executions")
            .join(id)
    }

    /// Where the stage locks of a pipeline's executions live.
    pub fn lock_dir(&self, pipeline: &str) -> PathBuf {
        self.pipelines_dir()
            .join(path_component(pipeline))
            .join("locks")
    }

    /// `<execution>/<folder>/<stage>/<action>.<extension>`: a file of one action.
    fn action_file(
        &self,
        (pipeline, id): (&str, &str),
        (stage, action): (&str, &str),
        folder: &str,
        extension: &str,
    ) -> PathBuf {
        self.execution_dir(pipeline, id)
            .join(folder)
            .join(path_component(stage))
            .join(format!("{}.{extension}", path_component(action)))
    }

    /// Where an action's log is kept.
    pub fn log_path(&self, pipeline: &str, id: &str, stage: &str, action: &str) -> PathBuf {
        self.action_file((pipeline, id), (stage, action), "logs", "log")
    }

    /// Where the build record (batch-get-builds' shape) of a build action's
    /// latest attempt is kept.
    pub fn build_record_path(
        &self,
        pipeline: &str,
        id: &str,
        stage: &str,
        action: &str,
    ) -> PathBuf {
        self.action_file((pipeline, id), (stage, action), "builds", "json")
    }

    /// Keeps a build action's build record, for `pipelocal view`'s phase table.
    pub fn save_build(
        &self,
        pipeline: &str,
        id: &str,
        stage: &str,
        action: &str,
        record: &pipelocal_runner::record::BuildRecord,
    ) -> Result<(), HistoryError> {
        let path = self.build_record_path(pipeline, id, stage, action);
        let text = serde_json::to_string_pretty(record).expect("records serialize");
        std::fs::create_dir_all(path.parent().expect("a record path has folders"))
            .and_then(|()| std::fs::write(&path, text + "\n"))
            .map_err(|source| HistoryError::Io { path, source })
    }

    /// The build record kept for a build action, if any.
    pub fn build_record(
        &self,
        pipeline: &str,
        id: &str,
        stage: &str,
        action: &str,
    ) -> Option<pipelocal_runner::record::BuildRecord> {
        let path = self.build_record_path(pipeline, id, stage, action);
        let text = std::fs::read_to_string(path).ok()?;
        serde_json::from_str(&text).ok()
    }

    /// Writes the record whole: to a temporary file, then renamed over the old one.
    pub fn save(&self, record: &ExecutionRecord) -> Result<(), HistoryError> {
        let dir = self.execution_dir(&record.pipeline_name, &record.pipeline_execution_id);
        let path = dir.join("execution.json");
        let io = |source| HistoryError::Io {
            path: path.clone(),
            source,
        };
        std::fs::create_dir_all(&dir).map_err(io)?;
        let text = serde_json::to_string_pretty(record).expect("records serialize");
        // A name of its own, so two writers never mix their bytes in one file.
        let partial = dir.join(format!(".execution.json.{}.partial", uuid::Uuid::new_v4()));
        let written = (|| {
            let mut file = std::fs::File::create(&partial)?;
            std::io::Write::write_all(&mut file, (text + "\n").as_bytes())?;
            file.sync_all()?;
            std::fs::rename(&partial, &path)
        })();
        if written.is_err() {
            let _ = std::fs::remove_file(&partial);
        }
        written.map_err(io)
    }

    /// Names of the pipelines that have run here.
    pub fn pipelines(&self) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(self.pipelines_dir())
            .map(|d| {
                d.flatten()
                    .filter(|e| e.path().is_dir())
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default();
        names.sort();
        names
    }

    /// Every execution of a pipeline, newest first.
    pub fn executions(&self, pipeline: &str) -> Result<Vec<ExecutionRecord>, HistoryError> {
        let dir = self
            .pipelines_dir()
            .join(path_component(pipeline))
            .join("executions");
        let mut out = Vec::new();
        let Ok(entries) = std::fs::read_dir(&dir) else {
            return Ok(out);
        };
        for entry in entries.flatten() {
            let path = entry.path().join("execution.json");
            if path.is_file() {
                out.push(read_record(&path)?);
            }
        }
        out.sort_by(|a, b| b.start_time.total_cmp(&a.start_time));
        Ok(out)
    }

    /// The execution with this id, whichever pipeline ran it.
    pub fn find(&self, id: &str) -> Result<ExecutionRecord, HistoryError> {
        for pipeline in self.pipelines() {
            let path = self
                .pipelines_dir()
                .join(&pipeline)
                .join("executions")
                .join(path_component(id))
                .join("execution.json");
            if path.is_file() {
                return read_record(&path);
            }
        }
        Err(HistoryError::NotFound {
            id: id.to_string(),
            state_dir: self.state_dir.clone(),
        })
    }
}

fn read_record(path: &Path) -> Result<ExecutionRecord, HistoryError> {
    let text = std::fs::read_to_string(path).map_err(|source| HistoryError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    serde_json::from_str(&text).map_err(|e| HistoryError::Corrupt {
        path: path.to_path_buf(),
        message: e.to_string(),
    })
}
