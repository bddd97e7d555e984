//! pipelocal's model of the files users bring: CodePipeline declarations,
//! CloudFormation / CDK templates, CodeBuild projects and buildspecs. Parsing
//! turns them into types at the edge; validation reports every problem with
//! its file and line. No I/O beyond reading the files named.
//!
//! The public surface, for the runner, the orchestrator and the CLI:
//! - definitions: `pipeline` (declarations, `Provider`, validation,
//!   variables), `cfn` (templates, parameters, intrinsics), `project`
//!   (CodeBuild projects), `buildspec`, `runtimes`, `ecs` (task definitions,
//!   services, blue/green AppSpecs), `codedeploy` (EC2/on-premises AppSpec
//!   files, deployment groups);
//! - settings: `config` (`.pipelocal.yml`), `secrets` (the secrets file),
//!   `image_map` (`--image-map`, with globs);
//! - `cloud`: what AWS gives about runs in the cloud, to reproduce them: a
//!   build's `batch-get-builds` record and `[Container]` log, a pipeline
//!   execution (`get-pipeline-execution`) and its actions
//!   (`list-action-executions`); `curated_images` (CodeBuild's images and
//!   where to get them);
//! - diagnostics: [`Problem`], [`Place`], [`LoadError`], [`Document`] (a
//!   parsed file with its lines), `locate` (paths into a document);
//! - `file_name` (names users chose, as path components);
//! - [`check_file`], [`detect`]: what `validate` runs.

pub mod buildspec;
pub mod cfn;
pub mod cloud;
pub mod codedeploy;
pub mod config;
pub mod curated_images;
mod document;
pub mod ecs;
pub mod file_name;
pub mod image_map;
pub mod locate;
pub mod pipeline;
mod problem;
pub mod project;
pub mod runtimes;
mod scalar;
pub mod secrets;
mod similar;

use std::path::Path;

pub use document::Document;
pub use problem::{LoadError, Place, Problem, Severity};

/// What kind of definition a file holds, judged from its content.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DefinitionKind {
    Pipeline,
    Template,
    Buildspec,
    Projects,
    /// A CodeDeploy EC2/on-premises AppSpec file.
    AppSpec,
}

/// Decides what a parsed document is; `None` when it is none of the kinds.
pub fn detect(doc: &Document) -> Option<DefinitionKind> {
    let v = &doc.value;
    if v.get("Resources").is_some_and(|r| r.is_object()) {
        return Some(DefinitionKind::Template);
    }
    if v.get("pipeline").is_some() || v.get("stages").is_some() {
        return Some(DefinitionKind::Pipeline);
    }
    // An AppSpec file names its `os`, or has `hooks` or `files` at the top,
    // which no buildspec has.
    let top = |k: &str| v.get(k).is_some();
    if v.get("phases").is_none() && (top("os") || top("hooks") || top("files")) {
        return Some(DefinitionKind::AppSpec);
    }
    if v.get("phases").is_some()
        || v.get("batch").is_some()
        || (v.get("version").is_some() && v.get("artifacts").is_some())
    {
        return Some(DefinitionKind::Buildspec);
    }
    if v.get("projects").is_some() || (v.get("environment").is_some() && v.get("name").is_some()) {
        return Some(DefinitionKind::Projects);
    }
    if v.get("version").is_some() {
        return Some(DefinitionKind::Buildspec);
    }
    None
}

/// The result of checking any definition file: every problem found.
#[derive(Debug, Clone)]
pub struct Checked {
    /// `None` when the file does not parse far enough to tell.
    pub kind: Option<DefinitionKind>,
    pub problems: Vec<Problem>,
}

/// Loads and validates whatever `path` holds. `Err` only when the file cannot
/// be read or is not a definition at all; syntax errors are problems.
pub fn check_file(path: &Path, pipeline_name: Option<&str>) -> Result<Checked, LoadError> {
    check_file_with(path, pipeline_name, &cfn::ParameterValues::new())
}

/// [`check_file`] with values for a template's parameters. A template holding
/// several pipelines has each checked unless `pipeline_name` picks one.
pub fn check_file_with(
    path: &Path,
    pipeline_name: Option<&str>,
    parameters: &cfn::ParameterValues,
) -> Result<Checked, LoadError> {
    let doc = match Document::read(path) {
        Ok(doc) => doc,
        Err(e @ LoadError::Read { .. }) => return Err(e),
        Err(e) => {
            return Ok(Checked {
                kind: None,
                problems: e.problems(),
            })
        }
    };
    let kind = detect(&doc).ok_or_else(|| LoadError::Syntax {
        place: Place::file(path).into(),
        message: "not a pipeline, CloudFormation template, buildspec or CodeBuild project".into(),
    })?;
    let problems = match kind {
        DefinitionKind::Pipeline => {
            pipeline::pipeline_from_document_with(&doc, pipeline_name, parameters)
                .map(|l| l.problems)
        }
        DefinitionKind::Template => {
            let template = cfn::Template::from_document(&doc);
            let has = |ty: &str| {
                template
                    .as_ref()
                    .is_some_and(|t| !t.resources_of_type(ty).is_empty())
            };
            let several = template
                .as_ref()
                .is_some_and(|t| t.resources_of_type(cfn::PIPELINE_TYPE).len() > 1);
            if several && pipeline_name.is_none() {
                Ok(pipeline::check_every_pipeline(&doc, parameters))
            } else if has(cfn::PIPELINE_TYPE) {
                pipeline::pipeline_from_document_with(&doc, pipeline_name, parameters)
                    .map(|l| l.problems)
            } else if has(cfn::PROJECT_TYPE) {
                return Ok(Checked {
                    kind: Some(DefinitionKind::Projects),
                    problems: project_problems(&doc),
                });
            } else {
                return Err(LoadError::Syntax {
                    place: Place::file(path).into(),
                    message: format!(
                        "the template holds no {} or {} resource",
                        cfn::PIPELINE_TYPE,
                        cfn::PROJECT_TYPE
                    ),
                });
            }
        }
        DefinitionKind::Buildspec => {
            buildspec::parse_buildspec(path, doc.text.clone()).map(|b| b.warnings)
        }
        DefinitionKind::Projects => Ok(project_problems(&doc)),
        DefinitionKind::AppSpec => {
            codedeploy::parse_appspec(path, doc.text.clone()).map(|a| a.warnings)
        }
    };
    Ok(Checked {
        kind: Some(kind),
        problems: problems.unwrap_or_else(|e| e.problems()),
    })
}

fn project_problems(doc: &Document) -> Vec<Problem> {
    match project::read_projects(doc) {
        Ok((_, problems)) => problems,
        Err(e) => e.problems(),
    }
}
