//! The typed CodePipeline declaration every input form is read into.

mod fields;
mod load;
mod provider;
mod validate;
pub mod variables;

pub(crate) use load::api_case;
pub use load::{
    check_every_pipeline, load_pipeline, load_pipeline_with, pipeline_from_document,
    pipeline_from_document_with, LoadedPipeline,
};
pub use provider::{ArtifactBounds, Provider};
pub use validate::validate;

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;

use serde::Deserialize;

use crate::locate::{line_of, DocPath};
use crate::problem::Place;
use crate::scalar;

/// Where a pipeline came from, so problems found later can name file and line.
#[derive(Debug, Clone, Default)]
pub struct Origin {
    pub file: PathBuf,
    pub text: String,
    /// The path of the pipeline declaration inside the document.
    pub root: DocPath,
    /// CloudFormation writes `RunOrder` where the API writes `runOrder`.
    pub pascal_case: bool,
}

impl Origin {
    /// The line of a field below the declaration, given by its API (camelCase) path.
    pub fn line(&self, api_path: &DocPath) -> Option<usize> {
        let mut full = self.root.clone();
        for seg in &api_path.0 {
            full.0.push(match seg {
                crate::locate::Seg::Key(k) if self.pascal_case => {
                    crate::locate::Seg::Key(pascal(k))
                }
                other => other.clone(),
            });
        }
        // Fall back to the nearest ancestor that can be found.
        let mut probe = full;
        loop {
            if let Some(line) = line_of(&self.text, &probe) {
                return Some(line);
            }
            probe.0.pop()?;
        }
    }

    pub fn place(&self, api_path: &DocPath) -> Place {
        Place::file(&self.file).at_line(self.line(api_path))
    }
}

