//! `pipelocal run`: a whole pipeline. Settings come from the configuration
//! files, then flags; progress is rendered as plain lines, each log line
//! prefixed with its action, and a summary at the end.

use std::collections::BTreeMap;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::builder::TypedValueParser;
use clap::Args;
use pipelocal_model::config::{Config, DeployMode, ExecutorKind};
use pipelocal_model::image_map::ImageMap;
use pipelocal_model::pipeline::load_pipeline_with;
use pipelocal_model::pipeline::Pipeline;
use pipelocal_model::project::load_projects;
use pipelocal_orchestrator::actions::approval::ApprovalPolicy;
use pipelocal_orchestrator::actions::build::BuildSettings;
use pipelocal_orchestrator::actions::source::GitContent;
use pipelocal_orchestrator::events::PipelineEvents;
use pipelocal_orchestrator::history::History;
use pipelocal_orchestrator::resume::{base_execution, retry_stage, RetryMode, Start};
use pipelocal_orchestrator::run::{run_pipeline, LocalCommands, RunError, RunOptions};
use pipelocal_orchestrator::status::ExecutionStatus;
use pipelocal_runner::build::stop_channel;

use crate::build::{executor_parser, reap_leftovers, stop_request, unusable};
use crate::render::{JsonRenderer, LiveRenderer, PlainRenderer};
use crate::reproduce_run::{self, CloudActions};
use crate::settings::{load_config, name_value, state_dir, ParameterArgs};
use crate::shell::Shells;
use crate::EXIT_FAILED;

#[derive(Debug, Args)]
pub struct RunArgs {
    /// Pipeline JSON (get-pipeline output, create-pipeline input or the bare
    /// pipeline), or a CloudFormation / CDK template holding one.
    pipeline: PathBuf,
    /// Start at this stage, with the artifacts and variables of an earlier
    /// execution (--execution, default the newest): nothing before it runs.
    #[arg(long = "from-stage", value_name = "STAGE", conflicts_with = "only")]
    from_stage: Option<String>,
    /// Run one action (`Action` or `Stage/Action`) with its inputs from an
    /// earlier execution (--execution, default the newest).
    #[arg(long, value_name = "ACTION")]
    only: Option<String>,
    /// The execution whose artifacts --from-stage or --only reuse.
    #[arg(long, value_name = "ID")]
    execution: Option<String>,
    /// Reproduce a cloud execution: `aws codepipeline get-pipeline-execution`
    /// output. Each source takes the execution's revision (a commit, an S3
    /// object version, an image digest), V2 variables its values.
    #[arg(
        long = "from-execution",
        value_name = "FILE",
        conflicts_with_all = ["from_stage", "only", "execution"]
    )]
    from_execution: Option<PathBuf>,
    /// `aws codepipeline list-action-executions` output for that execution:
    /// the summary puts each action's cloud status beside this run's.
    #[arg(
        long = "action-executions",
        value_name = "FILE",
        requires = "from_execution"
    )]
    action_executions: Option<PathBuf>,
    #[command(flatten)]
    settings: SettingsArgs,
}

