//! AWS CodeDeploy (EC2/on-premises) deploys: the bundle's `appspec.yml`
//! checked as the agent reads it.

use std::path::Path;

use pipelocal_model::Document;
use serde_json::Value;

use super::*;

pub(super) fn codedeploy(cx: &Context) -> Result<Done, String> {
    let app = cx.required("ApplicationName")?;
    let group = cx.required("DeploymentGroupName")?;
    let input = cx.sole_input()?;
    let text = read_in(input, "appspec.yml")
        .or_else(|_| read_in(input, "appspec.yaml"))
        .map_err(|_| {
            format!(
                "appspec.yml does not exist at the root of input artifact {}",
                input.name
            )
        })?;
    let doc = Document::parse(Path::new("appspec.yml"), text).map_err(|e| e.summary())?;
    let mut done = Done::default();
    for file in doc
        .value
        .get("files")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        if let Some(source) = file.get("source").and_then(Value::as_str) {
            let path = input.dir.join(source.trim_start_matches('/'));
            if source != "/" && !path.exists() {
                return Err(format!(
                    "appspec.yml: files source {source} is not in the bundle"
                ));
            }
        }
    }
    for (hook, steps) in doc
        .value
        .get("hooks")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
    {
        for step in steps.as_array().into_iter().flatten() {
            let location = step
                .get("location")
                .and_then(Value::as_str)
                .ok_or_else(|| format!("appspec.yml: a {hook} hook has no location"))?;
            if !input.dir.join(location.trim_start_matches('/')).is_file() {
                return Err(format!(
                    "appspec.yml: the {hook} hook script {location} is not in the bundle"
                ));
            }
            done.lines.push(format!("{hook}: {location}"));
        }
    }
    done.summary = format!("Would deploy {} to {app}/{group}", input.name);
    Ok(done)
}

/// `--deploy local`: the appspec's lifecycle in the deployment group's
/// instance container.
pub(super) async fn deploy_locally(cx: &Context<'_>, _local: &Local<'_>) -> Result<Done, String> {
    codedeploy(cx)?;
    Err("deploying to a CodeDeploy instance locally is not built yet".into())
}
