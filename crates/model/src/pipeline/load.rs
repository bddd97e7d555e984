//! Reads every pipeline form into a [`Pipeline`]: the bare declaration,
//! create-pipeline input, get-pipeline output, and CloudFormation / CDK
//! templates (JSON or YAML) holding `AWS::CodePipeline::Pipeline`.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::{Map, Value};

use super::fields::{pascal_path, strip_unknown};
use super::{pascal, validate, Origin, Pipeline};
use crate::cfn::{Resolver, Template, PIPELINE_TYPE};
use crate::document::Document;
use crate::locate::DocPath;
use crate::problem::{LoadError, Place, Problem};
use crate::project::{projects_from_template, Project};

/// A pipeline with the CodeBuild projects its template defines, and every
/// problem found while reading and validating it.
#[derive(Debug, Clone)]
pub struct LoadedPipeline {
    pub pipeline: Pipeline,
    pub projects: Vec<Project>,
    pub problems: Vec<Problem>,
}

impl LoadedPipeline {
    pub fn has_errors(&self) -> bool {
        self.problems.iter().any(Problem::is_error)
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
    let doc = Document::read(path)?;
    pipeline_from_document(&doc, name)
}

pub fn pipeline_from_document(
    doc: &Document,
    name: Option<&str>,
) -> Result<LoadedPipeline, LoadError> {
    let (mut pipeline, projects, mut problems) = match Template::from_document(doc) {
        Some(template) => from_template(&template, name)?,
        None => {
            let (pipeline, unknown) = from_api_json(doc)?;
            (pipeline, Vec::new(), unknown)
        }
    };
    pipeline.origin.file = doc.path.clone();
    pipeline.origin.text = doc.text.clone();
    problems.extend(validate(&pipeline));
    Ok(LoadedPipeline {
        pipeline,
        projects,
        problems,
    })
}

fn from_api_json(doc: &Document) -> Result<(Pipeline, Vec<Problem>), LoadError> {
    let root = &doc.value;
    let (decl, path) = match root.get("pipeline") {
        Some(p) => (p, DocPath::root().key("pipeline")),
        None if root.get("stages").is_some() => (root, DocPath::root()),
        None => {
            return Err(LoadError::Syntax {
                place: Place::file(&doc.path),
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

type FromTemplate = (Pipeline, Vec<Project>, Vec<Problem>);

fn from_template(template: &Template<'_>, name: Option<&str>) -> Result<FromTemplate, LoadError> {
    let doc = template.doc;
    let ids = template.resources_of_type(PIPELINE_TYPE);
    let mut resolver = Resolver::new(template);
    let named: Vec<(&str, String)> = ids
        .iter()
        .map(|id| {
            let declared = doc.value["Resources"][id]["Properties"]
                .get("Name")
                .cloned();
            let shown = declared
                .and_then(|v| resolver.resolve(&v, &DocPath::root()))
                .and_then(|v| v.as_str().map(String::from))
                .unwrap_or_else(|| id.to_string());
            (*id, shown)
        })
        .collect();
    resolver.problems.clear();
    let chosen = match (name, named.as_slice()) {
        (_, []) => {
            return Err(LoadError::Syntax {
                place: Place::file(&doc.path),
                message: format!("the template holds no {PIPELINE_TYPE} resource"),
            })
        }
        (None, [only]) => only,
        (None, many) => {
            return Err(LoadError::Syntax {
                place: Place::file(&doc.path),
                message: format!(
                    "the template holds {} pipelines ({}); choose one with --name",
                    many.len(),
                    many.iter()
                        .map(|(_, n)| n.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            })
        }
        (Some(want), all) => all
            .iter()
            .find(|(id, n)| n == want || *id == want)
            .ok_or_else(|| LoadError::Syntax {
                place: Place::file(&doc.path),
                message: format!(
                    "no pipeline named '{want}' in the template (it has: {})",
                    all.iter()
                        .map(|(_, n)| n.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            })?,
    };
    let (logical_id, pipeline_name) = chosen;
    let props_path = DocPath::root()
        .key("Resources")
        .key(logical_id)
        .key("Properties");
    let raw = doc.value["Resources"][*logical_id]
        .get("Properties")
        .cloned()
        .unwrap_or(Value::Object(Map::new()));
    let resolved = resolver.resolve(&raw, &props_path).unwrap_or(Value::Null);
    let mut api = api_case(resolved);
    if let Value::Object(map) = &mut api {
        map.insert("name".into(), Value::String(pipeline_name.clone()));
        // CloudFormation-only properties with no bearing on a local run.
        map.remove("tags");
        map.remove("restartExecutionOnUpdate");
    }
    let mut problems = std::mem::take(&mut resolver.problems);
    let projects = projects_from_template(template, &mut resolver, &mut problems);
    problems.append(&mut resolver.problems);
    let origin = Origin {
        file: doc.path.clone(),
        text: doc.text.clone(),
        root: props_path,
        pascal_case: true,
    };
    if problems.iter().any(Problem::is_error) {
        return Err(LoadError::Invalid { problems });
    }
    let (pipeline, unknown) = deserialize(api, origin)?;
    problems.extend(unknown);
    Ok((pipeline, projects, problems))
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