/// `pipelocal retry`: a failed stage of an execution again, in the same execution.
#[derive(Debug, Args)]
pub struct RetryArgs {
    execution_id: String,
    /// The stage to retry; default the execution's failed or stopped stage.
    #[arg(long)]
    stage: Option<String>,
    /// Re-run the failed (and abandoned) actions, or every action of the stage.
    #[arg(long, value_enum, default_value_t = RetryModeArg::FailedActions)]
    mode: RetryModeArg,
    #[command(flatten)]
    settings: SettingsArgs,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum RetryModeArg {
    FailedActions,
    AllActions,
}

/// The settings `run` and `retry` share (each also a configuration key).
#[derive(Debug, Args)]
pub struct SettingsArgs {
    /// Which pipeline, when the template holds several.
    #[arg(long)]
    name: Option<String>,
    #[command(flatten)]
    parameters: ParameterArgs,
    /// CodeBuild project definitions (create-project JSON, batch-get-projects output); repeatable.
    #[arg(long = "projects", value_name = "FILE")]
    projects: Vec<PathBuf>,
    /// The local input of a source action, by action or output artifact name:
    /// a folder (a git repository is taken at its committed HEAD) or, for S3, a file.
    #[arg(long = "source", value_name = "NAME=PATH", value_parser = name_value)]
    sources: Vec<(String, String)>,
    /// A pipeline variable (V2), over its default; repeatable.
    #[arg(long = "variable", value_name = "NAME=VALUE", value_parser = name_value)]
    variables: Vec<(String, String)>,
    /// Use image TO wherever a project asks for FROM (a name, or a glob:
    /// `aws/codebuild/*=IMAGE`); repeatable.
    #[arg(long = "image-map", value_name = "FROM=TO", value_parser = name_value)]
    image_map: Vec<(String, String)>,
    /// The image of Commands actions and of projects that name none.
    #[arg(long = "default-image", value_name = "IMAGE")]
    default_image: Option<String>,
    /// Values behind parameter-store / secrets-manager and typed variables.
    #[arg(
        long = "secrets-file",
        value_name = "FILE",
        env = "PIPELOCAL_SECRETS_FILE"
    )]
    secrets_file: Option<PathBuf>,
    /// Answer every manual approval with yes.
    #[arg(long, conflicts_with = "reject")]
    approve: bool,
    /// Answer every manual approval with no.
    #[arg(long)]
    reject: bool,
    /// Take git sources with their uncommitted changes (tracked files as they
    /// are, untracked files git does not ignore) instead of the committed HEAD.
    #[arg(long)]
    uncommitted: bool,
    /// A debug session for CodeBuild and Commands actions: `codebuild-breakpoint` pauses them.
    #[arg(long = "debug-session")]
    debug_session: bool,
    /// When a command of a build fails, pause in its state before the phase goes on.
    #[arg(long = "break-on-failure")]
    break_on_failure: bool,
    /// Keep each build's container (host executor: its folder) for `pipelocal shell`.
    #[arg(long)]
    keep: bool,
    /// Take git sources as their folders are, also the files git ignores
    /// (implies --uncommitted); `.git` stays out.
    #[arg(long = "all-files")]
    all_files: bool,
    /// Run a CodeBuild action whose project no definition gives with the
    /// default image and its input's buildspec.yml (a warning says so),
    /// instead of stopping.
    #[arg(long = "assume-undefined-projects")]
    assume_undefined_projects: bool,
    /// What CodeDeploy and ECS deploy actions do: `check` their inputs and
    /// say what they would do (the default), or deploy into `local`
    /// instance and service containers kept between runs.
    #[arg(long, value_name = "MODE", value_parser = deploy_parser())]
    deploy: Option<DeployMode>,
    /// Plain lines even on a terminal (they are the default elsewhere).
    #[arg(long, conflicts_with = "json")]
    plain: bool,
    /// One JSON object per event and log line on standard output, for tools;
    /// approvals are then answered only by --approve / --reject.
    #[arg(long)]
    json: bool,
    /// Where commands run.
    #[arg(long, value_parser = executor_parser(), env = "PIPELOCAL_EXECUTOR")]
    executor: Option<ExecutorKind>,
    /// Where executions, logs and the artifact store live; default .pipelocal.
    #[arg(long = "state-dir", value_name = "DIR", env = "PIPELOCAL_STATE_DIR")]
    state_dir: Option<PathBuf>,
}

fn deploy_parser() -> impl TypedValueParser<Value = DeployMode> {
    clap::builder::PossibleValuesParser::new(DeployMode::NAMES).try_map(|s| s.parse::<DeployMode>())
}

/// The configuration files, then the flags on top.
fn options(
    pipeline: &Path,
    args: &SettingsArgs,
    recorded: Option<Config>,
) -> Result<RunOptions, String> {
    options_named(pipeline, args, recorded, args.name.as_deref())
}

