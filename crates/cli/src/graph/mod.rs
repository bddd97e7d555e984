//! `pipelocal graph`: draws a pipeline's plan as text, Mermaid or Graphviz dot.

mod dot;
mod mermaid;
mod text;

use std::path::Path;
use std::process::ExitCode;

use pipelocal_model::pipeline::load_pipeline_with;
use pipelocal_orchestrator::plan::Plan;

use crate::settings::ParameterArgs;
use crate::{GraphFormat, EXIT_FAILED, EXIT_UNUSABLE};

pub fn run(
    file: &Path,
    format: GraphFormat,
    name: Option<&str>,
    parameters: &ParameterArgs,
) -> ExitCode {
    let loaded = match parameters
        .values()
        .and_then(|p| load_pipeline_with(file, name, &p).map_err(|e| e.summary()))
    {
        Ok(l) => l,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(EXIT_UNUSABLE);
        }
    };
    // Still drawn, so the problem can be seen in context; the exit code says it is invalid.
    let errors = loaded.problems.iter().filter(|p| p.is_error()).count();
    for p in loaded.problems.iter().filter(|p| p.is_error()) {
        eprintln!("{p}");
    }
    for warning in loaded.placeholder_warnings() {
        eprintln!("{warning}");
    }
    let plan = Plan::new(&loaded.pipeline);
    let out = match format {
        GraphFormat::Text => text::render(&plan),
        GraphFormat::Mermaid => mermaid::render(&plan),
        GraphFormat::Dot => dot::render(&plan),
    };
    print!("{out}");
    if errors > 0 {
        ExitCode::from(EXIT_FAILED)
    } else {
        ExitCode::SUCCESS
    }
}

/// A stable node id for an action, usable in Mermaid and dot.
fn node_id(stage_index: usize, action_index: usize) -> String {
    format!("s{stage_index}a{action_index}")
}

/// Each action's node id by (stage, action) name, in plan order.
fn node_ids(plan: &Plan<'_>) -> Vec<((String, String), String)> {
    let mut out = Vec::new();
    for (si, stage) in plan.stages.iter().enumerate() {
        let mut ai = 0;
        for group in &stage.groups {
            for action in &group.actions {
                out.push((
                    (stage.stage.name.clone(), action.name.clone()),
                    node_id(si, ai),
                ));
                ai += 1;
            }
        }
    }
    out
}

fn lookup<'a>(ids: &'a [((String, String), String)], stage: &str, action: &str) -> Option<&'a str> {
    ids.iter()
        .find(|((s, a), _)| s == stage && a == action)
        .map(|(_, id)| id.as_str())
}

/// Edges `(from, to, artifact)` between action nodes.
fn edges(plan: &Plan<'_>) -> Vec<(String, String, String)> {
    let ids = node_ids(plan);
    let mut out = Vec::new();
    for flow in &plan.artifacts {
        let Some(producer) = &flow.producer else {
            continue;
        };
        let Some(from) = lookup(&ids, &producer.stage, &producer.action) else {
            continue;
        };
        for c in &flow.consumers {
            if let Some(to) = lookup(&ids, &c.stage, &c.action) {
                out.push((from.to_string(), to.to_string(), flow.name.clone()));
            }
        }
    }
    out
}
