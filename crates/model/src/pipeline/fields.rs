//! Finds every misspelt field of a pipeline declaration before serde reads
//! it, so that one typo does not hide every other problem.

use serde_json::Value;

use super::{pascal, Origin};
use crate::locate::DocPath;
use crate::problem::Problem;
use crate::similar::closest;

const PIPELINE: &[&str] = &[
    "name",
    "roleArn",
    "artifactStore",
    "artifactStores",
    "stages",
    "version",
    "executionMode",
    "pipelineType",
    "variables",
    "triggers",
    "disableInboundStageTransitions",
];
const STAGE: &[&str] = &[
    "name",
    "actions",
    "blockers",
    "beforeEntry",
    "onSuccess",
    "onFailure",
];
const ACTION: &[&str] = &[
    "name",
    "actionTypeId",
    "runOrder",
    "configuration",
    "inputArtifacts",
    "outputArtifacts",
    "namespace",
    "region",
    "roleArn",
    "timeoutInMinutes",
    "commands",
    "outputVariables",
    "environmentVariables",
];
const ACTION_TYPE: &[&str] = &["category", "owner", "provider", "version"];
const INPUT: &[&str] = &["name"];
const OUTPUT: &[&str] = &["name", "files"];

/// Removes unknown fields at the levels people write most, returning an
/// error for each (in the file's own casing).
pub fn strip_unknown(value: &mut Value, origin: &Origin) -> Vec<Problem> {
    let mut problems = Vec::new();
    let mut check = |v: &mut Value, path: &DocPath, allowed: &[&str]| {
        let Some(map) = v.as_object_mut() else { return };
        let unknown: Vec<String> = map
            .keys()
            .filter(|k| !allowed.contains(&k.as_str()))
            .cloned()
            .collect();
        for key in unknown {
            map.remove(&key);
            let shown = |k: &str| {
                if origin.pascal_case {
                    pascal(k)
                } else {
                    k.to_string()
                }
            };
            let hint = closest(&key, allowed.iter().copied())
                .map(|s| format!("; did you mean `{}`?", shown(s)))
                .unwrap_or_default();
            let field = path.key(&key);
            let place = origin.place(&field);
            let display = if origin.pascal_case {
                pascal_path(&field)
            } else {
                field.to_string()
            };
            problems.push(Problem::error(
                place,
                format!("{display}: unknown field `{}`{hint}", shown(&key)),
            ));
        }
    };
    let root = DocPath::root();
    check(value, &root, PIPELINE);
    let Some(stages) = value.get_mut("stages").and_then(Value::as_array_mut) else {
        return problems;
    };
    for (si, stage) in stages.iter_mut().enumerate() {
        let spath = root.key("stages").index(si);
        check(stage, &spath, STAGE);
        let Some(actions) = stage.get_mut("actions").and_then(Value::as_array_mut) else {
            continue;
        };
        for (ai, action) in actions.iter_mut().enumerate() {
            let apath = spath.key("actions").index(ai);
            check(action, &apath, ACTION);
            if let Some(t) = action.get_mut("actionTypeId") {
                check(t, &apath.key("actionTypeId"), ACTION_TYPE);
            }
            for (key, allowed) in [("inputArtifacts", INPUT), ("outputArtifacts", OUTPUT)] {
                if let Some(items) = action.get_mut(key).and_then(Value::as_array_mut) {
                    for (i, item) in items.iter_mut().enumerate() {
                        check(item, &apath.key(key).index(i), allowed);
                    }
                }
            }
        }
    }
    problems
}

pub(super) fn pascal_path(path: &DocPath) -> String {
    DocPath(
        path.0
            .iter()
            .map(|s| match s {
                crate::locate::Seg::Key(k) => crate::locate::Seg::Key(pascal(k)),
                other => other.clone(),
            })
            .collect(),
    )
    .to_string()
}
