//! The `pipelocal` binary: argument parsing and rendering only.

mod approve;
mod build;
mod completions;
mod doctor;
mod duration;
mod graph;
mod input;
mod inspect;
mod render;
mod reproduce;
mod reproduce_run;
mod run;
mod settings;
mod shell;
mod validate;
mod view;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};

/// Run AWS CodePipeline pipelines and CodeBuild builds locally.
#[derive(Debug, Parser)]
#[command(name = "pipelocal", version, about, propagate_version = true)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum GraphFormat {
    Text,
    Mermaid,
    Dot,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run one CodeBuild build from a buildspec, in Docker (or on the host).
    ///
    /// The log goes to standard output in CodeBuild's `[Container]` format.
    /// Exit 0 when the build succeeds, 1 when it fails, times out or is
    /// stopped, 2 when it could not start.
    Build(Box<build::BuildArgs>),
    /// Run a whole pipeline: stages in order, run-order groups concurrently,
    /// zipped artifacts between actions.
    ///
    /// Exit 0 when the execution succeeds, 1 when it fails or is stopped, 2
    /// when it could not start.
    Run(Box<run::RunArgs>),
    /// Retry a failed stage of an execution, in the same execution, as
    /// retry-stage-execution does: the stages before it are not run again.
    Retry(Box<run::RetryArgs>),
    /// The state of a pipeline, as `aws codepipeline get-pipeline-state` shows it.
    State {
        /// A pipeline name or definition file; default the only pipeline run here.
        pipeline: Option<String>,
        /// The exact GetPipelineState JSON.
        #[arg(long)]
        json: bool,
        #[arg(long = "state-dir", value_name = "DIR", env = "PIPELOCAL_STATE_DIR")]
        state_dir: Option<PathBuf>,
    },
    /// The executions of a pipeline, newest first, as `list-pipeline-executions` shows them.
    Executions {
        /// A pipeline name or definition file; default the only pipeline run here.
        pipeline: Option<String>,
        /// The exact ListPipelineExecutions JSON.
        #[arg(long)]
        json: bool,
        #[arg(long = "state-dir", value_name = "DIR", env = "PIPELOCAL_STATE_DIR")]
        state_dir: Option<PathBuf>,
    },
    /// The stored log of an action of an execution, or of all its actions.
    Logs {
        execution_id: String,
        /// `Action` or `Stage/Action`.
        action: Option<String>,
        #[arg(long = "state-dir", value_name = "DIR", env = "PIPELOCAL_STATE_DIR")]
        state_dir: Option<PathBuf>,
    },
    /// Check pipeline definitions, templates, CodeBuild projects or buildspecs.
    ///
    /// Every problem is printed on its own line with file, line, stage and
    /// action. Exit 0 when valid, 1 when any error was found.
    Validate {
        /// Files to check; the kind of each is read from its content.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Which pipeline, when a template holds several (default: each of them).
        #[arg(long)]
        name: Option<String>,
        #[command(flatten)]
        parameters: settings::ParameterArgs,
    },
    /// Open an interactive shell in a paused or kept build, or in a local
    /// deploy's instance or task container; with no id, list them.
    ///
    /// In a paused build, `codebuild-resume` lets the build go on. A deploy
    /// container is named by its container name or by its
    /// `Application/DeploymentGroup` (an instance).
    Shell {
        #[arg(value_name = "ID")]
        build_id: Option<String>,
        #[command(flatten)]
        state: build::StateDirArg,
    },
    /// Remove kept builds (`--keep`), local deploys' instances and services
    /// (`run --deploy local`), and what pipelocal processes that died left behind.
    Clean {
        #[command(flatten)]
        state: build::StateDirArg,
    },
    /// Draw a pipeline: stages, run-order groups and artifact flow.
    Graph {
        file: PathBuf,
        #[arg(long, value_enum, default_value_t = GraphFormat::Text)]
        format: GraphFormat,
        /// Which pipeline, when a template holds several.
        #[arg(long)]
        name: Option<String>,
        #[command(flatten)]
        parameters: settings::ParameterArgs,
    },
    /// An execution as a self-contained HTML page (the newest by default), or
    /// the build of a `pipelocal build --record` file.
    ///
    /// Written to -o FILE, else into the state folder (the path is printed);
    /// --serve serves the whole history on 127.0.0.1 instead.
    View(Box<view::ViewArgs>),
    /// What pipelocal finds here: the container engine and how it was found,
    /// whether containers start, images, configuration files, state folder, git.
    ///
    /// One line per check, OK, WARN or FAIL with its fix. Exit 0 when a build
    /// can run, 1 when not.
    Doctor {
        #[arg(long = "state-dir", value_name = "DIR", env = "PIPELOCAL_STATE_DIR")]
        state_dir: Option<PathBuf>,
    },
    /// A shell completion script on standard output.
    ///
    /// For example `pipelocal completions bash > ~/.local/share/bash-completion/completions/pipelocal`.
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// The man page (roff) on standard output; with --out, one page per command in DIR.
    Man {
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
    },
}

/// Exit codes (docs/user-guide.md, "Exit codes"): 0 success, 1 ran and did not succeed, 2 unusable input.
pub const EXIT_FAILED: u8 = 1;
pub const EXIT_UNUSABLE: u8 = 2;

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Build(args) => build::run(&args),
        Command::Run(args) => run::run(&args),
        Command::Retry(args) => run::retry(&args),
        Command::State {
            pipeline,
            json,
            state_dir,
        } => inspect::state(state_dir.as_deref(), pipeline.as_deref(), json),
        Command::Executions {
            pipeline,
            json,
            state_dir,
        } => inspect::list(state_dir.as_deref(), pipeline.as_deref(), json),
        Command::Logs {
            execution_id,
            action,
            state_dir,
        } => inspect::logs(state_dir.as_deref(), &execution_id, action.as_deref()),
        Command::Validate {
            files,
            name,
            parameters,
        } => validate::run(&files, name.as_deref(), &parameters),
        Command::Graph {
            file,
            format,
            name,
            parameters,
        } => graph::run(&file, format, name.as_deref(), &parameters),
        Command::Shell { build_id, state } => shell::run(build_id.as_deref(), &state.state_dir),
        Command::Clean { state } => shell::clean(&state.state_dir),
        Command::View(args) => view::run(&args),
        Command::Doctor { state_dir } => doctor::run(state_dir.as_deref()),
        Command::Completions { shell } => completions::completions(shell),
        Command::Man { out } => completions::man(out.as_deref()),
    }
}
