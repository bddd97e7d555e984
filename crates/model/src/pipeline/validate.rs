//! CodePipeline's structural rules (CodePipeline User Guide, "CodePipeline pipeline structure reference") plus the static checks
//! that catch what would only fail mid-run: dangling artifacts, variables from
//! namespaces that do not exist or come later.

use std::collections::{BTreeMap, HashMap, HashSet};

use super::providers::{artifact_bounds, known_configuration, required_configuration};
use super::variables::references;
use super::{
    Action, Category, ConditionResult, Conditions, ExecutionMode, Owner, Pipeline, PipelineType,
    Stage,
};
use crate::locate::DocPath;
use crate::problem::{Place, Problem};
use crate::similar::closest;

const MAX_STAGES: usize = 50;
const MAX_ACTIONS_PER_STAGE: usize = 50;
const MAX_ACTIONS: usize = 500;
const CONFIG_VALUE_WARN: usize = 1000;
const CONFIG_VALUE_MAX: usize = 50_000;

fn is_name(s: &str) -> bool {
    (1..=100).contains(&s.len())
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || ".@-_".contains(c))
}

fn is_artifact_name(s: &str) -> bool {
    (1..=100).contains(&s.len())
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "_-".contains(c))
}

fn is_namespace(s: &str) -> bool {
    (1..=100).contains(&s.len())
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "@-_".contains(c))
}

/// ActionTypeId's version (CodePipeline API reference, ActionTypeId):
/// 1-9 characters matching `[0-9A-Za-z_-]+`.
fn is_action_version(s: &str) -> bool {
    (1..=9).contains(&s.len())
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "_-".contains(c))
}

fn is_identifier(s: &str) -> bool {
    !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Where each artifact and namespace is produced.
struct Producer<'p> {
    stage: usize,
    run_order: i64,
    stage_name: &'p str,
    action_name: &'p str,
}

impl Producer<'_> {
    fn runs_before(&self, stage: usize, run_order: i64) -> bool {
        self.stage < stage || (self.stage == stage && self.run_order < run_order)
    }

    fn describe(&self) -> String {
        format!(
            "action '{}' in stage '{}'",
            self.action_name, self.stage_name
        )
    }
}

struct Checker<'p> {
    p: &'p Pipeline,
    problems: Vec<Problem>,
    artifacts: HashMap<&'p str, Producer<'p>>,
    namespaces: HashMap<&'p str, Producer<'p>>,
}

/// Every problem with the pipeline, errors and warnings, in declaration order.
pub fn validate(p: &Pipeline) -> Vec<Problem> {
    let mut c = Checker {
        p,
        problems: Vec::new(),
        artifacts: HashMap::new(),
        namespaces: HashMap::new(),
    };
    c.pipeline_level();
    c.collect_producers();
    for (si, stage) in p.stages.iter().enumerate() {
        c.stage(si, stage);
        for (ai, action) in stage.actions.iter().enumerate() {
            c.action(si, stage, ai, action);
        }
    }
    c.problems
}

impl<'p> Checker<'p> {
    fn place(&self, path: &DocPath, stage: Option<&str>, action: Option<&str>) -> Place {
        let mut place = self.p.origin.place(path);
        place.stage = stage.map(String::from);
        place.action = action.map(String::from);
        place
    }

    fn error(
        &mut self,
        path: &DocPath,
        stage: Option<&str>,
        action: Option<&str>,
        msg: impl Into<String>,
    ) {
        let place = self.place(path, stage, action);
        self.problems.push(Problem::error(place, msg));
    }

    fn warn(
        &mut self,
        path: &DocPath,
        stage: Option<&str>,
        action: Option<&str>,
        msg: impl Into<String>,
    ) {
        let place = self.place(path, stage, action);
        self.problems.push(Problem::warning(place, msg));
    }

