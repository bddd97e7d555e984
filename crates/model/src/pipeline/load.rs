//! Reads every pipeline form into a [`Pipeline`]: the bare declaration,
//! create-pipeline input, get-pipeline output, and CloudFormation / CDK
//! templates (JSON or YAML) holding `AWS::CodePipeline::Pipeline`.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::{Map, Value};

use super::fields::{pascal_path, strip_unknown};
use super::{pascal, validate, Origin, Pipeline};
use crate::cfn::parameters::check_given;
use crate::cfn::{ParameterValues, Placeholder, Resolver, Template, PIPELINE_TYPE};
use crate::codedeploy::{deployment_groups_from_template, DeploymentGroup};
use crate::document::Document;
use crate::ecs::EcsServices;
use crate::locate::DocPath;
use crate::problem::{LoadError, Place, Problem};
use crate::project::{projects_from_template, Project};

/// A pipeline with the CodeBuild projects its template defines, and every
/// problem found while reading and validating it.
#[derive(Debug, Clone)]
pub struct LoadedPipeline {
    pub pipeline: Pipeline,
    pub projects: Vec<Project>,
    /// The CodeDeploy deployment groups its template defines.
    pub deployment_groups: Vec<DeploymentGroup>,
    /// The ECS services its template defines.
    pub ecs: EcsServices,
    pub problems: Vec<Problem>,
    /// What stands in for values nobody gave (see [`crate::cfn::parameters`]).
    pub placeholders: Vec<Placeholder>,
}

impl LoadedPipeline {
    pub fn has_errors(&self) -> bool {
        self.problems.iter().any(Problem::is_error)
    }

    /// The warnings about values nobody gave (one per placeholder, naming
    /// the flag that gives it): every command that reads the template says
    /// them, not only `validate`.
    pub fn placeholder_warnings(&self) -> impl Iterator<Item = &Problem> {
        self.problems.iter().filter(|p| {
            !p.is_error()
                && self
                    .placeholders
                    .iter()
                    .any(|h| p.message.contains(&h.value))
        })
    }

    /// Where a placeholder would change what runs (the image or buildspec of a
    /// project an action builds with, a Commands action's commands): the
    /// message naming what to give. Elsewhere a placeholder only names things,
    /// and names wire up the same with any value.
    pub fn placeholder_in_what_runs(&self) -> Option<String> {
        let holding = |text: &str| self.placeholders.iter().find(|p| text.contains(&p.value));
        let say = |what: String, p: &Placeholder| {
            let remedy = if p.remedy.is_empty() {
                "pipelocal cannot know it before it is deployed".to_string()
            } else {
                format!("give it with {}", p.remedy)
            };
            format!(
                "{what} depends on {}, which has no value ('{}' stands in for it): {remedy}",
                p.what, p.value
            )
        };
        for (stage, action) in self.pipeline.actions() {
            let at = format!("stage '{}', action '{}'", stage.name, action.name);
            for command in action.commands.iter().flatten() {
                if let Some(p) = holding(command) {
                    return Some(say(format!("{at}: the command `{command}`"), p));
                }
            }
            let Some(name) = action.config("ProjectName") else {
                continue;
            };
            let Some(project) = self.projects.iter().find(|p| p.name == name) else {
                continue;
            };
            if let Some(p) = holding(&project.environment.image) {
                return Some(say(
                    format!(
                        "{at}: the image of project '{name}' ({})",
                        project.environment.image
                    ),
                    p,
                ));
            }
            let buildspec = project.source.as_ref().and_then(|s| s.buildspec.as_deref());
            if let Some(p) = buildspec.and_then(holding) {
                return Some(say(format!("{at}: the buildspec of project '{name}'"), p));
            }
        }
        None
    }

    /// Fails with every problem when any is an error; warnings stay with the pipeline.
    pub fn into_valid(self) -> Result<Self, LoadError> {
        if self.has_errors() {
            Err(LoadError::Invalid {
                problems: self.problems,
            })
        } else {
            Ok(self)
        }
    }
}

/// Reads and validates the pipeline in `path`; `name` picks one when a
/// template holds several.
pub fn load_pipeline(path: &Path, name: Option<&str>) -> Result<LoadedPipeline, LoadError> {
    load_pipeline_with(path, name, &ParameterValues::new())
}

/// [`load_pipeline`] with values for the template's parameters.
pub fn load_pipeline_with(
    path: &Path,
    name: Option<&str>,
    parameters: &ParameterValues,
) -> Result<LoadedPipeline, LoadError> {
    let doc = Document::read(path)?;
    pipeline_from_document_with(&doc, name, parameters)
}

pub fn pipeline_from_document(
    doc: &Document,
    name: Option<&str>,
) -> Result<LoadedPipeline, LoadError> {
    pipeline_from_document_with(doc, name, &ParameterValues::new())
}

