//! CodePipeline's structural rules (CodePipeline User Guide, "CodePipeline pipeline structure reference") plus the static checks
//! that catch what would only fail mid-run: dangling artifacts, variables from
//! namespaces that do not exist or come later. By level: `pipeline`,
//! `stage`, `action`, and the rules of each provider (`provider`).

mod action;
mod pipeline;
mod provider;
mod stage;

use std::collections::HashMap;

use super::Pipeline;
use crate::locate::DocPath;
use crate::problem::{Place, Problem};

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

/// Where a problem is: its path in the document, and the stage and action
/// it belongs to (the names every message of those carries).
#[derive(Debug, Clone)]
struct Scope<'p> {
    path: DocPath,
    stage: Option<&'p str>,
    action: Option<&'p str>,
}

impl<'p> Scope<'p> {
    fn new(path: DocPath, stage: Option<&'p str>, action: Option<&'p str>) -> Self {
        Scope {
            path,
            stage,
            action,
        }
    }

    /// The same stage and action, one key deeper.
    fn key(&self, k: &str) -> Self {
        Scope::new(self.path.key(k), self.stage, self.action)
    }

    /// The same stage and action, one index deeper.
    fn index(&self, i: usize) -> Self {
        Scope::new(self.path.index(i), self.stage, self.action)
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
    fn place(&self, at: &Scope) -> Place {
        let mut place = self.p.origin.place(&at.path);
        place.stage = at.stage.map(String::from);
        place.action = at.action.map(String::from);
        place
    }

    fn error(&mut self, at: &Scope, msg: impl Into<String>) {
        let place = self.place(at);
        self.problems.push(Problem::error(place, msg));
    }

    fn warn(&mut self, at: &Scope, msg: impl Into<String>) {
        let place = self.place(at);
        self.problems.push(Problem::warning(place, msg));
    }
}