    fn pipeline_level(&mut self) {
        let p = self.p;
        let root = DocPath::root();
        if !is_name(&p.name) {
            self.error(
                &root.key("name"),
                None,
                None,
                format!(
                    "pipeline name '{}' must be 1-100 characters of letters, digits and . @ - _",
                    p.name
                ),
            );
        }
        match (&p.artifact_store, &p.artifact_stores) {
            (Some(_), Some(_)) => self.error(
                &root.key("artifactStores"),
                None,
                None,
                "specify either artifactStore or artifactStores, not both",
            ),
            (None, None) => self.error(
                &root,
                None,
                None,
                "the pipeline has no artifactStore (or artifactStores)",
            ),
            _ => {}
        }
        if let Some(store) = &p.artifact_store {
            if store.store_type != "S3" {
                self.error(
                    &root.key("artifactStore").key("type"),
                    None,
                    None,
                    format!(
                        "artifact store type '{}' is not supported: only S3",
                        store.store_type
                    ),
                );
            }
        }
        let n = p.stages.len();
        if n < 2 {
            self.error(&root.key("stages"), None, None, format!(
                "Pipeline has only {n} stage(s). There should be a minimum of 2 stages in a pipeline"));
        } else if n > MAX_STAGES {
            self.error(
                &root.key("stages"),
                None,
                None,
                format!("Pipeline has {n} stages, more than the maximum of {MAX_STAGES}"),
            );
        }
        let total: usize = p.stages.iter().map(|s| s.actions.len()).sum();
        if total > MAX_ACTIONS {
            self.error(
                &root.key("stages"),
                None,
                None,
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
                &root.key("executionMode"),
                None,
                None,
                needs_v2(&format!("executionMode {}", p.execution_mode().as_str())),
            );
        }
        if v1 && !p.triggers.is_empty() {
            self.error(&root.key("triggers"), None, None, needs_v2("triggers"));
        }
        if v1 && !p.variables.is_empty() {
            self.error(
                &root.key("variables"),
                None,
                None,
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
                    &path,
                    None,
                    None,
                    format!(
                        "variable name '{}' must be 1-128 characters of letters, digits and @ - _",
                        var.name
                    ),
                );
            }
            if !seen.insert(var.name.as_str()) {
                self.error(
                    &path,
                    None,
                    None,
                    format!("variable '{}' is declared twice", var.name),
                );
            }
            if var
                .default_value
                .as_deref()
                .is_some_and(|d| d.is_empty() || d.len() > 1000)
            {
                self.error(
                    &path,
                    None,
                    None,
                    "a variable's defaultValue must be 1-1000 characters",
                );
            }
        }
        for (i, trigger) in p.triggers.iter().enumerate() {
            let path = root.key("triggers").index(i);
            if trigger.provider_type != "CodeStarSourceConnection" {
                self.error(
                    &path,
                    None,
                    None,
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
                    Some(a) if a.action_type_id.is(Owner::Aws, "CodeStarSourceConnection") => {}
                    Some(_) => self.error(&path, None, None, format!(
                        "trigger names source action '{}', which is not a CodeStarSourceConnection action",
                        git.source_action_name)),
                    None => self.error(&path, None, None, format!(
                        "trigger names source action '{}', which is not in the first stage",
                        git.source_action_name)),
                }
            }
        }
        for (i, t) in p.disable_inbound_stage_transitions.iter().enumerate() {
            if !p.stages.iter().any(|s| s.name == t.stage_name) {
                self.error(
                    &root.key("disableInboundStageTransitions").index(i),
                    None,
                    None,
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
    fn home_region(&self) -> Option<&'p str> {
        self.p
            .stages
            .first()?
            .actions
            .iter()
            .find_map(|a| a.region.as_deref())
    }

    fn collect_producers(&mut self) {
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
                            &path.key("outputArtifacts").index(oi),
                            Some(&stage.name),
                            Some(&action.name),
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
                            &path.key("namespace"),
                            Some(&stage.name),
                            Some(&action.name),
                            msg,
                        );
                    } else {
                        self.namespaces.insert(ns, producer());
                    }
                }
            }
        }
    }

    fn stage(&mut self, si: usize, stage: &'p Stage) {
        let path = Pipeline::stage_path(si);
        let name = Some(stage.name.as_str());
        if !is_name(&stage.name) {
            self.error(
                &path.key("name"),
                name,
                None,
                format!(
                    "stage name '{}' must be 1-100 characters of letters, digits and . @ - _",
                    stage.name
                ),
            );
        }
        if self.p.stages[..si].iter().any(|s| s.name == stage.name) {
            self.error(
                &path.key("name"),
                name,
                None,
                format!(
                    "stage name '{}' is used twice; stage names must be unique",
                    stage.name
                ),
            );
        }
        let n = stage.actions.len();
        if n == 0 {
            self.error(
                &path.key("actions"),
                name,
                None,
                "a stage needs at least one action",
            );
        } else if n > MAX_ACTIONS_PER_STAGE {
            self.error(
                &path.key("actions"),
                name,
                None,
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
                    &path,
                    name,
                    None,
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
                        &path.key(key),
                        name,
                        None,
                        format!(
                            "stage condition {key} requires pipelineType V2 (this pipeline is V1)"
                        ),
                    );
                }
                if block.conditions.len() != 1 {
                    self.error(
                        &path.key(key),
                        name,
                        None,
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
                    &key,
                    name,
                    None,
                    "stage onFailure requires pipelineType V2 (this pipeline is V1)",
                );
            }
            if f.conditions.len() > 1 {
                self.error(
                    &key,
                    name,
                    None,
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
                    &key,
                    name,
                    None,
                    "ROLLBACK is not allowed in PARALLEL execution mode",
                );
            }
            if f.retry_configuration.is_some() && f.result != Some(ConditionResult::Retry) {
                self.warn(
                    &key,
                    name,
                    None,
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
                        &cpath,
                        name,
                        None,
                        format!("a condition needs 1-5 rules, found {}", cond.rules.len()),
                    );
                }
                let run_order = if key == "beforeEntry" { 0 } else { i64::MAX };
                for (ri, rule) in cond.rules.iter().enumerate() {
                    let rpath = cpath.key("rules").index(ri);
                    for (k, v) in &rule.configuration {
                        self.check_references(
                            v,
                            &rpath.key("configuration").key(k),
                            si,
                            run_order,
                            name,
                            None,
                        );
                    }
                }
            }
        }
    }

    fn action(&mut self, si: usize, stage: &'p Stage, ai: usize, a: &'p Action) {
        let path = Pipeline::action_path(si, ai);
        let (sn, an) = (Some(stage.name.as_str()), Some(a.name.as_str()));
        let t = &a.action_type_id;
        if !is_name(&a.name) {
            self.error(
                &path.key("name"),
                sn,
                an,
                format!(
                    "action name '{}' must be 1-100 characters of letters, digits and . @ - _",
                    a.name
                ),
            );
        }
        if stage.actions[..ai].iter().any(|o| o.name == a.name) {
            self.error(&path.key("name"), sn, an, format!("action name '{}' is used twice in this stage; action names must be unique within a stage", a.name));
        }
        if !(1..=999).contains(&a.run_order) {
            self.error(
                &path.key("runOrder"),
                sn,
                an,
                format!(
                    "runOrder {} is out of range: it must be a whole number from 1 to 999",
                    a.run_order
                ),
            );
        }
        if !is_action_version(&t.version) {
            self.error(
                &path.key("actionTypeId").key("version"),
                sn,
                an,
                format!(
                    "actionTypeId version '{}' must be 1-9 characters of letters, digits, - and _",
                    t.version
                ),
            );
        }
        if si > 0 && t.category == Category::Source {
            self.error(
                &path.key("actionTypeId"),
                sn,
                an,
                "source actions are allowed only in the first stage",
            );
        }
        let bounds = artifact_bounds(t);
        if bounds.is_none() && t.owner != Owner::Custom {
            self.warn(&path.key("actionTypeId"), sn, an, format!(
                "ActionType (Category: '{}', Provider: '{}', Owner: '{}', Version: '{}') is not one pipelocal knows; it will not be checked or run",
                t.category, t.provider, t.owner, t.version));
        }
        if let Some(b) = bounds {
            let (ins, outs) = (a.input_artifacts.len(), a.output_artifacts.len());
            if ins < b.min_inputs {
                self.error(&path.key("inputArtifacts"), sn, an, format!("Action {} declares {ins} input artifacts which is less than the minimum count ({})", a.name, b.min_inputs));
            }
            if ins > b.max_inputs {
                self.error(&path.key("inputArtifacts"), sn, an, format!("Action {} declares {ins} input artifacts which is greater than the maximum count ({})", a.name, b.max_inputs));
            }
            if outs < b.min_outputs {
                self.error(&path.key("outputArtifacts"), sn, an, format!("Action {} declares {outs} output artifacts which is less than the minimum count ({})", a.name, b.min_outputs));
            }
            if outs > b.max_outputs {
                self.error(&path.key("outputArtifacts"), sn, an, format!("Action {} declares {outs} output artifacts which is greater than the maximum count ({})", a.name, b.max_outputs));
            }
        }
        self.configuration(&path, sn, an, a);
        self.compute_fields(&path, sn, an, a);
        if let Some(ns) = &a.namespace {
            if !is_namespace(ns) {
                self.error(
                    &path.key("namespace"),
                    sn,
                    an,
                    format!(
                        "namespace '{ns}' must be 1-100 characters of letters, digits and @ - _"
                    ),
                );
            }
            if ns == "codepipeline" || ns == "variables" {
                self.error(
                    &path.key("namespace"),
                    sn,
                    an,
                    format!("namespace '{ns}' is reserved"),
                );
            }
            if self.artifacts.contains_key(ns.as_str()) {
                self.error(
                    &path.key("namespace"),
                    sn,
                    an,
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
                self.error(&path.key("region"), sn, an, format!("source, ThirdParty and Custom actions cannot be cross-region (region '{region}', pipeline region '{}')", self.home_region().unwrap_or_default()));
            }
            if let Some(stores) = &self.p.artifact_stores {
                if !stores.contains_key(region) {
                    self.error(&path.key("region"), sn, an, format!("artifactStores has no store for region '{region}', which this action runs in"));
                }
            }
        }
        if let Some(timeout) = a.timeout_in_minutes {
            if !(5..=86_400).contains(&timeout) {
                self.error(
                    &path.key("timeoutInMinutes"),
                    sn,
                    an,
                    format!("timeoutInMinutes {timeout} is out of range 5-86400"),
                );
            }
        }
        for (oi, out) in a.output_artifacts.iter().enumerate() {
            if !is_artifact_name(&out.name) {
                self.error(&path.key("outputArtifacts").index(oi), sn, an, format!("artifact name '{}' must be 1-100 characters of letters, digits, _ and - (no dots or spaces)", out.name));
            }
        }
        self.inputs(&path, si, sn, an, a);
        self.provider_rules(&path, sn, an, a);
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
            self.check_references(text, &p, si, a.run_order, sn, an);
        }
    }

    fn configuration(&mut self, path: &DocPath, sn: Option<&str>, an: Option<&str>, a: &Action) {
        let t = &a.action_type_id;
        for key in required_configuration(t) {
            if !a.configuration.contains_key(*key) {
                self.error(
                    &path.key("configuration"),
                    sn,
                    an,
                    format!(
                        "configuration is missing required key '{key}' for {} actions",
                        t.provider
                    ),
                );
            }
        }
        let known = known_configuration(t);
        for (k, v) in &a.configuration {
            let kpath = path.key("configuration").key(k);
            if k.is_empty() || k.len() > 50 {
                self.error(
                    &kpath,
                    sn,
                    an,
                    format!("configuration key '{k}' must be 1-50 characters"),
                );
            }
            if v.len() > CONFIG_VALUE_MAX {
                self.error(&kpath, sn, an, format!("configuration value of '{k}' is {} characters, more than {CONFIG_VALUE_MAX}", v.len()));
            } else if v.len() > CONFIG_VALUE_WARN {
                self.warn(&kpath, sn, an, format!("configuration value of '{k}' is {} characters; the documented limit is {CONFIG_VALUE_WARN}", v.len()));
            }
            if let Some(known) = known {
                if !known.contains(&k.as_str()) {
                    let hint = closest(k, known.iter().copied())
                        .map(|s| format!("; did you mean '{s}'?"))
                        .unwrap_or_default();
                    self.warn(
                        &kpath,
                        sn,
                        an,
                        format!(
                            "configuration key '{k}' is not one {} actions take{hint}",
                            t.provider
                        ),
                    );
                }
            }
        }
    }

    fn compute_fields(&mut self, path: &DocPath, sn: Option<&str>, an: Option<&str>, a: &Action) {
        let compute = a.action_type_id.category == Category::Compute;
        let v1 = self.p.pipeline_type() == PipelineType::V1;
        if compute && v1 {
            self.error(
                &path.key("actionTypeId"),
                sn,
                an,
                "Compute (Commands) actions require pipelineType V2 (this pipeline is V1)",
            );
        }
        match (&a.commands, compute) {
            (Some(_), false) => self.error(&path.key("commands"), sn, an, format!("The following action cannot contain a commands field: {}. To use the commands field, use a compute action.", a.name)),
            (None, true) => self.error(path, sn, an, format!("Action {} must have a non-empty commands field", a.name)),
            (Some(c), true) if c.is_empty() => self.error(&path.key("commands"), sn, an, format!("Action {} must have a non-empty commands field", a.name)),
            (Some(c), true) => {
                if c.len() > 50 {
                    self.error(&path.key("commands"), sn, an, format!("{} commands, more than the maximum of 50", c.len()));
                }
                for (i, cmd) in c.iter().enumerate() {
                    if cmd.contains('\n') {
                        self.error(&path.key("commands").index(i), sn, an, "multi-line commands are not supported in a Commands action");
                    }
                }
            }
            _ => {}
        }
        if !compute {
            if a.output_artifacts.iter().any(|o| !o.files.is_empty()) {
                self.error(&path.key("outputArtifacts"), sn, an, format!("The following action cannot contain a commands field: {}. To use the commands field, use a compute action. (output artifact `files` is only for compute actions)", a.name));
            }
            if a.output_variables.is_some() {
                self.error(
                    &path.key("outputVariables"),
                    sn,
                    an,
                    "outputVariables is only for compute actions",
                );
            }
            if a.environment_variables.is_some() {
                self.error(
                    &path.key("environmentVariables"),
                    sn,
                    an,
                    "environmentVariables is only for compute actions",
                );
            }
        }
    }

    fn inputs(
        &mut self,
        path: &DocPath,
        si: usize,
        sn: Option<&str>,
        an: Option<&str>,
        a: &Action,
    ) {
        for (ii, input) in a.input_artifacts.iter().enumerate() {
            let ipath = path.key("inputArtifacts").index(ii);
            match self.artifacts.get(input.name.as_str()) {
                Some(producer) if producer.runs_before(si, a.run_order) => {}
                Some(producer) => {
                    let msg = format!("'{}' is not previously defined as an 'OutputArtifact': it is produced by {}, which does not run before this action", input.name, producer.describe());
                    self.error(&ipath, sn, an, msg);
                }
                None => {
                    let hint = closest(&input.name, self.artifacts.keys().copied())
                        .map(|s| format!("; did you mean '{s}'?"))
                        .unwrap_or_default();
                    self.error(&ipath, sn, an, format!("'{}' is not previously defined as an 'OutputArtifact': no action produces it{hint}", input.name));
                }
            }
        }
        let mut seen = HashSet::new();
        for (ii, input) in a.input_artifacts.iter().enumerate() {
            if !seen.insert(input.name.as_str()) {
                self.error(
                    &path.key("inputArtifacts").index(ii),
                    sn,
                    an,
                    format!("input artifact '{}' is listed twice", input.name),
                );
            }
        }
    }

    fn provider_rules(&mut self, path: &DocPath, sn: Option<&str>, an: Option<&str>, a: &Action) {
        let t = &a.action_type_id;
        let cpath = |k: &str| path.key("configuration").key(k);
        let inputs: Vec<&str> = a.inputs().collect();
        if t.is(Owner::Aws, "CodeBuild") {
            match a.config("PrimarySource") {
                Some(primary) if !inputs.contains(&primary) => self.error(&cpath("PrimarySource"), sn, an, format!(
                    "PrimarySource '{primary}' is not one of this action's input artifacts ({})", inputs.join(", "))),
                None if inputs.len() > 1 => self.error(&path.key("configuration"), sn, an, format!(
                    "this CodeBuild action has {} input artifacts, so configuration must name one of them as PrimarySource", inputs.len())),
                _ => {}
            }
            if a.output_artifacts.len() > 1 {
                for (oi, out) in a.output_artifacts.iter().enumerate() {
                    if !is_identifier(&out.name) {
                        self.error(&path.key("outputArtifacts").index(oi), sn, an, format!(
                            "output artifact '{}' becomes a CodeBuild secondary artifact identifier (the action has several outputs), which allows only letters, digits and _", out.name));
                    }
                }
            }
            if let Some(env) = a.config("EnvironmentVariables") {
                if let Err(e) =
                    serde_json::from_str::<Vec<BTreeMap<String, serde_json::Value>>>(env)
                {
                    self.error(&cpath("EnvironmentVariables"), sn, an, format!("EnvironmentVariables is not a JSON list of {{name, value, type}} objects: {e}"));
                }
            }
        }
        if t.is(Owner::Aws, "CloudFormation") {
            let mode = a.config("ActionMode").unwrap_or_default();
            const MODES: &[&str] = &[
                "CREATE_UPDATE",
                "REPLACE_ON_FAILURE",
                "DELETE_ONLY",
                "CHANGE_SET_REPLACE",
                "CHANGE_SET_EXECUTE",
            ];
            if !mode.is_empty() && !MODES.contains(&mode) {
                self.error(
                    &cpath("ActionMode"),
                    sn,
                    an,
                    format!("ActionMode '{mode}' is not one of {}", MODES.join(", ")),
                );
            }
            if mode.starts_with("CHANGE_SET") && a.config("ChangeSetName").is_none() {
                self.error(
                    &path.key("configuration"),
                    sn,
                    an,
                    format!("ActionMode {mode} needs ChangeSetName"),
                );
            }
            if ["CREATE_UPDATE", "REPLACE_ON_FAILURE", "CHANGE_SET_REPLACE"].contains(&mode)
                && a.config("TemplatePath").is_none()
            {
                self.error(
                    &path.key("configuration"),
                    sn,
                    an,
                    format!("ActionMode {mode} needs TemplatePath"),
                );
            }
            for key in ["TemplatePath", "TemplateConfiguration"] {
                if let Some(value) = a.config(key) {
                    match value.split_once("::") {
                        Some((artifact, file)) if !file.is_empty() => {
                            if !inputs.contains(&artifact) {
                                self.error(&cpath(key), sn, an, format!("{key} '{value}' names artifact '{artifact}', which is not an input artifact of this action"));
                            }
                        }
                        _ => self.error(
                            &cpath(key),
                            sn,
                            an,
                            format!(
                                "{key} '{value}' must have the form ArtifactName::path/in/artifact"
                            ),
                        ),
                    }
                }
            }
        }
        if t.is(Owner::Aws, "S3") && t.category == Category::Deploy {
            match a.config("Extract").map(str::to_ascii_lowercase).as_deref() {
                Some("true") | None => {}
                Some("false") => {
                    if a.config("ObjectKey").is_none() {
                        self.error(
                            &path.key("configuration"),
                            sn,
                            an,
                            "Extract is false, so ObjectKey is required",
                        );
                    }
                }
                Some(other) => self.error(
                    &cpath("Extract"),
                    sn,
                    an,
                    format!("Extract must be true or false, not '{other}'"),
                ),
            }
        }
        if t.is(Owner::Aws, "CodeDeployToECS") {
            let keys = [
                "TaskDefinitionTemplateArtifact",
                "AppSpecTemplateArtifact",
                "Image1ArtifactName",
                "Image2ArtifactName",
                "Image3ArtifactName",
                "Image4ArtifactName",
            ];
            for key in keys {
                if let Some(artifact) = a.config(key) {
                    if !inputs.contains(&artifact) {
                        self.error(&cpath(key), sn, an, format!("{key} names '{artifact}', which is not an input artifact of this action"));
                    }
                }
            }
        }
        if t.is(Owner::Aws, "Manual") {
            if let Some(link) = a.config("ExternalEntityLink") {
                if !(link.starts_with("http://")
                    || link.starts_with("https://")
                    || link.contains("#{"))
                {
                    self.warn(
                        &cpath("ExternalEntityLink"),
                        sn,
                        an,
                        format!("ExternalEntityLink '{link}' is not an http(s) URL"),
                    );
                }
            }
        }
    }

    /// `#{ns.key}` must name `codepipeline`, a declared pipeline variable, or a
    /// namespace of an action that is sure to have run before.
    fn check_references(
        &mut self,
        text: &str,
        path: &DocPath,
        si: usize,
        run_order: i64,
        sn: Option<&str>,
        an: Option<&str>,
    ) {
        for r in references(text) {
            let shown = format!("#{{{}.{}}}", r.namespace, r.key);
            match r.namespace.as_str() {
                "codepipeline" => {
                    if r.key != "PipelineExecutionId" {
                        self.warn(path, sn, an, format!("{shown}: the only documented codepipeline variable is PipelineExecutionId"));
                    }
                }
                "variables" => {
                    if !self.p.variables.iter().any(|v| v.name == r.key) {
                        let hint =
                            closest(&r.key, self.p.variables.iter().map(|v| v.name.as_str()))
                                .map(|s| format!("; did you mean '{s}'?"))
                                .unwrap_or_default();
                        self.error(path, sn, an, format!("{shown} refers to pipeline variable '{}', which is not declared{hint}", r.key));
                    }
                }
                ns => match self.namespaces.get(ns) {
                    Some(producer) if producer.runs_before(si, run_order) => {}
                    Some(producer) => {
                        let msg = format!("{shown} refers to namespace '{ns}' of {}, which does not run before this action", producer.describe());
                        self.error(path, sn, an, msg);
                    }
                    None => {
                        let hint = closest(ns, self.namespaces.keys().copied())
                            .map(|s| format!("; did you mean '{s}'?"))
                            .unwrap_or_default();
                        self.error(path, sn, an, format!("{shown} refers to namespace '{ns}', which no action declares{hint}"));
                    }
                },
            }
        }
    }
}
