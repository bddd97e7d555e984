//! One in-place deployment's lifecycle, in CodeDeploy's order (CodeDeploy
//! User Guide, AppSpec 'hooks' section, "Lifecycle event hook availability"):
//! ApplicationStop from the previous successful install's revision,
//! DownloadBundle, BeforeInstall, Install, AfterInstall, ApplicationStart,
//! ValidateService. Hook scripts run as the agent runs them; their output
//! goes to the action's log and to the instance's scripts.log as the agent
//! writes it ("View log data for CodeDeploy EC2/On-Premises deployments").

use std::path::Path;
use std::time::Duration;

use pipelocal_model::codedeploy::appspec::{AppSpec, Hook, LifecycleEvent, APPSPEC_NAMES};
use pipelocal_model::codedeploy::parse_appspec;
use pipelocal_runner::executor::deploy_containers::{ExecEnd, ExecPlan, Stream};

use super::super::Local;
use super::install;
use super::instance::Instance;

/// Where the agent keeps deployments on an instance.
pub const DEPLOYMENT_ROOT: &str = "/opt/codedeploy-agent/deployment-root";
/// The hooks' working directory (undocumented; where the agent runs).
const AGENT_HOME: &str = "/opt/codedeploy-agent";

/// One deployment to the instance: its ids and where its files go.
pub struct Deployment<'a> {
    /// `d-` and nine characters, as CodeDeploy's.
    pub id: String,
    pub application: &'a str,
    pub group: &'a str,
    pub group_id: &'a str,
    /// `BUNDLE_BUCKET`, `BUNDLE_KEY`, `BUNDLE_ETAG`: where the revision is
    /// in the artifact store, as the agent says it of an S3 revision.
    pub bundle: Vec<(String, String)>,
}

impl<'a> Deployment<'a> {
    pub fn new(application: &'a str, group: &'a str, group_id: &'a str) -> Self {
        Deployment {
            id: crate::actions::deploy::deployment_id(),
            application,
            group,
            group_id,
            bundle: Vec::new(),
        }
    }

    /// `deployment-root/<group id>/<deployment id>`.
    pub fn dir(&self) -> String {
        format!("{DEPLOYMENT_ROOT}/{}/{}", self.group_id, self.id)
    }

    fn scripts_log(&self) -> String {
        format!("{}/logs/scripts.log", self.dir())
    }

    fn env(&self, event: LifecycleEvent) -> Vec<(String, String)> {
        [
            ("LIFECYCLE_EVENT", event.name()),
            ("DEPLOYMENT_ID", self.id.as_str()),
            ("APPLICATION_NAME", self.application),
            ("DEPLOYMENT_GROUP_NAME", self.group),
            ("DEPLOYMENT_GROUP_ID", self.group_id),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .chain(self.bundle.iter().cloned())
        .collect()
    }
}

/// `deployment-instructions/<group id><suffix>`: the agent's markers
/// (`-cleanup`, `_last_successful_install`, `_most_recent_install`) and
/// pipelocal's record of the last deployment that succeeded.
pub fn instructions(group_id: &str, suffix: &str) -> String {
    format!("{DEPLOYMENT_ROOT}/deployment-instructions/{group_id}{suffix}")
}

/// Where the last deployment that succeeded as a whole is named: the
/// revision an automatic rollback redeploys.
pub const LAST_GOOD: &str = "_pipelocal_last_successful_deployment";

/// Where a deployment folder keeps its revision's `BUNDLE_*` variables, for
/// a rollback that redeploys it.
pub fn bundle_env_of(dir: &str) -> String {
    format!("{dir}/pipelocal-bundle.env")
}

/// `NAME=value` lines.
pub fn read_env(text: &str) -> Vec<(String, String)> {
    text.lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// The archive folder of a deployment folder.
pub fn archive_of(dir: &str) -> String {
    format!("{dir}/deployment-archive")
}

/// How many revisions of a deployment group the agent keeps
/// (`:max_revisions` in its configuration), besides the protected ones.
const KEPT_REVISIONS: usize = 5;

/// Of a group's deployment folders, newest first, those to remove: all but
/// the `keep` newest that are not `protected`.
fn prunable<'l>(newest_first: &[&'l str], keep: usize, protected: &[String]) -> Vec<&'l str> {
    newest_first
        .iter()
        .filter(|d| !protected.iter().any(|p| p == *d))
        .skip(keep)
        .copied()
        .collect()
}

