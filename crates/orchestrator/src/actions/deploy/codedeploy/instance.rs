//! The deployment group's instance: one container per deployment group,
//! kept between runs like an EC2 instance (its state under the agent's
//! `deployment-root` lives in it, so removing it starts afresh), and the
//! few things the lifecycle asks of it.

use std::path::Path;

use pipelocal_model::image_map::ImageMap;
use pipelocal_runner::build::StopSignal;
use pipelocal_runner::executor::deploy_containers::{
    self as containers, ContainerPlan, DeployKind, ExecEnd, ExecPlan, PublishedPort, Stream,
};
use pipelocal_runner::executor::{connect, Docker, DockerExecutor};

use super::super::{Context, Local};

/// A running instance container.
pub struct Instance {
    docker: Docker,
    pub id: String,
    pub name: String,
}

/// What a command of pipelocal's own said.
pub struct Said {
    pub code: i64,
    pub stdout: String,
    pub stderr: String,
}

impl Instance {
    /// The instance of `application`/`group`: found (started again when
    /// stopped) or made from the configured image.
    pub async fn ensure(
        cx: &Context<'_>,
        local: &Local<'_>,
        application: &str,
        group: &str,
    ) -> Result<Instance, String> {
        let docker = connect()
            .await
            .map_err(|e| format!("the instance needs Docker: {e}"))?;
        let state_dir = containers::state_label(cx.state_dir);
        let name = containers::deploy_name(&[application, group], &state_dir);
        let config = local.settings.instance(application, group);
        // A configured image goes through `image-map` as a project's does
        // (the default image already has).
        let image = match &config.image {
            Some(image) => ImageMap::new(local.settings.image_map.clone())
                .map_err(|e| format!("image-map: {e}"))?
                .apply(image),
            None => local.default_image.clone(),
        };
        let err = |e: pipelocal_runner::executor::ExecError| format!("instance {name}: {e}");
        let target = format!("{application}/{group}");
        let mut ports: Vec<PublishedPort> = config
            .ports
            .iter()
            .map(|p| PublishedPort {
                host: p.host,
                container: p.container,
            })
            .collect();
        ports.sort_by_key(|p| (p.host, p.container));
        if let Some(found) = containers::find(&docker, &name).await.map_err(err)? {
            // The name's hash tells targets apart, so another target here is
            // a container made by hand (or a hash collision): never deploy into it.
            let owner = found.labels.get(containers::TARGET_LABEL);
            if owner != Some(&target) {
                let whose = match owner {
                    Some(other) => format!("is {other}'s (label {})", containers::TARGET_LABEL),
                    None => format!("has no label {}", containers::TARGET_LABEL),
                };
                return Err(format!("container {name} exists but {whose}, not the instance of {target}: remove it with `docker rm -f {name}`"));
            }
            if found.image != image {
                local.say(format!("Instance {name} runs {} (made before); the configuration now gives {image}: `pipelocal clean` or `docker rm -f {name}` starts a new one", found.image));
            }
            // Ports are fixed when a container is made.
            let published = containers::published_ports(&docker, &found.id)
                .await
                .map_err(err)?;
            if published != ports {
                local.say(format!("Instance {name} publishes {} (made before); the configuration now gives {}: `pipelocal clean` or `docker rm -f {name}` starts a new one with them", shown(&published), shown(&ports)));
            }
            if !found.running {
                containers::restart(&docker, &found.id).await.map_err(err)?;
                local.say(format!("Instance {name} started again"));
            }
            return Ok(Instance {
                docker,
                id: found.id,
                name,
            });
        }
        DockerExecutor::ensure_image(&docker, &image, local.sink)
            .await
            .map_err(err)?;
        let plan = ContainerPlan {
            kind: DeployKind::Instance,
            name: name.clone(),
            target,
            state_dir,
            image: image.clone(),
            entrypoint: None,
            command: None,
            env: Vec::new(),
            user: None,
            working_dir: None,
            ports: ports.clone(),
            health: None,
            network: None,
            labels: Vec::new(),
        };
        let found = containers::start(&docker, &plan, true).await.map_err(err)?;
        local.say(format!(
            "Instance {name} made from {image}{}",
            if ports.is_empty() {
                String::new()
            } else {
                format!(", ports {}", shown(&ports))
            }
        ));
        Ok(Instance {
            docker,
            id: found.id,
            name,
        })
    }