pub fn pipeline_from_document_with(
    doc: &Document,
    name: Option<&str>,
    parameters: &ParameterValues,
) -> Result<LoadedPipeline, LoadError> {
    let (mut pipeline, projects, mut problems, placeholders, deployment_groups, ecs) =
        match Template::from_document(doc) {
            Some(template) => {
                let template = template.with_parameters(parameters);
                let named = pipeline_names(&template);
                let (id, shown) = pick(&template, &named, name)?;
                from_template(&template, id, shown, false)?
            }
            None => {
                let (pipeline, unknown) = from_api_json(doc)?;
                let none = EcsServices::default();
                (pipeline, Vec::new(), unknown, Vec::new(), Vec::new(), none)
            }
        };
    pipeline.origin.file = doc.path.clone();
    pipeline.origin.text = doc.text.clone();
    problems.extend(validate(&pipeline));
    Ok(LoadedPipeline {
        pipeline,
        projects,
        deployment_groups,
        ecs,
        problems,
        placeholders,
    })
}

fn from_api_json(doc: &Document) -> Result<(Pipeline, Vec<Problem>), LoadError> {
    let root = &doc.value;
    let (decl, path) = match root.get("pipeline") {
        Some(p) => (p, DocPath::root().key("pipeline")),
        None if root.get("stages").is_some() => (root, DocPath::root()),
        None => {
            return Err(LoadError::Syntax {
                place: Place::file(&doc.path).into(),
                message: "not a pipeline: expected a pipeline declaration (with `stages`), \
                          create-pipeline input or get-pipeline output (with `pipeline`), \
                          or a CloudFormation template (with `Resources`)"
                    .into(),
            })
        }
    };
    let origin = Origin {
        file: doc.path.clone(),
        text: doc.text.clone(),
        root: path,
        pascal_case: false,
    };
    deserialize(decl.clone(), origin)
}

/// Reads the declaration; every unknown field is reported (and skipped) so
/// validation can still report everything else.
fn deserialize(mut value: Value, origin: Origin) -> Result<(Pipeline, Vec<Problem>), LoadError> {
    let unknown = strip_unknown(&mut value, &origin);
    match serde_path_to_error::deserialize::<_, Pipeline>(value) {
        Ok(mut p) => {
            p.origin = origin;
            Ok((p, unknown))
        }
        Err(e) => {
            let api_path = DocPath::root().join_serde(e.path());
            let mut message = e.inner().to_string();
            if origin.pascal_case {
                message = pascal_in_backticks(&message);
            }
            let shown = if origin.pascal_case {
                pascal_path(&api_path)
            } else {
                api_path.to_string()
            };
            let message = if shown.is_empty() {
                message
            } else {
                format!("{shown}: {message}")
            };
            Err(LoadError::invalid(Problem::error(
                origin.place(&api_path),
                message,
            )))
        }
    }
}

/// serde names fields in the API's casing; a template author wrote PascalCase.
fn pascal_in_backticks(message: &str) -> String {
    let mut out = String::new();
    for (i, part) in message.split('`').enumerate() {
        if i > 0 {
            out.push('`');
        }
        if i % 2 == 1 {
            out.push_str(&pascal(part));
        } else {
            out.push_str(part);
        }
    }
    out
}

type FromTemplate = (
    Pipeline,
    Vec<Project>,
    Vec<Problem>,
    Vec<Placeholder>,
    Vec<DeploymentGroup>,
    EcsServices,
);

/// Each pipeline of a template by logical id, with the name it is shown by.
fn pipeline_names(template: &Template<'_>) -> Vec<(String, String)> {
    let doc = template.doc;
    // Its own resolver: resolving every name must not report another
    // pipeline's placeholders as this one's.
    let mut resolver = Resolver::new(template);
    template
        .resources_of_type(PIPELINE_TYPE)
        .into_iter()
        .map(|id| {
            let declared = doc.value["Resources"][id]["Properties"]
                .get("Name")
                .cloned();
            let shown = declared
                .and_then(|v| resolver.resolve(&v, &DocPath::root()))
                .and_then(|v| v.as_str().map(String::from))
                .unwrap_or_else(|| id.to_string());
            (id.to_string(), shown)
        })
        .collect()
}

fn list(named: &[(String, String)]) -> String {
    named
        .iter()
        .map(|(_, n)| n.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// The pipeline `name` picks (a name or logical id), or the only one.
fn pick<'n>(
    template: &Template<'_>,
    named: &'n [(String, String)],
    name: Option<&str>,
) -> Result<&'n (String, String), LoadError> {
    let syntax = |message: String| LoadError::Syntax {
        place: Place::file(&template.doc.path).into(),
        message,
    };
    match (name, named) {
        (_, []) => Err(syntax(format!(
            "the template holds no {PIPELINE_TYPE} resource"
        ))),
        (None, [only]) => Ok(only),
        (None, many) => Err(syntax(format!(
            "the template holds {} pipelines ({}); choose one with --name",
            many.len(),
            list(many)
        ))),
        (Some(want), all) => all
            .iter()
            .find(|(id, n)| n == want || id == want)
            .ok_or_else(|| {
                syntax(format!(
                    "no pipeline named '{want}' in the template (it has: {})",
                    list(all)
                ))
            }),
    }
}

