//! One action execution: its inputs unpacked, its configuration resolved, the
//! provider's work done (or a local command's), its outputs stored and the
//! record written.

use super::*;

/// The result of an action, before it is written down.
#[derive(Default)]
struct Finished {
    status: Option<ActionStatus>,
    summary: Option<String>,
    /// Where and why it failed, in one line.
    reason: Option<String>,
    error: Option<ErrorDetails>,
    external_id: Option<String>,
    outputs: Vec<(String, PathBuf, Option<String>)>,
    variables: BTreeMap<String, String>,
    /// Secret values among `variables` (a buildspec's exported secrets).
    secrets: Vec<String>,
}

impl Finished {
    fn succeeded(summary: Option<String>) -> Self {
        Finished {
            status: Some(ActionStatus::Succeeded),
            summary,
            ..Finished::default()
        }
    }

    fn failed(code: &str, message: impl Into<String>) -> Self {
        let message = message.into();
        Finished {
            status: Some(ActionStatus::Failed),
            reason: message.lines().next().map(str::to_string),
            summary: Some(message.clone()),
            error: Some(ErrorDetails {
                code: code.into(),
                message,
            }),
            ..Finished::default()
        }
    }
}

/// Runs one action and records it; returns its final status.
pub(super) async fn run_action(
    shared: Arc<Shared>,
    stage: String,
    action: Action,
) -> Result<ActionStatus, RunError> {
    let execution_id = shared.execution_id();
    let action_execution_id = uuid::Uuid::new_v4().to_string();
    let (inputs, missing): (Vec<(String, StoredArtifact)>, Vec<String>) = {
        let artifacts = shared.artifacts.lock().expect("artifacts lock");
        let inputs = action
            .inputs()
            .filter_map(|n| artifacts.get(n).map(|a| (n.to_string(), a.clone())))
            .collect();
        let missing = action
            .inputs()
            .filter(|n| !artifacts.contains_key(*n))
            .map(String::from)
            .collect();
        (inputs, missing)
    };
    let t = &action.action_type_id;
    let start = epoch_now();
    let entry = ActionExecution {
        pipeline_execution_id: execution_id.clone(),
        action_execution_id: action_execution_id.clone(),
        pipeline_version: shared.opts.pipeline.version.unwrap_or(1),
        stage_name: stage.clone(),
        action_name: action.name.clone(),
        start_time: start,
        last_update_time: start,
        status: ActionStatus::InProgress,
        input: ActionInput {
            action_type_id: ActionTypeIdRecord {
                category: t.category.to_string(),
                owner: t.owner.to_string(),
                provider: t.provider.clone(),
                version: t.version.clone(),
            },
            configuration: action.configuration.clone(),
            resolved_configuration: BTreeMap::new(),
            role_arn: action.role_arn.clone(),
            region: action
                .region
                .clone()
                .unwrap_or_else(|| DEFAULT_REGION.into()),
            namespace: action.namespace.clone(),
            input_artifacts: inputs
                .iter()
                .map(|(name, a)| ArtifactDetail {
                    name: name.clone(),
                    s3location: a.location.clone(),
                })
                .collect(),
        },
        output: ActionOutput::default(),
    };
    shared.update(|r| r.action_executions.push(entry))?;
    shared.events.send(PipelineEventKind::ActionStarted {
        stage: stage.clone(),
        action: action.name.clone(),
    });
    let log_path = shared.history.log_path(
        &shared.opts.pipeline.name,
        &execution_id,
        &stage,
        &action.name,
    );
    let (sink, log_task) = action_log(&shared.events, &stage, &action.name, &log_path);
    // The unmasked sink must go: the log task ends when every sender has.
    let sink = {
        let unmasked = sink;
        let secrets = shared.secrets.lock().expect("secrets lock").clone();
        unmasked.masking(&secrets)
    };
    // Inputs, outputs and the build's copy live here until the outputs are stored.
    let work = tempfile::Builder::new()
        .prefix("work-")
        .tempdir_in(work_root(&shared.opts.settings.state_dir));
    let finished = match (&work, resolve_action(&shared, &action)) {
        _ if !missing.is_empty() => Finished::failed(
            "ConfigurationError",
            format!(
                "input artifact {} is not available: the action that makes it did not run or did not succeed in this execution (or in the one --from-stage/--only took artifacts from)",
                missing.join(", ")
            ),
        ),
        (Err(e), _) => Finished::failed("JobFailed", format!("making a work folder: {e}")),
        (Ok(_), Err(message)) => Finished::failed("ConfigurationError", message),
        (Ok(work), Ok(resolved)) => {
            shared.update_action(&action_execution_id, |a| {
                a.input.resolved_configuration = resolved.configuration.clone();
            })?;
            perform(&shared, &stage, &resolved, &inputs, work.path(), &sink).await
        }
    };
    drop(sink);
    let _ = log_task.await;
    let _keep_until_stored = work;
    // Outputs go to the store, variables to the namespace (a failed action has none).
    let mut output_artifacts = Vec::new();
    let mut finished = finished;
    if finished
        .status
        .is_some_and(|s| s != ActionStatus::Succeeded)
    {
        finished.outputs.clear();
    }
    for (name, zip, revision) in &finished.outputs {
        match shared.store.put(&shared.opts.pipeline.name, name, zip) {
            Ok(location) => {
                shared.artifacts.lock().expect("artifacts lock").insert(
                    name.clone(),
                    StoredArtifact {
                        location: location.clone(),
                        revision: revision.clone(),
                    },
                );
                output_artifacts.push(ArtifactDetail {
                    name: name.clone(),
                    s3location: location,
                });
                if let Some(revision) = revision {
                    let (name, revision) = (name.clone(), revision.clone());
                    shared.update(|r| {
                        r.artifact_revisions.retain(|a| a.name != name);
                        r.artifact_revisions.push(ArtifactRevision {
                            name,
                            revision_id: revision,
                        });
                    })?;
                }
            }
            Err(e) => {
                finished = Finished::failed("JobFailed", format!("storing artifact {name}: {e}"));
                break;
            }
        }
    }
    let status = finished.status.unwrap_or(ActionStatus::Succeeded);
    // An exported secret reaches later actions with its value (as in AWS):
    // their logs mask it as this build's did.
    shared
        .secrets
        .lock()
        .expect("secrets lock")
        .extend(finished.secrets.iter().cloned());
    if status == ActionStatus::Succeeded {
        if let Some(ns) = &action.namespace {
            shared
                .namespaces
                .lock()
                .expect("namespaces lock")
                .insert(ns.clone(), finished.variables.clone());
        }
    }
    shared.update_action(&action_execution_id, |a| {
        a.status = status;
        a.last_update_time = epoch_now();
        a.output = ActionOutput {
            output_artifacts,
            execution_result: ExecutionResult {
                external_execution_id: finished.external_id.clone(),
                external_execution_summary: finished.summary.clone(),
                error_details: finished.error.clone(),
            },
            output_variables: finished.variables.clone(),
        };
    })?;
    shared.events.send(PipelineEventKind::ActionFinished {
        stage,
        action: action.name.clone(),
        status,
        summary: finished.summary,
        reason: finished.reason,
    });
    Ok(status)
}