/// Where a deployment's revision comes from.
pub enum Bundle<'p> {
    /// The action's input artifact, unpacked on this machine.
    Local(&'p Path),
    /// An earlier deployment's archive in the instance (a rollback).
    Earlier(String),
}

/// An instance's error code (CodeDeploy API, `Diagnostics.errorCode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    ScriptMissing,
    ScriptNotExecutable,
    ScriptTimedOut,
    ScriptFailed,
    UnknownError,
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            ErrorCode::ScriptMissing => "ScriptMissing",
            ErrorCode::ScriptNotExecutable => "ScriptNotExecutable",
            ErrorCode::ScriptTimedOut => "ScriptTimedOut",
            ErrorCode::ScriptFailed => "ScriptFailed",
            ErrorCode::UnknownError => "UnknownError",
        })
    }
}

/// Why a deployment failed, as CodeDeploy's instance diagnostics say it.
#[derive(Debug)]
pub struct Failure {
    pub event: LifecycleEvent,
    pub code: ErrorCode,
    pub message: String,
}

impl Failure {
    fn unknown(event: LifecycleEvent, message: String) -> Self {
        Failure {
            event,
            code: ErrorCode::UnknownError,
            message,
        }
    }
}

/// Runs `deployment` of `bundle` in `instance`. `appspec` is the bundle's,
/// when already read (else it is read from the instance after DownloadBundle).
pub async fn deploy(
    instance: &Instance,
    deployment: &Deployment<'_>,
    bundle: Bundle<'_>,
    appspec: Option<AppSpec>,
    local: &Local<'_>,
) -> Result<(), Failure> {
    let run = Deploying {
        instance,
        deployment,
        local,
    };
    let event = LifecycleEvent::ApplicationStop;
    let unknown = |event| move |message: String| Failure::unknown(event, message);
    let last_install = instructions(deployment.group_id, "_last_successful_install");
    let previous = instance
        .read(&last_install)
        .await
        .map_err(unknown(event))?
        .map(|d| d.trim().to_string())
        .filter(|d| !d.is_empty());
    match previous {
        Some(dir) => {
            let archive = archive_of(&dir);
            let spec = read_appspec(instance, &archive)
                .await
                .map_err(unknown(event))?;
            run.event(event, &spec, &archive).await?;
        }
        None => run.status(event, "Skipped (no earlier install on this instance)"),
    }

    let event = LifecycleEvent::DownloadBundle;
    run.go_on(event)?;
    let archive = archive_of(&deployment.dir());
    run.download(&bundle, &archive)
        .await
        .map_err(unknown(event))?;
    run.status(event, &format!("Succeeded ({archive})"));
    let appspec = match appspec {
        Some(a) => a,
        None => read_appspec(instance, &archive)
            .await
            .map_err(unknown(event))?,
    };

    run.event(LifecycleEvent::BeforeInstall, &appspec, &archive)
        .await?;

    let event = LifecycleEvent::Install;
    run.go_on(event)?;
    let files = install::run(instance, deployment, &appspec, &archive)
        .await
        .map_err(unknown(event))?;
    run.status(event, &format!("Succeeded ({files} paths copied or made)"));

    for event in [
        LifecycleEvent::AfterInstall,
        LifecycleEvent::ApplicationStart,
        LifecycleEvent::ValidateService,
    ] {
        run.event(event, &appspec, &archive).await?;
    }
    let good = instructions(deployment.group_id, LAST_GOOD);
    instance
        .write(&good, &format!("{}\n", deployment.dir()), 0o644)
        .await
        .map_err(unknown(LifecycleEvent::ValidateService))
}