fn options_named(
    pipeline: &Path,
    args: &SettingsArgs,
    recorded: Option<Config>,
    name: Option<&str>,
) -> Result<RunOptions, String> {
    let cwd = std::env::current_dir().map_err(|e| format!("the current folder: {e}"))?;
    let mut config = load_config()?;
    // A retry runs with the settings of the run it retries, over the files'.
    if let Some(recorded) = recorded {
        config = recorded.over(config);
    }
    let flags = Config {
        default_image: args.default_image.clone(),
        image_map: args.image_map.iter().cloned().collect(),
        projects: args.projects.clone(),
        sources: args
            .sources
            .iter()
            .map(|(n, p)| (n.clone(), PathBuf::from(p)))
            .collect(),
        secrets_file: args.secrets_file.clone(),
        executor: args.executor,
        state_dir: args.state_dir.clone(),
        variables: BTreeMap::new(),
        uncommitted: args.uncommitted.then_some(true),
        all_files: args.all_files.then_some(true),
        assume_undefined_projects: args.assume_undefined_projects.then_some(true),
        deploy: args.deploy,
        parameters: args.parameters.given()?,
        ..Config::default()
    };
    let mut parameters = config.parameters.clone();
    parameters.extend(flags.parameters.clone());
    let loaded = load_pipeline_with(pipeline, name, &parameters)
        .and_then(|l| l.into_valid())
        .map_err(|e| e.summary())?;
    for warning in loaded.placeholder_warnings() {
        eprintln!("{warning}");
    }
    if let Some(message) = loaded.placeholder_in_what_runs() {
        return Err(message);
    }
    // A shared file may map sources and variables of other pipelines: only
    // flags must name this pipeline's.
    let p = &loaded.pipeline;
    config
        .sources
        .retain(|name, _| p.source_actions().any(|a| a.answers_to(name)));
    config
        .variables
        .retain(|name, _| p.variables.iter().any(|v| &v.name == name));
    let config = flags.absolute(&cwd).over(config);
    let kept = config.clone();
    let mut projects = loaded.projects.clone();
    for file in &config.projects {
        projects.extend(load_projects(file).map_err(|e| e.summary())?);
    }
    let workdir = cwd;
    let mut variables: Vec<(String, String)> = config.variables.clone().into_iter().collect();
    variables.extend(args.variables.iter().cloned());
    Ok(RunOptions {
        settings: BuildSettings {
            pipeline_name: loaded.pipeline.name.clone(),
            projects,
            image_map: ImageMap::new(config.image_map).map_err(|e| e.to_string())?,
            default_image: config.default_image,
            secrets_file: config.secrets_file,
            executor: config.executor.unwrap_or(ExecutorKind::Docker),
            state_dir: config
                .state_dir
                .unwrap_or_else(|| PathBuf::from(".pipelocal")),
            debug: pipelocal_runner::pause::DebugOptions {
                session: args.debug_session,
                break_on_failure: args.break_on_failure,
                break_before: Vec::new(),
                keep: args.keep,
            },
            assume_undefined_projects: config.assume_undefined_projects == Some(true),
        },
        deployment_groups: loaded.deployment_groups,
        pipeline: loaded.pipeline,
        sources: config.sources.into_iter().collect(),
        workdir,
        variables,
        git_content: if config.all_files == Some(true) {
            GitContent::AllFiles
        } else if config.uncommitted == Some(true) {
            GitContent::WorkingTree
        } else {
            GitContent::Committed
        },
        local: LocalCommands {
            actions: config.actions,
            functions: config.functions,
            deploy: config.deploy.unwrap_or_default(),
        },
        ecs: loaded.ecs,
        config: kept,
        from_execution: None,
        pins: Default::default(),
        approvals: if args.approve {
            ApprovalPolicy::Approve
        } else if args.reject {
            ApprovalPolicy::Reject
        } else if std::io::stdin().is_terminal() && !args.json {
            ApprovalPolicy::Ask
        } else {
            ApprovalPolicy::Unanswerable
        },
    })
}

pub fn run(args: &RunArgs) -> ExitCode {
    let mut opts = match options(&args.pipeline, &args.settings, None) {
        Ok(o) => o,
        Err(e) => return unusable(e),
    };
    let cloud = reproduce_run::load(
        args.from_execution.as_deref(),
        args.action_executions.as_deref(),
        &opts.pipeline,
    );
    let cloud_actions = match cloud {
        Ok((from, actions)) => {
            opts.from_execution = from;
            actions
        }
        Err(e) => return unusable(e),
    };
    let history = History::new(&opts.settings.state_dir);
    let name = opts.pipeline.name.clone();
    let base = || base_execution(&history, &name, args.execution.as_deref());
    let start = if let Some(stage) = &args.from_stage {
        base().map(|base| Start::FromStage {
            stage: stage.clone(),
            base: Box::new(base),
        })
    } else if let Some(only) = &args.only {
        only_action(&opts.pipeline, only).and_then(|(stage, action)| {
            base().map(|base| Start::Only {
                stage,
                action,
                base: Box::new(base),
            })
        })
    } else {
        Ok(Start::Fresh)
    };
    match start {
        Ok(start) => execute(opts, start, output(&args.settings), cloud_actions),
        Err(e) => unusable(e),
    }
}

