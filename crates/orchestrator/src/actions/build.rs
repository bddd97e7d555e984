//! CodeBuild (Build and Test) and Commands (Compute) actions through the
//! runner (CodePipeline User Guide, "AWS CodeBuild build and test action reference", "Commands action reference"): the primary input becomes
//! `CODEBUILD_SRC_DIR`, the others `CODEBUILD_SRC_DIR_<name>`; one output is
//! the buildspec's `artifacts`, several are its `secondary-artifacts` keyed by
//! output name; `exported-variables` become the action's output variables.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::actions::source::zip_folder;
use pipelocal_model::config::ExecutorKind;
use pipelocal_model::image_map::ImageMap;
use pipelocal_model::pipeline::Action;
use pipelocal_model::project::{EnvironmentVariable, Project, ProjectSource};
use pipelocal_runner::artifacts::extract::unzip;
use pipelocal_runner::batch::{make_executor, run_batch};
use pipelocal_runner::build::{run_build, StopSignal};
use pipelocal_runner::environment::SourceVersions;
use pipelocal_runner::events::EventSink;
use pipelocal_runner::executor::ExecError;
use pipelocal_runner::prepare::{batch_section, prepare, LocalBuild, PipelineStart, DEFAULT_IMAGE};
use pipelocal_runner::record::BuildRecord;

use crate::store::S3Location;

/// What every build of a run shares.
#[derive(Debug, Clone)]
pub struct BuildSettings {
    pub pipeline_name: String,
    pub projects: Vec<Project>,
    /// `--image-map FROM=TO`: images used in place of the ones projects name.
    pub image_map: ImageMap,
    /// The image of Commands actions (and of projects that name none).
    pub default_image: Option<String>,
    pub secrets_file: Option<PathBuf>,
    pub executor: ExecutorKind,
    pub state_dir: PathBuf,
    /// Pauses and `--keep` for CodeBuild and Commands actions.
    pub debug: pipelocal_runner::pause::DebugOptions,
    /// `--assume-undefined-projects`: a project no definition gives runs
    /// with the default image and its input's `buildspec.yml`.
    pub assume_undefined_projects: bool,
}

impl BuildSettings {
    pub fn project(&self, name: &str) -> Option<&Project> {
        self.projects.iter().find(|p| p.name == name)
    }

    /// The image of Commands actions, projects that name none and CodeDeploy
    /// instances no configuration gives one.
    pub(crate) fn default_image(&self) -> String {
        self.default_image
            .clone()
            .unwrap_or_else(|| DEFAULT_IMAGE.to_string())
    }

    /// The project a build runs with: its definition, or with
    /// `--assume-undefined-projects` one assumed (the default image, the
    /// primary input's `buildspec.yml`) and said so in the action's log.
    fn project_or_assumed(&self, name: &str, events: &EventSink) -> Result<Project, String> {
        if let Some(p) = self.project(name) {
            return Ok(p.clone());
        }
        if !self.assume_undefined_projects {
            return Err(missing_project(name));
        }
        let image = self.default_image();
        events.info(format!(
            "Warning: CodeBuild project '{name}' is defined nowhere: assumed (--assume-undefined-projects) with image {image} and the buildspec.yml of the primary input artifact"
        ));
        serde_json::from_value(serde_json::json!({
            "name": name,
            "source": {"type": "CODEPIPELINE"},
            "environment": {"type": "LINUX_CONTAINER", "image": image},
        }))
        .map_err(|e| format!("assuming project {name}: {e}"))
    }
}

/// An input artifact, unzipped.
#[derive(Debug, Clone)]
pub struct InputArtifact {
    pub name: String,
    pub dir: PathBuf,
    pub location: S3Location,
    pub revision: Option<String>,
}

/// How a build ended, told in the action's terms.
#[derive(Debug)]
pub struct BuildOutcome {
    /// The build's (or batch's) id: the action's external execution id.
    pub id: String,
    /// `buildStatus` (or `buildBatchStatus`).
    pub status: String,
    /// Output artifact name and the zip the build made for it.
    pub outputs: Vec<(String, PathBuf)>,
    pub variables: BTreeMap<String, String>,
    /// Secret values among `variables`, to mask wherever they show later.
    pub secrets: Vec<String>,
    /// Set when the action failed: AWS's summary of the failed build.
    pub failure: Option<String>,
    /// Set when the action failed: where and why, in one line
    /// (`BUILD: COMMAND_EXECUTION_ERROR: sh check.sh: exit status 4`).
    pub reason: Option<String>,
    /// The build's record (none for a batch).
    pub record: Option<BuildRecord>,
}

