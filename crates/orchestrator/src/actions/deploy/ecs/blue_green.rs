//! CodeDeployToECS run locally (CodePipeline User Guide, "Amazon ECS and
//! CodeDeploy blue-green deploy action reference"; CodeDeploy User Guide,
//! "What happens during an Amazon ECS deployment", "AppSpec 'hooks'
//! section"): `taskdef.json` with its image placeholders filled from the
//! `imageDetail.json` inputs, the replacement (green) task started beside
//! the original (blue) one, the AppSpec's hooks run in CodeDeploy's order
//! through the `functions:` mapping, and blue stopped once green is healthy
//! and every hook passed. A failing hook or an unhealthy green task fails
//! the deployment: green is removed and blue keeps running.

use pipelocal_model::codedeploy::deployment_group;
use pipelocal_model::ecs::{EcsAppSpec, EcsEvent};
use pipelocal_runner::executor::Docker;

use super::task::{self, Replacement, Service};
use super::*;
use crate::actions::mapped::{run_mapped, Invocation};

/// How long green may take to turn healthy: CodeDeploy's default wait for
/// a replacement task set is not documented; an hour, like a hook's limit.
const GREEN_TIMEOUT: Duration = Duration::from_secs(60 * 60);

pub(super) async fn deploy(
    cx: &Context<'_>,
    local: &Local<'_>,
    td: TaskDefinition,
) -> Result<Done, DeployFailed> {
    let application = cx.required("ApplicationName")?;
    let group = cx.required("DeploymentGroupName")?;
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
                )
                .into());
            }
        }
    }
    // The service the deployment group deploys to: the template's
    // ECSServices, else one named after the application and group.
    let (cluster, name) = deployment_group::find(local.deployment_groups, application, group)
        .and_then(|g| g.ecs_service.clone())
        .unwrap_or_else(|| (application.to_string(), group.to_string()));
    // A standard deploy of the same service must not replace its task meanwhile.
    let _held = crate::actions::deploy::hold_service(cx, local, &cluster, &name).await?;
    let service = Service {
        ports: local.settings.service(&cluster, &name).ports,
        cluster,
        name,
        state_dir: state_label(cx.state_dir),
    };
    let docker = docker().await?;
    let existing = task::tasks(&docker, &service).await?;
    let blue = existing.last();
    // A port no container maps fails before blue is touched.
    task::published(&td, &service)?;
    let revision = blue.map_or(1, |b| b.revision + 1);
    let deployment = Deployment {
        id: crate::actions::deploy::deployment_id(),
        application,
        group,
    };
    local.say(format!(
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
                local,
                &service,
                &td,
                revision,
                &existing,
                GREEN_TIMEOUT,
                &mut stop,
            )
            .await
            .map(|r| green = Some(r)),
            EcsEvent::AllowTestTraffic => {
                local.say(
                    "no test listener locally: the replacement task is reached on its own network",
                );
                Ok(())
            }
            EcsEvent::AllowTraffic => {
                local.say(format!(
                    "traffic goes to the replacement task (revision {revision})"
                ));
                Ok(())
            }
            hook => run_hook(cx, local, &deployment, &appspec, hook).await,
        };
        match step {
            Ok(()) => local.say(format!("{}: Succeeded", event.name())),
            Err(e) => {
                local.say(format!("{}: Failed", event.name()));
                let rolled_back = roll_back(&docker, local, green.as_ref(), &existing).await;
                return Err(DeployFailed {
                    message: task::and_restart(
                        format!(
                            "deployment {} failed at {}: {e}",
                            deployment.id,
                            event.name()
                        ),
                        rolled_back,
                    ),
                    external_id: Some(deployment.id.clone()),
                });
            }
        }
    }
    task::retire(&docker, local, &existing).await?;
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
    done.external_id = Some(deployment.id.clone());
    Ok(done)
}

/// The deployment's identity, as hooks are told it.
struct Deployment<'a> {
    id: String,
    application: &'a str,
    group: &'a str,
}

fn appspec(cx: &Context<'_>) -> Result<EcsAppSpec, String> {
    let artifact = cx.required("AppSpecTemplateArtifact")?;
    let path = cx.get("AppSpecTemplatePath").unwrap_or("appspec.yaml");
    let text = read_in(cx.input(artifact)?, path)?;
    let doc = Document::parse(&shown(artifact, path), text).map_err(|e| e.summary())?;
    EcsAppSpec::from_document(&doc).map_err(|e| e.summary())
}

/// Runs the function hooked to `event`: its local command from
/// `functions:` when mapped (exit status 0 is `Succeeded`, any other
/// `Failed`), else recorded as CodeDeploy would have invoked it.
async fn run_hook(
    cx: &Context<'_>,
    local: &Local<'_>,
    deployment: &Deployment<'_>,
    appspec: &EcsAppSpec,
    event: EcsEvent,
) -> Result<(), String> {
    let Some(function) = appspec.hook(event) else {
        return Ok(());
    };
    let Some(command) = local.settings.functions.get(function) else {
        local.say(format!(
            "{}: would invoke Lambda function {function} (not mapped in functions: of .pipelocal.yml; counted as Succeeded)",
            event.name()
        ));
        return Ok(());
    };
    local.say(format!(
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
    local: &Local<'_>,
    green: Option<&Replacement>,
    existing: &[task::Task],
) -> Result<(), String> {
    let Some(green) = green else {
        return Ok(());
    };
    task::remove(docker, &green.task).await;
    local.say(format!(
        "removed the replacement task (revision {})",
        green.task.revision
    ));
    let stopped = existing
        .iter()
        .filter(|t| green.stopped.contains(&t.revision));
    task::restart_all(docker, local, stopped).await
}
