//! Rules for an action: names, run order, type, configuration values,
//! input artifacts, and the variables its configuration refers to.

use std::collections::HashSet;

use super::super::variables::references;
use super::super::{Action, Category, Owner, Pipeline, PipelineType, Stage};
use super::*;
use crate::locate::DocPath;
use crate::similar::closest;

impl<'p> Checker<'p> {
    pub(super) fn action(&mut self, si: usize, stage: &'p Stage, ai: usize, a: &'p Action) {
        let path = Pipeline::action_path(si, ai);
        let (sn, an) = (Some(stage.name.as_str()), Some(a.name.as_str()));
        let at = Scope::new(path.clone(), sn, an);
        let t = &a.action_type_id;
        if !is_name(&a.name) {
            self.error(
                &at.key("name"),
                format!(
                    "action name '{}' must be 1-100 characters of letters, digits and . @ - _",
                    a.name
                ),
            );
        }
        if stage.actions[..ai].iter().any(|o| o.name == a.name) {
            self.error(&at.key("name"), format!("action name '{}' is used twice in this stage; action names must be unique within a stage", a.name));
        }
        if !(1..=999).contains(&a.run_order) {
            self.error(
                &at.key("runOrder"),
                format!(
                    "runOrder {} is out of range: it must be a whole number from 1 to 999",
                    a.run_order
                ),
            );
        }
        if !is_action_version(&t.version) {
            self.error(
                &at.key("actionTypeId").key("version"),
                format!(
                    "actionTypeId version '{}' must be 1-9 characters of letters, digits, - and _",
                    t.version
                ),
            );
        }
        if si > 0 && t.category == Category::Source {
            self.error(
                &at.key("actionTypeId"),
                "source actions are allowed only in the first stage",
            );
        }
        let bounds = t.kind().artifact_bounds();
        if bounds.is_none() && t.owner != Owner::Custom {
            self.warn(&at.key("actionTypeId"), format!(
                "ActionType (Category: '{}', Provider: '{}', Owner: '{}', Version: '{}') is not one pipelocal knows; it will not be checked or run",
                t.category, t.provider, t.owner, t.version));
        }
        if let Some(b) = bounds {
            let (ins, outs) = (a.input_artifacts.len(), a.output_artifacts.len());
            if ins < b.min_inputs {
                self.error(&at.key("inputArtifacts"), format!("Action {} declares {ins} input artifacts which is less than the minimum count ({})", a.name, b.min_inputs));
            }
            if ins > b.max_inputs {
                self.error(&at.key("inputArtifacts"), format!("Action {} declares {ins} input artifacts which is greater than the maximum count ({})", a.name, b.max_inputs));
            }
            if outs < b.min_outputs {
                self.error(&at.key("outputArtifacts"), format!("Action {} declares {outs} output artifacts which is less than the minimum count ({})", a.name, b.min_outputs));
            }
            if outs > b.max_outputs {
                self.error(&at.key("outputArtifacts"), format!("Action {} declares {outs} output artifacts which is greater than the maximum count ({})", a.name, b.max_outputs));
            }
        }
        self.configuration(&at, a);
        self.compute_fields(&at, a);
        if let Some(ns) = &a.namespace {
            if !is_namespace(ns) {
                self.error(
                    &at.key("namespace"),
                    format!(
                        "namespace '{ns}' must be 1-100 characters of letters, digits and @ - _"
                    ),
                );
            }
            if ns == "codepipeline" || ns == "variables" {
                self.error(
                    &at.key("namespace"),
                    format!("namespace '{ns}' is reserved"),
                );
            }
            if self.artifacts.contains_key(ns.as_str()) {
                self.error(
                    &at.key("namespace"),
                    format!("namespace '{ns}' clashes with an artifact of the same name"),
                );
            }
        }
        if let Some(region) = &a.region {
            // get-pipeline output writes the home region on every action; only a
            // different region makes an action cross-region.
            let cross_region = self.home_region().is_some_and(|home| home != region);
            if cross_region
                && (matches!(t.owner, Owner::ThirdParty | Owner::Custom)
                    || t.category == Category::Source)
            {
                self.error(&at.key("region"), format!("source, ThirdParty and Custom actions cannot be cross-region (region '{region}', pipeline region '{}')", self.home_region().unwrap_or_default()));
            }
            if let Some(stores) = &self.p.artifact_stores {
                if !stores.contains_key(region) {
                    self.error(&at.key("region"), format!("artifactStores has no store for region '{region}', which this action runs in"));
                }
            }
        }
        if let Some(timeout) = a.timeout_in_minutes {
            if !(5..=86_400).contains(&timeout) {
                self.error(
                    &at.key("timeoutInMinutes"),
                    format!("timeoutInMinutes {timeout} is out of range 5-86400"),
                );
            }
        }
        for (oi, out) in a.output_artifacts.iter().enumerate() {
            if !is_artifact_name(&out.name) {
                self.error(&at.key("outputArtifacts").index(oi), format!("artifact name '{}' must be 1-100 characters of letters, digits, _ and - (no dots or spaces)", out.name));
            }
        }
        self.inputs(&at, si, a);
        self.provider_rules(&at, a);
        let mut texts: Vec<(DocPath, &str)> = a
            .configuration
            .iter()
            .map(|(k, v)| (path.key("configuration").key(k), v.as_str()))
            .collect();
        for (i, c) in a.commands.iter().flatten().enumerate() {
            texts.push((path.key("commands").index(i), c));
        }
        for (i, e) in a.environment_variables.iter().flatten().enumerate() {
            texts.push((path.key("environmentVariables").index(i), &e.value));
        }
        for (p, text) in texts {
            self.check_references(text, &Scope::new(p, sn, an), si, a.run_order);
        }
    }

