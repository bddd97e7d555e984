//! The text drawing: one row per run-order group, parallel actions side by side.

use std::fmt::Write;

use pipelocal_orchestrator::plan::Plan;

pub fn render(plan: &Plan<'_>) -> String {
    let p = plan.pipeline;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Pipeline {} ({:?}, {})",
        p.name,
        p.pipeline_type(),
        p.execution_mode().as_str()
    );
    for (si, stage) in plan.stages.iter().enumerate() {
        let _ = writeln!(out, "\nStage {}: {}", si + 1, stage.stage.name);
        for group in &stage.groups {
            let cells: Vec<String> = group
                .actions
                .iter()
                .map(|a| format!("{} [{}]", a.name, a.action_type_id.provider))
                .collect();
            let _ = writeln!(
                out,
                "  runOrder {:>3} | {}",
                group.run_order,
                cells.join(" | ")
            );
            for a in &group.actions {
                let ins: Vec<&str> = a.inputs().collect();
                let outs: Vec<&str> = a.outputs().collect();
                if ins.is_empty() && outs.is_empty() {
                    continue;
                }
                let _ = writeln!(
                    out,
                    "               {}: {} -> {}",
                    a.name,
                    if ins.is_empty() {
                        "(none)".to_string()
                    } else {
                        ins.join(", ")
                    },
                    if outs.is_empty() {
                        "(none)".to_string()
                    } else {
                        outs.join(", ")
                    }
                );
            }
        }
    }
    if !plan.artifacts.is_empty() {
        let _ = writeln!(out, "\nArtifacts");
        for flow in &plan.artifacts {
            let from = flow
                .producer
                .as_ref()
                .map(|a| format!("{}/{}", a.stage, a.action))
                .unwrap_or_else(|| "(no producer)".into());
            let to: Vec<String> = flow
                .consumers
                .iter()
                .map(|a| format!("{}/{}", a.stage, a.action))
                .collect();
            let to = if to.is_empty() {
                "(unused)".to_string()
            } else {
                to.join(", ")
            };
            let _ = writeln!(out, "  {}: {from} -> {to}", flow.name);
        }
    }
    out
}
