//! Turns what a user gives `pipelocal build` (folders, a buildspec path, a
//! project file, an env file) into a build request and environment.

use std::path::{Path, PathBuf};
use std::time::Duration;

use pipelocal_model::buildspec::SecretRef;
use pipelocal_model::buildspec::{
    is_project_name, is_shell_name, load_buildspec, parse_buildspec, Buildspec,
};
use pipelocal_model::project::{
    load_projects, BuildspecSource, EnvironmentVariable, EnvironmentVariableType, Project,
};
use pipelocal_model::secrets::SecretsFile;
use pipelocal_model::LoadError;

use crate::build::{BuildRequest, BuildspecLocation, BuildspecProblem, RecordDetails};
use crate::cache::{CachePlan, CONTAINER_CACHE_ROOT, DOCKER_LAYER_ROOT};
use crate::environment::{
    git_versions, BuildIdentity, SourceVersions, UserVariable, UserVariables,
};
use crate::executor::EnvironmentSpec;
use crate::numbering::next_build_number;
use crate::record::{EnvironmentRecord, EnvironmentVariableRecord, SourceRecord};

/// The image used when neither the command line nor a project names one.
pub const DEFAULT_IMAGE: &str = "public.ecr.aws/codebuild/amazonlinux-x86_64-standard:5.0";
/// CodeBuild's default build timeout.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60 * 60);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExecutorKind {
    Docker,
    Host,
}