    fn configuration(&mut self, at: &Scope, a: &Action) {
        let t = &a.action_type_id;
        for key in t.kind().required_configuration() {
            if !a.configuration.contains_key(*key) {
                self.error(
                    &at.key("configuration"),
                    format!(
                        "configuration is missing required key '{key}' for {} actions",
                        t.provider
                    ),
                );
            }
        }
        let known = t.kind().known_configuration();
        for (k, v) in &a.configuration {
            let kpath = at.key("configuration").key(k);
            if k.is_empty() || k.len() > 50 {
                self.error(
                    &kpath,
                    format!("configuration key '{k}' must be 1-50 characters"),
                );
            }
            if v.len() > CONFIG_VALUE_MAX {
                self.error(&kpath, format!("configuration value of '{k}' is {} characters, more than {CONFIG_VALUE_MAX}", v.len()));
            } else if v.len() > CONFIG_VALUE_WARN {
                self.warn(&kpath, format!("configuration value of '{k}' is {} characters; the documented limit is {CONFIG_VALUE_WARN}", v.len()));
            }
            if let Some(known) = known {
                if !known.contains(&k.as_str()) {
                    let hint = closest(k, known.iter().copied())
                        .map(|s| format!("; did you mean '{s}'?"))
                        .unwrap_or_default();
                    self.warn(
                        &kpath,
                        format!(
                            "configuration key '{k}' is not one {} actions take{hint}",
                            t.provider
                        ),
                    );
                }
            }
        }
    }

