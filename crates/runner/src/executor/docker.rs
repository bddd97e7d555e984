//! The Docker executor: one container per build, the image's entrypoint
//! replaced (as CodeBuild does) by the command loop, which runs every command
//! of the build; output streamed.

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Duration;

use bollard::models::{ContainerCreateBody, HostConfig};
use bollard::query_parameters::{
    AttachContainerOptionsBuilder, CreateContainerOptionsBuilder, CreateImageOptionsBuilder,
    ListContainersOptionsBuilder, RemoveContainerOptionsBuilder, UploadToContainerOptionsBuilder,
};
use bollard::Docker;
use futures_util::StreamExt;

use super::command_loop::{loop_command, CommandLoop};
use super::owner::{this_process, KEPT_LABEL, OWNER_LABEL};
use super::source_tar::small_files;
use super::{random_digits, CommandRun, EnvironmentSpec, ExecError, Workspace};
use crate::events::{BuildEventKind, EventSink};
use crate::source_files::SourceFiles;

/// The label every container pipelocal makes carries, with the build id.
pub const BUILD_LABEL: &str = "dev.pipelocal.build-id";

/// The user the build's main command loop runs as.
const ROOT: &str = "0";

pub struct DockerExecutor {
    docker: Docker,
    spec: EnvironmentSpec,
    workspace: Workspace,
    container: Option<String>,
    /// The command loops, by user: the container's main process for root,
    /// one exec for each `run-as` user, started when first needed.
    loops: tokio::sync::Mutex<HashMap<String, CommandLoop>>,
    /// What the image's `tar` and `head` allow (source_copy.rs), asked once.
    tools: tokio::sync::OnceCell<super::source_copy::Tools>,
}

impl DockerExecutor {
    pub fn new(docker: Docker, spec: EnvironmentSpec) -> Self {
        let root = format!("/codebuild/output/src{}", random_digits());
        let ids: Vec<String> = spec
            .secondary_sources
            .iter()
            .map(|(id, _)| id.clone())
            .collect();
        let mut workspace = Workspace::lay_out(&root, "/codebuild/output/tmp", &ids);
        let mut container = None;
        if let Some(adopted) = &spec.adopt {
            workspace = adopted.workspace.clone();
            container = adopted.container.clone();
        }
        DockerExecutor {
            docker,
            spec,
            workspace,
            container,
            loops: tokio::sync::Mutex::new(HashMap::new()),
            tools: tokio::sync::OnceCell::new(),
        }
    }

    pub fn workspace(&self) -> &Workspace {
        &self.workspace
    }

    /// The container's id, once it exists.
    pub fn container_id(&self) -> Option<&str> {
        self.container.as_deref()
    }

    /// Makes sure the image is here, pulling it with progress when it is not.
    pub async fn ensure_image(
        docker: &Docker,
        image: &str,
        events: &EventSink,
    ) -> Result<(), ExecError> {
        if docker.inspect_image(image).await.is_ok() {
            return Ok(());
        }
        let (name, tag) = split_image(image);
        let options = CreateImageOptionsBuilder::default()
            .from_image(name)
            .tag(tag)
            .build();
        let mut stream = docker.create_image(Some(options), None, None);
        let mut last = String::new();
        while let Some(item) = stream.next().await {
            match item {
                Ok(info) => {
                    if let Some(err) = info.error_detail.and_then(|e| e.message) {
                        return Err(ExecError::ImageUnavailable {
                            image: image.to_string(),
                            reason: err,
                        });
                    }
                    let status = [info.id, info.status]
                        .into_iter()
                        .flatten()
                        .collect::<Vec<_>>()
                        .join(": ");
                    if !status.is_empty() && status != last {
                        events.send(BuildEventKind::ImagePull(status.clone()));
                        last = status;
                    }
                }
                Err(e) => {
                    return Err(ExecError::ImageUnavailable {
                        image: image.to_string(),
                        reason: e.to_string(),
                    })
                }
            }
        }
        docker
            .inspect_image(image)
            .await
            .map(|_| ())
            .map_err(|e| ExecError::ImageUnavailable {
                image: image.to_string(),
                reason: e.to_string(),
            })
    }