/// The action with every `#{...}` replaced in its configuration (and in a
/// Commands action's commands and environment variables), or AWS's message.
fn resolve_action(shared: &Shared, action: &Action) -> Result<Action, String> {
    let scope = Scope::of(shared);
    let lookup = |ns: &str, key: &str| scope.get(ns, key);
    let resolve =
        |text: &str| substitute(text, lookup).map_err(|_| unresolved_message(&action.name));
    let mut resolved = action.clone();
    for value in resolved.configuration.values_mut() {
        *value = resolve(value)?;
    }
    for command in resolved.commands.iter_mut().flatten() {
        *command = resolve(command)?;
    }
    for variable in resolved.environment_variables.iter_mut().flatten() {
        variable.value = resolve(&variable.value)?;
    }
    Ok(resolved)
}

/// An event sink for the action's build, and a task that writes each line to
/// the action's log file and passes it on.
fn action_log(
    events: &PipelineEvents,
    stage: &str,
    action: &str,
    path: &Path,
) -> (EventSink, tokio::task::JoinHandle<()>) {
    let (sink, mut rx) = EventSink::channel();
    let events = events.clone();
    let (stage, action) = (stage.to_string(), action.to_string());
    let path = path.to_path_buf();
    let task = tokio::spawn(async move {
        let mut file = path
            .parent()
            .and_then(|dir| std::fs::create_dir_all(dir).ok())
            .and_then(|_| {
                std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(&path)
                    .ok()
            });
        let mut text = LogText::default();
        while let Some(event) = rx.recv().await {
            if let Some(f) = file.as_mut() {
                let _ = f.write_all(text.render(&event).as_bytes());
            }
            events.send(PipelineEventKind::ActionLog {
                stage: stage.clone(),
                action: action.clone(),
                event: ActionLogLine::Build(event),
            });
        }
    });
    (sink, task)
}

