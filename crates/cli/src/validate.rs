//! `pipelocal validate`: one line per problem, then a summary per file.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use pipelocal_model::cfn::ParameterValues;
use pipelocal_model::{check_file_with, DefinitionKind, Problem};

use crate::settings::ParameterArgs;
use crate::{EXIT_FAILED, EXIT_UNUSABLE};

pub fn run(files: &[PathBuf], name: Option<&str>, parameters: &ParameterArgs) -> ExitCode {
    let parameters = match parameters.values() {
        Ok(p) => p,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(EXIT_UNUSABLE);
        }
    };
    let mut worst = 0u8;
    for file in files {
        worst = worst.max(check_one(file, name, &parameters));
    }
    ExitCode::from(worst)
}

fn check_one(file: &Path, name: Option<&str>, parameters: &ParameterValues) -> u8 {
    let checked = match check_file_with(file, name, parameters) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e}");
            return EXIT_UNUSABLE;
        }
    };
    let kind = match checked.kind {
        Some(DefinitionKind::Pipeline | DefinitionKind::Template) => "pipeline definition",
        Some(DefinitionKind::Buildspec) => "buildspec",
        Some(DefinitionKind::Projects) => "CodeBuild project definition",
        Some(DefinitionKind::AppSpec) => "CodeDeploy AppSpec file",
        None => "file",
    };
    let mut problems: Vec<&Problem> = checked.problems.iter().collect();
    problems.sort_by_key(|p| std::cmp::Reverse(p.severity));
    for p in &problems {
        println!("{p}");
    }
    let errors = problems.iter().filter(|p| p.is_error()).count();
    let warnings = problems.len() - errors;
    let plural = |n: usize, w: &str| format!("{n} {w}{}", if n == 1 { "" } else { "s" });
    if errors == 0 {
        println!(
            "{}: valid {kind} ({})",
            file.display(),
            plural(warnings, "warning")
        );
        0
    } else {
        println!(
            "{}: invalid {kind}: {}, {}",
            file.display(),
            plural(errors, "error"),
            plural(warnings, "warning")
        );
        EXIT_FAILED
    }
}