    fn compute_fields(&mut self, at: &Scope, a: &Action) {
        let compute = a.action_type_id.category == Category::Compute;
        let v1 = self.p.pipeline_type() == PipelineType::V1;
        if compute && v1 {
            self.error(
                &at.key("actionTypeId"),
                "Compute (Commands) actions require pipelineType V2 (this pipeline is V1)",
            );
        }
        match (&a.commands, compute) {
            (Some(_), false) => self.error(&at.key("commands"), format!("The following action cannot contain a commands field: {}. To use the commands field, use a compute action.", a.name)),
            (None, true) => self.error(at, format!("Action {} must have a non-empty commands field", a.name)),
            (Some(c), true) if c.is_empty() => self.error(&at.key("commands"), format!("Action {} must have a non-empty commands field", a.name)),
            (Some(c), true) => {
                if c.len() > 50 {
                    self.error(&at.key("commands"), format!("{} commands, more than the maximum of 50", c.len()));
                }
                for (i, cmd) in c.iter().enumerate() {
                    if cmd.contains('\n') {
                        self.error(&at.key("commands").index(i), "multi-line commands are not supported in a Commands action");
                    }
                }
            }
            _ => {}
        }
        if !compute {
            if a.output_artifacts.iter().any(|o| !o.files.is_empty()) {
                self.error(&at.key("outputArtifacts"), format!("The following action cannot contain a commands field: {}. To use the commands field, use a compute action. (output artifact `files` is only for compute actions)", a.name));
            }
            if a.output_variables.is_some() {
                self.error(
                    &at.key("outputVariables"),
                    "outputVariables is only for compute actions",
                );
            }
            if a.environment_variables.is_some() {
                self.error(
                    &at.key("environmentVariables"),
                    "environmentVariables is only for compute actions",
                );
            }
        }
    }

    fn inputs(&mut self, at: &Scope, si: usize, a: &Action) {
        for (ii, input) in a.input_artifacts.iter().enumerate() {
            let ipath = at.key("inputArtifacts").index(ii);
            match self.artifacts.get(input.name.as_str()) {
                Some(producer) if producer.runs_before(si, a.run_order) => {}
                Some(producer) => {
                    let msg = format!("'{}' is not previously defined as an 'OutputArtifact': it is produced by {}, which does not run before this action", input.name, producer.describe());
                    self.error(&ipath, msg);
                }
                None => {
                    let hint = closest(&input.name, self.artifacts.keys().copied())
                        .map(|s| format!("; did you mean '{s}'?"))
                        .unwrap_or_default();
                    self.error(&ipath, format!("'{}' is not previously defined as an 'OutputArtifact': no action produces it{hint}", input.name));
                }
            }
        }
        let mut seen = HashSet::new();
        for (ii, input) in a.input_artifacts.iter().enumerate() {
            if !seen.insert(input.name.as_str()) {
                self.error(
                    &at.key("inputArtifacts").index(ii),
                    format!("input artifact '{}' is listed twice", input.name),
                );
            }
        }
    }

    /// `#{ns.key}` must name `codepipeline`, a declared pipeline variable, or a
    /// namespace of an action that is sure to have run before.
    pub(super) fn check_references(&mut self, text: &str, at: &Scope, si: usize, run_order: i64) {
        for r in references(text) {
            let shown = format!("#{{{}.{}}}", r.namespace, r.key);
            match r.namespace.as_str() {
                "codepipeline" => {
                    if r.key != "PipelineExecutionId" {
                        self.warn(at, format!("{shown}: the only documented codepipeline variable is PipelineExecutionId"));
                    }
                }
                "variables" => {
                    if !self.p.variables.iter().any(|v| v.name == r.key) {
                        let hint =
                            closest(&r.key, self.p.variables.iter().map(|v| v.name.as_str()))
                                .map(|s| format!("; did you mean '{s}'?"))
                                .unwrap_or_default();
                        self.error(at, format!("{shown} refers to pipeline variable '{}', which is not declared{hint}", r.key));
                    }
                }
                ns => match self.namespaces.get(ns) {
                    Some(producer) if producer.runs_before(si, run_order) => {}
                    Some(producer) => {
                        let msg = format!("{shown} refers to namespace '{ns}' of {}, which does not run before this action", producer.describe());
                        self.error(at, msg);
                    }
                    None => {
                        let hint = closest(ns, self.namespaces.keys().copied())
                            .map(|s| format!("; did you mean '{s}'?"))
                            .unwrap_or_default();
                        self.error(at, format!("{shown} refers to namespace '{ns}', which no action declares{hint}"));
                    }
                },
            }
        }
    }
}
