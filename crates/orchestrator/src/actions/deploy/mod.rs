//! Deploy and invoke actions, emulated honestly (CodePipeline User Guide, the deploy and invoke
//! action references): each checks its inputs the way the service would, so the mistakes
//! that break real deploys show here first, and says what it would have done.
//! The S3 deploy really writes, into the local bucket folder; with `--deploy
//! local` CodeDeploy and ECS deploys really run, in local containers
//! ("Deploying locally" in docs/deploying-locally.md). One module per provider
//! family; this one holds what they share and picks one by the action's
//! `Provider`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use pipelocal_model::codedeploy::DeploymentGroup;
use pipelocal_model::config::Config;
use pipelocal_model::ecs::EcsServices;
use pipelocal_model::pipeline::{Action, Provider};
use pipelocal_runner::build::StopSignal;
use pipelocal_runner::events::{BuildEventKind, EventSink};

use crate::actions::build::{BuildSettings, InputArtifact};
use crate::store::s3_path;

mod active_deployment;
mod cloudformation;
mod codedeploy;
mod ecs;
mod elastic_beanstalk;
mod s3;
mod step_functions;

use cloudformation::cloudformation;
use codedeploy::codedeploy;
pub use ecs::check_image_definitions;
use ecs::{codedeploy_to_ecs, ecs_deploy};
use elastic_beanstalk::elastic_beanstalk;
use s3::s3_deploy;
use step_functions::step_functions;

/// What an emulated action did.
#[derive(Debug, Default)]
pub struct Done {
    pub summary: String,
    /// Lines for the action's log.
    pub lines: Vec<String>,
    pub outputs: Vec<(String, PathBuf)>,
    pub variables: BTreeMap<String, String>,
    /// Images the deploy would run: each must be local or pullable.
    pub images: Vec<String>,
    /// The service's id of what it did (a CodeDeploy deployment's `d-...`),
    /// the action execution's `externalExecutionId`.
    pub external_id: Option<String>,
}

/// Why a local deploy failed, with the id of the deployment that failed
/// when one was made: the action execution's `externalExecutionId`, which
/// AWS sets on a failed action too.
#[derive(Debug)]
pub struct DeployFailed {
    pub message: String,
    pub external_id: Option<String>,
}

impl From<String> for DeployFailed {
    fn from(message: String) -> Self {
        DeployFailed {
            message,
            external_id: None,
        }
    }
}

impl From<&str> for DeployFailed {
    fn from(message: &str) -> Self {
        message.to_string().into()
    }
}

/// A new CodeDeploy deployment id: `d-` and nine upper-case letters and
/// digits, as CodeDeploy's look.
pub(crate) fn deployment_id() -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    let bytes = uuid::Uuid::new_v4().into_bytes();
    let id: String = bytes[..9]
        .iter()
        .map(|b| char::from(ALPHABET[usize::from(*b) % ALPHABET.len()]))
        .collect();
    format!("d-{id}")
}

/// Everything an emulated action may read.
pub struct Context<'a> {
    pub action: &'a Action,
    pub config: &'a BTreeMap<String, String>,
    pub inputs: &'a [InputArtifact],
    /// The zip of each input in the store, by name.
    pub input_zips: &'a BTreeMap<String, PathBuf>,
    pub state_dir: &'a Path,
    /// Where outputs are written.
    pub out_dir: &'a Path,
}

impl Context<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.config
            .get(key)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }

    fn required(&self, key: &str) -> Result<&str, String> {
        self.get(key)
            .ok_or_else(|| format!("configuration {key} is required"))
    }

    fn input(&self, name: &str) -> Result<&InputArtifact, String> {
        self.inputs.iter().find(|i| i.name == name).ok_or_else(|| {
            let names: Vec<&str> = self.inputs.iter().map(|i| i.name.as_str()).collect();
            format!(
                "artifact {name} is not an input artifact of the action (its inputs: {})",
                if names.is_empty() {
                    "none".into()
                } else {
                    names.join(", ")
                }
            )
        })
    }

    /// The only input, for providers that take one.
    fn sole_input(&self) -> Result<&InputArtifact, String> {
        match self.inputs {
            [one] => Ok(one),
            _ => Err(format!(
                "this action takes exactly one input artifact, it has {}",
                self.inputs.len()
            )),
        }
    }
}

/// An emulation: checks and does (or records) what the service would.
pub type Emulation = fn(&Context) -> Result<Done, String>;

/// A deploy that runs in local containers with `--deploy local`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LocalDeploy {
    /// CodeDeploy EC2/on-premises: the appspec's lifecycle in an instance container.
    CodeDeploy,
    /// ECS standard deploy: the service's task replaced by one with the new images.
    Ecs,
    /// CodeDeploy blue/green to ECS: a green task beside the blue one.
    CodeDeployToEcs,
}

/// Which local deploy an action gets with `--deploy local`, if any.
pub fn deployed_locally(action: &Action) -> Option<LocalDeploy> {
    match action.action_type_id.kind() {
        Provider::CodeDeploy => Some(LocalDeploy::CodeDeploy),
        Provider::Ecs => Some(LocalDeploy::Ecs),
        Provider::CodeDeployToEcs => Some(LocalDeploy::CodeDeployToEcs),
        _ => None,
    }
}

