//! Rules for the pipeline as a whole: its name, type, artifact stores,
//! variables, triggers, execution mode; and who produces each artifact and
//! namespace, for the later checks.

use std::collections::HashSet;

use super::super::{ExecutionMode, Pipeline, PipelineType, Provider};
use super::*;
use crate::locate::DocPath;

impl<'p> Checker<'p> {
    pub(super) fn pipeline_level(&mut self) {
        let p = self.p;
        let root = DocPath::root();
        if !is_name(&p.name) {
            self.error(
                &Scope::new(root.key("name"), None, None),
                format!(
                    "pipeline name '{}' must be 1-100 characters of letters, digits and . @ - _",
                    p.name
                ),
            );
        }
        match (&p.artifact_store, &p.artifact_stores) {
            (Some(_), Some(_)) => self.error(
                &Scope::new(root.key("artifactStores"), None, None),
                "specify either artifactStore or artifactStores, not both",
            ),
            (None, None) => self.error(
                &Scope::new(root.clone(), None, None),
                "the pipeline has no artifactStore (or artifactStores)",
            ),
            _ => {}
        }
        if let Some(store) = &p.artifact_store {
            if store.store_type != "S3" {
                self.error(
                    &Scope::new(root.key("artifactStore").key("type"), None, None),
                    format!(
                        "artifact store type '{}' is not supported: only S3",
                        store.store_type
                    ),
                );
            }
        }
        let n = p.stages.len();
        if n < 2 {
            self.error(&Scope::new(root.key("stages"), None, None), format!(
                "Pipeline has only {n} stage(s). There should be a minimum of 2 stages in a pipeline"));
        } else if n > MAX_STAGES {
            self.error(
                &Scope::new(root.key("stages"), None, None),
                format!("Pipeline has {n} stages, more than the maximum of {MAX_STAGES}"),
            );
        }
        let total: usize = p.stages.iter().map(|s| s.actions.len()).sum();
        if total > MAX_ACTIONS {
            self.error(
                &Scope::new(root.key("stages"), None, None),
                format!("Pipeline has {total} actions, more than the maximum of {MAX_ACTIONS}"),
            );
        }
        let v1 = p.pipeline_type() == PipelineType::V1;
        let needs_v2 =
            |what: &str| format!("{what} requires pipelineType V2 (this pipeline is V1)");
        if v1
            && matches!(
                p.execution_mode(),
                ExecutionMode::Queued | ExecutionMode::Parallel
            )
        {
            self.error(
                &Scope::new(root.key("executionMode"), None, None),
                needs_v2(&format!("executionMode {}", p.execution_mode().as_str())),
            );
        }
        if v1 && !p.triggers.is_empty() {
            self.error(
                &Scope::new(root.key("triggers"), None, None),
                needs_v2("triggers"),
            );
        }
        if v1 && !p.variables.is_empty() {
            self.error(
                &Scope::new(root.key("variables"), None, None),
                needs_v2("pipeline variables"),
            );
        }
        let mut seen = HashSet::new();
        for (i, var) in p.variables.iter().enumerate() {
            let path = root.key("variables").index(i);
            let valid = (1..=128).contains(&var.name.len())
                && var
                    .name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "@-_".contains(c));
            if !valid {
                self.error(
                    &Scope::new(path.clone(), None, None),
                    format!(
                        "variable name '{}' must be 1-128 characters of letters, digits and @ - _",
                        var.name
                    ),
                );
            }
            if !seen.insert(var.name.as_str()) {
                self.error(
                    &Scope::new(path.clone(), None, None),
                    format!("variable '{}' is declared twice", var.name),
                );
            }
            if var
                .default_value
                .as_deref()
                .is_some_and(|d| d.is_empty() || d.len() > 1000)
            {
                self.error(
                    &Scope::new(path.clone(), None, None),
                    "a variable's defaultValue must be 1-1000 characters",
                );
            }
        }
        for (i, trigger) in p.triggers.iter().enumerate() {
            let path = root.key("triggers").index(i);
            if trigger.provider_type != "CodeStarSourceConnection" {
                self.error(
                    &Scope::new(path.clone(), None, None),
                    format!(
                        "trigger providerType '{}' is not supported: only CodeStarSourceConnection",
                        trigger.provider_type
                    ),
                );
            }
            if let Some(git) = &trigger.git_configuration {
                let source = p
                    .stages
                    .first()
                    .and_then(|s| s.actions.iter().find(|a| a.name == git.source_action_name));
                match source {
                    Some(a) if a.action_type_id.kind() == Provider::CodeStarSourceConnection => {}
                    Some(_) => self.error(&Scope::new(path.clone(), None, None), format!(
                        "trigger names source action '{}', which is not a CodeStarSourceConnection action",
                        git.source_action_name)),
                    None => self.error(&Scope::new(path.clone(), None, None), format!(
                        "trigger names source action '{}', which is not in the first stage",
                        git.source_action_name)),
                }
            }
        }
        for (i, t) in p.disable_inbound_stage_transitions.iter().enumerate() {
            if !p.stages.iter().any(|s| s.name == t.stage_name) {
                self.error(
                    &Scope::new(
                        root.key("disableInboundStageTransitions").index(i),
                        None,
                        None,
                    ),
                    format!(
                        "disabled transition names stage '{}', which does not exist",
                        t.stage_name
                    ),
                );
            }
        }
    }

    /// The pipeline's own region as the file states it: source actions run
    /// there, so the region a source action names is the home region.
    pub(super) fn home_region(&self) -> Option<&'p str> {
        self.p
            .stages
            .first()?
            .actions
            .iter()
            .find_map(|a| a.region.as_deref())
    }

    pub(super) fn collect_producers(&mut self) {
        let p = self.p;
        for (si, stage) in p.stages.iter().enumerate() {
            for (ai, action) in stage.actions.iter().enumerate() {
                let path = Pipeline::action_path(si, ai);
                let producer = || Producer {
                    stage: si,
                    run_order: action.run_order,
                    stage_name: &stage.name,
                    action_name: &action.name,
                };
                for (oi, out) in action.output_artifacts.iter().enumerate() {
                    if let Some(first) = self.artifacts.get(out.name.as_str()) {
                        let msg = format!("'{}' is already a defined 'OutputArtifact' Name (by {}); output artifact names must be unique in the pipeline", out.name, first.describe());
                        self.error(
                            &Scope::new(
                                path.key("outputArtifacts").index(oi),
                                Some(&stage.name),
                                Some(&action.name),
                            ),
                            msg,
                        );
                    } else {
                        self.artifacts.insert(&out.name, producer());
                    }
                }
                if let Some(ns) = &action.namespace {
                    if let Some(first) = self.namespaces.get(ns.as_str()) {
                        let msg = format!("namespace '{ns}' is already used by {}; namespaces must be unique in the pipeline", first.describe());
                        self.error(
                            &Scope::new(
                                path.key("namespace"),
                                Some(&stage.name),
                                Some(&action.name),
                            ),
                            msg,
                        );
                    } else {
                        self.namespaces.insert(ns, producer());
                    }
                }
            }
        }
    }
}
