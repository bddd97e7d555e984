//! CodeDeployToECS run locally (CodePipeline User Guide, "Amazon ECS and
//! CodeDeploy blue-green deploy action reference"; CodeDeploy User Guide,
//! "What happens during an Amazon ECS deployment", "AppSpec 'hooks'
//! section"): `taskdef.json` with its image placeholders filled from the
//! `imageDetail.json` inputs, the replacement (green) task started beside
//! the original (blue) one, the AppSpec's hooks run in CodeDeploy's order
//! through the `functions:` mapping, and blue stopped once green is healthy
//! and every hook passed. A failing hook or an unhealthy green task fails
//! the deployment: green is removed and blue keeps running.

use std::path::PathBuf;

use pipelocal_model::ecs::{EcsAppSpec, EcsEvent};
use pipelocal_runner::executor::Docker;

use super::task::{self, Replacement, Service};
use super::*;
use crate::actions::mapped::{run_mapped, Invocation};

/// How long green may take to turn healthy: CodeDeploy's default wait for
/// a replacement task set is not documented; an hour, like a hook's limit.
const GREEN_TIMEOUT: Duration = Duration::from_secs(60 * 60);

pub(super) async fn deploy(cx: &Context<'_>, local: &Local<'_>) -> Result<Done, String> {
    let log = Log { sink: local.sink };
    let application = cx.required("ApplicationName")?;
    let group = cx.required("DeploymentGroupName")?;
    let td = task_definition(cx)?;
    let appspec = appspec(cx)?;
    if let Some(name) = &appspec.container_name {
        let container = td.container(name).ok_or_else(|| {
            format!("the AppSpec's LoadBalancerInfo names container {name}, which the task definition does not define")
        })?;
        if let Some(port) = appspec.container_port {
            if !container
                .port_mappings
                .iter()
                .any(|m| m.container_port == port)
            {
                return Err(format!(
                    "the AppSpec's LoadBalancerInfo names port {port} of container {name}, which has no such containerPort in its portMappings"
                ));
            }
        }
    }
    // The service the deployment group deploys to: the template's
    // ECSServices, else one named after the application and group.
    let (cluster, name) = local
        .ecs
        .blue_green_service(application, group)
        .cloned()
        .unwrap_or_else(|| (application.to_string(), group.to_string()));
    let service = Service {
        ports: local.settings.service(&cluster, &name).ports,
        cluster,
        name,
        state_dir: state_label(cx),
    };
    let docker = docker().await?;
    let existing = task::tasks(&docker, &service).await?;
    let blue = existing.last();
    // A port no container maps fails before blue is touched.
    task::published(&td, &service)?;
    let revision = blue.map_or(1, |b| b.revision + 1);
    let deployment = Deployment {
        id: format!(
            "d-{}",
            &uuid::Uuid::new_v4().simple().to_string()[..9].to_ascii_uppercase()
        ),
        application,
        group,
    };
    log.line(format!(
        "deployment {} of {application}/{group}: service {} gets task definition {}:{revision}{}",
        deployment.id,
        service.target(),
        td.family.as_deref().unwrap_or(&service.name),
        match blue {
            Some(b) => format!(", replacing revision {}", b.revision),
            None => String::new(),
        }
    ));
    let mut stop = local.stop.clone();
    let mut green: Option<Replacement> = None;
    for event in EcsEvent::ALL {
        let step = match event {
            // A stopped run ends the deployment as a failed one: blue stays.
            _ if stop.is_stopped() => Err("the run was stopped".to_string()),
            EcsEvent::Install => task::start_replacement(
                &docker,
                &log,
                &service,
                &td,
                revision,
                blue,
                GREEN_TIMEOUT,
                &mut stop,
            )
            .await
            .map(|r| green = Some(r)),
            EcsEvent::AllowTestTraffic => {
                log.line(
                    "no test listener locally: the replacement task is reached on its own network",
                );
                Ok(())
            }
            EcsEvent::AllowTraffic => {
                log.line(format!(
                    "traffic goes to the replacement task (revision {revision})"
                ));
                Ok(())
            }
            hook => run_hook(cx, local, &log, &deployment, &appspec, hook).await,
        };
        match step {
            Ok(()) => log.line(format!("{}: Succeeded", event.name())),
            Err(e) => {
                log.line(format!("{}: Failed", event.name()));
                roll_back(&docker, &log, green.as_ref(), blue).await?;
                return Err(format!(
                    "deployment {} failed at {}: {e}",
                    deployment.id,
                    event.name()
                ));
            }
        }
    }
    task::retire(&docker, &log, &existing).await?;
    let mut done = Done::default();
    if let Some(g) = &green {
        for (container, image) in g.task.images() {
            done.lines.push(format!("container {container}: {image}"));
        }
    }
    done.summary = format!(
        "Deployment {} succeeded: {} runs the replacement task (revision {revision})",
        deployment.id,
        service.target()
    );
    Ok(done)
}