/// A curated image a CodeBuild action's project names (after `--image-map`)
/// that AWS publishes nowhere and the engine does not have: the refusal,
/// said before the run starts (a run that could never build stops with exit 2).
pub async fn unobtainable_project_image(
    settings: &BuildSettings,
    docker: &pipelocal_runner::executor::Docker,
    action: &Action,
) -> Option<String> {
    let name = action.config("ProjectName")?;
    let project = settings.project(name)?;
    let image = settings.image_map.apply(&project.environment.image);
    let refusal = pipelocal_runner::executor::unobtainable_image(docker, &image).await?;
    Some(format!(
        "action {} (project {name}): {refusal}",
        action.name
    ))
}

/// The message for a project no definition gives.
pub fn missing_project(name: &str) -> String {
    format!(
        "CodeBuild project '{name}' is not defined: give its definition with --projects FILE (create-project JSON or batch-get-projects output), define it in the template, or run it with the default image and the input's buildspec.yml with --assume-undefined-projects"
    )
}

pub async fn run_codebuild(
    settings: &BuildSettings,
    action: &Action,
    config: &BTreeMap<String, String>,
    inputs: &[InputArtifact],
    out_dir: &Path,
    events: &EventSink,
    stop: StopSignal,
) -> Result<BuildOutcome, String> {
    let name = config
        .get("ProjectName")
        .map(String::as_str)
        .unwrap_or_default();
    let mut project = settings.project_or_assumed(name, events)?;
    if let Some(text) = config.get("BuildspecOverride") {
        let source = project.source.get_or_insert_with(|| ProjectSource {
            source_type: "CODEPIPELINE".into(),
            location: None,
            buildspec: None,
            source_identifier: None,
        });
        source.buildspec = Some(text.clone());
    }
    let overrides: Vec<EnvironmentVariable> = match config.get("EnvironmentVariables") {
        Some(text) => serde_json::from_str(text).map_err(|e| {
            format!("EnvironmentVariables is not a JSON list of {{name, value, type}}: {e}")
        })?,
        None => Vec::new(),
    };
    let primary = match config.get("PrimarySource") {
        Some(p) => p.as_str(),
        None => inputs.first().map(|i| i.name.as_str()).unwrap_or_default(),
    };
    let flag = |key: &str| {
        config
            .get(key)
            .is_some_and(|v| v.eq_ignore_ascii_case("true"))
    };
    let target = Target {
        executor: settings.executor,
        out_dir,
        batch: flag("BatchEnabled").then(|| flag("CombineArtifacts")),
    };
    run(
        settings, action, project, overrides, primary, inputs, target, events, stop,
    )
    .await
}

/// A Commands action: its commands as the BUILD phase of a synthesized
/// buildspec, `outputVariables` exported, `files` of its output as artifacts.
pub async fn run_commands(
    settings: &BuildSettings,
    action: &Action,
    inputs: &[InputArtifact],
    out_dir: &Path,
    events: &EventSink,
    stop: StopSignal,
) -> Result<BuildOutcome, String> {
    let mut spec = serde_json::json!({
        "version": 0.2,
        "phases": { "build": { "commands": action.commands.clone().unwrap_or_default() } },
    });
    if let Some(names) = &action.output_variables {
        spec["env"] = serde_json::json!({ "exported-variables": names });
    }
    if let Some(out) = action.output_artifacts.first() {
        let files = if out.files.is_empty() {
            vec!["**/*".to_string()]
        } else {
            out.files.clone()
        };
        spec["artifacts"] = serde_json::json!({ "files": files });
    }
    let variables = action
        .environment_variables
        .iter()
        .flatten()
        .map(|v| {
            serde_json::json!({"name": v.name, "value": v.value, "type": match v.var_type {
                pipelocal_model::pipeline::ActionEnvType::Plaintext => "PLAINTEXT",
                pipelocal_model::pipeline::ActionEnvType::SecretsManager => "SECRETS_MANAGER",
            }})
        })
        .collect();
    let script = Script {
        project_name: "codepipeline-commands",
        spec,
        image: settings.default_image(),
        variables,
        executor: settings.executor,
    };
    run_script(settings, action, script, inputs, out_dir, events, stop).await
}

