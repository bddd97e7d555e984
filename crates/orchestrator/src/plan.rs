//! The execution plan of a pipeline: stages in order, each split into
//! run-order groups whose actions run concurrently, and the artifacts that
//! flow between actions.

use std::collections::BTreeMap;

use pipelocal_model::pipeline::{Action, Pipeline, Stage};

/// Actions of one stage sharing a runOrder: they start together.
#[derive(Debug, Clone)]
pub struct RunGroup<'p> {
    pub run_order: i64,
    pub actions: Vec<&'p Action>,
}

#[derive(Debug, Clone)]
pub struct StagePlan<'p> {
    pub stage: &'p Stage,
    pub groups: Vec<RunGroup<'p>>,
}

/// Where an action sits: stage name and action name.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct ActionAddress {
    pub stage: String,
    pub action: String,
}

/// One artifact: who makes it and who reads it.
#[derive(Debug, Clone)]
pub struct ArtifactFlow {
    pub name: String,
    pub producer: Option<ActionAddress>,
    pub consumers: Vec<ActionAddress>,
}

#[derive(Debug, Clone)]
pub struct Plan<'p> {
    pub pipeline: &'p Pipeline,
    pub stages: Vec<StagePlan<'p>>,
    pub artifacts: Vec<ArtifactFlow>,
}

impl<'p> Plan<'p> {
    pub fn new(pipeline: &'p Pipeline) -> Self {
        let stages = pipeline
            .stages
            .iter()
            .map(|stage| {
                let mut by_order: BTreeMap<i64, Vec<&Action>> = BTreeMap::new();
                for action in &stage.actions {
                    by_order.entry(action.run_order).or_default().push(action);
                }
                StagePlan {
                    stage,
                    groups: by_order
                        .into_iter()
                        .map(|(run_order, actions)| RunGroup { run_order, actions })
                        .collect(),
                }
            })
            .collect();
        Plan {
            pipeline,
            stages,
            artifacts: artifact_flows(pipeline),
        }
    }
}

fn artifact_flows(p: &Pipeline) -> Vec<ArtifactFlow> {
    let mut flows: Vec<ArtifactFlow> = Vec::new();
    let address = |s: &Stage, a: &Action| ActionAddress {
        stage: s.name.clone(),
        action: a.name.clone(),
    };
    for (stage, action) in p.actions() {
        for out in action.outputs() {
            if !flows.iter().any(|f| f.name == out) {
                flows.push(ArtifactFlow {
                    name: out.to_string(),
                    producer: Some(address(stage, action)),
                    consumers: Vec::new(),
                });
            }
        }
    }
    for (stage, action) in p.actions() {
        for input in action.inputs() {
            match flows.iter_mut().find(|f| f.name == input) {
                Some(flow) => flow.consumers.push(address(stage, action)),
                None => flows.push(ArtifactFlow {
                    name: input.to_string(),
                    producer: None,
                    consumers: vec![address(stage, action)],
                }),
            }
        }
    }
    flows
}