/// The deployment's identity, as hooks are told it.
struct Deployment<'a> {
    id: String,
    application: &'a str,
    group: &'a str,
}

/// `taskdef.json` with the image placeholders filled.
fn task_definition(cx: &Context<'_>) -> Result<TaskDefinition, String> {
    let artifact = cx.required("TaskDefinitionTemplateArtifact")?;
    let path = cx
        .get("TaskDefinitionTemplatePath")
        .unwrap_or("taskdef.json");
    let mut text = read_in(cx.input(artifact)?, path)?;
    for (placeholder, uri) in image_placeholders(cx, path, &text)? {
        text = text.replace(&format!("<{placeholder}>"), &uri);
    }
    let doc = Document::parse(&shown(artifact, path), text).map_err(|e| e.summary())?;
    TaskDefinition::from_document(&doc).map_err(|e| e.summary())
}

fn appspec(cx: &Context<'_>) -> Result<EcsAppSpec, String> {
    let artifact = cx.required("AppSpecTemplateArtifact")?;
    let path = cx.get("AppSpecTemplatePath").unwrap_or("appspec.yaml");
    let text = read_in(cx.input(artifact)?, path)?;
    let doc = Document::parse(&shown(artifact, path), text).map_err(|e| e.summary())?;
    EcsAppSpec::from_document(&doc).map_err(|e| e.summary())
}

/// A file of an input artifact as errors name it: `Artifact/path`.
fn shown(artifact: &str, path: &str) -> PathBuf {
    PathBuf::from(artifact).join(path.trim_start_matches("./"))
}

/// Runs the function hooked to `event`: its local command from
/// `functions:` when mapped (exit status 0 is `Succeeded`, any other
/// `Failed`), else recorded as CodeDeploy would have invoked it.
async fn run_hook(
    cx: &Context<'_>,
    local: &Local<'_>,
    log: &Log<'_>,
    deployment: &Deployment<'_>,
    appspec: &EcsAppSpec,
    event: EcsEvent,
) -> Result<(), String> {
    let Some(function) = appspec.hook(event) else {
        return Ok(());
    };
    let Some(command) = local.settings.functions.get(function) else {
        log.line(format!(
            "{}: would invoke Lambda function {function} (not mapped in functions: of .pipelocal.yml; counted as Succeeded)",
            event.name()
        ));
        return Ok(());
    };
    log.line(format!(
        "{}: invoking {function} (local command)",
        event.name()
    ));
    let hook_id = uuid::Uuid::new_v4().to_string();
    let lambda_event = serde_json::json!({
        "DeploymentId": deployment.id,
        "LifecycleEventHookExecutionId": hook_id,
    });
    let invocation = Invocation {
        variables: vec![
            ("CODEDEPLOY_EVENT".into(), lambda_event.to_string()),
            ("LIFECYCLE_EVENT".into(), event.name().into()),
            ("DEPLOYMENT_ID".into(), deployment.id.clone()),
            ("APPLICATION_NAME".into(), deployment.application.into()),
            ("DEPLOYMENT_GROUP_NAME".into(), deployment.group.into()),
        ],
        function: true,
    };
    let outcome = run_mapped(
        local.build,
        cx.action,
        command,
        invocation,
        cx.inputs,
        cx.out_dir,
        local.sink,
        local.stop.clone(),
    )
    .await?;
    match outcome.failure {
        None => Ok(()),
        Some(_) => Err(format!(
            "the hook {function} returned Failed ({})",
            outcome
                .reason
                .unwrap_or_else(|| outcome.status.to_lowercase())
        )),
    }
}

/// A failed deployment's end: green removed, blue running (started again
/// when it was stopped to free its ports).
async fn roll_back(
    docker: &Docker,
    log: &Log<'_>,
    green: Option<&Replacement>,
    blue: Option<&task::Task>,
) -> Result<(), String> {
    let Some(green) = green else {
        return Ok(());
    };
    task::remove(docker, &green.task).await;
    log.line(format!(
        "removed the replacement task (revision {})",
        green.task.revision
    ));
    if let (true, Some(blue)) = (green.previous_stopped, blue) {
        task::restart(docker, blue).await?;
        log.line(format!(
            "started the original task (revision {}) again",
            blue.revision
        ));
    }
    Ok(())
}
