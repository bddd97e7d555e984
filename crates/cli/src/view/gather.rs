//! What the page shows, read from the history: an execution record with each
//! action's log, its build record, and the sizes and files of its artifacts.

use std::collections::BTreeMap;
use std::path::Path;

use pipelocal_model::pipeline::load_pipeline;
use pipelocal_orchestrator::history::{ActionExecution, ArtifactDetail, ExecutionRecord, History};
use pipelocal_orchestrator::store::s3_path;
use pipelocal_runner::record::BuildRecord;

/// An execution and everything kept beside it.
pub struct Execution {
    pub record: ExecutionRecord,
    /// Each stage's run-order groups of action names, from the definition
    /// (each action a group of its own when the definition cannot be read).
    pub groups: Vec<Vec<Vec<String>>>,
    /// Every action execution (every attempt), in the record's order.
    pub actions: Vec<ActionPage>,
}

/// One attempt of an action.
pub struct ActionPage {
    pub run: ActionExecution,
    /// Which attempt of its action this is, from 1.
    pub attempt: usize,
    /// The action's log (all attempts appended, as stored), masked as stored.
    pub log: String,
    pub build: Option<BuildRecord>,
    pub inputs: Vec<Artifact>,
    pub outputs: Vec<Artifact>,
}

/// An artifact in the local store.
pub struct Artifact {
    pub name: String,
    /// The zip's size; `None` when it is no longer in the store.
    pub size: Option<u64>,
    /// The zip's files and their sizes (empty for an object that is no zip).
    pub files: Vec<(String, u64)>,
}

pub fn gather(state_dir: &Path, record: ExecutionRecord) -> Execution {
    let history = History::new(state_dir);
    let groups = run_order_groups(&record);
    let mut attempts: BTreeMap<(String, String), usize> = BTreeMap::new();
    let mut actions = Vec::new();
    for run in &record.action_executions {
        let key = (run.stage_name.clone(), run.action_name.clone());
        let attempt = attempts.entry(key).or_default();
        *attempt += 1;
        let id = &record.pipeline_execution_id;
        let log_path =
            history.log_path(&record.pipeline_name, id, &run.stage_name, &run.action_name);
        actions.push(ActionPage {
            attempt: *attempt,
            log: std::fs::read_to_string(log_path).unwrap_or_default(),
            build: history.build_record(
                &record.pipeline_name,
                id,
                &run.stage_name,
                &run.action_name,
            ),
            inputs: run
                .input
                .input_artifacts
                .iter()
                .map(|a| artifact(state_dir, a))
                .collect(),
            outputs: run
                .output
                .output_artifacts
                .iter()
                .map(|a| artifact(state_dir, a))
                .collect(),
            run: run.clone(),
        });
    }
    Execution {
        record,
        groups,
        actions,
    }
}

/// The run-order groups of each stage, in order.
fn run_order_groups(record: &ExecutionRecord) -> Vec<Vec<Vec<String>>> {
    let loaded = load_pipeline(
        Path::new(&record.pipeline_file),
        Some(&record.pipeline_name),
    );
    let orders: BTreeMap<(String, String), i64> = match &loaded {
        Ok(l) => l
            .pipeline
            .stages
            .iter()
            .flat_map(|s| {
                s.actions
                    .iter()
                    .map(move |a| ((s.name.clone(), a.name.clone()), a.run_order))
            })
            .collect(),
        Err(_) => BTreeMap::new(),
    };
    record
        .stage_names
        .iter()
        .zip(&record.stage_actions)
        .map(|(stage, names)| {
            let mut by_order: BTreeMap<i64, Vec<String>> = BTreeMap::new();
            for (i, name) in names.iter().enumerate() {
                let order = orders
                    .get(&(stage.clone(), name.clone()))
                    .copied()
                    .unwrap_or(i as i64 + 1);
                by_order.entry(order).or_default().push(name.clone());
            }
            by_order.into_values().collect()
        })
        .collect()
}

fn artifact(state_dir: &Path, detail: &ArtifactDetail) -> Artifact {
    let location = &detail.s3location;
    let path = s3_path(&state_dir.join("s3"), &location.bucket, &location.key).ok();
    let size = path
        .as_ref()
        .and_then(|p| std::fs::metadata(p).ok())
        .map(|m| m.len());
    let files = path.map(|p| zip_files(&p)).unwrap_or_default();
    Artifact {
        name: detail.name.clone(),
        size,
        files,
    }
}

/// A zip's files and their sizes, from its central directory.
fn zip_files(path: &Path) -> Vec<(String, u64)> {
    let Ok(file) = std::fs::File::open(path) else {
        return Vec::new();
    };
    let Ok(mut archive) = zip::ZipArchive::new(file) else {
        return Vec::new();
    };
    (0..archive.len())
        .filter_map(|i| {
            let entry = archive.by_index_raw(i).ok()?;
            (!entry.is_dir()).then(|| (entry.name().to_string(), entry.size()))
        })
        .collect()
}
