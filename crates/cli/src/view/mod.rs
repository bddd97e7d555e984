//! `pipelocal view`: an execution as one self-contained HTML page (written to
//! a file, or served with the rest of the history on 127.0.0.1), or the build
//! of a `pipelocal build --record` file alone.

mod gather;
mod page;
mod serve;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Args;
use pipelocal_orchestrator::history::{ExecutionRecord, History};
use pipelocal_runner::record::BuildRecord;

use crate::build::unusable;
use crate::settings::state_dir;

#[derive(Debug, Args)]
pub struct ViewArgs {
    /// An execution id (default the newest execution), or a file written by
    /// `pipelocal build --record`.
    target: Option<String>,
    /// Write the page here; default `<state-dir>/views/<id>.html`.
    #[arg(
        short = 'o',
        long = "output",
        value_name = "FILE",
        conflicts_with = "serve"
    )]
    output: Option<PathBuf>,
    /// Serve the history on 127.0.0.1 (a free port, printed): the list of
    /// executions, each one's page, a running one refreshing itself.
    #[arg(long)]
    serve: bool,
    #[arg(long = "state-dir", value_name = "DIR", env = "PIPELOCAL_STATE_DIR")]
    state_dir: Option<PathBuf>,
}

pub fn run(args: &ViewArgs) -> ExitCode {
    let dir = match state_dir(args.state_dir.as_deref()) {
        Ok(d) => d,
        Err(e) => return unusable(e),
    };
    if args.serve {
        return serve::serve(&dir);
    }
    let made = match args.target.as_deref() {
        Some(file) if Path::new(file).is_file() => record_page(Path::new(file)),
        target => execution(&dir, target).map(|record| {
            let name = format!("{}.html", record.pipeline_execution_id);
            (
                name,
                page::execution_page(&gather::gather(&dir, record), false),
            )
        }),
    };
    let (name, html) = match made {
        Ok(m) => m,
        Err(e) => return unusable(e),
    };
    let path = args
        .output
        .clone()
        .unwrap_or_else(|| dir.join("views").join(name));
    let written = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .map_or(Ok(()), std::fs::create_dir_all)
        .and_then(|()| std::fs::write(&path, html));
    match written {
        Ok(()) => {
            println!("{}", path.display());
            ExitCode::SUCCESS
        }
        Err(e) => unusable(format!("{}: {e}", path.display())),
    }
}

/// The page of a `build --record` file, and the name of its page file.
fn record_page(file: &Path) -> Result<(String, String), String> {
    let text = std::fs::read_to_string(file).map_err(|e| format!("{}: {e}", file.display()))?;
    let build: BuildRecord = serde_json::from_str(&text).map_err(|e| {
        format!(
            "{}: not a build record as `pipelocal build --record` writes it: {e}",
            file.display()
        )
    })?;
    let name: String = build
        .id
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    Ok((format!("build-{name}.html"), page::build_page(&build)))
}

/// Every execution in the history, newest first.
fn all_executions(dir: &Path) -> Result<Vec<ExecutionRecord>, String> {
    let history = History::new(dir);
    let mut all = Vec::new();
    for pipeline in history.pipelines() {
        all.extend(history.executions(&pipeline).map_err(|e| e.to_string())?);
    }
    all.sort_by(|a, b| b.start_time.total_cmp(&a.start_time));
    Ok(all)
}

/// The execution with this id, else the newest of any pipeline.
fn execution(dir: &Path, id: Option<&str>) -> Result<ExecutionRecord, String> {
    match id {
        Some(id) => History::new(dir).find(id).map_err(|e| e.to_string()),
        None => all_executions(dir)?.into_iter().next().ok_or_else(|| {
            format!(
                "no execution in {} yet: run one with `pipelocal run`",
                dir.display()
            )
        }),
    }
}
