//! `pipelocal completions SHELL` and `pipelocal man`: what shells and `man`
//! need, generated from the argument parser itself so they never fall behind.

use std::path::Path;
use std::process::ExitCode;

use clap::CommandFactory;

use crate::build::unusable;
use crate::Cli;

/// The completion script for `shell` on standard output.
pub fn completions(shell: clap_complete::Shell) -> ExitCode {
    let mut command = Cli::command();
    clap_complete::generate(shell, &mut command, "pipelocal", &mut std::io::stdout());
    ExitCode::SUCCESS
}

/// `pipelocal.1` on standard output; with a folder, a page for every
/// command there (`pipelocal.1`, `pipelocal-run.1`, ...).
pub fn man(out: Option<&Path>) -> ExitCode {
    let written = match out {
        None => clap_mangen::Man::new(Cli::command()).render(&mut std::io::stdout()),
        Some(dir) => std::fs::create_dir_all(dir)
            .and_then(|()| clap_mangen::generate_to(Cli::command(), dir)),
    };
    match (written, out) {
        (Ok(()), Some(dir)) => {
            println!("{}", dir.display());
            ExitCode::SUCCESS
        }
        (Ok(()), None) => ExitCode::SUCCESS,
        (Err(e), Some(dir)) => unusable(format!("{}: {e}", dir.display())),
        (Err(e), None) => unusable(format!("writing the man page: {e}")),
    }
}