    pub async fn provision(&mut self, events: &EventSink) -> Result<(), ExecError> {
        if let Some(adopted) = &self.spec.adopt {
            // A kept build's container: its main loop only waits; ours is an exec.
            let id = adopted.container.clone().unwrap_or_default();
            let running = self
                .docker
                .inspect_container(&id, None)
                .await
                .map_err(|source| ExecError::Docker {
                    doing: "finding the kept build container",
                    source,
                })?;
            if running.state.and_then(|s| s.running) != Some(true) {
                return Err(ExecError::io(
                    "resuming a kept build",
                    std::io::Error::other(format!("its container {id} is not running")),
                ));
            }
            let main = self.user_loop(ROOT).await?;
            self.loops.lock().await.insert(ROOT.to_string(), main);
            return Ok(());
        }
        let image =
            super::curated_pull::obtain_build_image(&self.docker, &self.spec.image, events).await?;
        let mut binds: Vec<String> = self
            .spec
            .volumes
            .iter()
            .map(|(v, at)| format!("{v}:{at}"))
            .collect();
        if self.spec.mount_source {
            let host = std::fs::canonicalize(&self.spec.primary_source).map_err(|e| {
                ExecError::io(
                    format!("reading source {}", self.spec.primary_source.display()),
                    e,
                )
            })?;
            binds.push(format!("{}:{}", host.display(), self.workspace.src_dir));
        }
        let name = format!(
            "pipelocal-{}",
            super::container_name_part(&self.spec.build_id)
        );
        let body = ContainerCreateBody {
            image: Some(image),
            // CodeBuild replaces the entrypoint and keeps the container alive
            // itself; here the command loop does, until its stdin closes.
            entrypoint: Some(loop_command(self.spec.keep)),
            cmd: Some(Vec::new()),
            // Sources on a volume of the container, not its layered root
            // filesystem (see source_copy.rs).
            volumes: Some(vec![super::source_copy::OUTPUT_VOLUME.to_string()]),
            user: Some("0".into()),
            open_stdin: Some(true),
            // The engine closes the loop's stdin when pipelocal's attachment
            // ends, however it ends: the loop exits and the container goes.
            stdin_once: Some(true),
            attach_stdin: Some(true),
            attach_stdout: Some(true),
            attach_stderr: Some(true),
            labels: Some(
                [
                    (BUILD_LABEL.to_string(), self.spec.build_id.clone()),
                    (OWNER_LABEL.to_string(), this_process()),
                ]
                .into_iter()
                .chain(
                    self.spec
                        .keep
                        .then(|| (KEPT_LABEL.to_string(), "true".to_string())),
                )
                .collect(),
            ),
            host_config: Some(HostConfig {
                privileged: Some(self.spec.privileged),
                binds: (!binds.is_empty()).then_some(binds),
                init: Some(true),
                auto_remove: Some(!self.spec.keep),
                ..Default::default()
            }),
            ..Default::default()
        };
        let options = CreateContainerOptionsBuilder::default().name(&name).build();
        let created = self
            .docker
            .create_container(Some(options), body)
            .await
            .map_err(|source| ExecError::engine("creating the build container", source))?;
        self.container = Some(created.id.clone());
        // Attached before it starts, so no output and no stdin is missed.
        let options = AttachContainerOptionsBuilder::default()
            .stream(true)
            .stdin(true)
            .stdout(true)
            .stderr(true)
            .build();
        let attached = self
            .docker
            .attach_container(&created.id, Some(options))
            .await
            // Podman starts the container when attached: its refusals come here.
            .map_err(|source| ExecError::engine("attaching to the build container", source))?;
        self.docker
            .start_container(&created.id, None)
            .await
            .map_err(|source| ExecError::engine("starting the build container", source))?;
        let main = CommandLoop::start(attached.input, attached.output).await?;
        self.loops.lock().await.insert(ROOT.to_string(), main);
        Ok(())
    }

    /// A command loop running as `user`, one exec started the first time.
    async fn user_loop(&self, user: &str) -> Result<CommandLoop, ExecError> {
        let id = self.container.as_deref().unwrap_or_default();
        let argv = loop_command(false);
        let exec = super::attached_exec::start(
            &self.docker,
            id,
            argv.iter().map(String::as_str).collect(),
            user,
            Vec::new(),
            false,
            "starting a command loop for run-as",
        )
        .await?;
        CommandLoop::start(exec.input, exec.output).await
    }

