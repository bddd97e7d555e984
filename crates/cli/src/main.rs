//! The `pipelocal` binary: argument parsing and rendering only.

mod build;
mod graph;
mod validate;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};

/// Run AWS CodePipeline pipelines and CodeBuild builds locally.
#[derive(Debug, Parser)]
#[command(name = "pipelocal", version, about, propagate_version = true)]
struct Cli {
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
    /// Check pipeline definitions, templates, CodeBuild projects or buildspecs.
    ///
    /// Every problem is printed on its own line with file, line, stage and
    /// action. Exit 0 when valid, 1 when any error was found.
    Validate {
        /// Files to check; the kind of each is read from its content.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Which pipeline, when a template holds several.
        #[arg(long)]
        name: Option<String>,
    },
    /// Draw a pipeline: stages, run-order groups and artifact flow.
    Graph {
        file: PathBuf,
        #[arg(long, value_enum, default_value_t = GraphFormat::Text)]
        format: GraphFormat,
        /// Which pipeline, when a template holds several.
        #[arg(long)]
        name: Option<String>,
    },
}

/// Exit codes of cli.md: 0 success, 1 ran and did not succeed, 2 unusable input.
pub const EXIT_FAILED: u8 = 1;
pub const EXIT_UNUSABLE: u8 = 2;

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Build(args) => build::run(&args),
        Command::Validate { files, name } => validate::run(&files, name.as_deref()),
        Command::Graph { file, format, name } => graph::run(&file, format, name.as_deref()),
    }
}
