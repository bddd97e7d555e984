//! How a phase's commands run: each item in its own shell process (the
//! 0.2 shell model), `finally`, `on-failure`, breakpoints and pauses, and
//! `run-as`.

use pipelocal_model::buildspec::{Buildspec, Command, OnFailure, Phase};
use pipelocal_model::runtimes::{Runtimes, RUNTIMES_FILE};

use crate::events::{BuildEventKind, EventSink, PhaseContext};
use crate::executor::{CommandRun, Executor, NewFile};
use crate::mask::StreamMasker;
use crate::pause::{self, PauseReason, ShellTarget};
use crate::phases::{PhaseType, Status};
use crate::probe::{build_shell, double_quoted, shell_values};
use crate::shell::{command_script, StateFiles};

use super::*;

/// Runs a phase's commands, then its `finally`, retrying per `on-failure`.
pub(super) async fn run_phase(
    walk: &mut Walk,
    executor: &Executor,
    spec: &Buildspec,
    state: &StateFiles,
    phase: Option<&Phase>,
    user: Option<&str>,
) -> Result<(Status, PhaseContext), Interruption> {
    let Some(phase) = phase else {
        return Ok((Status::Succeeded, PhaseContext::default()));
    };
    let (retries, pattern) = match &phase.on_failure {
        Some(OnFailure::Retry { count, pattern }) => (*count, pattern.as_deref()),
        _ => (0, None),
    };
    let matcher = pattern.map(|p| regex::Regex::new(&format!("^(?:{p})$")));
    let runtime_commands = match runtime_commands(executor, spec, state, phase, &walk.events).await
    {
        Ok(commands) => commands,
        Err(message) => {
            return Ok((
                Status::Failed,
                PhaseContext::new("YAML_FILE_ERROR", message),
            ))
        }
    };
    let succeeding_before = walk.succeeding;
    let mut attempt = 0;
    loop {
        walk.succeeding = succeeding_before;
        let mut failure: Option<PhaseContext> = None;
        for cmd in runtime_commands.iter().chain(&phase.commands) {
            if let Some(ctx) = run_command(walk, executor, spec, state, cmd, user).await? {
                failure = Some(ctx);
                break;
            }
        }
        for cmd in &phase.finally {
            if let Some(ctx) = run_command(walk, executor, spec, state, cmd, user).await? {
                failure.get_or_insert(ctx);
                break;
            }
        }
        let Some(ctx) = failure else {
            return Ok((Status::Succeeded, PhaseContext::default()));
        };
        let matches = match &matcher {
            None => true,
            Some(Ok(re)) => re.is_match(&ctx.message),
            Some(Err(_)) => false,
        };
        if attempt < retries && matches {
            attempt += 1;
            walk.events.info(format!(
                "Phase failed; retrying (attempt {attempt} of {retries}) because of on-failure"
            ));
            continue;
        }
        return Ok((Status::Failed, ctx));
    }
}

/// The commands that select `install.runtime-versions`, read from the image's
/// runtimes.yml; none (with CodeBuild's warning) on images without one.
async fn runtime_commands(
    executor: &Executor,
    spec: &Buildspec,
    state: &StateFiles,
    phase: &Phase,
    events: &EventSink,
) -> Result<Vec<Command>, String> {
    if phase.runtime_versions.is_empty() {
        return Ok(Vec::new());
    }
    let cwd = executor.workspace().src_dir.clone();
    let body =
        format!("if [ -f {RUNTIMES_FILE} ]; then printf '%s\\0' \"$(cat {RUNTIMES_FILE})\"; fi");
    let text = shell_values(executor, spec, state, &cwd, &body)
        .await
        .map_err(|e| e.to_string())?;
    let Some(text) = text.first() else {
        events.info("Skipping install of runtimes. Runtime version selection is not supported by this build image");
        return Ok(Vec::new());
    };
    let runtimes = Runtimes::parse(text).map_err(|e| e.summary())?;
    let mut out = Vec::new();
    for (runtime, requested) in &phase.runtime_versions {
        // A value may name a variable (`java: "$JAVA_VERSION"`).
        let requested = if requested.contains('$') {
            let body = format!("printf '%s\\0' {}", double_quoted(requested));
            shell_values(executor, spec, state, &cwd, &body)
                .await
                .map_err(|e| e.to_string())?
                .pop()
                .unwrap_or_default()
        } else {
            requested.clone()
        };
        let (version, commands) = runtimes.select(runtime, &requested)?;
        events.info(format!(
            "Selecting '{runtime}' runtime version '{version}' based on manual selections..."
        ));
        out.extend(commands.iter().map(|c| Command {
            text: c.clone(),
            line: None,
        }));
    }
    Ok(out)
}

