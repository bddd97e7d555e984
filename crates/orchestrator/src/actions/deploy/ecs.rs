//! Amazon ECS deploys: standard (`imagedefinitions.json`) and blue/green
//! through CodeDeploy (`taskdef.json`, `appspec.yaml`, `imageDetail.json`),
//! checked as the services check them (CodePipeline User Guide, "Image
//! definitions file reference").

use serde_json::Value;

use super::*;

/// Checks `imagedefinitions.json` (CodePipeline User Guide, "Image definitions file reference"): UTF-8, at most 100 KB,
/// a non-empty list of `{"name", "imageUri"}`.
pub fn check_image_definitions(text: &str, file: &str) -> Result<Vec<(String, String)>, String> {
    if text.len() > 100 * 1024 {
        return Err(format!("{file} is larger than 100 KB"));
    }
    let value: Value =
        serde_json::from_str(text).map_err(|e| format!("{file} is not valid JSON: {e}"))?;
    let list = value.as_array().filter(|l| !l.is_empty()).ok_or_else(|| {
        format!("{file} must be a non-empty JSON list of {{\"name\": ..., \"imageUri\": ...}}")
    })?;
    list.iter()
        .enumerate()
        .map(|(i, item)| {
            let field = |key: &str| {
                item.get(key)
                    .and_then(Value::as_str)
                    .filter(|s| !s.is_empty())
                    .map(String::from)
                    .ok_or_else(|| format!("{file}: entry {} has no \"{key}\" string", i + 1))
            };
            Ok((field("name")?, field("imageUri")?))
        })
        .collect()
}

pub(super) fn ecs_deploy(cx: &Context) -> Result<Done, String> {
    let cluster = cx.required("ClusterName")?;
    let service = cx.required("ServiceName")?;
    if let Some(t) = cx.get("DeploymentTimeout") {
        match t.parse::<u32>() {
            Ok(m) if (1..=60).contains(&m) => {}
            _ => {
                return Err(format!(
                    "DeploymentTimeout must be 1 to 60 minutes, not {t}"
                ))
            }
        }
    }
    let file = cx.get("FileName").unwrap_or("imagedefinitions.json");
    let input = cx.sole_input()?;
    let text = read_in(input, file)?;
    let images = check_image_definitions(&text, file)?;
    let mut done = Done::default();
    for (name, uri) in &images {
        done.lines.push(format!("container {name}: image {uri}"));
        done.images.push(uri.clone());
    }
    done.summary = format!(
        "Would update service {service} in cluster {cluster}: {}",
        images
            .iter()
            .map(|(n, u)| format!("{n}={u}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    Ok(done)
}

pub(super) fn codedeploy_to_ecs(cx: &Context) -> Result<Done, String> {
    cx.required("ApplicationName")?;
    cx.required("DeploymentGroupName")?;
    let taskdef_art = cx.input(cx.required("TaskDefinitionTemplateArtifact")?)?;
    let taskdef_path = cx
        .get("TaskDefinitionTemplatePath")
        .unwrap_or("taskdef.json");
    let appspec_art = cx.input(cx.required("AppSpecTemplateArtifact")?)?;
    let appspec_path = cx.get("AppSpecTemplatePath").unwrap_or("appspec.yaml");
    let taskdef_text = read_in(taskdef_art, taskdef_path)?;
    let taskdef: Value = serde_json::from_str(&taskdef_text)
        .map_err(|e| format!("{taskdef_path} is not valid JSON: {e}"))?;
    if !taskdef
        .get("containerDefinitions")
        .is_some_and(Value::is_array)
    {
        return Err(format!("{taskdef_path} has no containerDefinitions list"));
    }
    let appspec_text = read_in(appspec_art, appspec_path)?;
    if !appspec_text.contains("<TASK_DEFINITION>") {
        return Err(format!(
            "{appspec_path} must name the task definition as the placeholder <TASK_DEFINITION>"
        ));
    }
    let mut done = Done::default();
    for n in 1..=4 {
        let Some(artifact) = cx.get(&format!("Image{n}ArtifactName")) else {
            continue;
        };
        let placeholder = cx
            .get(&format!("Image{n}ContainerName"))
            .map(String::from)
            .unwrap_or_else(|| format!("IMAGE{n}_NAME"));
        if !taskdef_text.contains(&format!("<{placeholder}>")) {
            return Err(format!(
                "{taskdef_path} has no placeholder <{placeholder}> for Image{n}ArtifactName {artifact}"
            ));
        }
        let detail: Value =
            serde_json::from_str(&read_in(cx.input(artifact)?, "imageDetail.json")?)
                .map_err(|e| format!("imageDetail.json in {artifact} is not valid JSON: {e}"))?;
        let uri = detail
            .get("ImageURI")
            .and_then(Value::as_str)
            .ok_or_else(|| format!("imageDetail.json in {artifact} has no ImageURI"))?;
        done.lines.push(format!("<{placeholder}> -> {uri}"));
    }
    done.summary = format!(
        "Would start a blue/green deployment of {} to {}",
        cx.config["ApplicationName"], cx.config["DeploymentGroupName"]
    );
    Ok(done)
}

/// `--deploy local`: the service's task replaced by one with the new images.
pub(super) async fn deploy_locally(cx: &Context<'_>, _local: &Local<'_>) -> Result<Done, String> {
    ecs_deploy(cx)?;
    Err("deploying an ECS service locally is not built yet".into())
}

/// `--deploy local`: a green task beside the blue one, blue stopped once green is healthy.
pub(super) async fn blue_green_locally(
    cx: &Context<'_>,
    _local: &Local<'_>,
) -> Result<Done, String> {
    codedeploy_to_ecs(cx)?;
    Err("a blue/green ECS deployment locally is not built yet".into())
}