/// What `pipelocal build` was given.
#[derive(Debug, Clone)]
pub struct LocalBuild {
    pub image: Option<String>,
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
    let project = match (&input.pipeline, &input.project_file) {
        (Some(start), _) => Some(start.project.clone()),
        (None, Some(file)) => Some(pick_project(file, input.project_name.as_deref())?),
        (None, None) => None,
    };
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
    let secrets = match &input.secrets_file {
        Some(file) => Some(SecretsFile::load(file)?),
        None => None,
    };
    let mut vars = Resolving {
        secrets: secrets.as_ref(),
        unresolved: Vec::new(),
    };
    let mut variables = UserVariables::default();
    let mut record_vars = Vec::new();
    if let Ok(spec) = &found.parsed {
        variables.buildspec = spec
            .env
            .variables
            .iter()
            .map(|(n, v)| UserVariable::plain(n, v))
            .collect();
        for (name, parameter) in &spec.env.parameter_store {
            variables
                .buildspec
                .extend(vars.parameter(name, parameter, "parameter-store"));
        }
        for (name, reference) in &spec.env.secrets_manager {
            variables
                .buildspec
                .extend(vars.secret(name, reference, "secrets-manager"));
        }
    }
    // The record shows a secret's reference, never its value.
    if let Some(p) = &project {
        for v in &p.environment.environment_variables {
            record_vars.push(EnvironmentVariableRecord::of(v));
            variables.project.extend(vars.typed(v));
        }
    }
    for v in input.pipeline.iter().flat_map(|p| &p.overrides) {
        record_vars.push(EnvironmentVariableRecord::of(v));
        variables.overrides.extend(vars.typed(v));
    }
    if let Some(file) = &input.env_file {
        for (name, value) in read_env_file(file)? {
            record_vars.push(EnvironmentVariableRecord {
                name: name.clone(),
                value: value.clone(),
                var_type: "PLAINTEXT".into(),
            });
            variables.overrides.push(UserVariable::plain(&name, &value));
        }
    }
    let unresolved = vars.unresolved;

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

/// How this build caches: from the project's cache type and modes, or, with
/// no project, the S3 form when the buildspec's cache has a `key` and
/// LOCAL_CUSTOM_CACHE otherwise. `--no-cache` turns every form off.
fn cache_plan(
    input: &LocalBuild,
    project: Option<&Project>,
    spec: Option<&Buildspec>,
    name: &str,
) -> Result<CachePlan, PrepareError> {
    let cache = spec.and_then(|s| s.cache.as_ref());
    if input.no_cache || cache.is_none_or(|c| c.paths.is_empty()) {
        return Ok(CachePlan::Off);
    }
    let keyed = cache.is_some_and(|c| c.key.is_some());
    let (linked, store) = match project.and_then(|p| p.cache.as_ref()) {
        Some(c) if c.cache_type == "S3" => {
            // `bucket/prefix`, as the project's cache location is written.
            let location = c.location.as_deref().unwrap_or("pipelocal-cache");
            let namespace = c.cache_namespace.as_deref().unwrap_or(name);
            let mut store = input.state_dir.join("s3");
            for part in location.split('/').chain([namespace]) {
                if !part.is_empty() && part != "." && part != ".." {
                    store.push(part);
                }
            }
            (false, Some(store))
        }
        Some(c) if c.cache_type == "LOCAL" => {
            (c.modes.iter().any(|m| m == "LOCAL_CUSTOM_CACHE"), None)
        }
        Some(_) => return Ok(CachePlan::Off),
        None if keyed => (
            false,
            Some(
                input
                    .state_dir
                    .join("s3")
                    .join("pipelocal-cache")
                    .join(name),
            ),
        ),
        None => (true, None),
    };
    if let Some(store) = store {
        std::fs::create_dir_all(&store).map_err(|e| PrepareError::State {
            path: store.clone(),
            reason: e.to_string(),
        })?;
        return Ok(CachePlan::Keyed { store });
    }
    if !linked {
        return Ok(CachePlan::Off);
    }
    Ok(CachePlan::Linked {
        root: match input.executor {
            ExecutorKind::Docker => CONTAINER_CACHE_ROOT.to_string(),
            ExecutorKind::Host => {
                let dir = input.state_dir.join("cache").join(name);
                std::fs::create_dir_all(&dir).map_err(|e| PrepareError::State {
                    path: dir.clone(),
                    reason: e.to_string(),
                })?;
                std::fs::canonicalize(&dir)
                    .map_err(|e| PrepareError::State {
                        path: dir.clone(),
                        reason: e.to_string(),
                    })?
                    .display()
                    .to_string()
            }
        },
    })
}

/// Named volumes the build container mounts: the LOCAL_CUSTOM_CACHE store,
/// and with LOCAL_DOCKER_LAYER_CACHE in privileged mode the inner engine's
/// data. Problems with the layer cache come back as warnings for the log.
fn cache_volumes(
    input: &LocalBuild,
    project: Option<&Project>,
    plan: &CachePlan,
    name: &str,
    privileged: bool,
) -> (Vec<(String, String)>, Vec<String>) {
    let mut volumes = Vec::new();
    let mut warnings = Vec::new();
    if input.executor != ExecutorKind::Docker {
        if project_modes(project).any(|m| m == "LOCAL_DOCKER_LAYER_CACHE") {
            warnings.push("LOCAL_DOCKER_LAYER_CACHE is ignored by the host executor".into());
        }
        return (volumes, warnings);
    }
    if matches!(plan, CachePlan::Linked { .. }) {
        volumes.push((
            format!("pipelocal-cache-{name}"),
            CONTAINER_CACHE_ROOT.to_string(),
        ));
    }
    if !input.no_cache && project_modes(project).any(|m| m == "LOCAL_DOCKER_LAYER_CACHE") {
        if privileged {
            volumes.push((
                format!("pipelocal-docker-layers-{name}"),
                DOCKER_LAYER_ROOT.to_string(),
            ));
        } else {
            warnings.push(
                "LOCAL_DOCKER_LAYER_CACHE needs privileged mode (the project's privilegedMode, or -d); no layers are cached"
                    .into(),
            );
        }
    }
    (volumes, warnings)
}

/// The LOCAL cache modes of the project, if its cache is LOCAL.
fn project_modes(project: Option<&Project>) -> impl Iterator<Item = &String> {
    project
        .and_then(|p| p.cache.as_ref())
        .filter(|c| c.cache_type == "LOCAL")
        .into_iter()
        .flat_map(|c| c.modes.iter())
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
    let project = match (&input.pipeline, &input.project_file) {
        (Some(start), _) => Some(start.project.clone()),
        (None, Some(file)) => Some(pick_project(file, input.project_name.as_deref())?),
        (None, None) => None,
    };
    let found = read_buildspec(&primary, input.buildspec.as_deref(), project.as_ref());
    match found.parsed {
        Ok(spec) => spec.batch.ok_or(PrepareError::NoBatch),
        Err(problem) => Err(PrepareError::Buildspec(problem.to_string())),
    }
}

/// Looks secret references up in the secrets file, noting what it lacks.
struct Resolving<'s> {
    secrets: Option<&'s SecretsFile>,
    unresolved: Vec<String>,
}

