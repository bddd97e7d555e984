//! DOWNLOAD_SOURCE: the sources in place with the shell's first state and
//! the helpers, the buildspec checked as CodeBuild checks it, secrets
//! resolved.

use pipelocal_model::buildspec::Buildspec;

use crate::environment::build_variables;
use crate::events::PhaseContext;
use crate::executor::{CommandRun, Executor, NewFile};
use crate::helpers;
use crate::pause::{self};
use crate::phases::{PhaseType, Status};
use crate::probe::build_shell;
use crate::shell::{command_script, env_file, state_scripts, StateFiles};

use super::*;

/// DOWNLOAD_SOURCE: sources are in place; check the buildspec and secrets,
/// and write the initial shell state. `None` when the phase failed.
pub(super) async fn download_source(
    walk: &mut Walk,
    executor: &mut Executor,
    req: &BuildRequest,
) -> Result<Option<Buildspec>, Interruption> {
    let events = walk.events.clone();
    walk.begin(PhaseType::DownloadSource);
    let ws = executor.workspace().clone();
    // The build's own files are known before the sources go in, so they
    // travel with them (one stream into a container).
    let mut vars = build_variables(
        &req.identity,
        &ws,
        &req.sources,
        &req.variables,
        req.home.as_deref(),
    );
    let secrets = req.variables.secrets();
    let secret_names: Vec<&str> = secrets.iter().map(|(n, _)| n.as_str()).collect();
    let debug_vars = pause::variables(&ws.state_dir, &req.debug, &secret_names);
    vars.extend(debug_vars.clone());
    let state = StateFiles::under(&ws.state_dir).with_secrets(req.variables.secrets());
    let bin = format!("{}/bin", ws.state_dir);
    let env = env_file(&vars) + &helpers::path_line(&bin);
    let cwd = format!("{}\n", ws.src_dir);
    let helpers = helpers::files(&bin);
    let state_scripts = state_scripts(&state);
    let mut files: Vec<NewFile> = helpers
        .iter()
        .map(|(path, script)| NewFile {
            path,
            contents: script.as_bytes(),
            mode: 0o755,
        })
        .chain(state_scripts.iter().map(|(path, script)| NewFile {
            path,
            contents: script.as_bytes(),
            mode: 0o644,
        }))
        .collect();
    // A resumed build goes on from the kept build's shell state.
    if req.resume.is_none() {
        for (path, contents) in [(&state.env, &env), (&state.cwd, &cwd)] {
            files.push(NewFile {
                path,
                contents: contents.as_bytes(),
                mode: 0o666,
            });
        }
    }
    match executor.download_sources(&files).await {
        Ok(notes) => notes.into_iter().for_each(|n| events.info(n)),
        Err(e) => {
            walk.succeeding = false;
            walk.finish(
                Status::Failed,
                PhaseContext::new("CLIENT_ERROR", e.to_string()),
            );
            return Ok(None);
        }
    }
    if let Some(line) = &req.reproduces {
        events.info(line.clone());
    }
    events.info(format!("CODEBUILD_SRC_DIR={}", ws.src_dir));
    for (id, dir) in &ws.secondary {
        events.info(format!("CODEBUILD_SRC_DIR_{id}={dir}"));
    }
    match &req.buildspec_location {
        BuildspecLocation::Source(rel) if rel.starts_with('/') => {
            events.info(format!("YAML location is {rel}"))
        }
        BuildspecLocation::Source(rel) => events.info(format!(
            "YAML location is {}/{}",
            ws.src_dir,
            rel.trim_start_matches("./")
        )),
        BuildspecLocation::Inline => {
            events.info("YAML location is /codebuild/readonly/buildspec.yml")
        }
    }
    for warning in &req.buildspec_warnings {
        events.info(format!("Warning: {warning}"));
    }
    let spec = match &req.buildspec {
        Ok(spec) => spec.clone(),
        Err(problem) => {
            walk.succeeding = false;
            walk.finish(
                Status::Failed,
                PhaseContext::new("YAML_FILE_ERROR", problem.message(&ws.src_dir)),
            );
            return Ok(None);
        }
    };
    if let Some(name) = req.unresolved.first() {
        walk.succeeding = false;
        walk.finish(
            Status::Failed,
            PhaseContext::new("Decrypted Variables Error", name.clone()),
        );
        return Ok(None);
    }
    events.info("Processing environment variables");
    if let Some(resume) = &req.resume {
        events.info(format!(
            "Resuming build {} from phase {} in its kept build environment, with the buildspec as it is now",
            resume.from_build,
            resume.from_phase.as_str()
        ));
    }
    if req.resume.is_some() {
        // The kept shell state goes on, with this build's debugging settings.
        let exports: Vec<String> = debug_vars
            .iter()
            .map(|(n, v)| format!("export {n}={}", crate::shell::quote(v)))
            .collect();
        let script = command_script(&exports.join("\n"), &state, spec.version, true);
        let run = CommandRun {
            shell: build_shell(&spec),
            script: &script,
            script_name: &state.script_name,
            user: None,
            env: &[],
        };
        if let Err(e) = executor.run(&run, &mut |_| {}).await {
            return Err(Interruption::Fault(e.to_string()));
        }
    }
    events.info(format!("Moving to directory {}", ws.src_dir));
    events.info(format!("Phases found in YAML: {}", spec.phases.len()));
    walk.finish(Status::Succeeded, PhaseContext::default());
    Ok(Some(spec))
}
