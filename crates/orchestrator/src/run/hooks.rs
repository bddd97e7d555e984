//! A stage's conditions at its hooks (beforeEntry, onSuccess, onFailure) and
//! what they lead to: an automatic retry or a rollback execution.

use super::*;

/// Evaluates a stage's conditions for `hook` and records them; the result of
/// the first condition not met, if any.
pub(super) fn check_conditions(
    shared: &Shared,
    stage: &str,
    hook: Hook,
) -> Result<Option<ConditionResult>, RunError> {
    let Some(declared) = shared.opts.pipeline.stages.iter().find(|s| s.name == stage) else {
        return Ok(None);
    };
    let conditions = match hook {
        Hook::BeforeEntry => declared.before_entry.as_ref().map(|c| &c.conditions),
        Hook::OnSuccess => declared.on_success.as_ref().map(|c| &c.conditions),
        Hook::OnFailure => declared.on_failure.as_ref().map(|c| &c.conditions),
    };
    let scope = Scope::of(shared);
    let mut failed = None;
    for condition in conditions.into_iter().flatten() {
        let outcome = evaluate(condition, |ns, key| scope.get(ns, key));
        let met = outcome.met;
        let record = ConditionRecord {
            stage_name: stage.to_string(),
            hook: hook.as_str().into(),
            status: if met { "Succeeded" } else { "Failed" }.into(),
            summary: outcome.summary(),
            rules: outcome.rules,
            time: epoch_now(),
        };
        shared.update(|r| r.conditions.push(record))?;
        if !met && failed.is_none() {
            let default = match hook {
                Hook::BeforeEntry | Hook::OnSuccess => ConditionResult::Fail,
                Hook::OnFailure => ConditionResult::Fail,
            };
            failed = Some(condition.result.unwrap_or(default));
        }
    }
    Ok(failed)
}

/// What `onFailure` asks for: its result when its conditions (if any) are all met.
pub(super) fn on_failure(
    shared: &Shared,
    stage: &Stage,
) -> Result<Option<(ConditionResult, RetryMode)>, RunError> {
    let Some(on) = &stage.on_failure else {
        return Ok(None);
    };
    if !on.conditions.is_empty()
        && check_conditions(shared, &stage.name, Hook::OnFailure)?.is_some()
    {
        return Ok(None);
    }
    let mode = match on.retry_configuration.as_ref().and_then(|c| c.retry_mode) {
        Some(pipelocal_model::pipeline::RetryMode::AllActions) => RetryMode::AllActions,
        _ => RetryMode::FailedActions,
    };
    // One automatic retry per stage and execution.
    let retried = shared
        .record
        .lock()
        .expect("record lock")
        .stage_retries
        .iter()
        .any(|r| r.stage_name == stage.name && r.trigger == "AutomatedStageRetry");
    Ok(match on.result {
        Some(ConditionResult::Retry) if retried => None,
        Some(result) => Some((result, mode)),
        None => None,
    })
}

/// ROLLBACK: a new execution of the stage with the artifacts and variables
/// of the last execution that succeeded in it (CodePipeline User Guide, "Configure stage rollback").
pub(super) async fn roll_back(
    shared: &Arc<Shared>,
    failed: &ExecutionRecord,
    stage: &str,
) -> Result<(), RunError> {
    let note = |text: String| shared.events.send(PipelineEventKind::Note(text));
    if shared
        .opts
        .pipeline
        .stages
        .first()
        .is_some_and(|s| s.name == stage)
    {
        note(format!(
            "UnableToRollbackStageException: stage {stage} is a source stage"
        ));
        return Ok(());
    }
    let target = shared
        .history
        .executions(&failed.pipeline_name)?
        .into_iter()
        // The target ran under the current structure, and is no rollback itself.
        .filter(|e| {
            e.pipeline_execution_id != failed.pipeline_execution_id
                && e.execution_type != "ROLLBACK"
                && e.same_structure(&failed.stage_names, &failed.stage_actions)
        })
        .find(|e| {
            e.stages
                .iter()
                .rev()
                .find(|s| s.stage_name == stage)
                .is_some_and(|s| s.status == StageStatus::Succeeded)
        });
    let Some(target) = target else {
        note(format!(
            "UnableToRollbackStageException: no earlier execution succeeded in stage {stage}"
        ));
        return Ok(());
    };
    let start = Start::Rollback {
        stage: stage.to_string(),
        target: Box::new(target),
    };
    Box::pin(run_pipeline(
        shared.opts.clone(),
        start,
        shared.events.clone(),
        shared.stop.clone(),
    ))
    .await
    .map(|_| ())
}

/// The moments a stage's conditions are checked.
#[derive(Debug, Clone, Copy)]
pub(super) enum Hook {
    BeforeEntry,
    OnSuccess,
    OnFailure,
}

impl Hook {
    fn as_str(self) -> &'static str {
        match self {
            Hook::BeforeEntry => "BEFORE_ENTRY",
            Hook::OnSuccess => "ON_SUCCESS",
            Hook::OnFailure => "ON_FAILURE",
        }
    }
}
