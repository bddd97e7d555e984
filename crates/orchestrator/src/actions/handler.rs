//! Who does an action's work here: the one table from an action's provider
//! (and the configuration's mappings) to the module that handles it, so the
//! walk in `run/` never asks which provider an action has.

use std::collections::BTreeMap;

use pipelocal_model::config::{DeployMode, LocalCommand};
use pipelocal_model::pipeline::{Action, Category, Provider};

use crate::actions::deploy::{deployed_locally, emulated, Emulation, LocalDeploy};
use crate::actions::mapped::mapping;

/// What the configuration runs here instead of the service: `actions:`,
/// `functions:`, and with `deploy: local` the deploys.
#[derive(Debug, Clone, Default)]
pub struct LocalCommands {
    pub actions: BTreeMap<String, LocalCommand>,
    pub functions: BTreeMap<String, LocalCommand>,
    pub deploy: DeployMode,
}

/// What runs an action.
#[derive(Debug, Clone, Copy)]
pub enum Handler<'a> {
    /// `actions:` maps the action to a local command (whatever its provider).
    Mapped(&'a LocalCommand),
    /// A source action reads a local folder, bucket object or image (`actions/source.rs`).
    Source,
    /// A manual approval, answered by the run's policy or a person (`actions/approval.rs`).
    Approval,
    /// A Lambda invoke whose function `functions:` maps to a local command,
    /// which receives CodePipeline's job event (`actions/mapped.rs`).
    Function(&'a LocalCommand),
    /// A CodeBuild build (`actions/build.rs`).
    CodeBuild,
    /// A Commands action (`actions/build.rs`).
    Commands,
    /// A Lambda invoke nothing stands in for: recorded, not run.
    UnmappedFunction,
    /// A deploy or invoke emulated by checking its inputs (`actions/deploy/`).
    Emulated(Emulation),
    /// A CodeDeploy or ECS deploy that runs in local containers
    /// (`--deploy local`, `actions/deploy/`).
    DeployedLocally(LocalDeploy),
    /// Nothing here can do it: the user must map it to a local command.
    Unsupported,
}

impl<'a> Handler<'a> {
    /// The handler of `action` in `stage`. A mapping wins over everything,
    /// so any action can be replaced by a local command.
    pub fn of(stage: &str, action: &Action, local: &'a LocalCommands) -> Self {
        if let Some(command) = mapping(&local.actions, stage, &action.name) {
            return Handler::Mapped(command);
        }
        let t = &action.action_type_id;
        if t.category == Category::Source {
            return Handler::Source;
        }
        match t.kind() {
            Provider::Manual => Handler::Approval,
            Provider::CodeBuild => Handler::CodeBuild,
            Provider::Commands => Handler::Commands,
            Provider::Lambda => match action
                .config("FunctionName")
                .and_then(|f| local.functions.get(f))
            {
                Some(command) => Handler::Function(command),
                None => Handler::UnmappedFunction,
            },
            _ => match deployed_locally(action) {
                Some(deploy) if local.deploy == DeployMode::Local => {
                    Handler::DeployedLocally(deploy)
                }
                _ => emulated(action).map_or(Handler::Unsupported, Handler::Emulated),
            },
        }
    }

    /// Whether running `action` this way needs the Docker engine (builds
    /// there when `docker_builds`; an image source or an ECS deploy checks
    /// its images in the engine).
    pub fn needs_docker(&self, action: &Action, docker_builds: bool) -> bool {
        match self {
            Handler::Mapped(command) | Handler::Function(command) => command.image.is_some(),
            Handler::CodeBuild | Handler::Commands => docker_builds,
            Handler::Source => action.action_type_id.kind() == Provider::EcrSource,
            Handler::Emulated(_) => action.action_type_id.kind() == Provider::Ecs,
            Handler::DeployedLocally(_) => true,
            Handler::Approval | Handler::UnmappedFunction | Handler::Unsupported => false,
        }
    }
}
