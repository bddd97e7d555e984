//! Rules for a stage: its name, its actions, the first stage being sources
//! only, conditions and rollback.

use super::super::{
    Category, ConditionResult, Conditions, ExecutionMode, Pipeline, PipelineType, Stage,
};
use super::*;

impl<'p> Checker<'p> {
    pub(super) fn stage(&mut self, si: usize, stage: &'p Stage) {
        let path = Pipeline::stage_path(si);
        let name = Some(stage.name.as_str());
        if !is_name(&stage.name) {
            self.error(
                &Scope::new(path.key("name"), name, None),
                format!(
                    "stage name '{}' must be 1-100 characters of letters, digits and . @ - _",
                    stage.name
                ),
            );
        }
        if self.p.stages[..si].iter().any(|s| s.name == stage.name) {
            self.error(
                &Scope::new(path.key("name"), name, None),
                format!(
                    "stage name '{}' is used twice; stage names must be unique",
                    stage.name
                ),
            );
        }
        let n = stage.actions.len();
        if n == 0 {
            self.error(
                &Scope::new(path.key("actions"), name, None),
                "a stage needs at least one action",
            );
        } else if n > MAX_ACTIONS_PER_STAGE {
            self.error(
                &Scope::new(path.key("actions"), name, None),
                format!("stage has {n} actions, more than the maximum of {MAX_ACTIONS_PER_STAGE}"),
            );
        }
        if si == 0 {
            let non_source: Vec<&str> = stage
                .actions
                .iter()
                .filter(|a| a.action_type_id.category != Category::Source)
                .map(|a| a.name.as_str())
                .collect();
            if !non_source.is_empty() || stage.actions.is_empty() {
                self.error(
                    &Scope::new(path.clone(), name, None),
                    format!(
                        "Pipeline should start with a stage that only contains source actions{}",
                        if non_source.is_empty() {
                            String::new()
                        } else {
                            format!(" (not a source action: {})", non_source.join(", "))
                        }
                    ),
                );
            }
        }
        let v1 = self.p.pipeline_type() == PipelineType::V1;
        let blocks: [(&str, Option<&Conditions>); 2] = [
            ("beforeEntry", stage.before_entry.as_ref()),
            ("onSuccess", stage.on_success.as_ref()),
        ];
        for (key, block) in blocks {
            if let Some(block) = block {
                if v1 {
                    self.error(
                        &Scope::new(path.key(key), name, None),
                        format!(
                            "stage condition {key} requires pipelineType V2 (this pipeline is V1)"
                        ),
                    );
                }
                if block.conditions.len() != 1 {
                    self.error(
                        &Scope::new(path.key(key), name, None),
                        format!(
                            "{key} must have exactly 1 condition, found {}",
                            block.conditions.len()
                        ),
                    );
                }
            }
        }
        if let Some(f) = &stage.on_failure {
            let key = path.key("onFailure");
            if v1 {
                self.error(
                    &Scope::new(key.clone(), name, None),
                    "stage onFailure requires pipelineType V2 (this pipeline is V1)",
                );
            }
            if f.conditions.len() > 1 {
                self.error(
                    &Scope::new(key.clone(), name, None),
                    format!(
                        "onFailure may have at most 1 condition, found {}",
                        f.conditions.len()
                    ),
                );
            }
            let rollback = f.result == Some(ConditionResult::Rollback)
                || f.conditions
                    .iter()
                    .any(|c| c.result == Some(ConditionResult::Rollback));
            if rollback && self.p.execution_mode() == ExecutionMode::Parallel {
                self.error(
                    &Scope::new(key.clone(), name, None),
                    "ROLLBACK is not allowed in PARALLEL execution mode",
                );
            }
            if f.retry_configuration.is_some() && f.result != Some(ConditionResult::Retry) {
                self.warn(
                    &Scope::new(key.clone(), name, None),
                    "retryConfiguration has no effect unless result is RETRY",
                );
            }
        }
        // Rules run at the stage boundary: before entry only earlier stages' variables exist.
        let all_conditions = stage
            .before_entry
            .iter()
            .map(|c| ("beforeEntry", &c.conditions))
            .chain(
                stage
                    .on_success
                    .iter()
                    .map(|c| ("onSuccess", &c.conditions)),
            )
            .chain(
                stage
                    .on_failure
                    .iter()
                    .map(|c| ("onFailure", &c.conditions)),
            );
        for (key, conditions) in all_conditions {
            for (ci, cond) in conditions.iter().enumerate() {
                let cpath = path.key(key).key("conditions").index(ci);
                if !(1..=5).contains(&cond.rules.len()) {
                    self.error(
                        &Scope::new(cpath.clone(), name, None),
                        format!("a condition needs 1-5 rules, found {}", cond.rules.len()),
                    );
                }
                let run_order = if key == "beforeEntry" { 0 } else { i64::MAX };
                for (ri, rule) in cond.rules.iter().enumerate() {
                    let rpath = cpath.key("rules").index(ri);
                    for (k, v) in &rule.configuration {
                        self.check_references(
                            v,
                            &Scope::new(rpath.key("configuration").key(k), name, None),
                            si,
                            run_order,
                        );
                    }
                }
            }
        }
    }
}
