//! Turns what a user gives `pipelocal build` (folders, a buildspec path, a
//! project file, an env file), or what a pipeline action gives the build it
//! starts, into a build request and environment. Each job has its module:
//! where the buildspec comes from (`buildspec_file`), the variables and
//! secrets (`variables`), the cache plan (`cache_plan`); this one chooses
//! the project, image, timeout and identity, and fills the record.

mod buildspec_file;
mod cache_plan;
mod variables;

use std::path::{Path, PathBuf};
use std::time::Duration;

use pipelocal_model::buildspec::is_project_name;
use pipelocal_model::config::ExecutorKind;
use pipelocal_model::image_map::ImageMap;
use pipelocal_model::project::{load_projects, EnvironmentVariable, Project};
use pipelocal_model::LoadError;

use crate::build::{BuildRequest, RecordDetails};
use crate::environment::{git_versions, BuildIdentity, SourceVersions, UserVariable};
use crate::executor::EnvironmentSpec;
use crate::numbering::next_build_number;
use crate::record::{EnvironmentRecord, SourceRecord};
use buildspec_file::read_buildspec;
use cache_plan::{cache_plan, cache_volumes};
use variables::{gather, Gathered};

/// The image used when neither the command line nor a project names one.
pub const DEFAULT_IMAGE: &str = "public.ecr.aws/codebuild/amazonlinux-x86_64-standard:5.0";
/// CodeBuild's default build timeout.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60 * 60);

/// What `pipelocal build` was given.
#[derive(Debug, Clone)]
pub struct LocalBuild {
    pub image: Option<String>,
    /// `--image-map FROM=TO` (and `image-map:`): applied to whichever image
    /// the build would use.
    pub image_map: ImageMap,
    pub primary_source: PathBuf,
    pub secondary_sources: Vec<(String, PathBuf)>,
    pub buildspec: Option<String>,
    pub env_file: Option<PathBuf>,
    /// `--secrets-file`: values behind parameter-store and secrets-manager.
    pub secrets_file: Option<PathBuf>,
    /// `-r`: where report JSON files go.
    pub reports_dir: Option<PathBuf>,
    /// `-a`: where artifact zips go.
    pub artifacts_dir: Option<PathBuf>,
    pub privileged: bool,
    pub mount_source: bool,
    /// `--all-files`: source folders as they are, also what git ignores.
    pub all_files: bool,
    pub project_file: Option<PathBuf>,
    pub project_name: Option<String>,
    pub timeout: Option<Duration>,
    pub executor: ExecutorKind,
    pub state_dir: PathBuf,
    /// `--no-cache`: ignore `cache.paths`.
    pub no_cache: bool,
    /// Breakpoints and pauses (`--debug-session`, `--break-on-failure`, `--break-before`).
    pub debug: crate::pause::DebugOptions,
    /// `--resume`: go on in a kept build's environment from a phase.
    pub resume: Option<ResumeFrom>,
    /// Set for the builds of a batch: the task's identifier, the batch's ARN,
    /// and the task's `env.variables` (they win over the buildspec's).
    pub batch: Option<BatchMember>,
    /// Set when a pipeline action starts the build, as CodePipeline's StartBuild.
    pub pipeline: Option<PipelineStart>,
    /// Set when the build reproduces a cloud build (`--from-build`).
    pub from_build: Option<FromBuild>,
}

/// A cloud build to reproduce: the project it ran as, taken as `--project`
/// is (flags win over it). Every secret value its variables need must be
/// known before it starts.
#[derive(Debug, Clone)]
pub struct FromBuild {
    pub project: Project,
    /// The cloud build's id.
    pub build_id: String,
    pub build_number: Option<i64>,
}

/// What a pipeline action gives the build it starts.
/// A kept build to go on in, and from which phase.
#[derive(Debug, Clone)]
pub struct ResumeFrom {
    pub resume: crate::pause::Resume,
    pub adopted: crate::executor::Adopted,
}

