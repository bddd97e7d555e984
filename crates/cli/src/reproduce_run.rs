//! `run --from-execution FILE [--action-executions FILE]`: reading the cloud's
//! records (the model parses them, the orchestrator pins and compares) and
//! printing the comparison that ends the run. (`reproduce.rs` renders a
//! build's, for `build --from-build`.)

use std::path::Path;

use pipelocal_model::cloud::{
    load_action_executions, load_pipeline_execution, ActionExecutionDetail,
};
use pipelocal_model::pipeline::Pipeline;
use pipelocal_orchestrator::cloud_comparison::{compare, select_execution, Comparison};
use pipelocal_orchestrator::from_execution::FromExecution;
use pipelocal_orchestrator::history::ExecutionRecord;

/// The cloud's action records to compare the run with.
pub struct CloudActions {
    pub execution_id: String,
    /// The execution's `status` and `statusSummary`, as the cloud told them.
    pub outcome: Option<String>,
    pub details: Vec<ActionExecutionDetail>,
}

/// Reads `--from-execution` and `--action-executions`, checked against the pipeline.
pub fn load(
    from_execution: Option<&Path>,
    action_executions: Option<&Path>,
    pipeline: &Pipeline,
) -> Result<(Option<FromExecution>, Option<CloudActions>), String> {
    let Some(file) = from_execution else {
        return Ok((None, None));
    };
    let execution = load_pipeline_execution(file).map_err(|e| e.summary())?;
    let actions = match action_executions {
        Some(actions_file) => {
            let details = load_action_executions(actions_file).map_err(|e| e.summary())?;
            let id = execution.pipeline_execution_id.clone();
            let details = select_execution(details, &id, pipeline, actions_file)?;
            let outcome = match (&execution.status, &execution.status_summary) {
                (Some(status), Some(summary)) => Some(format!("{status:?}: {summary}")),
                (Some(status), None) => Some(format!("{status:?}")),
                (None, summary) => summary.clone(),
            };
            Some(CloudActions {
                execution_id: id,
                outcome,
                details,
            })
        }
        None => None,
    };
    Ok((
        Some(FromExecution {
            file: file.to_path_buf(),
            execution,
        }),
        actions,
    ))
}

/// The comparison of the run with the cloud's records.
pub fn comparison(
    pipeline: &Pipeline,
    cloud: &CloudActions,
    record: &ExecutionRecord,
) -> Comparison {
    compare(pipeline, &cloud.details, &cloud.execution_id, record)
}

/// The comparison as lines for a person.
pub fn render(c: &Comparison, outcome: Option<&str>) -> String {
    let names: Vec<String> = c
        .actions
        .iter()
        .map(|a| format!("{}/{}", a.stage, a.action))
        .collect();
    let width = names.iter().map(String::len).max().unwrap_or(0).max(6);
    let status = |s: Option<String>| s.unwrap_or_else(|| "-".into());
    let mut out = format!(
        "\nBeside cloud execution {}{}:\n  {:<width$}  {:<11} here\n",
        c.cloud_execution_id,
        outcome.map(|o| format!(" ({o})")).unwrap_or_default(),
        "action",
        "cloud"
    );
    for (name, a) in names.iter().zip(&c.actions) {
        out.push_str(&format!(
            "  {name:<width$}  {:<11} {:<11} {}",
            status(a.cloud.map(|s| s.to_string())),
            status(a.local.map(|s| s.to_string())),
            a.verdict
        ));
        if let (Some(summary), Some(pipelocal_model::cloud::CloudActionStatus::Failed)) =
            (&a.cloud_summary, a.cloud)
        {
            out.push_str(&format!(" (cloud: {summary})"));
        }
        out.push('\n');
    }
    let failures: Vec<String> = c
        .cloud_failures()
        .map(|a| format!("{}/{}", a.stage, a.action))
        .collect();
    let reproduced: Vec<String> = c
        .reproduced()
        .map(|a| format!("{}/{}", a.stage, a.action))
        .collect();
    out.push_str(&match (failures.len(), reproduced.len()) {
        (0, _) => "No action failed in the cloud execution.\n".to_string(),
        (n, r) if n == r => format!(
            "Reproduced: the cloud's failure of {} fails here too.\n",
            reproduced.join(", ")
        ),
        (n, r) => format!(
            "Reproduced {r} of the cloud's {n} failures ({}): {} did not fail here.\n",
            failures.join(", "),
            failures
                .iter()
                .filter(|f| !reproduced.contains(f))
                .cloned()
                .collect::<Vec<_>>()
                .join(", ")
        ),
    });
    out
}

/// The comparison as one JSON object (`--json`).
pub fn json(c: &Comparison) -> serde_json::Value {
    serde_json::json!({
        "event": "CloudComparison",
        "cloudExecutionId": c.cloud_execution_id,
        "actions": c.actions.iter().map(|a| serde_json::json!({
            "stageName": a.stage,
            "actionName": a.action,
            "cloudStatus": a.cloud.map(|s| s.to_string()),
            "localStatus": a.local.map(|s| s.to_string()),
            "verdict": a.verdict.to_string(),
        })).collect::<Vec<_>>(),
        "reproduced": c.reproduced().map(|a| format!("{}/{}", a.stage, a.action)).collect::<Vec<_>>(),
    })
}