/// Does the action's work with the handler its provider and the
/// configuration give it (`actions/handler.rs`).
async fn perform(
    shared: &Shared,
    stage: &str,
    action: &Action,
    inputs: &[(String, StoredArtifact)],
    work: &Path,
    sink: &EventSink,
) -> Finished {
    let opts = &shared.opts;
    // Inputs are unzipped, refusing entries that escape their folder.
    let mut unpacked = Vec::new();
    let mut zips = BTreeMap::new();
    for (name, artifact) in inputs {
        let dir = work.join("inputs").join(name);
        let zip = shared.store.path(&artifact.location);
        if let Err(e) = std::fs::create_dir_all(&dir) {
            return Finished::failed("JobFailed", format!("unpacking {name}: {e}"));
        }
        if let Err(e) = unzip(&zip, &dir) {
            return Finished::failed("JobFailed", format!("input artifact {name}: {e}"));
        }
        zips.insert(name.clone(), zip);
        unpacked.push(InputArtifact {
            name: name.clone(),
            dir,
            location: artifact.location.clone(),
            revision: artifact.revision.clone(),
        });
    }
    let out_dir = work.join("outputs");
    let settings = &opts.settings;
    let stop = shared.stop.clone();
    let config = &action.configuration;
    let configuration = serde_json::to_string(config).expect("strings serialize");
    // What a deploy emulation (checked or local) reads.
    let deploy_context = || Context {
        action,
        config,
        inputs: &unpacked,
        input_zips: &zips,
        state_dir: &settings.state_dir,
        out_dir: &out_dir,
    };
    let result = match Handler::of(stage, action, &opts.local) {
        Handler::Source => return source_action(shared, action, work, sink).await,
        Handler::Approval => return approval_action(shared, stage, action).await,
        Handler::Mapped(command) => {
            let invocation = Invocation {
                variables: vec![("PIPELOCAL_ACTION_CONFIGURATION".to_string(), configuration)],
                function: false,
            };
            run_mapped(
                settings, action, command, invocation, &unpacked, &out_dir, sink, stop,
            )
            .await
        }
        Handler::Function(command) => {
            let outputs: Vec<&str> = action.outputs().collect();
            let job = uuid::Uuid::new_v4().to_string();
            let invocation = Invocation {
                variables: vec![
                    ("PIPELOCAL_ACTION_CONFIGURATION".to_string(), configuration),
                    (
                        "CODEPIPELINE_JOB".into(),
                        lambda_event(&job, config, &unpacked, &outputs),
                    ),
                    (
                        "USER_PARAMETERS".into(),
                        config.get("UserParameters").cloned().unwrap_or_default(),
                    ),
                ],
                function: true,
            };
            run_mapped(
                settings, action, command, invocation, &unpacked, &out_dir, sink, stop,
            )
            .await
        }
        Handler::CodeBuild => {
            run_codebuild(settings, action, config, &unpacked, &out_dir, sink, stop).await
        }
        Handler::Commands => run_commands(settings, action, &unpacked, &out_dir, sink, stop).await,
        Handler::UnmappedFunction => return unmapped_function(action),
        Handler::Emulated(emulation) => {
            return emulate(emulation, &deploy_context(), sink).await;
        }
        Handler::DeployedLocally(kind) => {
            let cx = deploy_context();
            let execution_id = shared.execution_id();
            let local = Local {
                settings: &opts.config,
                build: settings,
                ecs: &opts.ecs,
                default_image: settings.image_map.apply(&settings.default_image()),
                pipeline: &opts.pipeline.name,
                execution_id: &execution_id,
                sink,
                stop,
                deployment_groups: &opts.deployment_groups,
            };
            let result = deploy_locally(kind, &cx, &local).await;
            // A deploy the run's stop ended is abandoned, as a stopped build is.
            if let (true, Err(failed)) = (local.stop.is_stopped(), &result) {
                note(sink, failed.message.clone());
                return Finished {
                    status: Some(ActionStatus::Abandoned),
                    summary: Some(failed.message.clone()),
                    external_id: failed.external_id.clone(),
                    ..Finished::default()
                };
            }
            return finish_emulated(&cx, result, sink);
        }
        Handler::Unsupported => {
            return Finished::failed(
                "ConfigurationError",
                format!(
                    "{} actions are not emulated: map this one to a local command in .pipelocal.yml (actions: {{{stage}/{}: {{command: ..., image: ...}}}})",
                    action.action_type_id, action.name
                ),
            )
        }
    };
    let outcome = match result {
        Ok(o) => o,
        Err(message) => return Finished::failed("ConfigurationError", message),
    };
    if let Some(record) = &outcome.record {
        let kept = shared.history.save_build(
            &opts.pipeline.name,
            &shared.execution_id(),
            stage,
            &action.name,
            record,
        );
        if let Err(e) = kept {
            note(sink, format!("the build record was not kept: {e}"));
        }
    }
    let revision = unpacked.first().and_then(|i| i.revision.clone());
    let status = match (outcome.status.as_str(), &outcome.failure) {
        ("STOPPED", _) => ActionStatus::Abandoned,
        (_, Some(_)) => ActionStatus::Failed,
        _ => ActionStatus::Succeeded,
    };
    let outputs = outcome
        .outputs
        .into_iter()
        .map(|(name, zip)| (name, zip, revision.clone()))
        .collect();
    Finished {
        status: Some(status),
        summary: outcome.failure.clone(),
        reason: outcome.reason,
        error: outcome.failure.map(|message| ErrorDetails {
            code: "JobFailed".into(),
            message,
        }),
        external_id: Some(outcome.id.clone()),
        outputs,
        variables: outcome.variables,
        secrets: outcome.secrets,
    }
}

