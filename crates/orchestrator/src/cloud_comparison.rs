//! `run --from-execution FILE --action-executions FILE`: each action's status
//! in the cloud (list-action-executions output) beside its status in this
//! run, and which of the cloud's failures this run reproduced.

use pipelocal_model::cloud::{
    check_action_executions, ActionExecutionDetail, CloudActionStatus, Timestamp,
};
use pipelocal_model::pipeline::Pipeline;

use crate::history::ExecutionRecord;
use crate::status::ActionStatus;

/// One action in the cloud and here.
#[derive(Debug, Clone)]
pub struct ActionComparison {
    pub stage: String,
    pub action: String,
    /// Its last run in the cloud execution, if it ran there.
    pub cloud: Option<CloudActionStatus>,
    pub cloud_summary: Option<String>,
    /// Its last run here, if it ran.
    pub local: Option<ActionStatus>,
    pub verdict: Verdict,
}

/// What the two statuses say together.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// It failed in the cloud and here.
    FailureReproduced,
    /// It failed in the cloud and succeeded here.
    FailureNotReproduced,
    /// It failed in the cloud and did not run (or finish) here.
    FailureNotReached,
    /// It succeeded in the cloud and failed here.
    FailsOnlyHere,
    /// Both ended the same (and not in failure).
    Same,
    /// The two differ otherwise (one ran, the other did not, ...).
    Differs,
}

impl std::fmt::Display for Verdict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Verdict::FailureReproduced => "failure reproduced",
            Verdict::FailureNotReproduced => "failure NOT reproduced",
            Verdict::FailureNotReached => "failure not reached here",
            Verdict::FailsOnlyHere => "fails here only",
            Verdict::Same => "same",
            Verdict::Differs => "differs",
        })
    }
}

/// Every action of the pipeline that ran in either place, in pipeline order.
#[derive(Debug, Clone)]
pub struct Comparison {
    pub cloud_execution_id: String,
    pub actions: Vec<ActionComparison>,
}

impl Comparison {
    /// The actions that failed in the cloud.
    pub fn cloud_failures(&self) -> impl Iterator<Item = &ActionComparison> {
        self.actions
            .iter()
            .filter(|a| a.cloud == Some(CloudActionStatus::Failed))
    }

    /// The cloud's failures that failed here too.
    pub fn reproduced(&self) -> impl Iterator<Item = &ActionComparison> {
        self.actions
            .iter()
            .filter(|a| a.verdict == Verdict::FailureReproduced)
    }
}

/// The records of one execution, checked against the pipeline: each must
/// name an action it has. Fails when none is of the execution.
pub fn select_execution(
    details: Vec<ActionExecutionDetail>,
    execution_id: &str,
    pipeline: &Pipeline,
    file: &std::path::Path,
) -> Result<Vec<ActionExecutionDetail>, String> {
    // Records without an execution id are taken to be of it.
    let of_it: Vec<ActionExecutionDetail> = details
        .into_iter()
        .filter(|d| {
            d.pipeline_execution_id
                .as_deref()
                .is_none_or(|id| id == execution_id)
        })
        .collect();
    if let Some(problem) = check_action_executions(&of_it, pipeline).into_iter().next() {
        return Err(format!("{}: {}", problem.place, problem.message));
    }
    if of_it.is_empty() {
        return Err(format!(
            "{}: no action execution of execution {execution_id}: list them with `aws codepipeline list-action-executions --pipeline-name {} --filter pipelineExecutionId={execution_id}`",
            file.display(),
            pipeline.name
        ));
    }
    Ok(of_it)
}

/// Whether `a` started after `b`, where the records say.
fn later(a: &Option<Timestamp>, b: &Option<Timestamp>) -> bool {
    match (a, b) {
        (Some(Timestamp::Epoch(a)), Some(Timestamp::Epoch(b))) => a > b,
        // ISO 8601 times of one writer compare as text.
        (Some(Timestamp::Text(a)), Some(Timestamp::Text(b))) => a > b,
        _ => false,
    }
}

/// Puts the cloud's statuses beside this run's.
pub fn compare(
    pipeline: &Pipeline,
    cloud: &[ActionExecutionDetail],
    cloud_execution_id: &str,
    local: &ExecutionRecord,
) -> Comparison {
    let mut actions = Vec::new();
    for (stage, action) in pipeline.actions() {
        let mut last_cloud: Option<&ActionExecutionDetail> = None;
        for d in cloud
            .iter()
            .filter(|d| d.stage_name == stage.name && d.action_name == action.name)
        {
            if last_cloud.is_none_or(|l| later(&d.start_time, &l.start_time)) {
                last_cloud = Some(d);
            }
        }
        let local_status = local
            .action_executions
            .iter()
            .rev()
            .find(|a| a.stage_name == stage.name && a.action_name == action.name)
            .map(|a| a.status);
        let cloud_status = last_cloud.map(|d| d.status);
        if cloud_status.is_none() && local_status.is_none() {
            continue;
        }
        actions.push(ActionComparison {
            stage: stage.name.clone(),
            action: action.name.clone(),
            cloud: cloud_status,
            cloud_summary: last_cloud.and_then(|d| d.summary()).map(str::to_string),
            local: local_status,
            verdict: verdict(cloud_status, local_status),
        });
    }
    Comparison {
        cloud_execution_id: cloud_execution_id.to_string(),
        actions,
    }
}

fn verdict(cloud: Option<CloudActionStatus>, local: Option<ActionStatus>) -> Verdict {
    use CloudActionStatus as C;
    match (cloud, local) {
        (Some(C::Failed), Some(ActionStatus::Failed)) => Verdict::FailureReproduced,
        (Some(C::Failed), Some(ActionStatus::Succeeded)) => Verdict::FailureNotReproduced,
        (Some(C::Failed), _) => Verdict::FailureNotReached,
        (Some(C::Succeeded), Some(ActionStatus::Failed)) => Verdict::FailsOnlyHere,
        (Some(C::Succeeded), Some(ActionStatus::Succeeded))
        | (Some(C::Abandoned), Some(ActionStatus::Abandoned))
        | (Some(C::InProgress), Some(ActionStatus::InProgress)) => Verdict::Same,
        _ => Verdict::Differs,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verdicts() {
        use CloudActionStatus as C;
        assert_eq!(
            verdict(Some(C::Failed), Some(ActionStatus::Failed)),
            Verdict::FailureReproduced
        );
        assert_eq!(
            verdict(Some(C::Failed), Some(ActionStatus::Succeeded)),
            Verdict::FailureNotReproduced
        );
        assert_eq!(verdict(Some(C::Failed), None), Verdict::FailureNotReached);
        assert_eq!(
            verdict(Some(C::Succeeded), Some(ActionStatus::Failed)),
            Verdict::FailsOnlyHere
        );
        assert_eq!(
            verdict(Some(C::Succeeded), Some(ActionStatus::Succeeded)),
            Verdict::Same
        );
        assert_eq!(
            verdict(None, Some(ActionStatus::Succeeded)),
            Verdict::Differs
        );
    }
}