/// A build pipelocal writes itself: a Commands action, or an action mapped
/// to a local command.
pub struct Script {
    pub project_name: &'static str,
    /// The buildspec, as JSON (which is YAML: no YAML writer is needed).
    pub spec: serde_json::Value,
    pub image: String,
    /// Project environment variables (`{name, value, type}`).
    pub variables: Vec<serde_json::Value>,
    pub executor: ExecutorKind,
}

pub async fn run_script(
    settings: &BuildSettings,
    action: &Action,
    script: Script,
    inputs: &[InputArtifact],
    out_dir: &Path,
    events: &EventSink,
    stop: StopSignal,
) -> Result<BuildOutcome, String> {
    let project: Project = serde_json::from_value(serde_json::json!({
        "name": script.project_name,
        "source": { "type": "CODEPIPELINE", "buildspec": format!("{}\n", script.spec) },
        "artifacts": { "type": "CODEPIPELINE" },
        "environment": { "type": "LINUX_CONTAINER", "image": script.image, "computeType": "BUILD_GENERAL1_SMALL", "environmentVariables": script.variables },
    }))
    .map_err(|e| e.to_string())?;
    let primary = inputs.first().map(|i| i.name.clone()).unwrap_or_default();
    let target = Target {
        executor: script.executor,
        out_dir,
        batch: None,
    };
    run(
        settings,
        action,
        project,
        Vec::new(),
        &primary,
        inputs,
        target,
        events,
        stop,
    )
    .await
}

/// Where a build runs and where its artifacts go.
struct Target<'a> {
    executor: ExecutorKind,
    out_dir: &'a Path,
    /// `BatchEnabled`: run the buildspec's batch; `Some(true)` combines artifacts.
    batch: Option<bool>,
}

#[allow(clippy::too_many_arguments)]
async fn run(
    settings: &BuildSettings,
    action: &Action,
    project: Project,
    overrides: Vec<EnvironmentVariable>,
    primary: &str,
    inputs: &[InputArtifact],
    target: Target<'_>,
    events: &EventSink,
    stop: StopSignal,
) -> Result<BuildOutcome, String> {
    let out_dir = target.out_dir;
    // An action with no input still needs a CODEBUILD_SRC_DIR: an empty one.
    let empty;
    let main = match inputs.iter().find(|i| i.name == primary) {
        Some(main) => main,
        None if inputs.is_empty() => {
            let dir = out_dir.with_file_name("empty-source");
            std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
            empty = InputArtifact {
                name: "empty".into(),
                dir,
                location: crate::store::S3Location {
                    bucket: String::new(),
                    key: String::new(),
                },
                revision: None,
            };
            &empty
        }
        None => {
            return Err(format!(
                "PrimarySource '{primary}' is not an input artifact of the action"
            ))
        }
    };
    let secondary: Vec<&InputArtifact> = inputs.iter().filter(|i| i.name != primary).collect();
    let sources = SourceVersions {
        source_version: Some(main.location.arn()),
        resolved_source_version: main.revision.clone(),
        repo_url: None,
        secondary: secondary
            .iter()
            .map(|i| (i.name.clone(), i.revision.clone(), None))
            .collect(),
    };
    let input = LocalBuild {
        image: None,
        image_map: settings.image_map.clone(),
        primary_source: main.dir.clone(),
        secondary_sources: secondary
            .iter()
            .map(|i| (i.name.clone(), i.dir.clone()))
            .collect(),
        buildspec: None,
        env_file: None,
        secrets_file: settings.secrets_file.clone(),
        reports_dir: None,
        artifacts_dir: Some(out_dir.to_path_buf()),
        privileged: false,
        mount_source: false,
        // Input artifacts are unzipped already as the cloud has them: no git
        // filtering (a CODEBUILD_CLONE_REF artifact is a work tree itself).
        all_files: true,
        project_file: None,
        project_name: None,
        timeout: None,
        executor: target.executor,
        state_dir: settings.state_dir.clone(),
        no_cache: false,
        debug: settings.debug.clone(),
        resume: None,
        batch: None,
        pipeline: Some(PipelineStart {
            initiator: format!("codepipeline/{}", settings.pipeline_name),
            project,
            overrides,
            sources,
        }),
        from_build: None,
    };
    if let Some(combine) = target.batch {
        return run_batch_build(&input, action, combine, out_dir, events, stop).await;
    }
    let prepared = prepare(&input).map_err(|e| e.to_string())?;
    let mut executor = make_executor(target.executor, prepared.environment.clone())
        .await
        .map_err(|e| e.to_string())?;
    let record = run_build(&mut executor, &prepared.request, events, stop)
        .await
        .map_err(|e| match e {
            ExecError::ImageUnavailable { ref image, .. } => format!(
                "{e}: map it to a local image with --image-map {image}=LOCAL-IMAGE (or under image-map: in .pipelocal.yml)"
            ),
            other => other.to_string(),
        })?;
    let succeeded = record.build_status == "SUCCEEDED";
    let mut outputs = Vec::new();
    let mut failure = (!succeeded).then(|| build_summary(&record));
    let mut reason = if succeeded {
        None
    } else {
        record.failure_line()
    };
    let names: Vec<&str> = action.outputs().collect();
    for name in &names {
        let file = if names.len() == 1 {
            out_dir.join("artifacts.zip")
        } else {
            out_dir.join(format!("{name}.zip"))
        };
        if file.is_file() {
            outputs.push((name.to_string(), file));
        } else if succeeded && failure.is_none() {
            let missing = if names.len() == 1 {
                format!("the build made no artifact for output {name}: give the buildspec an `artifacts` section")
            } else {
                format!("the build made no artifact for output {name}: with several outputs, each needs `artifacts.secondary-artifacts.{name}` in the buildspec")
            };
            reason = Some(missing.clone());
            failure = Some(missing);
        }
    }
    let variables = record
        .exported_environment_variables
        .iter()
        .map(|v| (v.name.clone(), v.value.clone()))
        .collect();
    Ok(BuildOutcome {
        id: record.id.clone(),
        status: record.build_status.clone(),
        outputs,
        variables,
        secrets: record.exported_secrets.clone(),
        failure,
        reason,
        record: Some(record),
    })
}

