//! Graphviz dot: a cluster per stage, artifact edges between actions.

use std::fmt::Write;

use pipelocal_orchestrator::plan::Plan;

use super::{edges, node_id};

fn quote(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"")
}

pub fn render(plan: &Plan<'_>) -> String {
    let mut out = format!(
        "digraph \"{}\" {{\n  rankdir=LR;\n  node [shape=box];\n",
        quote(&plan.pipeline.name)
    );
    for (si, stage) in plan.stages.iter().enumerate() {
        let _ = writeln!(
            out,
            "  subgraph cluster_{si} {{\n    label=\"{}\";",
            quote(&stage.stage.name)
        );
        let mut ai = 0;
        for group in &stage.groups {
            for a in &group.actions {
                let _ = writeln!(
                    out,
                    "    {} [label=\"{}\\n{} (runOrder {})\"];",
                    node_id(si, ai),
                    quote(&a.name),
                    quote(&a.action_type_id.provider),
                    group.run_order
                );
                ai += 1;
            }
        }
        let _ = writeln!(out, "  }}");
    }
    for (from, to, artifact) in edges(plan) {
        let _ = writeln!(out, "  {from} -> {to} [label=\"{}\"];", quote(&artifact));
    }
    out.push_str("}\n");
    out
}
