//! `pipelocal build`: one CodeBuild build, its log on standard output in
//! CodeBuild's format, its record optionally written as JSON.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::builder::TypedValueParser;
use clap::{Args, ValueEnum};
use pipelocal_model::cloud::batch_get_builds::load_cloud_build;
use pipelocal_model::cloud::container_log::{load_container_log, ContainerLog};
use pipelocal_model::config::ExecutorKind;
use pipelocal_model::image_map::ImageMap;
use pipelocal_runner::batch::{make_executor, run_batch};
use pipelocal_runner::build::{run_build, stop_channel, StopSignal};
use pipelocal_runner::events::{EventSink, LogText};
use pipelocal_runner::prepare::{batch_section, prepare, LocalBuild};
use pipelocal_runner::record::BuildRecord;
use pipelocal_runner::reproduce::log_diff::first_difference;
use pipelocal_runner::reproduce::verdict::compare;
use pipelocal_runner::reproduce::{reproduce, Reproduction};

use crate::duration::parse_duration;
use pipelocal_runner::pause::ShellTarget;
use pipelocal_runner::phases::PhaseType;
use pipelocal_runner::phases::Status;

use crate::shell::Shells;
use crate::{EXIT_FAILED, EXIT_UNUSABLE};

/// `--executor docker|host`, listed in help as clap lists a value enum.
pub fn executor_parser() -> impl TypedValueParser<Value = ExecutorKind> {
    clap::builder::PossibleValuesParser::new(ExecutorKind::NAMES)
        .try_map(|s| s.parse::<ExecutorKind>())
}

