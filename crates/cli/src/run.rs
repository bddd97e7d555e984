//! `pipelocal run`: a whole pipeline. Settings come from the configuration
//! files, then flags; progress is rendered as plain lines, each log line
//! prefixed with its action, and a summary at the end.

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use pipelocal_model::config::{Config, Executor};
use pipelocal_model::pipeline::load_pipeline;
use pipelocal_model::project::load_projects;
use pipelocal_orchestrator::actions::approval::ApprovalPolicy;
use pipelocal_orchestrator::actions::build::BuildSettings;
use pipelocal_orchestrator::actions::source::GitContent;
use pipelocal_orchestrator::events::PipelineEvents;
use pipelocal_orchestrator::run::{run_pipeline, LocalCommands, RunError, RunOptions};
use pipelocal_orchestrator::status::ExecutionStatus;
use pipelocal_runner::build::stop_channel;
use pipelocal_runner::local::ExecutorKind;

use crate::build::{stop_request, unusable, ExecutorArg};
use crate::render::{LiveRenderer, PlainRenderer};
use crate::settings::load_config;
use crate::EXIT_FAILED;

#[derive(Debug, Args)]
pub struct RunArgs {
    /// Pipeline JSON (get-pipeline output, create-pipeline input or the bare
    /// pipeline), or a CloudFormation / CDK template holding one.
    pipeline: PathBuf,
    /// Which pipeline, when the template holds several.
    #[arg(long)]
    name: Option<String>,
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
    /// Use image TO wherever a project asks for FROM; repeatable.
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
    /// Plain lines even on a terminal (they are the default elsewhere).
    #[arg(long)]
    plain: bool,
    /// Where commands run.
    #[arg(long, value_enum, env = "PIPELOCAL_EXECUTOR")]
    executor: Option<ExecutorArg>,
    /// Where executions, logs and the artifact store live; default .pipelocal.
    #[arg(long = "state-dir", value_name = "DIR", env = "PIPELOCAL_STATE_DIR")]
    state_dir: Option<PathBuf>,
}

fn name_value(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((n, v)) if !n.is_empty() => Ok((n.to_string(), v.to_string())),
        _ => Err(format!("expected NAME=VALUE, found `{text}`")),
    }
}

/// The configuration files, then the flags on top.
fn options(args: &RunArgs) -> Result<RunOptions, String> {
    let config = load_config()?;
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
        executor: args.executor.map(|e| match e {
            ExecutorArg::Docker => Executor::Docker,
            ExecutorArg::Host => Executor::Host,
        }),
        state_dir: args.state_dir.clone(),
        variables: BTreeMap::new(),
        uncommitted: args.uncommitted,
        ..Config::default()
    };
    let config = flags.over(config);
    let loaded = load_pipeline(&args.pipeline, args.name.as_deref())
        .and_then(|l| l.into_valid())
        .map_err(|e| e.summary())?;
    let mut projects = loaded.projects.clone();
    for file in &config.projects {
        projects.extend(load_projects(file).map_err(|e| e.summary())?);
    }
    let workdir = std::env::current_dir().map_err(|e| format!("the current folder: {e}"))?;
    let mut variables: Vec<(String, String)> = config.variables.clone().into_iter().collect();
    variables.extend(args.variables.iter().cloned());
    Ok(RunOptions {
        settings: BuildSettings {
            pipeline_name: loaded.pipeline.name.clone(),
            projects,
            image_map: config.image_map.into_iter().collect(),
            default_image: config.default_image,
            secrets_file: config.secrets_file,
            executor: match config.executor {
                Some(Executor::Host) => ExecutorKind::Host,
                _ => ExecutorKind::Docker,
            },
            state_dir: config
                .state_dir
                .unwrap_or_else(|| PathBuf::from(".pipelocal")),
        },
        pipeline: loaded.pipeline,
        sources: config.sources.into_iter().collect(),
        workdir,
        variables,
        git_content: if config.uncommitted {
            GitContent::WorkingTree
        } else {
            GitContent::Committed
        },
        local: LocalCommands {
            actions: config.actions,
            functions: config.functions,
        },
        approvals: if args.approve {
            ApprovalPolicy::Approve
        } else if args.reject {
            ApprovalPolicy::Reject
        } else if std::io::stdin().is_terminal() {
            ApprovalPolicy::Ask
        } else {
            ApprovalPolicy::Unanswerable
        },
    })
}

pub fn run(args: &RunArgs) -> ExitCode {
    let plain = args.plain;
    let opts = match options(args) {
        Ok(o) => o,
        Err(e) => return unusable(e),
    };
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(r) => r,
        Err(e) => return unusable(format!("cannot start the async runtime: {e}")),
    };
    runtime.block_on(async {
        let (events, mut rx) = PipelineEvents::channel();
        let live = !plain && std::io::stdout().is_terminal();
        let printer = tokio::spawn(async move {
            if live {
                let mut renderer = LiveRenderer::new();
                while let Some(event) = rx.recv().await {
                    renderer.render(&event);
                }
            } else {
                let mut renderer = PlainRenderer::new(std::io::stdout());
                while let Some(event) = rx.recv().await {
                    renderer.render(&event);
                }
            }
        });
        let (stop, signal) = stop_channel();
        tokio::spawn(async move {
            let reason = stop_request().await;
            eprintln!("pipelocal: stopping ({reason}): running actions are abandoned");
            stop.stop();
        });
        let result = run_pipeline(opts, events, signal).await;
        let _ = printer.await;
        match result {
            Ok(record) if record.status == ExecutionStatus::Succeeded => ExitCode::SUCCESS,
            Ok(_) => ExitCode::from(EXIT_FAILED),
            Err(RunError::Unusable(message)) => unusable(message),
            Err(e @ RunError::History(_)) => unusable(e),
        }
    })
}
