//! The build image, had the way a user really can: an image already here is
//! used as it is; a CodeBuild curated name (`aws/codebuild/...`, which no
//! registry serves under that name) is pulled from where AWS publishes it, or
//! refused with how to build or map it (the table: model `curated_images`);
//! any other name is pulled as it is.

use bollard::Docker;
use pipelocal_model::curated_images::{Availability, CuratedImage};

use super::{DockerExecutor, ExecError};
use crate::events::EventSink;

/// Makes sure the build image (or what stands for it) is here, and says
/// which image the container is made of.
pub async fn obtain_build_image(
    docker: &Docker,
    image: &str,
    events: &EventSink,
) -> Result<String, ExecError> {
    // A curated name built from AWS's Dockerfile (or tagged so) is used as it is.
    if docker.inspect_image(image).await.is_ok() {
        return Ok(image.to_string());
    }
    let Some(curated) = CuratedImage::find(image) else {
        DockerExecutor::ensure_image(docker, image, events).await?;
        return Ok(image.to_string());
    };
    match curated.availability() {
        Availability::Published(public) => {
            events.info(format!(
                "{image} is a CodeBuild curated image: using AWS's public copy {public}"
            ));
            match DockerExecutor::ensure_image(docker, &public, events).await {
                Ok(()) => Ok(public),
                Err(ExecError::ImageUnavailable { reason, .. }) => {
                    Err(ExecError::CuratedImageUnavailable {
                        image: image.to_string(),
                        advice: format!(
                            "AWS's public copy {public} cannot be pulled ({reason}): pull it once a registry answers, or {}",
                            curated.how_to_get()
                        ),
                    })
                }
                Err(e) => Err(e),
            }
        }
        Availability::DockerfileOnly(_) | Availability::Unknown => Err(refusal(&curated)),
    }
}

/// The refusal `obtain_build_image` would give for `image`, found without
/// pulling: a curated image AWS does not publish that the engine does not
/// have. A pipeline checks its builds' images with it before it starts.
pub async fn unobtainable_image(docker: &Docker, image: &str) -> Option<ExecError> {
    let curated = CuratedImage::find(image)?;
    if matches!(curated.availability(), Availability::Published(_)) {
        return None;
    }
    if docker.inspect_image(image).await.is_ok() {
        return None;
    }
    Some(refusal(&curated))
}

fn refusal(curated: &CuratedImage) -> ExecError {
    let known = match curated.availability() {
        Availability::Unknown => " that pipelocal knows of",
        _ => "",
    };
    ExecError::CuratedImageUnavailable {
        image: curated.image.clone(),
        advice: format!(
            "AWS publishes no copy of it{known}: {}",
            curated.how_to_get()
        ),
    }
}