#[derive(Debug, Args)]
pub struct BuildArgs {
    /// Build image; default from --project, else a CodeBuild standard image.
    #[arg(short = 'i', long)]
    image: Option<String>,
    /// Use image TO wherever the build would use FROM (a name, or a glob:
    /// `aws/codebuild/*=IMAGE`); repeatable, over `image-map:` in .pipelocal.yml.
    #[arg(long = "image-map", value_name = "FROM=TO", value_parser = crate::settings::name_value)]
    image_map: Vec<(String, String)>,
    /// Primary source folder (first use, default `.`); later uses `ID:DIR` add secondary sources.
    #[arg(short = 's', long = "source", value_name = "[ID:]DIR")]
    sources: Vec<String>,
    /// Buildspec path relative to the primary source; default the project's, else buildspec.yml.
    #[arg(short = 'b', long)]
    buildspec: Option<String>,
    /// Where artifacts land: the primary as DIR/artifacts.zip, each secondary as DIR/<id>.zip.
    #[arg(short = 'a', long = "artifacts", value_name = "DIR")]
    artifacts: Option<PathBuf>,
    /// Where test and coverage reports land: one DIR/<report-group-name>.json each.
    #[arg(short = 'r', long = "reports", value_name = "DIR")]
    reports: Option<PathBuf>,
    /// YAML or JSON {parameters: {name: value}, secrets: {id: string}}: the values behind
    /// parameter-store, secrets-manager and PARAMETER_STORE / SECRETS_MANAGER variables.
    #[arg(
        long = "secrets-file",
        value_name = "FILE",
        env = "PIPELOCAL_SECRETS_FILE"
    )]
    secrets_file: Option<PathBuf>,
    /// NAME=VALUE lines overriding buildspec and project variables.
    #[arg(short = 'e', long = "env-file", value_name = "FILE")]
    env_file: Option<PathBuf>,
    /// Run the build container privileged (CodeBuild's privilegedMode).
    #[arg(short = 'd', long)]
    privileged: bool,
    /// Bind-mount the primary source instead of copying it (the build can change your files).
    #[arg(short = 'm', long = "mount-source")]
    mount_source: bool,
    /// Copy source folders as they are; by default a folder inside a git work tree
    /// gets only what a push carries (tracked and untracked-not-ignored files, and `.git`).
    #[arg(long = "all-files", env = "PIPELOCAL_ALL_FILES")]
    all_files: bool,
    /// A CodeBuild project definition (create-project input or batch-get-projects output).
    #[arg(long, value_name = "FILE")]
    project: Option<PathBuf>,
    /// Project name for build ids; picks the project when the file has several.
    #[arg(long = "project-name", value_name = "NAME")]
    project_name: Option<String>,
    /// Build timeout: 90s, 5m, 1h; default the project's, else 60 minutes.
    #[arg(long, value_parser = parse_duration)]
    timeout: Option<std::time::Duration>,
    /// Write the build record (batch-get-builds shape) to this file.
    #[arg(long, value_name = "FILE")]
    record: Option<PathBuf>,
    /// Ignore `cache.paths` (no LOCAL_CUSTOM_CACHE store is linked).
    #[arg(long = "no-cache")]
    no_cache: bool,
    /// Run the buildspec's `batch` section: each build in its own container.
    #[arg(long)]
    batch: bool,
    /// How many builds of a batch run at once.
    #[arg(long = "batch-concurrency", value_name = "N", default_value_t = 4)]
    batch_concurrency: usize,
    /// Where commands run.
    #[arg(long, value_parser = executor_parser(), default_value = "docker", env = "PIPELOCAL_EXECUTOR")]
    executor: ExecutorKind,
    /// A debug session (CodeBuild's debugSessionEnabled): `codebuild-breakpoint` pauses the build.
    #[arg(long = "debug-session")]
    debug_session: bool,
    /// When a command fails, pause in its state before the phase goes on.
    #[arg(long = "break-on-failure")]
    break_on_failure: bool,
    /// Pause before PHASE starts (repeatable).
    #[arg(
        long = "break-before",
        value_name = "PHASE",
        value_enum,
        ignore_case = true
    )]
    break_before: Vec<PhaseArg>,
    /// Keep the build's container (host executor: its folder) after the build, for `pipelocal shell`.
    #[arg(long)]
    keep: bool,
    /// Go on in a kept build (`--keep`) with its files and shell state, from --from-phase.
    #[arg(long, value_name = "BUILD-ID", requires = "from_phase")]
    resume: Option<String>,
    /// The phase a resumed build starts at; the buildspec is read as it is now.
    #[arg(
        long = "from-phase",
        value_name = "PHASE",
        value_enum,
        ignore_case = true,
        requires = "resume"
    )]
    from_phase: Option<PhaseArg>,
    /// Reproduce a cloud build: `aws codebuild batch-get-builds` output (or one build of it).
    /// Its image, variables, privileged mode, timeout, buildspec and exact source versions
    /// (checked out from the clone -s names) are used; flags given here win.
    #[arg(long = "from-build", value_name = "FILE", conflicts_with_all = ["project", "batch", "resume"])]
    from_build: Option<PathBuf>,
    /// Which build of a --from-build file holding several: its id, ARN, or the id's part after `:`.
    #[arg(long = "build-id", value_name = "ID", requires = "from_build")]
    build_id: Option<String>,
    /// The cloud build's log (CloudWatch Logs JSON or the console's text download): show the
    /// first command whose exit status or output differs from the local build's.
    #[arg(long = "cloud-log", value_name = "FILE", requires = "from_build")]
    cloud_log: Option<PathBuf>,
    #[command(flatten)]
    state: StateDirArg,
}

/// The state folder of builds, for `build`, `shell` and `clean`.
#[derive(Debug, Args)]
pub struct StateDirArg {
    /// Where build numbers and paused and kept builds are kept.
    #[arg(
        long = "state-dir",
        value_name = "DIR",
        default_value = ".pipelocal",
        env = "PIPELOCAL_STATE_DIR"
    )]
    pub state_dir: PathBuf,
}

/// A phase a build can pause before.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum PhaseArg {
    #[value(name = "INSTALL")]
    Install,
    #[value(name = "PRE_BUILD")]
    PreBuild,
    #[value(name = "BUILD")]
    Build,
    #[value(name = "POST_BUILD")]
    PostBuild,
    #[value(name = "UPLOAD_ARTIFACTS")]
    UploadArtifacts,
}