pub fn retry(args: &RetryArgs) -> ExitCode {
    let record = match state_dir(args.settings.state_dir.as_deref())
        .map(|d| History::new(&d).find(&args.execution_id))
    {
        Ok(Ok(r)) => r,
        Ok(Err(e)) => return unusable(e),
        Err(e) => return unusable(e),
    };
    if !args.settings.variables.is_empty() {
        return unusable(
            "--variable: a retry runs with the variables of the execution it retries; start a new execution with `pipelocal run` to change them",
        );
    }
    // A template may hold several pipelines: the execution's is the one.
    let name = args
        .settings
        .name
        .clone()
        .unwrap_or_else(|| record.pipeline_name.clone());
    let opts = match options_named(
        Path::new(&record.pipeline_file),
        &args.settings,
        Some(record.settings.clone()),
        Some(&name),
    ) {
        Ok(o) => o,
        Err(e) => return unusable(e),
    };
    let history = History::new(&opts.settings.state_dir);
    let stage = match retry_stage(&history, &opts.pipeline, &record, args.stage.as_deref()) {
        Ok(s) => s,
        Err(e) => return unusable(e),
    };
    let start = Start::Retry {
        stage,
        mode: match args.mode {
            RetryModeArg::FailedActions => RetryMode::FailedActions,
            RetryModeArg::AllActions => RetryMode::AllActions,
        },
        execution: Box::new(record),
    };
    execute(opts, start, output(&args.settings), None)
}

/// `Action` or `Stage/Action` of the pipeline.
fn only_action(p: &Pipeline, text: &str) -> Result<(String, String), RunError> {
    let found = p
        .actions()
        .find(|(s, a)| a.name == text || format!("{}/{}", s.name, a.name) == text);
    found
        .map(|(s, a)| (s.name.clone(), a.name.clone()))
        .ok_or_else(|| {
            RunError::Unusable(format!("--only {text}: the pipeline has no such action"))
        })
}

/// How progress is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Output {
    Live,
    Plain,
    Json,
}

fn output(args: &SettingsArgs) -> Output {
    if args.json {
        Output::Json
    } else if !args.plain && std::io::stdout().is_terminal() {
        Output::Live
    } else {
        Output::Plain
    }
}

fn execute(
    opts: RunOptions,
    start: Start,
    output: Output,
    cloud: Option<CloudActions>,
) -> ExitCode {
    let pipeline = opts.pipeline.clone();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(r) => r,
        Err(e) => return unusable(format!("cannot start the async runtime: {e}")),
    };
    let shells = Shells {
        state_dir: opts.settings.state_dir.clone(),
        interactive: output != Output::Json
            && std::io::stdin().is_terminal()
            && std::io::stdout().is_terminal(),
    };
    let code = runtime.block_on(async {
        let (events, mut rx) = PipelineEvents::channel();
        let printer = tokio::spawn(async move {
            match output {
                Output::Live => {
                    let mut renderer = LiveRenderer::new(shells);
                    while let Some(event) = rx.recv().await {
                        renderer.render(&event);
                    }
                }
                Output::Plain => {
                    let mut renderer = PlainRenderer::new(std::io::stdout(), shells);
                    while let Some(event) = rx.recv().await {
                        renderer.render(&event);
                    }
                }
                Output::Json => {
                    let mut renderer = JsonRenderer::new(std::io::stdout(), shells);
                    while let Some(event) = rx.recv().await {
                        renderer.render(&event);
                    }
                }
            }
        });
        if opts.settings.executor == ExecutorKind::Docker {
            reap_leftovers().await;
        }
        let (stop, signal) = stop_channel();
        tokio::spawn(async move {
            let reason = stop_request().await;
            // Not eprintln!: a closed stderr must not keep the run from stopping.
            let _ = writeln!(
                std::io::stderr(),
                "pipelocal: stopping ({reason}): running actions are abandoned"
            );
            stop.stop();
        });
        let result = run_pipeline(opts, start, events, signal).await;
        let _ = printer.await;
        if let (Ok(record), Some(cloud)) = (&result, &cloud) {
            let comparison = reproduce_run::comparison(&pipeline, cloud, record);
            match output {
                Output::Json => println!("{}", reproduce_run::json(&comparison)),
                _ => print!(
                    "{}",
                    reproduce_run::render(&comparison, cloud.outcome.as_deref())
                ),
            }
        }
        match result {
            Ok(record) if record.status == ExecutionStatus::Succeeded => ExitCode::SUCCESS,
            Ok(_) => ExitCode::from(EXIT_FAILED),
            Err(RunError::Unusable(message)) => unusable(message),
            // Actions ran: the execution did not succeed.
            Err(e) => {
                eprintln!("error: {e}");
                ExitCode::from(EXIT_FAILED)
            }
        }
    });
    // A shell's read of the terminal may still wait: do not wait for it.
    runtime.shutdown_background();
    code
}