impl Resolving<'_> {
    /// A project or action variable's value, by its type.
    fn typed(&mut self, v: &EnvironmentVariable) -> Option<UserVariable> {
        let ty = v.var_type.as_str();
        match v.var_type {
            EnvironmentVariableType::Plaintext => Some(UserVariable::plain(&v.name, &v.value)),
            EnvironmentVariableType::ParameterStore => self.parameter(&v.name, &v.value, ty),
            EnvironmentVariableType::SecretsManager => {
                self.secret(&v.name, &SecretRef::parse(&v.value), ty)
            }
        }
    }

    fn missing(&mut self, what: String) {
        let fix = if self.secrets.is_some() {
            "add it to the --secrets-file"
        } else {
            "give its value in a --secrets-file"
        };
        self.unresolved.push(format!("{what}; {fix}"));
    }

    fn parameter(&mut self, name: &str, parameter: &str, kind: &str) -> Option<UserVariable> {
        match self.secrets.and_then(|s| s.parameter(parameter)) {
            Some(value) => Some(UserVariable::secret(name, value)),
            None => {
                self.missing(format!(
                    "{kind} variable {name}: parameter '{parameter}' does not exist"
                ));
                None
            }
        }
    }

    fn secret(&mut self, name: &str, reference: &SecretRef, kind: &str) -> Option<UserVariable> {
        let found = match self.secrets {
            Some(s) => s.secret(reference),
            None => Err(format!("secret '{}' is not known", reference.secret_id)),
        };
        match found {
            Ok(value) => Some(UserVariable::secret(name, &value)),
            Err(why) => {
                self.missing(format!("{kind} variable {name}: {why}"));
                None
            }
        }
    }
}

/// A buildspec as found for a build, with what its record shows.
struct FoundBuildspec {
    /// The buildspec, or why DOWNLOAD_SOURCE fails with `YAML_FILE_ERROR`.
    parsed: Result<Buildspec, BuildspecProblem>,
    warnings: Vec<String>,
    location: BuildspecLocation,
    /// The record's `source.buildspec`: the path, or the inline text.
    field: Option<String>,
}

/// The buildspec as CodeBuild finds it: `-b` relative to the primary source,
/// else the project's, else `buildspec.yml`.
fn read_buildspec(primary: &Path, flag: Option<&str>, project: Option<&Project>) -> FoundBuildspec {
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

/// `NAME=VALUE` lines; `#` comments and blank lines are skipped.
pub fn read_env_file(path: &Path) -> Result<Vec<(String, String)>, PrepareError> {
    let text = std::fs::read_to_string(path).map_err(|e| PrepareError::EnvFile {
        path: path.to_path_buf(),
        reason: e.to_string(),
    })?;
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let trimmed = line.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        match trimmed.split_once('=') {
            Some((name, value)) if is_shell_name(name.trim()) => {
                out.push((name.trim().to_string(), value.to_string()));
            }
            _ => {
                return Err(PrepareError::EnvLine {
                    path: path.to_path_buf(),
                    line: i + 1,
                    text: trimmed.to_string(),
                })
            }
        }
    }
    Ok(out)
}

/// `90s`, `5m`, `1h`, or a bare number of minutes (CodeBuild's unit).
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let t = text.trim();
    let (digits, unit) = t.split_at(t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len()));
    let n: u64 = digits
        .parse()
        .map_err(|_| format!("invalid duration '{text}': use 90s, 5m or 1h"))?;
    let unit_secs: u64 = match unit {
        "s" => 1,
        "m" | "" => 60,
        "h" => 3600,
        _ => return Err(format!("invalid duration '{text}': use 90s, 5m or 1h")),
    };
    let secs = n
        .checked_mul(unit_secs)
        .ok_or_else(|| format!("invalid duration '{text}': too long"))?;
    if secs == 0 {
        return Err(format!("invalid duration '{text}': must be more than zero"));
    }
    Ok(Duration::from_secs(secs))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("5m"), Ok(Duration::from_secs(300)));
        assert_eq!(parse_duration("2h"), Ok(Duration::from_secs(7200)));
        assert_eq!(parse_duration("10"), Ok(Duration::from_secs(600)));
        assert!(parse_duration("5 minutes").is_err());
        assert!(parse_duration("0s").is_err());
        assert!(parse_duration("999999999999999999h").is_err());
    }

    #[test]
    fn env_files() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("e");
        std::fs::write(&f, "# c\n\nA=1\nB= two = 2\n").unwrap();
        assert_eq!(
            read_env_file(&f).unwrap(),
            vec![("A".into(), "1".into()), ("B".into(), " two = 2".into())]
        );
        std::fs::write(&f, "A=1\nnot a pair\n").unwrap();
        assert_eq!(
            read_env_file(&f).unwrap_err().to_string(),
            format!("{}:2: expected NAME=VALUE, found `not a pair`", f.display())
        );
    }
}
