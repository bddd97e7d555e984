//! Mermaid flowchart: a subgraph per stage, artifact edges between actions.

use std::fmt::Write;

use pipelocal_orchestrator::plan::Plan;

use super::{edges, node_id};

fn quote(s: &str) -> String {
    s.replace('"', "#quot;")
}

pub fn render(plan: &Plan<'_>) -> String {
    let mut out = String::from("flowchart LR\n");
    for (si, stage) in plan.stages.iter().enumerate() {
        let _ = writeln!(
            out,
            "  subgraph stage{si}[\"{}\"]",
            quote(&stage.stage.name)
        );
        let _ = writeln!(out, "    direction TB");
        let mut ai = 0;
        for group in &stage.groups {
            for a in &group.actions {
                let _ = writeln!(
                    out,
                    "    {}[\"{}<br/>{} · runOrder {}\"]",
                    node_id(si, ai),
                    quote(&a.name),
                    quote(&a.action_type_id.provider),
                    group.run_order
                );
                ai += 1;
            }
        }
        let _ = writeln!(out, "  end");
    }
    for (si, _) in plan.stages.iter().enumerate().skip(1) {
        let _ = writeln!(out, "  stage{} ==> stage{si}", si - 1);
    }
    for (from, to, artifact) in edges(plan) {
        let _ = writeln!(out, "  {from} -- \"{}\" --> {to}", quote(&artifact));
    }
    out
}