impl PhaseArg {
    pub fn phase(self) -> PhaseType {
        match self {
            PhaseArg::Install => PhaseType::Install,
            PhaseArg::PreBuild => PhaseType::PreBuild,
            PhaseArg::Build => PhaseType::Build,
            PhaseArg::PostBuild => PhaseType::PostBuild,
            PhaseArg::UploadArtifacts => PhaseType::UploadArtifacts,
        }
    }
}

pub(crate) fn unusable(message: impl std::fmt::Display) -> ExitCode {
    eprintln!("error: {message}");
    ExitCode::from(EXIT_UNUSABLE)
}

fn local_build(args: &BuildArgs) -> Result<LocalBuild, String> {
    let mut primary = PathBuf::from(".");
    let mut secondary = Vec::new();
    for (i, s) in args.sources.iter().enumerate() {
        if i == 0 {
            primary = PathBuf::from(s);
            continue;
        }
        match s.split_once(':') {
            Some((id, dir))
                if !id.is_empty() && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') =>
            {
                secondary.push((id.to_string(), PathBuf::from(dir)))
            }
            _ => {
                return Err(format!(
                "-s {s}: a secondary source is ID:DIR, with an identifier of letters, digits and _"
            ))
            }
        }
    }
    // The configuration's map, the flags' entries over it.
    let mut image_map = crate::settings::load_config()?.image_map;
    image_map.extend(args.image_map.iter().cloned());
    Ok(LocalBuild {
        image: args.image.clone(),
        image_map: ImageMap::new(image_map).map_err(|e| e.to_string())?,
        primary_source: primary,
        secondary_sources: secondary,
        buildspec: args.buildspec.clone(),
        env_file: args.env_file.clone(),
        artifacts_dir: args.artifacts.clone(),
        reports_dir: args.reports.clone(),
        secrets_file: args.secrets_file.clone(),
        privileged: args.privileged,
        mount_source: args.mount_source,
        all_files: args.all_files,
        project_file: args.project.clone(),
        project_name: args.project_name.clone(),
        timeout: args.timeout,
        executor: args.executor,
        state_dir: args.state.state_dir.clone(),
        no_cache: args.no_cache,
        resume: match (&args.resume, args.from_phase) {
            (Some(id), Some(phase)) => Some(resume_from(&args.state.state_dir, id, phase)?),
            _ => None,
        },
        debug: pipelocal_runner::pause::DebugOptions {
            session: args.debug_session,
            break_on_failure: args.break_on_failure,
            break_before: args.break_before.iter().map(|p| p.phase()).collect(),
            keep: args.keep,
        },
        batch: None,
        pipeline: None,
        from_build: None,
    })
}

/// A cloud build being reproduced, and its log when given.
struct Reproducing {
    reproduction: Reproduction,
    cloud_log: Option<ContainerLog>,
}

/// Reads the cloud build (and its log) and sets `input` up to reproduce it,
/// saying what differs before anything runs.
fn reproducing(
    args: &BuildArgs,
    file: &std::path::Path,
    input: &mut LocalBuild,
) -> Result<Reproducing, String> {
    let cloud = load_cloud_build(file, args.build_id.as_deref()).map_err(|e| e.summary())?;
    let cloud_log = match &args.cloud_log {
        Some(path) => Some(load_container_log(path).map_err(|e| e.summary())?),
        None => None,
    };
    let reproduction = reproduce(cloud, input).map_err(|e| e.to_string())?;
    for note in &reproduction.notes {
        eprintln!("warning: {note}");
    }
    let cloud = &reproduction.cloud;
    let number = cloud
        .build_number
        .map(|n| format!(" (build number {n})"))
        .unwrap_or_default();
    let status = cloud.build_status.as_deref().unwrap_or("IN_PROGRESS");
    let at = reproduction
        .commit
        .as_deref()
        .map(|c| format!(" at commit {c}"))
        .unwrap_or_default();
    eprintln!(
        "pipelocal: reproducing cloud build {}{number}, {status}{at}",
        cloud.id
    );
    Ok(Reproducing {
        reproduction,
        cloud_log,
    })
}

