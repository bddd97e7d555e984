//! Amazon ECS deploys: standard (`imagedefinitions.json`) and blue/green
//! through CodeDeploy (`taskdef.json`, `appspec.yaml`, `imageDetail.json`),
//! checked as the services check them (CodePipeline User Guide, "Amazon
//! Elastic Container Service deploy action reference", "Amazon ECS and
//! CodeDeploy blue-green deploy action reference"). This file holds the
//! checks; with `--deploy local` the deploys run in local containers:
//! `standard.rs` (the rolling update), `blue_green.rs` (CodeDeployToECS),
//! `task.rs` (a task's containers and health), `image_definitions.rs`.

mod blue_green;
mod image_definitions;
mod standard;
mod task;

use std::path::{Path, PathBuf};
use std::time::Duration;

use pipelocal_model::ecs::TaskDefinition;
use pipelocal_model::Document;
use pipelocal_runner::executor::deploy_containers::state_label;
use serde_json::Value;

pub use image_definitions::check_image_definitions;

use super::*;

pub(super) fn ecs_deploy(cx: &Context) -> Result<Done, String> {
    check_standard(cx).map(|checked| checked.done)
}

/// A standard deploy's configuration and `imagedefinitions.json`, checked
/// once for both check mode and a local deploy.
struct Standard {
    done: Done,
    images: Vec<(String, String)>,
    /// How long the new task may take to turn healthy (`DeploymentTimeout`).
    timeout: Duration,
}

fn check_standard(cx: &Context) -> Result<Standard, String> {
    let cluster = cx.required("ClusterName")?;
    let service = cx.required("ServiceName")?;
    let timeout = match cx.get("DeploymentTimeout") {
        None => Duration::from_secs(60 * 60),
        Some(t) => match t.parse::<u64>() {
            Ok(m) if (1..=60).contains(&m) => Duration::from_secs(m * 60),
            _ => {
                return Err(format!(
                    "DeploymentTimeout must be 1 to 60 minutes, not {t}"
                ))
            }
        },
    };
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
    Ok(Standard {
        done,
        images,
        timeout,
    })
}

pub(super) fn codedeploy_to_ecs(cx: &Context) -> Result<Done, String> {
    check_blue_green(cx).map(|(done, _)| done)
}

/// A blue/green deploy's inputs checked, the same way for check mode and a
/// local deploy: `taskdef.json` with its image placeholders filled, read as
/// ECS's RegisterTaskDefinition would, and `appspec.yaml`'s placeholder.
fn check_blue_green(cx: &Context) -> Result<(Done, TaskDefinition), String> {
    cx.required("ApplicationName")?;
    cx.required("DeploymentGroupName")?;
    let taskdef_art = cx.required("TaskDefinitionTemplateArtifact")?;
    let taskdef_path = cx
        .get("TaskDefinitionTemplatePath")
        .unwrap_or("taskdef.json");
    let appspec_art = cx.input(cx.required("AppSpecTemplateArtifact")?)?;
    let appspec_path = cx.get("AppSpecTemplatePath").unwrap_or("appspec.yaml");
    let mut taskdef_text = read_in(cx.input(taskdef_art)?, taskdef_path)?;
    let placeholders = image_placeholders(cx, taskdef_path, &taskdef_text)?;
    for (placeholder, uri) in &placeholders {
        taskdef_text = taskdef_text.replace(&format!("<{placeholder}>"), uri);
    }
    let doc = Document::parse(&shown(taskdef_art, taskdef_path), taskdef_text)
        .map_err(|e| e.summary())?;
    let td = TaskDefinition::from_document(&doc).map_err(|e| e.summary())?;
    let appspec_text = read_in(appspec_art, appspec_path)?;
    if !appspec_text.contains("<TASK_DEFINITION>") {
        return Err(format!(
            "{appspec_path} must name the task definition as the placeholder <TASK_DEFINITION>"
        ));
    }
    let mut done = Done::default();
    for (placeholder, uri) in placeholders {
        done.lines.push(format!("<{placeholder}> -> {uri}"));
    }
    done.summary = format!(
        "Would start a blue/green deployment of {} to {}",
        cx.config["ApplicationName"], cx.config["DeploymentGroupName"]
    );
    Ok((done, td))
}

/// A file of an input artifact as errors name it: `Artifact/path`.
fn shown(artifact: &str, path: &str) -> PathBuf {
    PathBuf::from(artifact).join(path.trim_start_matches("./"))
}

/// Each `Image<N>ArtifactName` input's placeholder (`Image<N>ContainerName`,
/// else `IMAGE<N>_NAME`) and the `ImageURI` of its `imageDetail.json`.
fn image_placeholders(
    cx: &Context,
    taskdef_path: &str,
    taskdef_text: &str,
) -> Result<Vec<(String, String)>, String> {
    let mut out = Vec::new();
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
        out.push((placeholder, uri.to_string()));
    }
    Ok(out)
}

/// `--deploy local`: the service's task replaced by one with the new images.
pub(super) async fn deploy_locally(cx: &Context<'_>, local: &Local<'_>) -> Result<Done, String> {
    let checked = check_standard(cx)?;
    standard::deploy(cx, local, &checked.images, checked.timeout).await
}

/// `--deploy local`: a green task beside the blue one, blue stopped once green is healthy.
pub(super) async fn blue_green_locally(
    cx: &Context<'_>,
    local: &Local<'_>,
) -> Result<Done, DeployFailed> {
    let (_, td) = check_blue_green(cx)?;
    blue_green::deploy(cx, local, td).await
}

/// The service's task definition: the template's (behind its
/// `AWS::ECS::Service`), else the file `services:` names.
fn service_task_definition(
    local: &Local<'_>,
    cluster: &str,
    service: &str,
) -> Result<TaskDefinition, String> {
    if let Some(td) = local
        .ecs
        .service(cluster, service)
        .and_then(|s| s.task_definition.clone())
    {
        // A broken task definition fails here, where its service is
        // deployed, not when the template is read.
        return td;
    }
    match local.settings.service(cluster, service).task_definition {
        Some(file) => read_task_definition(&file),
        None => Err(format!(
            "no task definition for service {service} in cluster {cluster}: define it in the template (an AWS::ECS::Service with this ServiceName and Cluster, its TaskDefinition a Ref to an AWS::ECS::TaskDefinition) or name a register-task-definition JSON file in .pipelocal.yml (services: {{{cluster}/{service}: {{task-definition: FILE}}}})"
        )),
    }
}

/// A `register-task-definition` JSON file.
fn read_task_definition(file: &Path) -> Result<TaskDefinition, String> {
    let doc = Document::read(file).map_err(|e| e.summary())?;
    TaskDefinition::from_document(&doc).map_err(|e| e.summary())
}

/// The engine, or why there is none.
async fn docker() -> Result<pipelocal_runner::executor::Docker, String> {
    pipelocal_runner::executor::connect()
        .await
        .map_err(|e| e.to_string())
}