#[derive(Debug, Clone)]
pub struct PipelineStart {
    /// `codepipeline/<pipeline name>`.
    pub initiator: String,
    pub project: Project,
    /// The action's `EnvironmentVariables`: above the project's variables.
    pub overrides: Vec<EnvironmentVariable>,
    /// The source artifact's versions (the folders are unzipped artifacts, not repositories).
    pub sources: SourceVersions,
}

#[derive(Debug, Clone)]
pub struct BatchMember {
    pub identifier: String,
    pub batch_arn: String,
    pub variables: Vec<(String, String)>,
}

/// Why a build could not start: a one-line message naming what to fix.
#[derive(Debug, thiserror::Error)]
pub enum PrepareError {
    #[error("source folder {}: {reason}", path.display())]
    Source { path: PathBuf, reason: String },
    #[error("{}", .0.summary())]
    Load(#[from] LoadError),
    #[error("{}:{line}: expected NAME=VALUE, found `{text}`", path.display())]
    EnvLine {
        path: PathBuf,
        line: usize,
        text: String,
    },
    #[error("{}: {reason}", path.display())]
    EnvFile { path: PathBuf, reason: String },
    #[error("{}: {reason}", path.display())]
    Project { path: PathBuf, reason: String },
    #[error("project name '{0}' is not valid: use 2-255 letters, digits, - and _, starting with a letter or digit (--project-name)")]
    ProjectName(String),
    #[error("--batch: the buildspec has no `batch` section")]
    NoBatch,
    #[error("YAML_FILE_ERROR: {0}")]
    Buildspec(String),
    #[error("state folder {}: {reason}", path.display())]
    State { path: PathBuf, reason: String },
    /// Reproducing a cloud build: every secret value no `--secrets-file` gives.
    #[error("cloud build {build_id}: {} secret value{} missing, nothing ran: {}; {fix}", missing.len(), if missing.len() == 1 { " is" } else { "s are" }, missing.join("; "))]
    MissingSecrets {
        build_id: String,
        missing: Vec<String>,
        fix: String,
    },
}

/// A build ready to run.
#[derive(Debug, Clone)]
pub struct PreparedBuild {
    pub request: BuildRequest,
    pub environment: EnvironmentSpec,
}

pub fn prepare(input: &LocalBuild) -> Result<PreparedBuild, PrepareError> {
    let primary = check_dir(&input.primary_source)?;
    let mut secondary = Vec::new();
    for (id, dir) in &input.secondary_sources {
        secondary.push((id.clone(), check_dir(dir)?));
    }
    let project = chosen_project(input)?;
    let project_name = input
        .project_name
        .clone()
        .or_else(|| project.as_ref().map(|p| p.name.clone()))
        .unwrap_or_else(|| folder_name(&primary));
    if !is_project_name(&project_name) {
        return Err(PrepareError::ProjectName(project_name));
    }
    let image = input
        .image
        .clone()
        .or_else(|| project.as_ref().map(|p| p.environment.image.clone()))
        .unwrap_or_else(|| DEFAULT_IMAGE.to_string());
    let image = input.image_map.apply(&image);
    let privileged = input.privileged
        || project
            .as_ref()
            .is_some_and(|p| p.environment.privileged_mode);
    let timeout = input
        .timeout
        .or_else(|| {
            project
                .as_ref()
                .and_then(|p| p.timeout_in_minutes)
                .map(|m| Duration::from_secs(m.max(1) as u64 * 60))
        })
        .unwrap_or(DEFAULT_TIMEOUT);

    let found = read_buildspec(&primary, input.buildspec.as_deref(), project.as_ref());
    let Gathered {
        mut variables,
        record: record_vars,
        unresolved,
        missing,
    } = gather(input, project.as_ref(), found.parsed.as_ref().ok())?;
    if let (Some(from), false) = (&input.from_build, missing.is_empty()) {
        // A reproduction that cannot have the cloud's values is no reproduction.
        return Err(PrepareError::MissingSecrets {
            build_id: from.build_id.clone(),
            missing,
            fix: match &input.secrets_file {
                Some(file) => format!("add them to {}", file.display()),
                None => "give them in a --secrets-file".into(),
            },
        });
    }

    std::fs::create_dir_all(&input.state_dir).map_err(|e| PrepareError::State {
        path: input.state_dir.clone(),
        reason: e.to_string(),
    })?;
    let number =
        next_build_number(&input.state_dir, &project_name).map_err(|e| PrepareError::State {
            path: input.state_dir.clone(),
            reason: e.to_string(),
        })?;
    let initiator = match &input.pipeline {
        Some(start) => start.initiator.clone(),
        None => std::env::var("USER")
            .ok()
            .filter(|u| !u.is_empty())
            .unwrap_or_else(|| "pipelocal".into()),
    };
    let cache = cache_plan(
        input,
        project.as_ref(),
        found.parsed.as_ref().ok(),
        &project_name,
    )?;
    let (volumes, cache_warnings) =
        cache_volumes(input, project.as_ref(), &cache, &project_name, privileged);
    let mut identity = BuildIdentity::new(&project_name, number, &image, &initiator);
    if let Some(member) = &input.batch {
        identity.batch = Some((member.identifier.clone(), member.batch_arn.clone()));
        // Task variables replace the buildspec's; project variables and -e still win.
        for (name, value) in &member.variables {
            variables.buildspec.push(UserVariable::plain(name, value));
        }
    }
    let sources = match &input.pipeline {
        Some(start) => start.sources.clone(),
        None => {
            let mut sources = git_versions(&primary);
            for (id, dir) in &secondary {
                let s = git_versions(dir);
                sources
                    .secondary
                    .push((id.clone(), s.resolved_source_version, s.repo_url));
            }
            sources
        }
    };
    let source_type = project
        .as_ref()
        .and_then(|p| p.source.as_ref())
        .map(|s| s.source_type.clone())
        .unwrap_or_else(|| "NO_SOURCE".into());
    let record = RecordDetails {
        source: SourceRecord {
            source_type,
            location: primary.display().to_string(),
            buildspec: found.field.clone(),
            source_identifier: None,
        },
        secondary_sources: secondary
            .iter()
            .map(|(id, dir)| SourceRecord {
                source_type: "NO_SOURCE".into(),
                location: dir.display().to_string(),
                buildspec: None,
                source_identifier: Some(id.clone()),
            })
            .collect(),
        environment: EnvironmentRecord {
            env_type: project
                .as_ref()
                .and_then(|p| p.environment.env_type.clone())
                .unwrap_or_else(|| "LINUX_CONTAINER".into()),
            image: image.clone(),
            compute_type: project
                .as_ref()
                .and_then(|p| p.environment.compute_type.clone())
                .unwrap_or_else(|| "BUILD_GENERAL1_SMALL".into()),
            environment_variables: record_vars,
            privileged_mode: privileged,
            image_pull_credentials_type: "CODEBUILD".into(),
        },
        timeout_in_minutes: timeout.as_secs().div_ceil(60),
    };
    let home = match input.executor {
        ExecutorKind::Docker => Some("/root".to_string()),
        ExecutorKind::Host => None,
    };
    Ok(PreparedBuild {
        environment: EnvironmentSpec {
            build_id: identity.id(),
            image,
            privileged,
            primary_source: primary,
            mount_source: input.mount_source,
            all_files: input.all_files,
            secondary_sources: secondary,
            volumes,
            keep: input.debug.keep,
            adopt: input.resume.as_ref().map(|r| r.adopted.clone()),
        },
        request: BuildRequest {
            cache,
            reports_dir: input.reports_dir.clone(),
            artifacts_dir: input.artifacts_dir.clone(),
            artifacts_enabled: project
                .as_ref()
                .and_then(|p| p.artifacts.as_ref())
                .is_none_or(|a| a.artifacts_type != "NO_ARTIFACTS"),
            identity,
            buildspec: found.parsed,
            buildspec_location: found.location,
            buildspec_warnings: found.warnings.into_iter().chain(cache_warnings).collect(),
            reproduces: input.from_build.as_ref().map(|from| {
                let number = from
                    .build_number
                    .map(|n| format!(" (build number {n})"))
                    .unwrap_or_default();
                let at = sources
                    .resolved_source_version
                    .as_deref()
                    .map(|c| format!(" at {c}"))
                    .unwrap_or_default();
                format!("Reproducing cloud build {}{number}{at}", from.build_id)
            }),
            variables,
            unresolved,
            sources,
            timeout,
            home,
            record,
            debug: input.debug.clone(),
            resume: input.resume.as_ref().map(|r| r.resume.clone()),
        },
    })
}

fn check_dir(path: &Path) -> Result<PathBuf, PrepareError> {
    let dir = std::fs::canonicalize(path).map_err(|e| PrepareError::Source {
        path: path.to_path_buf(),
        reason: e.to_string(),
    })?;
    if !dir.is_dir() {
        return Err(PrepareError::Source {
            path: path.to_path_buf(),
            reason: "not a folder".into(),
        });
    }
    Ok(dir)
}

fn folder_name(dir: &Path) -> String {
    let raw = dir.file_name().and_then(|n| n.to_str()).unwrap_or("build");
    let name: String = raw
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '-'
            }
        })
        .collect();
    let name = name.trim_start_matches(['-', '_']);
    match name.len() {
        0 => "build".to_string(),
        1 => format!("{name}-build"),
        _ => name.to_string(),
    }
}