pub(crate) fn pascal(key: &str) -> String {
    let mut c = key.chars();
    match c.next() {
        Some(f) => f.to_ascii_uppercase().to_string() + c.as_str(),
        None => String::new(),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
pub enum PipelineType {
    #[default]
    V1,
    V2,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ExecutionMode {
    Queued,
    #[default]
    Superseded,
    Parallel,
}

impl ExecutionMode {
    pub fn as_str(self) -> &'static str {
        match self {
            ExecutionMode::Queued => "QUEUED",
            ExecutionMode::Superseded => "SUPERSEDED",
            ExecutionMode::Parallel => "PARALLEL",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EncryptionKey {
    pub id: String,
    #[serde(rename = "type")]
    pub key_type: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ArtifactStore {
    #[serde(rename = "type")]
    pub store_type: String,
    pub location: String,
    pub encryption_key: Option<EncryptionKey>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PipelineVariable {
    pub name: String,
    #[serde(default, deserialize_with = "scalar::opt_string")]
    pub default_value: Option<String>,
    pub description: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct GlobFilter {
    #[serde(default)]
    pub includes: Vec<String>,
    #[serde(default)]
    pub excludes: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct GitFilter {
    pub events: Option<Vec<String>>,
    pub tags: Option<GlobFilter>,
    pub branches: Option<GlobFilter>,
    pub file_paths: Option<GlobFilter>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct GitConfiguration {
    pub source_action_name: String,
    #[serde(default)]
    pub push: Vec<GitFilter>,
    #[serde(default)]
    pub pull_request: Vec<GitFilter>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Trigger {
    pub provider_type: String,
    pub git_configuration: Option<GitConfiguration>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DisabledTransition {
    pub stage_name: String,
    pub reason: String,
}

/// A pipeline, whichever form it was written in.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Pipeline {
    pub name: String,
    pub role_arn: Option<String>,
    pub artifact_store: Option<ArtifactStore>,
    /// Region to store; CloudFormation's list form is turned into this map on load.
    pub artifact_stores: Option<BTreeMap<String, ArtifactStore>>,
    pub stages: Vec<Stage>,
    #[serde(default, deserialize_with = "scalar::opt_int")]
    pub version: Option<i64>,
    #[serde(default)]
    pub execution_mode: Option<ExecutionMode>,
    #[serde(default)]
    pub pipeline_type: Option<PipelineType>,
    #[serde(default)]
    pub variables: Vec<PipelineVariable>,
    #[serde(default)]
    pub triggers: Vec<Trigger>,
    /// CloudFormation only: stages whose inbound transition starts disabled.
    #[serde(default)]
    pub disable_inbound_stage_transitions: Vec<DisabledTransition>,
    #[serde(skip)]
    pub origin: Origin,
}

impl Pipeline {
    pub fn pipeline_type(&self) -> PipelineType {
        self.pipeline_type.unwrap_or_default()
    }

    pub fn execution_mode(&self) -> ExecutionMode {
        self.execution_mode.unwrap_or_default()
    }

    /// Every action with its stage, in declaration order.
    /// The source actions (which only the first stage may hold).
    pub fn source_actions(&self) -> impl Iterator<Item = &Action> {
        self.actions()
            .map(|(_, a)| a)
            .filter(|a| a.action_type_id.category == Category::Source)
    }

    pub fn actions(&self) -> impl Iterator<Item = (&Stage, &Action)> {
        self.stages
            .iter()
            .flat_map(|s| s.actions.iter().map(move |a| (s, a)))
    }

    pub fn stage_path(index: usize) -> DocPath {
        DocPath::root().key("stages").index(index)
    }

    pub fn action_path(stage: usize, action: usize) -> DocPath {
        Self::stage_path(stage).key("actions").index(action)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Blocker {
    pub name: String,
    #[serde(rename = "type")]
    pub blocker_type: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ConditionResult {
    Rollback,
    Fail,
    Retry,
    Skip,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum RetryMode {
    FailedActions,
    AllActions,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RuleTypeId {
    pub category: String,
    pub owner: String,
    pub provider: String,
    #[serde(deserialize_with = "scalar::string")]
    pub version: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Rule {
    pub name: String,
    pub rule_type_id: RuleTypeId,
    #[serde(default, deserialize_with = "scalar::string_map")]
    pub configuration: BTreeMap<String, String>,
    #[serde(default)]
    pub commands: Vec<String>,
    #[serde(default)]
    pub input_artifacts: Vec<ArtifactRef>,
    pub role_arn: Option<String>,
    pub region: Option<String>,
    #[serde(default, deserialize_with = "scalar::opt_int")]
    pub timeout_in_minutes: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Condition {
    pub result: Option<ConditionResult>,
    #[serde(default)]
    pub rules: Vec<Rule>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Conditions {
    #[serde(default)]
    pub conditions: Vec<Condition>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RetryConfiguration {
    pub retry_mode: Option<RetryMode>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FailureConditions {
    pub result: Option<ConditionResult>,
    pub retry_configuration: Option<RetryConfiguration>,
    #[serde(default)]
    pub conditions: Vec<Condition>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Stage {
    pub name: String,
    pub actions: Vec<Action>,
    #[serde(default)]
    pub blockers: Vec<Blocker>,
    pub before_entry: Option<Conditions>,
    pub on_success: Option<Conditions>,
    pub on_failure: Option<FailureConditions>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Deserialize)]
pub enum Category {
    Source,
    Build,
    Deploy,
    Test,
    Invoke,
    Approval,
    Compute,
}

impl fmt::Display for Category {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Deserialize)]
pub enum Owner {
    #[serde(rename = "AWS")]
    Aws,
    ThirdParty,
    Custom,
}

impl fmt::Display for Owner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Owner::Aws => "AWS",
            Owner::ThirdParty => "ThirdParty",
            Owner::Custom => "Custom",
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(from = "ActionTypeFields")]
pub struct ActionTypeId {
    pub category: Category,
    pub owner: Owner,
    pub provider: String,
    pub version: String,
    /// Told apart once, when the declaration is read.
    kind: Provider,
}

/// `actionTypeId` as written.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ActionTypeFields {
    category: Category,
    owner: Owner,
    provider: String,
    #[serde(deserialize_with = "scalar::string")]
    version: String,
}

impl From<ActionTypeFields> for ActionTypeId {
    fn from(f: ActionTypeFields) -> Self {
        ActionTypeId::new(f.category, f.owner, &f.provider, &f.version)
    }
}

impl ActionTypeId {
    pub fn new(category: Category, owner: Owner, provider: &str, version: &str) -> Self {
        let mut id = ActionTypeId {
            category,
            owner,
            provider: provider.to_string(),
            version: version.to_string(),
            kind: Provider::Unknown,
        };
        id.kind = Provider::of(&id);
        id
    }

    /// The provider this action type names.
    pub fn kind(&self) -> Provider {
        self.kind
    }
}

impl fmt::Display for ActionTypeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}/{}", self.category, self.owner, self.provider)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ArtifactRef {
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct OutputArtifact {
    pub name: String,
    #[serde(default)]
    pub files: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ActionEnvType {
    #[default]
    Plaintext,
    SecretsManager,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ActionEnvironmentVariable {
    pub name: String,
    #[serde(deserialize_with = "scalar::string")]
    pub value: String,
    #[serde(default, rename = "type")]
    pub var_type: ActionEnvType,
}

fn default_run_order() -> i64 {
    1
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Action {
    pub name: String,
    pub action_type_id: ActionTypeId,
    /// Kept wide so that out-of-range values reach validation with their text.
    #[serde(default = "default_run_order", deserialize_with = "scalar::int")]
    pub run_order: i64,
    #[serde(default, deserialize_with = "scalar::string_map")]
    pub configuration: BTreeMap<String, String>,
    #[serde(default)]
    pub input_artifacts: Vec<ArtifactRef>,
    #[serde(default)]
    pub output_artifacts: Vec<OutputArtifact>,
    pub namespace: Option<String>,
    pub region: Option<String>,
    pub role_arn: Option<String>,
    #[serde(default, deserialize_with = "scalar::opt_int")]
    pub timeout_in_minutes: Option<i64>,
    pub commands: Option<Vec<String>>,
    pub output_variables: Option<Vec<String>>,
    pub environment_variables: Option<Vec<ActionEnvironmentVariable>>,
}

impl Action {
    pub fn inputs(&self) -> impl Iterator<Item = &str> {
        self.input_artifacts.iter().map(|a| a.name.as_str())
    }

    pub fn outputs(&self) -> impl Iterator<Item = &str> {
        self.output_artifacts.iter().map(|a| a.name.as_str())
    }

    pub fn config(&self, key: &str) -> Option<&str> {
        self.configuration.get(key).map(String::as_str)
    }

    /// Whether `name` is this action's name or one of its output artifacts'
    /// (the two ways a user names a source to map).
    pub fn answers_to(&self, name: &str) -> bool {
        self.name == name || self.outputs().any(|o| o == name)
    }
}