/// How to map a Lambda function to a local command.
fn function_hint(name: &str) -> String {
    format!("map it to a local command under `functions: {{{name}: {{command: ...}}}}` in .pipelocal.yml")
}

/// A Lambda invoke no local command stands in for: recorded, unless the
/// pipeline needs its outputs.
fn unmapped_function(action: &Action) -> Finished {
    let name = action.config("FunctionName").unwrap_or_default();
    match action.outputs().next() {
        Some(output) => Finished::failed(
            "ConfigurationError",
            format!(
                "output artifact {output} comes from running function {name}: {}",
                function_hint(name)
            ),
        ),
        None => Finished::succeeded(Some(format!(
            "Recorded an invocation of {name} with UserParameters {:?} (not run: {})",
            action.config("UserParameters").unwrap_or(""),
            function_hint(name)
        ))),
    }
}

/// An emulated deploy or invoke: its checks and the images it would run.
async fn emulate(emulation: Emulation, cx: &Context<'_>, sink: &EventSink) -> Finished {
    let result = match emulation(cx) {
        Ok(done) => check_images(&done.images, sink).await.map(|()| done),
        Err(message) => Err(message),
    };
    finish_emulated(cx, result.map_err(DeployFailed::from), sink)
}

/// An emulated or local deploy's end: every declared output made (a
/// consumer cannot run without it), its lines and summary in the log.
fn finish_emulated(
    cx: &Context<'_>,
    result: Result<Done, DeployFailed>,
    sink: &EventSink,
) -> Finished {
    let t = &cx.action.action_type_id;
    if let Err(e) = std::fs::create_dir_all(cx.out_dir) {
        return Finished::failed("JobFailed", e.to_string());
    }
    let result = result.and_then(|done| {
        match cx.action.outputs().find(|o| !done.outputs.iter().any(|(n, _)| n == o)) {
            Some(missing) => Err(DeployFailed::from(format!(
                "output artifact {missing} is not made by {t} locally{}: map the action to a local command that writes outputs/{missing}/",
                unmade_output_hint(cx.action)
            ))),
            None => Ok(done),
        }
    });
    match result {
        Ok(done) => {
            for line in &done.lines {
                note(sink, line.clone());
            }
            note(sink, done.summary.clone());
            Finished {
                outputs: done
                    .outputs
                    .into_iter()
                    .map(|(n, z)| (n, z, None))
                    .collect(),
                variables: done.variables,
                external_id: done.external_id,
                ..Finished::succeeded(Some(done.summary))
            }
        }
        Err(failed) => {
            note(sink, failed.message.clone());
            Finished {
                external_id: failed.external_id,
                ..Finished::failed("JobFailed", failed.message)
            }
        }
    }
}

