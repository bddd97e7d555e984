//! CodeBuild project definitions: create-project input, batch-get-projects
//! output, and `AWS::CodeBuild::Project` resources in templates.

use std::path::Path;

use serde::Deserialize;
use serde_json::Value;

use crate::cfn::{Resolver, Template, PROJECT_TYPE};
use crate::document::Document;
use crate::locate::DocPath;
use crate::pipeline::api_case;
use crate::problem::{LoadError, Place, Problem};
use crate::scalar;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum EnvironmentVariableType {
    #[default]
    Plaintext,
    ParameterStore,
    SecretsManager,
}

impl EnvironmentVariableType {
    pub fn as_str(self) -> &'static str {
        match self {
            EnvironmentVariableType::Plaintext => "PLAINTEXT",
            EnvironmentVariableType::ParameterStore => "PARAMETER_STORE",
            EnvironmentVariableType::SecretsManager => "SECRETS_MANAGER",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EnvironmentVariable {
    pub name: String,
    #[serde(deserialize_with = "scalar::string")]
    pub value: String,
    #[serde(default, rename = "type")]
    pub var_type: EnvironmentVariableType,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Environment {
    #[serde(rename = "type")]
    pub env_type: Option<String>,
    pub image: String,
    pub compute_type: Option<String>,
    #[serde(default, deserialize_with = "scalar::bool_default_false")]
    pub privileged_mode: bool,
    #[serde(default)]
    pub environment_variables: Vec<EnvironmentVariable>,
}

/// Where a project's buildspec lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BuildspecSource {
    /// A path relative to the primary source directory.
    File(String),
    /// The buildspec text itself.
    Inline(String),
}

impl BuildspecSource {
    /// CodeBuild takes the `buildspec` field as inline YAML when it is YAML text,
    /// else as a path; a one-line value is a path.
    pub fn from_field(value: &str) -> Option<Self> {
        let v = value.trim();
        if v.is_empty() {
            None
        } else if v.contains('\n') || v.starts_with("version:") || v.starts_with('{') {
            Some(BuildspecSource::Inline(value.to_string()))
        } else {
            Some(BuildspecSource::File(v.to_string()))
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProjectSource {
    #[serde(rename = "type")]
    pub source_type: String,
    pub location: Option<String>,
    #[serde(alias = "buildSpec")]
    pub buildspec: Option<String>,
    pub source_identifier: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProjectArtifacts {
    #[serde(rename = "type")]
    pub artifacts_type: String,
    pub location: Option<String>,
    pub name: Option<String>,
    pub artifact_identifier: Option<String>,
    pub packaging: Option<String>,
    pub namespace_type: Option<String>,
    #[serde(default, deserialize_with = "scalar::opt_bool")]
    pub override_artifact_name: Option<bool>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProjectCache {
    #[serde(rename = "type")]
    pub cache_type: String,
    pub location: Option<String>,
    #[serde(default)]
    pub modes: Vec<String>,
    /// Shares S3 cache keys between projects.
    pub cache_namespace: Option<String>,
}

/// A CodeBuild project: the settings that shape a local build.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Project {
    pub name: String,
    pub description: Option<String>,
    pub source: Option<ProjectSource>,
    #[serde(default)]
    pub secondary_sources: Vec<ProjectSource>,
    pub artifacts: Option<ProjectArtifacts>,
    #[serde(default)]
    pub secondary_artifacts: Vec<ProjectArtifacts>,
    pub environment: Environment,
    #[serde(default, deserialize_with = "scalar::opt_int")]
    pub timeout_in_minutes: Option<i64>,
    #[serde(default, deserialize_with = "scalar::opt_int")]
    pub queued_timeout_in_minutes: Option<i64>,
    pub cache: Option<ProjectCache>,
    pub service_role: Option<String>,
    /// The template's logical id, when the project came from a template.
    #[serde(skip)]
    pub logical_id: Option<String>,
}

impl Project {
    pub fn buildspec(&self) -> Option<BuildspecSource> {
        self.source
            .as_ref()?
            .buildspec
            .as_deref()
            .and_then(BuildspecSource::from_field)
    }

    /// Problems CodeBuild's CreateProject would reject.
    /// `at` gives the place of a field, by its API path (`["timeoutInMinutes"]`,
    /// `["environment", "environmentVariables", "0", "name"]`).
    fn check(&self, at: &dyn Fn(&[&str]) -> Place) -> Vec<Problem> {
        let mut out = Vec::new();
        let name_ok = (2..=255).contains(&self.name.len())
            && self
                .name
                .chars()
                .next()
                .is_some_and(|c| c.is_ascii_alphanumeric())
            && self
                .name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        if !name_ok {
            out.push(Problem::error(at(&["name"]), format!(
                "project name '{}' must be 2-255 characters of letters, digits, - and _, starting with a letter or digit", self.name)));
        }
        if self.environment.image.trim().is_empty() {
            out.push(Problem::error(
                at(&["environment", "image"]),
                format!("project '{}' has an empty environment.image", self.name),
            ));
        }
        if let Some(t) = self.timeout_in_minutes {
            if !(5..=2160).contains(&t) {
                out.push(Problem::error(
                    at(&["timeoutInMinutes"]),
                    format!(
                        "project '{}': timeoutInMinutes {t} is out of range 5-2160",
                        self.name
                    ),
                ));
            }
        }
        for (i, v) in self.environment.environment_variables.iter().enumerate() {
            let index = i.to_string();
            let place = at(&["environment", "environmentVariables", &index, "name"]);
            if !v.name.trim().is_empty() && !crate::buildspec::is_shell_name(&v.name) {
                out.push(Problem::warning(place.clone(), format!(
                    "project '{}': environment variable `{}` is not a shell variable name: commands cannot see it", self.name, v.name)));
            }
            if v.name.trim().is_empty() {
                out.push(Problem::error(
                    place,
                    format!(
                        "project '{}' has an environment variable with an empty name",
                        self.name
                    ),
                ));
            }
        }
        out
    }
}

/// Reads every project in a file: create-project input, batch-get-projects
/// output (`{"projects": [...]}`), a list of projects, or a template.
pub fn load_projects(path: &Path) -> Result<Vec<Project>, LoadError> {
    let doc = Document::read(path)?;
    projects_from_document(&doc)
}

pub fn projects_from_document(doc: &Document) -> Result<Vec<Project>, LoadError> {
    let (projects, problems) = read_projects(doc)?;
    if problems.iter().any(Problem::is_error) {
        return Err(LoadError::Invalid { problems });
    }
    Ok(projects)
}

/// Every project in a document with every problem found, warnings included.
pub fn read_projects(doc: &Document) -> Result<(Vec<Project>, Vec<Problem>), LoadError> {
    let mut problems = Vec::new();
    let projects = if let Some(template) = Template::from_document(doc) {
        let mut resolver = Resolver::new(&template);
        let projects = projects_from_template(&template, &mut resolver, &mut problems);
        problems.append(&mut resolver.problems);
        projects
    } else {
        let (items, base): (Vec<&Value>, DocPath) = match &doc.value {
            Value::Array(items) => (items.iter().collect(), DocPath::root()),
            Value::Object(m) if m.contains_key("projects") => match &m["projects"] {
                Value::Array(items) => (items.iter().collect(), DocPath::root().key("projects")),
                _ => return Err(LoadError::invalid(doc.error(&DocPath::root().key("projects"), "`projects` must be a list"))),
            },
            Value::Object(m) if m.contains_key("environment") => (vec![&doc.value], DocPath::root()),
            _ => {
                return Err(LoadError::Syntax {
                    place: Place::file(&doc.path).into(),
                    message: "not a CodeBuild project: expected create-project input (with `name` and `environment`), \
                              batch-get-projects output (with `projects`), or a template with AWS::CodeBuild::Project"
                        .into(),
                })
            }
        };
        let indexed = matches!(doc.value, Value::Array(_)) || base != DocPath::root();
        let mut out = Vec::new();
        for (i, item) in items.into_iter().enumerate() {
            let path = if indexed { base.index(i) } else { base.clone() };
            match serde_path_to_error::deserialize::<_, Project>(item.clone()) {
                Ok(p) => {
                    problems.extend(p.check(&|field| doc.place(&field_path(&path, field, false))));
                    out.push(p);
                }
                Err(e) => {
                    let field = path.join_serde(e.path());
                    problems.push(doc.error(&field, field.prefix(e.inner())));
                }
            }
        }
        out
    };
    Ok((projects, problems))
}

/// A field below `base`: API names, or CloudFormation's PascalCase ones.
fn field_path(base: &DocPath, field: &[&str], pascal: bool) -> DocPath {
    field
        .iter()
        .fold(base.clone(), |path, part| match part.parse::<usize>() {
            Ok(i) => path.index(i),
            Err(_) if pascal => {
                let mut chars = part.chars();
                let first = chars.next().map(|c| c.to_ascii_uppercase());
                path.key(&first.into_iter().chain(chars).collect::<String>())
            }
            Err(_) => path.key(part),
        })
}

/// Every `AWS::CodeBuild::Project` in a template, with intrinsics resolved.
pub fn projects_from_template(
    template: &Template<'_>,
    resolver: &mut Resolver<'_, '_>,
    problems: &mut Vec<Problem>,
) -> Vec<Project> {
    let mut out = Vec::new();
    for id in template.resources_of_type(PROJECT_TYPE) {
        let path = DocPath::root().key("Resources").key(id).key("Properties");
        let raw = template.doc.value["Resources"][id]
            .get("Properties")
            .cloned()
            .unwrap_or(Value::Null);
        let resolved = resolver.resolve(&raw, &path).unwrap_or(Value::Null);
        let mut api = api_case(resolved);
        if let Value::Object(m) = &mut api {
            if !m.contains_key("name") {
                m.insert("name".into(), Value::String(id.to_string()));
            }
        }
        match serde_path_to_error::deserialize::<_, Project>(api) {
            Ok(mut p) => {
                p.logical_id = Some(id.to_string());
                problems
                    .extend(p.check(&|field| template.doc.place(&field_path(&path, field, true))));
                out.push(p);
            }
            Err(e) => {
                let field: Vec<String> = e
                    .path()
                    .to_string()
                    .split('.')
                    .map(crate::pipeline::pascal)
                    .collect();
                problems.push(template.doc.error(
                    &path,
                    format!("project {id}: {}: {}", field.join("."), e.inner()),
                ));
            }
        }
    }
    out
}