/// What a local deploy may read besides the emulation's [`Context`].
pub struct Local<'a> {
    /// `.pipelocal.yml` and the flags: `instances:`, `services:`, images.
    pub settings: &'a Config,
    /// How local commands run: the `functions:` standing in for hook Lambdas.
    pub build: &'a BuildSettings,
    /// The template's ECS services.
    pub ecs: &'a EcsServices,
    /// The image of instances no configuration gives one (after `image-map`).
    pub default_image: String,
    pub pipeline: &'a str,
    pub execution_id: &'a str,
    /// The action's log: lifecycle events and script output go here as they come.
    pub sink: &'a EventSink,
    pub stop: StopSignal,
    /// The CodeDeploy deployment groups the template defines (rollback,
    /// the service of a blue/green deployment).
    pub deployment_groups: &'a [DeploymentGroup],
}

impl Local<'_> {
    /// A line of the deploy's own in the action's log, masked like every line.
    pub fn say(&self, text: impl AsRef<str>) {
        let text = self.sink.masker().mask(text.as_ref());
        self.sink.send(BuildEventKind::Output(format!("{text}\n")));
    }
}

/// Who deploys, as a held target names it to a deployment it turns away.
fn deployer(cx: &Context<'_>, local: &Local<'_>) -> String {
    format!(
        "of execution {} of pipeline {}, action {}",
        local.execution_id, local.pipeline, cx.action.name
    )
}

/// Holds ECS `service` of `cluster` for this deploy (standard or
/// blue/green), waiting while another deploy replaces its task, as the log says.
pub(super) async fn hold_service(
    cx: &Context<'_>,
    local: &Local<'_>,
    cluster: &str,
    service: &str,
) -> Result<active_deployment::ActiveDeployment, String> {
    let waiting = |holder: &str| {
        local.say(format!(
            "waiting for the deploy {holder} to end: a service's task is replaced by one deploy at a time"
        ))
    };
    let who = deployer(cx, local);
    let stop = local.stop.clone();
    active_deployment::begin_ecs(cx.state_dir, cluster, service, &who, stop, waiting)
        .await?
        .ok_or_else(|| "the run was stopped while the deploy waited for another".to_string())
}

/// Runs a local deploy: its work is done (or failed) when this returns.
/// One deployment at a time per deployment group and per service
/// (`active_deployment.rs`), across the runs of this state folder; a
/// blue/green deployment holds its group here and its service once known.
pub async fn deploy_locally(
    kind: LocalDeploy,
    cx: &Context<'_>,
    local: &Local<'_>,
) -> Result<Done, DeployFailed> {
    let _active = match kind {
        LocalDeploy::CodeDeploy | LocalDeploy::CodeDeployToEcs => {
            active_deployment::begin_codedeploy(
                cx.state_dir,
                cx.required("ApplicationName")?,
                cx.required("DeploymentGroupName")?,
                &deployer(cx, local),
            )?
        }
        LocalDeploy::Ecs => {
            let cluster = cx.required("ClusterName")?;
            hold_service(cx, local, cluster, cx.required("ServiceName")?).await?
        }
    };
    match kind {
        LocalDeploy::CodeDeploy => codedeploy::deploy_locally(cx, local).await,
        LocalDeploy::Ecs => Ok(ecs::deploy_locally(cx, local).await?),
        LocalDeploy::CodeDeployToEcs => ecs::blue_green_locally(cx, local).await,
    }
}

/// Why an emulation may not make an output, said after "is not made
/// locally": CloudFormation makes one only with `OutputFileName`.
pub fn unmade_output_hint(action: &Action) -> &'static str {
    match action.action_type_id.kind() {
        Provider::CloudFormation => " without OutputFileName",
        _ => "",
    }
}

/// Which emulation an action gets, if any.
pub fn emulated(action: &Action) -> Option<Emulation> {
    Some(match action.action_type_id.kind() {
        Provider::S3Deploy => s3_deploy,
        Provider::Ecs => ecs_deploy,
        Provider::CodeDeployToEcs => codedeploy_to_ecs,
        Provider::CloudFormation => cloudformation,
        Provider::CodeDeploy => codedeploy,
        Provider::StepFunctions => step_functions,
        Provider::ElasticBeanstalk => elastic_beanstalk,
        _ => return None,
    })
}

/// Reads `path` inside an unpacked artifact, refusing paths that leave it.
pub(super) fn read_in(artifact: &InputArtifact, path: &str) -> Result<String, String> {
    let rel = Path::new(path.trim_start_matches("./"));
    if rel.is_absolute()
        || rel
            .components()
            .any(|c| c == std::path::Component::ParentDir)
    {
        return Err(format!("{path}: a path inside the artifact is needed"));
    }
    // A file that is there but unreadable (not UTF-8, no permission) is
    // that error, not a missing file.
    std::fs::read_to_string(artifact.dir.join(rel)).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => {
            format!("{path} does not exist in input artifact {}", artifact.name)
        }
        _ => format!("{path} in input artifact {}: {e}", artifact.name),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_definitions_are_checked_as_ecs_reads_them() {
        assert_eq!(
            check_image_definitions(r#"[{"name":"web","imageUri":"repo/web:1"}]"#, "f").unwrap(),
            vec![("web".to_string(), "repo/web:1".to_string())]
        );
        assert!(check_image_definitions(r#"{"name":"web"}"#, "f")
            .unwrap_err()
            .contains("non-empty JSON list"));
        assert!(
            check_image_definitions(r#"[{"name":"web","imageURI":"x"}]"#, "f")
                .unwrap_err()
                .contains("entry 1 has no \"imageUri\"")
        );
        assert!(check_image_definitions("[", "f")
            .unwrap_err()
            .contains("not valid JSON"));
    }
}