    /// Runs `script` with `sh -c` as root, `args` as `$1`...: the agent's
    /// own work (it runs as root).
    pub async fn sh(&self, script: &str, args: &[&str]) -> Result<Said, String> {
        let mut argv = vec![
            "/bin/sh".to_string(),
            "-c".into(),
            script.into(),
            "sh".into(),
        ];
        argv.extend(args.iter().map(|a| a.to_string()));
        let plan = ExecPlan {
            argv,
            user: Some("0".into()),
            ..ExecPlan::default()
        };
        let mut said = Said {
            code: 0,
            stdout: String::new(),
            stderr: String::new(),
        };
        let end = containers::exec(&self.docker, &self.id, &plan, |stream, line| {
            let out = match stream {
                Stream::Stdout => &mut said.stdout,
                Stream::Stderr => &mut said.stderr,
            };
            out.push_str(line);
            out.push('\n');
        })
        .await
        .map_err(|e| format!("instance {}: {e}", self.name))?;
        // Neither a timeout nor a stop is armed, so it can only have exited.
        said.code = match end {
            ExecEnd::Exited(code) => code,
            ExecEnd::TimedOut | ExecEnd::Stopped => -1,
        };
        Ok(said)
    }

    /// [`Instance::sh`] that must succeed.
    pub async fn sh_ok(&self, doing: &str, script: &str, args: &[&str]) -> Result<String, String> {
        let said = self.sh(script, args).await?;
        if said.code != 0 {
            return Err(format!(
                "{doing} in instance {} failed (exit status {}): {}",
                self.name,
                said.code,
                said.stderr.trim()
            ));
        }
        Ok(said.stdout)
    }

    /// The text of a file in the instance, `None` when there is none.
    pub async fn read(&self, path: &str) -> Result<Option<String>, String> {
        let said = self
            .sh("[ -f \"$1\" ] || exit 3; cat \"$1\"", &[path])
            .await?;
        match said.code {
            0 => Ok(Some(said.stdout)),
            3 => Ok(None),
            n => Err(format!(
                "reading {path} in instance {} failed (exit status {n})",
                self.name
            )),
        }
    }

    /// Writes `text` to `path` (parents made), as root.
    pub async fn write(&self, path: &str, text: &str, mode: u32) -> Result<(), String> {
        containers::upload_file(&self.docker, &self.id, path, text.as_bytes(), mode)
            .await
            .map_err(|e| format!("instance {}: {e}", self.name))
    }

    /// Appends `lines` to `path` as scripts.log has them: each after the
    /// time, `YYYY-MM-DD HH:MM:SS`. They go through a file, not a command
    /// line: a chatty script's output may be longer than one may be.
    pub async fn log_lines(&self, path: &str, lines: &[String]) -> Result<(), String> {
        if lines.is_empty() {
            return Ok(());
        }
        let pending = format!("{path}.pending");
        let mut text = lines.join("\n");
        text.push('\n');
        self.write(&pending, &text, 0o600).await?;
        self.sh_ok(
            "writing scripts.log",
            "d=$(date '+%Y-%m-%d %H:%M:%S'); sed \"s|^|$d |\" \"$2\" >> \"$1\" && rm -f \"$2\"",
            &[path, &pending],
        )
        .await
        .map(drop)
    }

    /// Copies a folder of this machine to `dest` in the instance.
    pub async fn upload_dir(&self, dest: &str, dir: &Path) -> Result<(), String> {
        containers::upload_dir(&self.docker, &self.id, dest, dir)
            .await
            .map_err(|e| format!("instance {}: {e}", self.name))
    }

    /// Runs a hook script: `plan` (its `timeout` armed) with its lines
    /// handed to `on_line`, ended as the agent ends it after its timeout or
    /// when the run is stopped (see [`containers::exec_until`]).
    pub async fn run_script(
        &self,
        plan: &ExecPlan,
        mut stop: StopSignal,
        on_line: impl FnMut(Stream, &str),
    ) -> Result<ExecEnd, String> {
        containers::exec_until(&self.docker, &self.id, plan, Some(stop.stopped()), on_line)
            .await
            .map_err(|e| format!("instance {}: {e}", self.name))
    }
}

/// Published ports as the log shows them: `127.0.0.1:HOST->CONTAINER`, or `no ports`.
fn shown(ports: &[PublishedPort]) -> String {
    if ports.is_empty() {
        return "no ports".into();
    }
    ports
        .iter()
        .map(|p| format!("127.0.0.1:{}->{}", p.host, p.container))
        .collect::<Vec<_>>()
        .join(", ")
}