/// Every pipeline of a template checked, each problem naming its pipeline
/// (by name and logical id, so two pipelines of the same name are told
/// apart); problems of what the pipelines share (projects, parameters) once.
pub fn check_every_pipeline(doc: &Document, parameters: &ParameterValues) -> Vec<Problem> {
    let Some(template) = Template::from_document(doc) else {
        return Vec::new();
    };
    let template = template.with_parameters(parameters);
    let mut problems: Vec<Problem> = Vec::new();
    for (id, name) in pipeline_names(&template) {
        let found = match from_template(&template, &id, &name, true) {
            Ok((mut pipeline, _, mut found, ..)) => {
                pipeline.origin.file = doc.path.clone();
                pipeline.origin.text = doc.text.clone();
                found.extend(label(validate(&pipeline), &id, &name));
                found
            }
            Err(e) => e.problems(),
        };
        for p in found {
            if !problems.contains(&p) {
                problems.push(p);
            }
        }
    }
    problems
}

/// Problems of one of several pipelines name it.
fn label(mut problems: Vec<Problem>, id: &str, name: &str) -> Vec<Problem> {
    let shown = if id == name {
        format!("'{name}'")
    } else {
        format!("'{name}' ({id})")
    };
    for p in &mut problems {
        p.place.pipeline = Some(shown.clone());
    }
    problems
}

/// Reads the pipeline resource `logical_id`; `several` when the template
/// holds more than one, so its own problems name it.
fn from_template(
    template: &Template<'_>,
    logical_id: &str,
    pipeline_name: &str,
    several: bool,
) -> Result<FromTemplate, LoadError> {
    let doc = template.doc;
    let mut resolver = Resolver::new(template);
    let (raw, props_path) = template.properties(logical_id);
    let raw = match raw {
        Value::Null => Value::Object(Map::new()),
        raw => raw,
    };
    let resolved = resolver.resolve(&raw, &props_path).unwrap_or(Value::Null);
    let mut api = api_case(resolved);
    if let Value::Object(map) = &mut api {
        map.insert("name".into(), Value::String(pipeline_name.to_string()));
        // CloudFormation-only properties with no bearing on a local run.
        map.remove("tags");
        map.remove("restartExecutionOnUpdate");
    }
    let own = |problems: Vec<Problem>| {
        if several {
            label(problems, logical_id, pipeline_name)
        } else {
            problems
        }
    };
    let mut problems = own(std::mem::take(&mut resolver.problems));
    let projects = projects_from_template(template, &mut resolver, &mut problems);
    let groups = deployment_groups_from_template(template, &mut problems);
    problems.append(&mut resolver.problems);
    problems.extend(check_given(doc, template.parameters(), &template.given));
    problems.extend(resolver.placeholder_warnings());
    let placeholders = resolver.placeholders();
    let origin = Origin {
        file: doc.path.clone(),
        text: doc.text.clone(),
        root: props_path,
        pascal_case: true,
    };
    if problems.iter().any(Problem::is_error) {
        return Err(LoadError::Invalid { problems });
    }
    let (pipeline, unknown) = deserialize(api, origin).map_err(|e| LoadError::Invalid {
        problems: problems.iter().cloned().chain(own(e.problems())).collect(),
    })?;
    problems.extend(own(unknown));
    let ecs = EcsServices::from_template(template);
    Ok((pipeline, projects, problems, placeholders, groups, ecs))
}

/// Turns CloudFormation's PascalCase property tree into the API's camelCase.
/// `Configuration` maps keep their keys (they are the same in both forms) and
/// `ArtifactStores` turns from CloudFormation's list into the API's map.
pub(crate) fn api_case(value: Value) -> Value {
    match value {
        Value::Object(map) => {
            let mut out = Map::new();
            for (k, v) in map {
                let key = camel(&k);
                let v = match key.as_str() {
                    "configuration" => v,
                    "artifactStores" => artifact_stores_map(v),
                    _ => api_case(v),
                };
                out.insert(key, v);
            }
            Value::Object(out)
        }
        Value::Array(items) => Value::Array(items.into_iter().map(api_case).collect()),
        other => other,
    }
}

fn artifact_stores_map(v: Value) -> Value {
    let Value::Array(items) = v else {
        return api_case(v);
    };
    let mut map: BTreeMap<String, Value> = BTreeMap::new();
    for item in items {
        let region = item
            .get("Region")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        let store = item.get("ArtifactStore").cloned().unwrap_or(Value::Null);
        map.insert(region, api_case(store));
    }
    Value::Object(map.into_iter().collect())
}

fn camel(key: &str) -> String {
    let mut c = key.chars();
    match c.next() {
        Some(f) => f.to_ascii_lowercase().to_string() + c.as_str(),
        None => String::new(),
    }
}