/// The AppSpec file of an archive in the instance, as the agent looks for it.
async fn read_appspec(instance: &Instance, archive: &str) -> Result<AppSpec, String> {
    for name in APPSPEC_NAMES {
        let path = format!("{archive}/{name}");
        if let Some(text) = instance.read(&path).await? {
            return parse_appspec(Path::new(&path), text)
                .map(|l| l.appspec)
                .map_err(|e| e.summary());
        }
    }
    Err(format!(
        "The deployment failed because no AppSpec file was found in {archive}"
    ))
}

/// A deployment under way: the instance it runs in and the log it tells.
struct Deploying<'r> {
    instance: &'r Instance,
    deployment: &'r Deployment<'r>,
    local: &'r Local<'r>,
}

impl Deploying<'_> {
    fn status(&self, event: LifecycleEvent, what: &str) {
        self.local.say(format!("{event}: {what}"));
    }

    /// An error when the run was stopped: checked before each event and
    /// each script, so a stop between two scripts starts no more of them
    /// (a running script is ended by its exec).
    fn go_on(&self, event: LifecycleEvent) -> Result<(), Failure> {
        if self.local.stop.is_stopped() {
            return Err(Failure::unknown(
                event,
                format!("The deployment was stopped with the run before {event}"),
            ));
        }
        Ok(())
    }

    /// DownloadBundle: the revision into `archive`, with its `BUNDLE_*`
    /// variables beside it.
    async fn download(&self, bundle: &Bundle<'_>, archive: &str) -> Result<(), String> {
        match bundle {
            Bundle::Local(dir) => self.instance.upload_dir(archive, dir).await?,
            Bundle::Earlier(from) => {
                self.instance
                    .sh_ok(
                        "copying the earlier revision",
                        "mkdir -p \"$2\" && cp -a \"$1/.\" \"$2/\"",
                        &[from, archive],
                    )
                    .await?;
            }
        }
        let env: String = self
            .deployment
            .bundle
            .iter()
            .map(|(k, v)| format!("{k}={v}\n"))
            .collect();
        self.instance
            .write(&bundle_env_of(&self.deployment.dir()), &env, 0o644)
            .await?;
        self.prune().await
    }

    /// Removes the group's oldest revisions as the agent does after a
    /// download, keeping [`KEPT_REVISIONS`] besides the last successful
    /// install's and the last successful deployment's (a rollback's).
    async fn prune(&self) -> Result<(), String> {
        let group_id = self.deployment.group_id;
        let listed = self
            .instance
            .sh_ok(
                "listing the revisions",
                "ls -1dtc \"$1\"/d-* 2>/dev/null; true",
                &[&format!("{DEPLOYMENT_ROOT}/{group_id}")],
            )
            .await?;
        let mut protected = Vec::new();
        for marker in ["_last_successful_install", LAST_GOOD] {
            if let Some(dir) = self.instance.read(&instructions(group_id, marker)).await? {
                protected.push(dir.trim().to_string());
            }
        }
        let newest_first: Vec<&str> = listed.lines().collect();
        let gone = prunable(&newest_first, KEPT_REVISIONS, &protected);
        if gone.is_empty() {
            return Ok(());
        }
        self.instance
            .sh_ok("removing old revisions", "rm -rf -- \"$@\"", &gone)
            .await
            .map(drop)
    }

    /// Runs the scripts of `event` from `spec`, whose revision is at `archive`.
    async fn event(
        &self,
        event: LifecycleEvent,
        spec: &AppSpec,
        archive: &str,
    ) -> Result<(), Failure> {
        self.go_on(event)?;
        let (instance, deployment, local) = (self.instance, self.deployment, self.local);
        let scripts = spec.scripts(event);
        if scripts.is_empty() {
            self.status(event, "Skipped (no scripts)");
            return Ok(());
        }
        let heading = format!("LifecycleEvent - {event}");
        local.say(&heading);
        let log = deployment.scripts_log();
        instance
            .log_lines(&log, std::slice::from_ref(&heading))
            .await
            .map_err(|m| Failure::unknown(event, m))?;
        for hook in scripts {
            if let Err(failure) = self.hook(event, hook, archive).await {
                self.status(event, &format!("Failed ({})", failure.code));
                return Err(failure);
            }
        }
        self.status(event, "Succeeded");
        Ok(())
    }

    async fn hook(&self, event: LifecycleEvent, hook: &Hook, archive: &str) -> Result<(), Failure> {
        let (instance, deployment, local) = (self.instance, self.deployment, self.local);
        let fail = |code, message| Failure {
            event,
            code,
            message,
        };
        let unknown = |m: String| Failure::unknown(event, m);
        self.go_on(event)?;
        let log = deployment.scripts_log();
        let mut lines = vec![format!("Script - {}", hook.location)];
        local.say(&lines[0]);
        let path = format!("{archive}/{}", hook.location.trim_start_matches('/'));
        // A script that is not executable is made so, as the agent does.
        let ready = instance
            .sh(
                "[ -f \"$1\" ] || exit 3; [ -x \"$1\" ] || chmod +x \"$1\" || exit 2",
                &[&path],
            )
            .await
            .map_err(unknown)?;
        match ready.code {
            0 => {}
            3 => {
                return Err(fail(
                    ErrorCode::ScriptMissing,
                    format!("Script does not exist at specified location: {path}"),
                ))
            }
            _ => {
                return Err(fail(
                    ErrorCode::ScriptNotExecutable,
                    format!(
                        "Script at specified location: {} is not executable",
                        hook.location
                    ),
                ))
            }
        }
        let plan = ExecPlan {
            argv: vec![path.clone()],
            user: Some(hook.runas.clone().unwrap_or_else(|| "0".into())),
            env: deployment.env(event),
            working_dir: Some(AGENT_HOME.into()),
            timeout: Some(Duration::from_secs(hook.timeout_secs)),
        };
        let end = instance
            .run_script(&plan, local.stop.clone(), |stream, line| {
                let tag = match stream {
                    Stream::Stdout => "stdout",
                    Stream::Stderr => "stderr",
                };
                let line = format!("[{tag}]{line}");
                local.say(&line);
                lines.push(line);
            })
            .await
            .map_err(unknown)?;
        instance.log_lines(&log, &lines).await.map_err(unknown)?;
        let runas = hook
            .runas
            .as_ref()
            .map(|u| format!(" run as user {u}"))
            .unwrap_or_default();
        match end {
            ExecEnd::Exited(0) => Ok(()),
            ExecEnd::Exited(code) => Err(fail(
                ErrorCode::ScriptFailed,
                format!(
                    "Script at specified location: {}{runas} failed with exit code {code}",
                    hook.location
                ),
            )),
            ExecEnd::TimedOut => Err(fail(
                ErrorCode::ScriptTimedOut,
                format!(
                    "Script at specified location: {}{runas} failed to complete in {} seconds",
                    hook.location, hook.timeout_secs
                ),
            )),
            ExecEnd::Stopped => Err(fail(
                ErrorCode::UnknownError,
                format!(
                    "Script at specified location: {} was stopped with the run",
                    hook.location
                ),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_oldest_revisions_go_but_never_the_protected_ones() {
        let dirs = ["d-6", "d-5", "d-4", "d-3", "d-2", "d-1", "d-0"];
        let protected = vec!["d-1".to_string(), "d-6".to_string()];
        assert!(prunable(&dirs, 5, &protected).is_empty());
        assert_eq!(prunable(&dirs, 4, &protected), vec!["d-0"]);
        assert_eq!(prunable(&dirs, 2, &protected), vec!["d-3", "d-2", "d-0"]);
        assert!(prunable(&dirs[..3], 5, &[]).is_empty());
    }
}
