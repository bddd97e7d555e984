//! Where a build's buildspec comes from, as CodeBuild finds it: `-b`
//! relative to the primary source, else the project's (a path or inline
//! text), else `buildspec.yml`; and what its record shows.

use std::path::Path;

use pipelocal_model::buildspec::{load_buildspec, parse_buildspec, Buildspec};
use pipelocal_model::project::{BuildspecSource, Project};
use pipelocal_model::LoadError;

use crate::build::{BuildspecLocation, BuildspecProblem};

/// A buildspec as found for a build, with what its record shows.
pub(super) struct FoundBuildspec {
    /// The buildspec, or why DOWNLOAD_SOURCE fails with `YAML_FILE_ERROR`.
    pub parsed: Result<Buildspec, BuildspecProblem>,
    pub warnings: Vec<String>,
    pub location: BuildspecLocation,
    /// The record's `source.buildspec`: the path, or the inline text.
    pub field: Option<String>,
}

/// The buildspec as CodeBuild finds it: `-b` relative to the primary source,
/// else the project's, else `buildspec.yml`.
pub(super) fn read_buildspec(
    primary: &Path,
    flag: Option<&str>,
    project: Option<&Project>,
) -> FoundBuildspec {
    let from_project = project.and_then(Project::buildspec);
    let (rel, inline) = match (flag, from_project) {
        (Some(path), _) => (path.to_string(), None),
        (None, Some(BuildspecSource::File(path))) => (path, None),
        (None, Some(BuildspecSource::Inline(text))) => (String::new(), Some(text)),
        (None, None) => ("buildspec.yml".to_string(), None),
    };
    let (loaded, location, field) = match inline {
        Some(text) => {
            let name = format!(
                "{} (inline buildspec)",
                project.map(|p| p.name.as_str()).unwrap_or("project")
            );
            (
                parse_buildspec(Path::new(&name), text.clone()),
                BuildspecLocation::Inline,
                text,
            )
        }
        None => {
            let path = primary.join(&rel);
            if !path.is_file() {
                return FoundBuildspec {
                    parsed: Err(BuildspecProblem::Missing {
                        rel: rel.clone(),
                        host: path,
                    }),
                    warnings: Vec::new(),
                    location: BuildspecLocation::Source(rel.clone()),
                    field: Some(rel),
                };
            }
            let loaded = load_buildspec(&path);
            (loaded, BuildspecLocation::Source(rel.clone()), rel)
        }
    };
    let (parsed, warnings) = match loaded {
        Ok(l) => (
            Ok(l.buildspec),
            l.warnings
                .iter()
                .map(|w| w.to_string().replace(": warning: ", ": "))
                .collect(),
        ),
        Err(e) => (Err(BuildspecProblem::Invalid(one_line(&e))), Vec::new()),
    };
    FoundBuildspec {
        parsed,
        warnings,
        location,
        field: Some(field),
    }
}

fn one_line(e: &LoadError) -> String {
    e.problems()
        .iter()
        .filter(|p| p.is_error())
        .map(|p| p.to_string().replace(": error: ", ": "))
        .collect::<Vec<_>>()
        .join("; ")
}