pub fn run(args: &BuildArgs) -> ExitCode {
    let mut input = match local_build(args) {
        Ok(i) => i,
        Err(e) => return unusable(e),
    };
    // Kept until the build ends: it holds the checkouts the build copies from.
    let reproducing = match &args.from_build {
        Some(file) => match reproducing(args, file, &mut input) {
            Ok(r) => Some(r),
            Err(e) => return unusable(e),
        },
        None => None,
    };
    let keep_log = reproducing.as_ref().is_some_and(|r| r.cloud_log.is_some());
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(r) => r,
        Err(e) => return unusable(format!("cannot start the async runtime: {e}")),
    };
    let code = runtime.block_on(async {
        let (events, mut rx) = EventSink::channel();
        let shells = Shells {
            state_dir: args.state.state_dir.clone(),
            interactive: std::io::stdin().is_terminal() && std::io::stdout().is_terminal(),
        };
        let printer = tokio::spawn(async move {
            let mut stdout = std::io::stdout();
            let mut log = LogText::default();
            // The log as printed, when it is to be compared with the cloud's.
            let mut kept = String::new();
            while let Some(event) = rx.recv().await {
                let text = log.render(&event);
                let _ = stdout.write_all(text.as_bytes());
                let _ = stdout.flush();
                if keep_log {
                    kept.push_str(&text);
                }
                if let Some(target) = shells.on(&event) {
                    crate::shell::open(&target).await;
                }
            }
            kept
        });
        let (stop, signal) = stop_channel();
        tokio::spawn(async move {
            let reason = stop_request().await;
            // Not eprintln!: a closed stderr must not keep the build from stopping.
            let _ = writeln!(std::io::stderr(), "pipelocal: stopping ({reason})");
            stop.stop();
        });
        // Beside the build, not before it: it costs the build nothing.
        let reaping =
            (input.executor == ExecutorKind::Docker).then(|| tokio::spawn(reap_leftovers()));
        let built = if args.batch {
            Err(batch(args, &input, &events, signal).await)
        } else {
            single(args, &input, &events, signal).await
        };
        drop(events);
        let local_log = printer.await.unwrap_or_default();
        if let Some(reaping) = reaping {
            let _ = reaping.await;
        }
        match built {
            Ok(record) => finish(args, record, reproducing.as_ref(), &local_log),
            Err(code) => code,
        }
    });
    // A shell's stdin read may still wait on the terminal: do not wait for it.
    runtime.shutdown_background();
    code
}

/// Runs one build; its record, or the exit code of why it could not run.
async fn single(
    args: &BuildArgs,
    input: &LocalBuild,
    events: &EventSink,
    signal: StopSignal,
) -> Result<BuildRecord, ExitCode> {
    let prepared = prepare(input).map_err(unusable)?;
    let mut executor = make_executor(input.executor, prepared.environment.clone())
        .await
        .map_err(unusable)?;
    let record = run_build(&mut executor, &prepared.request, events, signal)
        .await
        .map_err(unusable)?;
    if !args.keep {
        // A build stopped while paused: there is nothing left to open.
        ShellTarget::remove(&args.state.state_dir, &record.id);
    }
    if let Some(from) = &args.resume {
        // Its environment went on in this build (kept again under this id, or removed).
        ShellTarget::remove(&args.state.state_dir, from);
    }
    Ok(record)
}

/// After a single build (its log printed): the comparison with the cloud
/// build it reproduces, the record, the last line, the exit code.
fn finish(
    args: &BuildArgs,
    mut record: BuildRecord,
    reproducing: Option<&Reproducing>,
    local_log: &str,
) -> ExitCode {
    if let Some(r) = reproducing {
        let mut comparison = compare(&r.reproduction.cloud, &record);
        if let Some(cloud_log) = &r.cloud_log {
            comparison.log_difference =
                first_difference(cloud_log, &ContainerLog::from_text(local_log));
        }
        eprint!(
            "{}",
            crate::reproduce::render(&comparison, r.cloud_log.is_some())
        );
        record.reproduction = Some(comparison);
    }
    if let Err(e) = write_record(args, &record) {
        return unusable(e);
    }
    eprintln!(
        "Build {} {} (build number {})",
        record.id, record.build_status, record.build_number
    );
    exit_for(&record.build_status)
}

