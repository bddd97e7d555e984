//! The ECS standard deploy run locally (CodePipeline User Guide, "Amazon
//! Elastic Container Service deploy action reference"): a new revision of
//! the service's task definition with the images of `imagedefinitions.json`,
//! its task started, and the previous task stopped once the new one is
//! running and healthy (a rolling update of a one-task service).

use super::image_definitions::apply_image_definitions;
use super::task::{self, Service};
use super::*;

pub(super) async fn deploy(
    cx: &Context<'_>,
    local: &Local<'_>,
    images: &[(String, String)],
    timeout: Duration,
) -> Result<Done, String> {
    let cluster = cx.required("ClusterName")?;
    let name = cx.required("ServiceName")?;
    let base = service_task_definition(local, cluster, name)?;
    let service = Service {
        cluster: cluster.to_string(),
        name: name.to_string(),
        state_dir: state_label(cx.state_dir),
        ports: local.settings.service(cluster, name).ports,
    };
    let docker = docker().await?;
    let existing = task::tasks(&docker, &service).await?;
    let previous = existing.last();
    let kept = previous.map(task::Task::images).unwrap_or_default();
    let td = apply_image_definitions(base, images, &kept)?;
    // A port no container maps fails before the running task is touched.
    task::published(&td, &service)?;
    let revision = previous.map_or(1, |p| p.revision + 1);
    let family = td.family.clone().unwrap_or_else(|| name.to_string());
    local.say(format!(
        "registered task definition {family}:{revision}; updating service {name} in cluster {cluster}"
    ));
    let mut stop = local.stop.clone();
    let replacement = task::start_replacement(
        &docker, local, &service, &td, revision, &existing, timeout, &mut stop,
    )
    .await?;
    task::retire(&docker, local, &existing).await?;
    let mut done = Done::default();
    for (container, image) in replacement.task.images() {
        done.lines.push(format!("container {container}: {image}"));
    }
    done.summary =
        format!("Service {name} in cluster {cluster} runs task definition {family}:{revision}");
    Ok(done)
}