/// `BatchEnabled`: the buildspec's batch, each build's artifacts under
/// `<out>/<identifier>/`; with `CombineArtifacts` they are merged into the one
/// output, a folder per build identifier.
async fn run_batch_build(
    input: &LocalBuild,
    action: &Action,
    combine: bool,
    out_dir: &Path,
    events: &EventSink,
    stop: StopSignal,
) -> Result<BuildOutcome, String> {
    let section = batch_section(input).map_err(|e| {
        format!("{e} (the batch is read from the primary source: map the source action to a folder that has it with --source NAME=DIR)")
    })?;
    let record = run_batch(input, &section, 4, events, stop)
        .await
        .map_err(|e| e.to_string())?;
    let succeeded = record.build_batch_status == "SUCCEEDED";
    let mut failure = (!succeeded).then(|| {
        format!(
            "Build batch terminated with state: {}.",
            record.build_batch_status
        )
    });
    let mut outputs = Vec::new();
    let names: Vec<&str> = action.outputs().collect();
    match (names.as_slice(), combine) {
        ([], _) => {}
        ([name], true) => {
            let merged = out_dir.join("combined");
            for group in &record.build_groups {
                let zip = out_dir.join(&group.identifier).join("artifacts.zip");
                if zip.is_file() {
                    let dir = merged.join(&group.identifier);
                    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
                    unzip(&zip, &dir).map_err(|e| e.to_string())?;
                }
            }
            std::fs::create_dir_all(&merged).map_err(|e| e.to_string())?;
            let zip = out_dir.join(format!("{name}.combined.zip"));
            zip_folder(&merged, &zip)?;
            outputs.push((name.to_string(), zip));
        }
        _ if failure.is_none() => {
            failure = Some(
                "a batch build gives one output artifact, with CombineArtifacts \"true\"".into(),
            )
        }
        _ => {}
    }
    Ok(BuildOutcome {
        id: record.id.clone(),
        status: record.build_batch_status.clone(),
        outputs,
        variables: BTreeMap::new(),
        reason: failure.clone(),
        secrets: Vec::new(),
        failure,
        record: None,
    })
}

/// AWS's summary of a failed build (CodePipeline API Reference, `ActionExecution.errorDetails`):
/// `Build terminated with state: FAILED. Phase: BUILD, Code: ..., Message: ...`.
pub fn build_summary(record: &BuildRecord) -> String {
    let mut text = format!("Build terminated with state: {}.", record.build_status);
    if let Some((phase, context)) = record.failed_phase() {
        text.push_str(&format!(" Phase: {}", phase.phase_type));
        if let Some(c) = context {
            text.push_str(&format!(
                ", Code: {}, Message: {}",
                c.status_code, c.message
            ));
        }
    }
    text
}
