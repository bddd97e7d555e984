//! Where a build's commands run: a Docker container (the default, through
//! bollard) or the host's shell in a private copy of the source.

mod attached_exec;
mod blocking_stream;
mod command_loop;
mod curated_pull;
pub mod deploy_containers;
mod docker;
pub mod endpoint;
mod host;
pub mod owner;
pub mod shell_session;
mod source_copy;
mod source_tar;
mod utf8;

/// The engine's client, for callers that hold one across checks.
pub use bollard::Docker;
pub use curated_pull::unobtainable_image;
pub use docker::{local_image_id, DockerExecutor};
pub use endpoint::connect;
pub(crate) use host::copy_tree;
pub use host::HostExecutor;

use std::path::PathBuf;

use crate::events::EventSink;

#[derive(Debug, thiserror::Error)]
pub enum ExecError {
    #[error("cannot reach a Docker engine: {0}")]
    Unreachable(String),
    #[error("image '{image}' is not available locally and cannot be pulled: {reason}")]
    ImageUnavailable { image: String, reason: String },
    /// A CodeBuild curated image that is not here and cannot be pulled
    /// under its name, with how to get it.
    #[error("image '{image}' is a CodeBuild curated image and is not here: {advice}")]
    CuratedImageUnavailable { image: String, advice: String },
    #[error("Docker error while {doing}: {source}")]
    Docker {
        doing: &'static str,
        #[source]
        source: bollard::errors::Error,
    },
    /// The engine refused the container for a cause of its own (Podman's
    /// missing init binary, resource limits, ...), with the fix.
    #[error("Docker error while {doing}: {source}; {fix}")]
    Engine {
        doing: &'static str,
        #[source]
        source: bollard::errors::Error,
        fix: String,
    },
    #[error("{doing}: {source}")]
    Io {
        doing: String,
        #[source]
        source: std::io::Error,
    },
}

impl ExecError {
    /// A refusal of the engine, with the fix when its cause is the engine's own.
    pub(crate) fn engine(doing: &'static str, source: bollard::errors::Error) -> Self {
        match endpoint::engine_fix(&source.to_string()) {
            Some(fix) => ExecError::Engine { doing, source, fix },
            None => ExecError::Docker { doing, source },
        }
    }

    pub(crate) fn io(doing: impl Into<String>, source: std::io::Error) -> Self {
        ExecError::Io {
            doing: doing.into(),
            source,
        }
    }
}

/// What the build environment is made from.
#[derive(Debug, Clone)]
pub struct EnvironmentSpec {
    pub build_id: String,
    pub image: String,
    pub privileged: bool,
    pub primary_source: PathBuf,
    /// Bind-mount the primary source instead of copying it in.
    pub mount_source: bool,
    /// Copy source folders as they are, also what git ignores (`--all-files`).
    pub all_files: bool,
    pub secondary_sources: Vec<(String, PathBuf)>,
    /// Named volumes to mount: (volume, path inside). They outlive the build.
    pub volumes: Vec<(String, String)>,
    /// `--keep`: the container (or host folder) stays after the build.
    pub keep: bool,
    /// `--resume`: the kept build environment to go on in, instead of a new one.
    pub adopt: Option<Adopted>,
}

/// A kept build environment a resumed build goes on in.
#[derive(Debug, Clone)]
pub struct Adopted {
    /// The container (Docker) or the build folder (host).
    pub container: Option<String>,
    pub folder: Option<PathBuf>,
    pub workspace: Workspace,
}

/// Paths inside the build environment.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Workspace {
    /// `CODEBUILD_SRC_DIR`.
    pub src_dir: String,
    /// `CODEBUILD_SRC_DIR_<id>` for each secondary source.
    pub secondary: Vec<(String, String)>,
    /// Where the shell state files live.
    pub state_dir: String,
}

impl Workspace {
    /// CodeBuild's shapes (CodeBuild User Guide, `CODEBUILD_SRC_DIR`): one source at `<root>/src`;
    /// with several, `<root>/src/s3/00`, `<root>/src/s3/01`, ...
    pub fn lay_out(root: &str, state_dir: &str, secondary_ids: &[String]) -> Self {
        if secondary_ids.is_empty() {
            return Workspace {
                src_dir: format!("{root}/src"),
                secondary: Vec::new(),
                state_dir: state_dir.to_string(),
            };
        }
        Workspace {
            src_dir: format!("{root}/src/s3/00"),
            secondary: secondary_ids
                .iter()
                .enumerate()
                .map(|(i, id)| (id.clone(), format!("{root}/src/s3/{:02}", i + 1)))
                .collect(),
            state_dir: state_dir.to_string(),
        }
    }
}

/// A folder on this machine standing for a folder of the build environment.
pub struct LocalTree {
    pub path: PathBuf,
    _copy: Option<tempfile::TempDir>,
}

impl LocalTree {
    pub(crate) fn new(copy: tempfile::TempDir) -> Self {
        LocalTree {
            path: copy.path().to_path_buf(),
            _copy: Some(copy),
        }
    }
}

/// A file to write into the build environment, with its Unix permissions.
#[derive(Debug, Clone, Copy)]
pub struct NewFile<'a> {
    pub path: &'a str,
    pub contents: &'a [u8],
    pub mode: u32,
}