/// Checks that each image is in the local engine or can be pulled, as the
/// service would need to pull it.
async fn check_images(images: &[String], sink: &EventSink) -> Result<(), String> {
    if images.is_empty() {
        return Ok(());
    }
    let docker = pipelocal_runner::executor::connect()
        .await
        .map_err(|e| format!("checking images: {e}"))?;
    for image in images {
        pipelocal_runner::executor::DockerExecutor::ensure_image(&docker, image, sink)
            .await
            .map_err(|e| format!("{e}: the service could not start it either"))?;
    }
    Ok(())
}

/// A manual approval: answered by the run's policy, or by a person within
/// the action's timeout.
async fn approval_action(shared: &Shared, stage: &str, action: &Action) -> Finished {
    let config = &action.configuration;
    let outcome = match shared.opts.approvals {
        ApprovalPolicy::Approve => ApprovalOutcome::Approved("--approve".into()),
        ApprovalPolicy::Reject => ApprovalOutcome::Rejected("--reject".into()),
        ApprovalPolicy::Unanswerable => ApprovalOutcome::Unanswerable,
        ApprovalPolicy::Ask => {
            let wait = approval::timeout(action.timeout_in_minutes);
            let (request, answer) = ApprovalRequest::new(
                stage,
                &action.name,
                config.get("CustomData").cloned(),
                config.get("ExternalEntityLink").cloned(),
                wait,
            );
            shared
                .events
                .send(PipelineEventKind::ApprovalRequested(request));
            match approval::wait_for(answer, wait, shared.stop.clone()).await {
                Some(outcome) => outcome,
                None => {
                    return Finished {
                        status: Some(ActionStatus::Abandoned),
                        summary: Some("Stopped while waiting for approval".into()),
                        ..Finished::default()
                    }
                }
            }
        }
    };
    let summary = outcome.summary();
    match outcome {
        ApprovalOutcome::Approved(_) => Finished::succeeded(Some(summary)),
        _ => Finished::failed("JobFailed", summary),
    }
}

/// A line of the orchestrator's own in an action's log (no `[Container]`:
/// no container said it).
fn note(sink: &EventSink, text: impl Into<String>) {
    let text = sink.masker().mask(&text.into());
    sink.send(BuildEventKind::Output(format!("{text}\n")));
}

/// `<state-dir>/work`, made if missing.
fn work_root(state_dir: &Path) -> PathBuf {
    let dir = state_dir.join("work");
    let _ = std::fs::create_dir_all(&dir);
    dir
}

async fn source_action(
    shared: &Shared,
    action: &Action,
    work: &Path,
    sink: &EventSink,
) -> Finished {
    let zip = work.join("source.zip");
    let mapped = shared
        .opts
        .sources
        .iter()
        .rev()
        .find(|(name, _)| action.answers_to(name))
        .map(|(_, path)| path.clone());
    let request = SourceRequest {
        action: action.clone(),
        mapped,
        workdir: shared.opts.workdir.clone(),
        state_dir: shared.opts.settings.state_dir.clone(),
        content: shared.opts.git_content,
        // `--from-execution`: the execution's revision (from_execution.rs).
        pin: shared.opts.pins.get(&action.name).cloned(),
    };
    let result = fetch_source(request, &zip).await;
    let out = match result {
        Ok(out) => out,
        Err(message) => return Finished::failed("ConfigurationError", message),
    };
    for line in &out.notes {
        note(sink, line.clone());
    }
    let (name, revision, summary) = (
        action.name.clone(),
        out.revision.clone(),
        out.revision_summary.clone(),
    );
    let _ = shared.update(|r| {
        r.source_revisions.retain(|s| s.action_name != name);
        r.source_revisions.push(SourceRevision {
            action_name: name,
            revision_id: revision,
            revision_summary: summary,
        })
    });
    let outputs = action
        .outputs()
        .map(|name| (name.to_string(), zip.clone(), out.revision.clone()))
        .collect();
    Finished {
        external_id: out.revision.clone(),
        outputs,
        variables: out.variables,
        ..Finished::succeeded(out.revision_summary.clone())
    }
}