    /// One tar stream of every source (unless mounted), extracted at `/`;
    /// inside git only the files a push would carry (source_files.rs). Returns
    /// the build log's lines about what was left out.
    pub async fn copy_sources(
        &self,
        files: &[super::NewFile<'_>],
    ) -> Result<Vec<String>, ExecError> {
        if self.spec.adopt.is_some() {
            // A resumed build goes on with the files the kept build left.
            self.write_files(files).await?;
            return Ok(Vec::new());
        }
        let mut trees: Vec<(PathBuf, String)> = Vec::new();
        if !self.spec.mount_source {
            trees.push((
                self.spec.primary_source.clone(),
                self.workspace.src_dir.clone(),
            ));
        }
        for ((_, host), (_, inside)) in self
            .spec
            .secondary_sources
            .iter()
            .zip(&self.workspace.secondary)
        {
            trees.push((host.clone(), inside.clone()));
        }
        let mut parents = vec![(self.workspace.state_dir.clone(), 0o777)];
        // A bind-mounted source folder must not get an entry: extracting it
        // would change the owner, mode and time of the user's own folder.
        if !self.spec.mount_source {
            parents.push((self.workspace.src_dir.clone(), 0o755));
        }
        let chosen = crate::source_files::choose(trees, self.spec.all_files).await?;
        let counting = crate::source_files::count_left_out(&chosen);
        let files = files
            .iter()
            .map(super::source_copy::OwnedFile::from)
            .collect();
        self.upload(chosen, parents, files).await?;
        Ok(counting.await)
    }

    /// Asks the image's `tar` what it is and whether it has `head`, through
    /// the command loop (a few milliseconds, not an exec), once per build.
    async fn tools(&self) -> super::source_copy::Tools {
        *self
            .tools
            .get_or_init(|| async {
                let mut said = String::new();
                match self
                    .run_quietly(super::source_copy::PROBE, &mut |text| said.push_str(text))
                    .await
                {
                    Ok(_) => super::source_copy::Tools::from_probe(&said),
                    Err(_) => super::source_copy::Tools::default(),
                }
            })
            .await
    }

    /// Runs a script of pipelocal's own as root through the main loop.
    async fn run_quietly(
        &self,
        script: &str,
        output: &mut (dyn FnMut(&str) + Send),
    ) -> Result<i64, ExecError> {
        let cmd = CommandRun {
            shell: "/bin/sh",
            script,
            script_name: "pipelocal",
            user: None,
            env: &[],
        };
        self.run(&cmd, output).await
    }

    /// Host folders copied whole to paths inside the container in one tar stream.
    pub async fn upload_trees(
        &self,
        trees: Vec<(PathBuf, String)>,
        parents: &[(String, u32)],
    ) -> Result<(), ExecError> {
        let trees = trees
            .into_iter()
            .map(|(host, inside)| (SourceFiles::whole(&host), inside))
            .collect();
        self.upload(trees, parents.to_vec(), Vec::new()).await
    }

    async fn upload(
        &self,
        trees: Vec<(SourceFiles, String)>,
        parents: Vec<(String, u32)>,
        mut files: Vec<super::source_copy::OwnedFile>,
    ) -> Result<(), ExecError> {
        let tools = self.tools().await;
        if tools.loop_upload && self.loops.lock().await.contains_key(ROOT) {
            let (small_trees, small_parents) = (trees.clone(), parents.clone());
            let taken = std::mem::take(&mut files);
            let packed = tokio::task::spawn_blocking(move || {
                super::source_copy::pack_small(&small_trees, &small_parents, &taken)
                    .map(|tar| (tar, taken))
            })
            .await
            .map_err(|e| ExecError::io("packing files", std::io::Error::other(e)))?
            .map_err(|e| ExecError::io("packing files for the build container", e))?;
            match packed {
                (Some(tar), _) => return self.upload_through_loop(&tar).await,
                (None, back) => files = back,
            }
        }
        let target = super::source_copy::Target {
            docker: &self.docker,
            container: self.container.as_deref().unwrap_or_default(),
            fast_tar: tools.fast_tar,
        };
        super::source_copy::upload(target, trees, parents, files).await
    }

    /// A small upload as the input of `tar -x` run by the main loop.
    async fn upload_through_loop(&self, tar: &[u8]) -> Result<(), ExecError> {
        let cmd = CommandRun {
            shell: "/bin/sh",
            // -p: modes exactly as packed (busybox tar would apply the umask).
            script: "tar -x -p -f - -C / 2>&1",
            script_name: "pipelocal",
            user: None,
            env: &[],
        };
        let mut said = String::new();
        let mut loops = self.loops.lock().await;
        let Some(main) = loops.get_mut(ROOT) else {
            return Err(ExecError::io(
                "copying files into the build container",
                std::io::Error::other("the command loop is not running"),
            ));
        };
        let status = main
            .run_with_input(&cmd, tar, &mut |text| said.push_str(text))
            .await?;
        if status == 0 {
            return Ok(());
        }
        Err(ExecError::io(
            "copying files into the build container",
            std::io::Error::other(format!("tar exit status {status}: {}", said.trim())),
        ))
    }

    /// Writes text files through the command loop (no round trip through
    /// the engine's archive API); other files, or before the loop runs, in
    /// one upload.
    pub async fn write_files(&self, files: &[super::NewFile<'_>]) -> Result<(), ExecError> {
        let looping = self.loops.lock().await.contains_key(ROOT);
        if looping {
            if let Some(script) = crate::shell::write_files_script(files) {
                let mut said = String::new();
                let status = self
                    .run_quietly(&script, &mut |text| said.push_str(text))
                    .await?;
                if status == 0 {
                    return Ok(());
                }
                return Err(ExecError::io(
                    "writing files into the build container",
                    std::io::Error::other(format!("exit status {status}: {}", said.trim())),
                ));
            }
        }
        self.upload_files(files).await
    }

    /// One upload for all the files: each upload costs the engine an
    /// archive extraction of its own.
    async fn upload_files(&self, files: &[super::NewFile<'_>]) -> Result<(), ExecError> {
        let tar = small_files(files).map_err(|e| ExecError::io("packing a file", e))?;
        let id = self.container.as_deref().unwrap_or_default();
        self.docker
            .upload_to_container(id, Some(upload_at_root()), bollard::body_full(tar.into()))
            .await
            .map_err(|source| ExecError::Docker {
                doing: "writing a file into the build container",
                source,
            })
    }

    pub async fn run(
        &self,
        cmd: &CommandRun<'_>,
        output: &mut (dyn FnMut(&str) + Send),
    ) -> Result<i64, ExecError> {
        let user = cmd.user.unwrap_or(ROOT);
        let mut loops = self.loops.lock().await;
        let running = match loops.entry(user.to_string()) {
            std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
            std::collections::hash_map::Entry::Vacant(e) => e.insert(self.user_loop(user).await?),
        };
        running.run(cmd, output).await
    }

    /// Ends the build as `docker run --rm` ends: the loops' input closes
    /// (a loop in the middle of a command sees it too, and ends it), the
    /// container exits and the engine removes it; true once it is gone.
    /// Otherwise the container is removed by force.
    async fn end_gracefully(&mut self) -> bool {
        let Some(id) = self.container.clone() else {
            return false;
        };
        let mut loops = self.loops.lock().await;
        if loops.is_empty() {
            return false;
        }
        let options = bollard::query_parameters::WaitContainerOptionsBuilder::default()
            .condition("removed")
            .build();
        let mut removed = self.docker.wait_container(&id, Some(options));
        for (_, running) in std::mem::take(&mut *loops) {
            running.close().await;
        }
        drop(loops);
        matches!(
            tokio::time::timeout(Duration::from_secs(10), removed.next()).await,
            Ok(Some(_))
        )
    }

    pub async fn cleanup(&mut self) -> Result<(), ExecError> {
        if self.spec.keep && self.container.is_some() {
            if self.spec.adopt.is_some() {
                // Resumed and kept again: the main loop waits on; only ours goes.
                for (_, running) in std::mem::take(&mut *self.loops.lock().await) {
                    running.close().await;
                }
                return Ok(());
            }
            // Kept: its loop waits on; `pipelocal clean` removes it.
            for (_, running) in std::mem::take(&mut *self.loops.lock().await) {
                running.close().await;
            }
            return Ok(());
        }
        if self.spec.adopt.is_none() && self.end_gracefully().await {
            self.container = None;
        }
        // By label too: a build stopped while its container was being created
        // never learnt the container's id.
        let mut ids: Vec<String> = self.container.take().into_iter().collect();
        let label = format!("{BUILD_LABEL}={}", self.spec.build_id);
        let filters = HashMap::from([("label".to_string(), vec![label])]);
        let options = ListContainersOptionsBuilder::default()
            .all(true)
            .filters(&filters)
            .build();
        if let Ok(found) = self.docker.list_containers(Some(options)).await {
            ids.extend(found.into_iter().filter_map(|c| c.id));
        }
        ids.sort();
        ids.dedup();
        let loops = std::mem::take(&mut *self.loops.lock().await);
        for id in ids {
            let options = RemoveContainerOptionsBuilder::default()
                .force(true)
                .v(true)
                .build();
            match self.docker.remove_container(&id, Some(options)).await {
                // 404: gone already; 409: the engine is removing it (auto-remove).
                Ok(())
                | Err(bollard::errors::Error::DockerResponseServerError {
                    status_code: 404 | 409,
                    ..
                }) => {}
                Err(source) => {
                    return Err(ExecError::Docker {
                        doing: "removing the build container",
                        source,
                    })
                }
            }
        }
        // Closed only now: a loop that ends first would let the engine remove
        // the container while it is being removed here.
        for (_, running) in loops {
            running.close().await;
        }
        Ok(())
    }
}

impl DockerExecutor {
    /// A folder of the container as a tar stream (Docker names every entry
    /// after the folder), read as it arrives.
    pub fn tar_stream(&self, inside: &str) -> super::blocking_stream::BlockingStream {
        let id = self.container.as_deref().unwrap_or_default();
        let options = bollard::query_parameters::DownloadFromContainerOptionsBuilder::default()
            .path(inside)
            .build();
        super::blocking_stream::BlockingStream::new(
            self.docker.download_from_container(id, Some(options)),
        )
    }

    /// Copies a folder out of the container as one tar stream.
    pub async fn fetch_dir(&self, inside: &str) -> Result<super::LocalTree, ExecError> {
        use tokio::io::AsyncWriteExt;
        let id = self.container.as_deref().unwrap_or_default();
        let options = bollard::query_parameters::DownloadFromContainerOptionsBuilder::default()
            .path(inside)
            .build();
        let mut stream = self.docker.download_from_container(id, Some(options));
        let spool = tempfile::NamedTempFile::new()
            .map_err(|e| ExecError::io("making a temporary file", e))?;
        let mut file = tokio::fs::File::create(spool.path())
            .await
            .map_err(|e| ExecError::io("writing a temporary file", e))?;
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(|source| ExecError::Docker {
                doing: "copying files out of the build container",
                source,
            })?;
            file.write_all(&chunk)
                .await
                .map_err(|e| ExecError::io("writing a temporary file", e))?;
        }
        file.flush()
            .await
            .map_err(|e| ExecError::io("writing a temporary file", e))?;
        let dir = tempfile::tempdir().map_err(|e| ExecError::io("making a temporary folder", e))?;
        let target = dir.path().to_path_buf();
        let archive = spool
            .reopen()
            .map_err(|e| ExecError::io("reading a temporary file", e))?;
        tokio::task::spawn_blocking(move || {
            crate::artifacts::extract::untar_stripped(std::io::BufReader::new(archive), &target)
        })
        .await
        .map_err(|e| {
            ExecError::io(
                "unpacking files from the build container",
                std::io::Error::other(e),
            )
        })?
        .map_err(|e| {
            ExecError::io(
                "unpacking files from the build container",
                std::io::Error::other(e),
            )
        })?;
        Ok(super::LocalTree::new(dir))
    }
}

/// The id (`sha256:...`) of an image this engine has, `None` when it has not.
pub async fn local_image_id(image: &str) -> Result<Option<String>, ExecError> {
    let docker = super::connect().await?;
    Ok(docker.inspect_image(image).await.ok().and_then(|i| i.id))
}

fn upload_at_root() -> bollard::query_parameters::UploadToContainerOptions {
    UploadToContainerOptionsBuilder::default().path("/").build()
}

/// `name[:tag]`, where a registry port's colon is not a tag.
fn split_image(image: &str) -> (&str, &str) {
    if image.contains('@') {
        return (image, "");
    }
    match image.rsplit_once(':') {
        Some((name, tag)) if !tag.contains('/') => (name, tag),
        _ => (image, "latest"),
    }
}

#[cfg(test)]
mod tests {
    use super::split_image;

    #[test]
    fn image_tags() {
        assert_eq!(split_image("busybox"), ("busybox", "latest"));
        assert_eq!(
            split_image("localhost:5000/app:1.2"),
            ("localhost:5000/app", "1.2")
        );
        assert_eq!(
            split_image("localhost:5000/app"),
            ("localhost:5000/app", "latest")
        );
    }
}