/// One command run: what to run and as whom.
#[derive(Debug, Clone)]
pub struct CommandRun<'a> {
    pub shell: &'a str,
    pub script: &'a str,
    /// `$0` of the shell, so errors name CodeBuild's script file.
    pub script_name: &'a str,
    pub user: Option<&'a str>,
    /// Extra variables for this command's process only (secrets).
    pub env: &'a [(String, String)],
}

pub enum Executor {
    Docker(DockerExecutor),
    Host(HostExecutor),
}

impl Executor {
    pub fn workspace(&self) -> &Workspace {
        match self {
            Executor::Docker(d) => d.workspace(),
            Executor::Host(h) => h.workspace(),
        }
    }

    /// The build container's id (Docker, once provisioned).
    pub fn container_id(&self) -> Option<String> {
        match self {
            Executor::Docker(d) => d.container_id().map(String::from),
            Executor::Host(_) => None,
        }
    }

    /// The host executor's build folder once kept (`--keep`).
    pub fn kept_folder(&self) -> Option<String> {
        match self {
            Executor::Docker(_) => None,
            Executor::Host(h) => h.kept_folder(),
        }
    }

    /// Whether commands can run as another user (`run-as`).
    pub fn supports_run_as(&self) -> bool {
        matches!(self, Executor::Docker(_))
    }

    /// Makes the build environment (PROVISIONING).
    pub async fn provision(&mut self, events: &EventSink) -> Result<(), ExecError> {
        match self {
            Executor::Docker(d) => d.provision(events).await,
            Executor::Host(_) => Ok(()),
        }
    }

    /// Puts the sources in place (DOWNLOAD_SOURCE) with the build's own
    /// `files` (helpers, first shell state): in a container they travel in
    /// the sources' one tar stream, not through the command loop, which
    /// reads a request a byte at a time. Returns the build log's lines about
    /// files left out.
    pub async fn download_sources(
        &mut self,
        files: &[NewFile<'_>],
    ) -> Result<Vec<String>, ExecError> {
        match self {
            Executor::Docker(d) => d.copy_sources(files).await,
            Executor::Host(h) => {
                let notes = h.copy_sources().await?;
                h.write_files(files).await?;
                Ok(notes)
            }
        }
    }

    /// Writes files (with their parent folders), in one go.
    pub async fn write_files(&self, files: &[NewFile<'_>]) -> Result<(), ExecError> {
        match self {
            Executor::Docker(d) => d.write_files(files).await,
            Executor::Host(h) => h.write_files(files).await,
        }
    }

    /// Copies a folder of this machine into the build environment at `inside`,
    /// merging with what is there (one tar stream into a container).
    pub async fn upload_dir(&self, host: &std::path::Path, inside: &str) -> Result<(), ExecError> {
        match self {
            Executor::Docker(d) => {
                d.upload_trees(vec![(host.to_path_buf(), inside.to_string())], &[])
                    .await
            }
            Executor::Host(h) => h.upload_dir(host, inside).await,
        }
    }

    /// Runs one command, streaming its output; returns its exit status.
    pub async fn run(
        &self,
        cmd: &CommandRun<'_>,
        output: &mut (dyn FnMut(&str) + Send),
    ) -> Result<i64, ExecError> {
        match self {
            Executor::Docker(d) => d.run(cmd, output).await,
            Executor::Host(h) => h.run(cmd, output).await,
        }
    }

    /// A folder of the build environment, readable on this machine: the
    /// folder itself on the host, a copy fetched as a tar stream from a container.
    pub async fn fetch_dir(&self, inside: &str) -> Result<LocalTree, ExecError> {
        match self {
            Executor::Docker(d) => d.fetch_dir(inside).await,
            Executor::Host(_) => Ok(LocalTree {
                path: PathBuf::from(inside),
                _copy: None,
            }),
        }
    }

    /// A folder of a build container as one tar stream, read on a blocking
    /// thread; `None` on the host, where the folder is at hand.
    pub fn tar_stream(&self, inside: &str) -> Option<impl std::io::Read + Send + 'static> {
        match self {
            Executor::Docker(d) => Some(d.tar_stream(inside)),
            Executor::Host(_) => None,
        }
    }

    /// Removes everything the build made. Safe to call more than once.
    pub async fn cleanup(&mut self) -> Result<(), ExecError> {
        match self {
            Executor::Docker(d) => d.cleanup().await,
            Executor::Host(h) => h.cleanup().await,
        }
    }
}

/// A build id (`project:uuid`) as part of a container name, which Docker
/// limits to `[A-Za-z0-9_.-]` (no `@`, unlike file names: see
/// `pipelocal_model::file_name`): every other character becomes `-`.
pub(crate) fn container_name_part(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "_.-".contains(c) {
                c
            } else {
                '-'
            }
        })
        .collect()
}

/// Nine random digits, like the `src<digits>` of CodeBuild's paths.
pub(crate) fn random_digits() -> String {
    let n = u128::from_le_bytes(*uuid::Uuid::new_v4().as_bytes());
    format!("{:09}", n % 1_000_000_000)
}
