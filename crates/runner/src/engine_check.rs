//! What `pipelocal doctor` asks the container engine: where it is and how it
//! was found, what it is, whether a container (and a privileged one) starts
//! the way a build's does, and which images are here. Only says; the CLI prints.

use bollard::query_parameters::ListImagesOptionsBuilder;
use bollard::Docker;

use crate::events::EventSink;
use crate::executor::endpoint::{connect_found, engine_version, Endpoint, EngineVersion};
use crate::executor::{CommandRun, DockerExecutor, EnvironmentSpec, ExecError};

/// The engine as `doctor` found it.
#[derive(Debug)]
pub struct EngineReport {
    pub endpoint: Endpoint,
    pub version: Result<EngineVersion, String>,
    /// The image the container checks ran, when any image is here.
    pub tried_with: Option<String>,
    /// A build's container, with its init process and command loop, ran `true`.
    pub container: Result<(), Refusal>,
    /// The same, privileged (projects with `privilegedMode`).
    pub privileged: Result<(), Refusal>,
    /// Each image asked about, and whether the engine has it.
    pub images: Vec<(String, bool)>,
}

/// Why a container did not start, and the fix when the cause is a known
/// one of the engine's own.
#[derive(Debug, Clone)]
pub struct Refusal {
    pub message: String,
    pub fix: Option<String>,
}

impl Refusal {
    fn plain(message: impl Into<String>) -> Self {
        Refusal {
            message: message.into(),
            fix: None,
        }
    }
}

impl From<ExecError> for Refusal {
    fn from(e: ExecError) -> Self {
        match e {
            ExecError::Engine { doing, source, fix } => Refusal {
                message: format!("Docker error while {doing}: {source}"),
                fix: Some(fix),
            },
            other => Refusal::plain(other.to_string()),
        }
    }
}

/// Finds the engine and tries it. `wanted` are the images builds would use
/// (mapped images first): the first one here runs the container checks,
/// else the smallest image the engine has.
pub async fn check_engine(wanted: &[String]) -> Result<EngineReport, ExecError> {
    let (docker, endpoint) = connect_found().await?;
    let version = engine_version(&docker).await.map_err(|e| e.to_string());
    let mut images = Vec::new();
    for image in wanted {
        let here = docker.inspect_image(image).await.is_ok();
        images.push((image.clone(), here));
    }
    let tried_with = match images.iter().find(|(_, here)| *here) {
        Some((image, _)) => Some(image.clone()),
        None => smallest_image(&docker).await,
    };
    let (container, privileged) = match &tried_with {
        Some(image) => (
            try_container(&docker, image, false).await,
            try_container(&docker, image, true).await,
        ),
        None => {
            let none = Err(Refusal::plain(
                "the engine has no image to start a container from",
            ));
            (none.clone(), none)
        }
    };
    Ok(EngineReport {
        endpoint,
        version,
        tried_with,
        container,
        privileged,
        images,
    })
}

/// The smallest tagged image the engine has.
async fn smallest_image(docker: &Docker) -> Option<String> {
    let list = docker
        .list_images(Some(ListImagesOptionsBuilder::default().build()))
        .await
        .ok()?;
    list.into_iter()
        .filter_map(|i| {
            let tag = i.repo_tags.into_iter().find(|t| !t.contains("<none>"))?;
            Some((i.size, tag))
        })
        .min()
        .map(|(_, tag)| tag)
}

/// Runs `true` in a container made as a build's is (same executor, same
/// init process and command loop), then removes it.
async fn try_container(docker: &Docker, image: &str, privileged: bool) -> Result<(), Refusal> {
    let source = tempfile::tempdir().map_err(|e| Refusal::plain(e.to_string()))?;
    let spec = EnvironmentSpec {
        build_id: format!("pipelocal-doctor:{}", uuid::Uuid::new_v4()),
        image: image.to_string(),
        privileged,
        primary_source: source.path().to_path_buf(),
        mount_source: false,
        all_files: true,
        secondary_sources: Vec::new(),
        volumes: Vec::new(),
        keep: false,
        adopt: None,
    };
    let mut executor = DockerExecutor::new(docker.clone(), spec);
    let (events, _rx) = EventSink::channel();
    let ran = async {
        executor.provision(&events).await?;
        let run = CommandRun {
            shell: "/bin/sh",
            script: "true",
            script_name: "doctor",
            user: None,
            env: &[],
        };
        executor.run(&run, &mut |_| {}).await
    }
    .await;
    let _ = executor.cleanup().await;
    match ran {
        Ok(0) => Ok(()),
        Ok(status) => Err(Refusal::plain(format!(
            "`true` exited with status {status} in {image}"
        ))),
        Err(e) => Err(e.into()),
    }
}
