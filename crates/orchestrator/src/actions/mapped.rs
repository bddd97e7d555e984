//! Actions run by a local command (the configuration's `actions:` and
//! `functions:`): in a container of the given image, or on the host, through
//! the runner, with the action's inputs as `CODEBUILD_SRC_DIR` (and
//! `CODEBUILD_SRC_DIR_<name>`), its outputs collected from `outputs/<Name>/`.

use std::collections::BTreeMap;
use std::path::Path;

use pipelocal_model::config::ExecutorKind;
use pipelocal_model::config::LocalCommand;
use pipelocal_model::pipeline::Action;
use pipelocal_runner::build::StopSignal;
use pipelocal_runner::events::EventSink;
use serde_json::{json, Value};

use crate::actions::build::{run_script, BuildOutcome, BuildSettings, InputArtifact, Script};

/// The variable a Lambda stand-in's standard output is caught in.
const HANDLER_OUTPUT: &str = "PIPELOCAL_HANDLER_OUTPUT";

/// The mapping for an action, by `Stage/Action` first, then by name.
pub fn mapping<'m>(
    actions: &'m BTreeMap<String, LocalCommand>,
    stage: &str,
    action: &str,
) -> Option<&'m LocalCommand> {
    actions
        .get(&format!("{stage}/{action}"))
        .or_else(|| actions.get(action))
}

/// What the command is told besides its inputs.
pub struct Invocation {
    /// Extra variables: the resolved configuration, a Lambda event.
    pub variables: Vec<(String, String)>,
    /// A Lambda stand-in: its standard output is read as the function's result.
    pub function: bool,
}

#[allow(clippy::too_many_arguments)]
pub async fn run_mapped(
    settings: &BuildSettings,
    action: &Action,
    command: &LocalCommand,
    invocation: Invocation,
    inputs: &[InputArtifact],
    out_dir: &Path,
    events: &EventSink,
    stop: StopSignal,
) -> Result<BuildOutcome, String> {
    let line = if invocation.function {
        // The output is both shown and kept, and the command's status decides.
        format!(
                        // The newline ends a trailing `# comment` before `)` closes.
            "{HANDLER_OUTPUT}=\"$({}\n)\"; __status=$?; printf '%s\\n' \"${HANDLER_OUTPUT}\"; [ $__status -eq 0 ]",
            command.command
        )
    } else {
        command.command.clone()
    };
    let mut spec = json!({
        "version": 0.2,
        "phases": { "build": { "commands": [line] } },
    });
    if invocation.function {
        spec["env"] = json!({ "exported-variables": [HANDLER_OUTPUT] });
    }
    let outputs: Vec<&str> = action.outputs().collect();
    match outputs.as_slice() {
        [] => {}
        [one] => {
            spec["artifacts"] =
                json!({ "base-directory": format!("outputs/{one}"), "files": ["**/*"] })
        }
        many => {
            let secondary: serde_json::Map<String, Value> = many
                .iter()
                .map(|n| {
                    (
                        n.to_string(),
                        json!({ "base-directory": format!("outputs/{n}"), "files": ["**/*"] }),
                    )
                })
                .collect();
            spec["artifacts"] =
                json!({ "files": ["outputs/**/*"], "secondary-artifacts": secondary });
        }
    }
    let variables = invocation
        .variables
        .iter()
        .map(|(n, v)| json!({ "name": n, "value": v, "type": "PLAINTEXT" }))
        .collect();
    let script = Script {
        project_name: "pipelocal-local-command",
        spec,
        image: command.image.clone().unwrap_or_else(|| "host".into()),
        variables,
        executor: if command.image.is_some() {
            ExecutorKind::Docker
        } else {
            ExecutorKind::Host
        },
    };
    let mut outcome = run_script(settings, action, script, inputs, out_dir, events, stop).await?;
    if invocation.function {
        let output = outcome.variables.remove(HANDLER_OUTPUT).unwrap_or_default();
        outcome.variables = handler_variables(&output)?;
    }
    Ok(outcome)
}

/// A function's output variables: its output's last line, when that is a JSON
/// object, read as PutJobSuccessResult's `{"outputVariables": {...}}`.
fn handler_variables(output: &str) -> Result<BTreeMap<String, String>, String> {
    let Some(last) = output.lines().rev().find(|l| !l.trim().is_empty()) else {
        return Ok(BTreeMap::new());
    };
    let Ok(Value::Object(result)) = serde_json::from_str::<Value>(last) else {
        return Ok(BTreeMap::new());
    };
    match result.get("outputVariables") {
        None => Ok(BTreeMap::new()),
        Some(Value::Object(vars)) => Ok(vars
            .iter()
            .map(|(k, v)| {
                let text = match v {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                (k.clone(), text)
            })
            .collect()),
        Some(_) => Err("the function's outputVariables must be a JSON object of strings".into()),
    }
}

/// The event CodePipeline gives a Lambda function (CodePipeline User Guide, "AWS Lambda invoke action reference").
pub fn lambda_event(
    job_id: &str,
    config: &BTreeMap<String, String>,
    inputs: &[InputArtifact],
    outputs: &[&str],
) -> String {
    let artifact = |name: &str, bucket: &str, key: &str| json!({ "name": name, "revision": null, "location": { "type": "S3", "s3Location": { "bucketName": bucket, "objectKey": key } } });
    json!({ "CodePipeline.job": {
        "id": job_id,
        "accountId": pipelocal_runner::environment::LOCAL_ACCOUNT,
        "data": {
            "actionConfiguration": { "configuration": config },
            "inputArtifacts": inputs.iter().map(|i| artifact(&i.name, &i.location.bucket, &i.location.key)).collect::<Vec<_>>(),
            "outputArtifacts": outputs.iter().map(|o| artifact(o, "", "")).collect::<Vec<_>>(),
        }
    }})
    .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_variables_come_from_the_last_json_line() {
        let vars = handler_variables(
            "working\n{\"outputVariables\": {\"URL\": \"http://x\", \"N\": 3}}\n",
        )
        .unwrap();
        assert_eq!(vars["URL"], "http://x");
        assert_eq!(vars["N"], "3");
        assert!(handler_variables("plain text\n").unwrap().is_empty());
        assert!(handler_variables("{\"outputVariables\": [1]}").is_err());
    }
}