/// Runs one command item; `Some(context)` when it failed.
async fn run_command(
    walk: &mut Walk,
    executor: &Executor,
    spec: &Buildspec,
    state: &StateFiles,
    cmd: &Command,
    user: Option<&str>,
) -> Result<Option<PhaseContext>, Interruption> {
    let events = walk.events.clone();
    events.send(BuildEventKind::CommandStarted(cmd.text.clone()));
    let exit = run_item(
        walk,
        executor,
        spec,
        state,
        &cmd.text,
        user,
        PauseReason::Breakpoint,
    )
    .await?;
    if exit == 0 {
        return Ok(None);
    }
    let succeeding_before = walk.succeeding;
    walk.succeeding = false;
    events.send(BuildEventKind::CommandFailed {
        command: cmd.text.clone(),
        exit_code: exit,
    });
    if walk.debug.break_on_failure {
        let pause_dir = pause::pause_dir(&executor.workspace().state_dir);
        let script = command_script(&cmd.text, state, spec.version, succeeding_before);
        let rerun = pause::rerun_script(build_shell(spec), &script, &state.script_name, &pause_dir);
        let written = executor
            .write_files(&[NewFile {
                path: &format!("{pause_dir}/rerun.sh"),
                contents: rerun.as_bytes(),
                mode: 0o755,
            }])
            .await;
        if let Err(e) = written {
            return Err(Interruption::Fault(e.to_string()));
        }
        let reason = PauseReason::Failure {
            command: cmd.text.clone(),
            exit_code: exit,
        };
        if run_pause(walk, executor, spec, state, user, reason).await? == 0 {
            // Run again in the pause's shell, and it succeeded: as if it had.
            walk.succeeding = succeeding_before;
            return Ok(None);
        }
    }
    Ok(Some(PhaseContext::new(
        "COMMAND_EXECUTION_ERROR",
        crate::record::command_error_message(&cmd.text, exit),
    )))
}

/// Where a shell opens in this build, paused: its container or folder, its
/// shell state, and (for a shell the build opens itself) its secrets.
pub(super) fn shell_target(
    executor: &Executor,
    build_id: &str,
    state: &StateFiles,
    shell: &str,
    user: Option<&str>,
) -> ShellTarget {
    ShellTarget {
        build_id: build_id.to_string(),
        container: executor.container_id(),
        user: user.map(String::from),
        shell: shell.to_string(),
        env_file: state.env.clone(),
        cwd_file: state.cwd.clone(),
        pause_dir: pause::pause_dir(&executor.workspace().state_dir),
        paused: true,
        folder: None,
        workspace: None,
        secrets: state.secret_env.clone(),
    }
}

/// The user a phase's commands run as (`run-as` of the phase, else of the
/// buildspec), as the buildspec says it.
pub(super) fn run_as(spec: &Buildspec, phase: PhaseType) -> Option<&str> {
    phase
        .buildspec_phase()
        .and_then(|name| spec.phase(name))
        .and_then(|p| p.run_as.as_deref())
        .or(spec.run_as.as_deref())
}

/// Pauses the build (pipelocal's own pauses); the exit status of the pause
/// command: 0 when a failure was run again successfully.
pub(super) async fn run_pause(
    walk: &mut Walk,
    executor: &Executor,
    spec: &Buildspec,
    state: &StateFiles,
    user: Option<&str>,
    reason: PauseReason,
) -> Result<i64, Interruption> {
    let text = pause::pause_command(&reason);
    run_item(walk, executor, spec, state, &text, user, reason).await
}

/// Runs one command text in the build's shell model, streaming its output;
/// when `codebuild-breakpoint` says it paused, the build reports a pause for
/// `reason` and, once the command ends, that it resumed.
async fn run_item(
    walk: &mut Walk,
    executor: &Executor,
    spec: &Buildspec,
    state: &StateFiles,
    text: &str,
    user: Option<&str>,
    reason: PauseReason,
) -> Result<i64, Interruption> {
    let events = walk.events.clone();
    let script = command_script(text, state, spec.version, walk.succeeding);
    let shell = build_shell(spec);
    let run = CommandRun {
        shell,
        script: &script,
        script_name: &state.script_name,
        user,
        env: &state.secret_env,
    };
    // Only a command that can pause is watched: pipelocal's own pauses, and
    // user commands when a debug session makes `codebuild-breakpoint` pause.
    let pausable = walk.debug.session || reason != PauseReason::Breakpoint;
    let mut watch = pausable.then(|| {
        let target = shell_target(executor, &walk.build_id, state, shell, user);
        (pause::Watch::new(&reason), target)
    });
    let sink = events.clone();
    let mut lines = StreamMasker::new(events.masker());
    let mut paused = false;
    let mut forward = |text: &str| {
        let ready = lines.push(text);
        if ready.is_empty() {
            return;
        }
        let seen = watch.as_mut().is_some_and(|(w, _)| w.push(&ready));
        sink.send(BuildEventKind::Output(ready));
        if let (true, false, Some((_, target))) = (seen, paused, &watch) {
            paused = true;
            sink.send(BuildEventKind::Paused {
                reason: reason.clone(),
                target: Box::new(target.clone()),
            });
        }
    };
    let exit = executor.run(&run, &mut forward).await;
    let rest = lines.finish();
    if !rest.is_empty() {
        events.send(BuildEventKind::Output(rest));
    }
    if paused {
        events.send(BuildEventKind::Resumed {
            build_id: walk.build_id.clone(),
        });
    }
    exit.map_err(|e| Interruption::Fault(e.to_string()))
}