/// The project a build runs as: a pipeline action's, a cloud build's, or the `--project` file's.
fn chosen_project(input: &LocalBuild) -> Result<Option<Project>, PrepareError> {
    Ok(
        match (&input.pipeline, &input.from_build, &input.project_file) {
            (Some(start), _, _) => Some(start.project.clone()),
            (None, Some(from), _) => Some(from.project.clone()),
            (None, None, Some(file)) => Some(pick_project(file, input.project_name.as_deref())?),
            (None, None, None) => None,
        },
    )
}

fn pick_project(file: &Path, name: Option<&str>) -> Result<Project, PrepareError> {
    let projects = load_projects(file)?;
    let names = || {
        projects
            .iter()
            .map(|p| p.name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    match (name, projects.len()) {
        // One project is the project, whatever --project-name calls the build.
        (Some(_), 1) => Ok(projects[0].clone()),
        (Some(n), _) => projects
            .iter()
            .find(|p| p.name == n)
            .cloned()
            .ok_or_else(|| PrepareError::Project {
                path: file.to_path_buf(),
                reason: format!("no project named '{n}' (the file has: {})", names()),
            }),
        (None, 1) => Ok(projects[0].clone()),
        (None, 0) => Err(PrepareError::Project {
            path: file.to_path_buf(),
            reason: "the file holds no project".into(),
        }),
        (None, _) => Err(PrepareError::Project {
            path: file.to_path_buf(),
            reason: format!(
                "the file holds several projects ({}); choose one with --project-name",
                names()
            ),
        }),
    }
}

/// The project name a build of `input` gets: `--project-name`, else the
/// project's, else the source folder's.
pub fn project_name(input: &LocalBuild) -> Result<String, PrepareError> {
    if let Some(name) = &input.project_name {
        return Ok(name.clone());
    }
    if let Some(start) = &input.pipeline {
        return Ok(start.project.name.clone());
    }
    if let Some(from) = &input.from_build {
        return Ok(from.project.name.clone());
    }
    if let Some(file) = &input.project_file {
        return Ok(pick_project(file, None)?.name);
    }
    Ok(folder_name(&check_dir(&input.primary_source)?))
}

/// The `batch` section of the buildspec a build would use, or why it has none.
pub fn batch_section(
    input: &LocalBuild,
) -> Result<pipelocal_model::buildspec::Batch, PrepareError> {
    let primary = check_dir(&input.primary_source)?;
    let project = chosen_project(input)?;
    let found = read_buildspec(&primary, input.buildspec.as_deref(), project.as_ref());
    match found.parsed {
        Ok(spec) => spec.batch.ok_or(PrepareError::NoBatch),
        Err(problem) => Err(PrepareError::Buildspec(problem.to_string())),
    }
}