async fn batch(
    args: &BuildArgs,
    input: &LocalBuild,
    events: &EventSink,
    signal: StopSignal,
) -> ExitCode {
    let section = match batch_section(input) {
        Ok(b) => b,
        Err(e) => return unusable(e),
    };
    let record = match run_batch(input, &section, args.batch_concurrency, events, signal).await {
        Ok(r) => r,
        Err(e) => return unusable(e),
    };
    if let Err(e) = write_record(args, &record) {
        return unusable(e);
    }
    for group in &record.build_groups {
        let status = group
            .current_build_summary
            .as_ref()
            .map(|s| s.build_status.as_str())
            .unwrap_or("NOT_STARTED");
        let note = if group.ignore_failure {
            " (ignore-failure)"
        } else {
            ""
        };
        eprintln!("  {:<24} {status}{note}", group.identifier);
    }
    eprintln!("Batch {} {}", record.id, record.build_batch_status);
    exit_for(&record.build_batch_status)
}

fn write_record(args: &BuildArgs, record: &impl serde::Serialize) -> Result<(), String> {
    let Some(path) = &args.record else {
        return Ok(());
    };
    let json = serde_json::to_string_pretty(record).map_err(|e| e.to_string())?;
    std::fs::write(path, json + "\n")
        .map_err(|e| format!("{}: cannot write the record: {e}", path.display()))
}

fn exit_for(status: &str) -> ExitCode {
    if status == Status::Succeeded.as_str() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_FAILED)
    }
}

/// Waits for Ctrl-C, SIGTERM or SIGHUP: each stops the build and removes its
/// container, so closing a terminal or `kill` leaves nothing behind.
/// The kept build `id` as the environment a resumed build goes on in.
fn resume_from(
    state_dir: &std::path::Path,
    id: &str,
    phase: PhaseArg,
) -> Result<pipelocal_runner::prepare::ResumeFrom, String> {
    let target = ShellTarget::load(state_dir, id)?.ok_or_else(|| {
        format!(
            "no kept build {id} in {}: keep one with `pipelocal build --keep` (`pipelocal shell` lists them)",
            state_dir.display()
        )
    })?;
    if target.paused {
        return Err(format!("build {id} is paused, not kept: resume it with `codebuild-resume` in `pipelocal shell {id}`"));
    }
    let workspace = target
        .workspace
        .clone()
        .ok_or_else(|| format!("the record of kept build {id} has no workspace: keep it again"))?;
    Ok(pipelocal_runner::prepare::ResumeFrom {
        resume: pipelocal_runner::pause::Resume {
            from_build: target.build_id.clone(),
            from_phase: phase.phase(),
        },
        adopted: pipelocal_runner::executor::Adopted {
            container: target.container.clone(),
            folder: target.folder.as_ref().map(PathBuf::from),
            workspace,
        },
    })
}

/// Removes what pipelocal processes that died left in the engine, saying so.
pub(crate) async fn reap_leftovers() {
    if let Some(reaped) = pipelocal_runner::executor::owner::reap_leftovers().await {
        eprintln!("pipelocal: {}", reaped.summary());
    }
}

pub(crate) async fn stop_request() -> &'static str {
    use tokio::signal::unix::{signal, Signal, SignalKind};
    async fn next(s: Option<&mut Signal>) {
        match s {
            Some(s) => {
                s.recv().await;
            }
            None => std::future::pending::<()>().await,
        }
    }
    let mut term = signal(SignalKind::terminate()).ok();
    let mut hup = signal(SignalKind::hangup()).ok();
    tokio::select! {
        _ = tokio::signal::ctrl_c() => "Ctrl-C",
        _ = next(term.as_mut()) => "SIGTERM",
        _ = next(hup.as_mut()) => "SIGHUP",
    }
}
