//! `pipelocal doctor`: what pipelocal finds on this machine, one line per
//! check (OK, WARN or FAIL, with the fix), exit 0 when a build can run.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use pipelocal_model::config::{Config, ExecutorKind};
use pipelocal_runner::engine_check::{check_engine, EngineReport};
use pipelocal_runner::prepare::DEFAULT_IMAGE;

use crate::settings::{repo_config, user_config, REPO_CONFIG};
use crate::EXIT_FAILED;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Level {
    Ok,
    Warn,
    Fail,
}

/// One checked thing: what was found, and the fix when it is not OK.
struct Check {
    level: Level,
    text: String,
    fix: Option<String>,
}

fn ok(text: impl Into<String>) -> Check {
    Check {
        level: Level::Ok,
        text: text.into(),
        fix: None,
    }
}

fn warn(text: impl Into<String>, fix: impl Into<String>) -> Check {
    Check {
        level: Level::Warn,
        text: text.into(),
        fix: Some(fix.into()),
    }
}

fn fail(text: impl Into<String>, fix: impl Into<String>) -> Check {
    Check {
        level: Level::Fail,
        text: text.into(),
        fix: Some(fix.into()),
    }
}

pub fn run(state_flag: Option<&Path>) -> ExitCode {
    let (config, mut checks) = configuration();
    let host = config.executor == Some(ExecutorKind::Host);
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(r) => r,
        Err(e) => return crate::build::unusable(format!("cannot start the async runtime: {e}")),
    };
    let wanted = images(&config);
    let engine = runtime.block_on(check_engine(&wanted));
    checks.extend(engine_checks(engine, host));
    checks.push(state_folder(
        state_flag.map(Path::to_path_buf).or(config.state_dir),
    ));
    checks.push(git());
    for c in &checks {
        let label = match c.level {
            Level::Ok => "OK  ",
            Level::Warn => "WARN",
            Level::Fail => "FAIL",
        };
        match &c.fix {
            Some(fix) => println!("{label} {}\n       fix: {fix}", c.text),
            None => println!("{label} {}", c.text),
        }
    }
    if checks.iter().any(|c| c.level == Level::Fail) {
        println!("A build cannot run here until the FAIL lines are fixed.");
        ExitCode::from(EXIT_FAILED)
    } else {
        println!("A build can run here.");
        ExitCode::SUCCESS
    }
}

/// The images builds would use: each mapped image, then the default one.
fn images(config: &Config) -> Vec<String> {
    let mut out: Vec<String> = config.image_map.values().cloned().collect();
    let default = config
        .default_image
        .clone()
        .unwrap_or_else(|| DEFAULT_IMAGE.to_string());
    // The map as builds apply it (globs too); a map that cannot be used is
    // reported where the configuration is read.
    let default = match pipelocal_model::image_map::ImageMap::new(config.image_map.clone()) {
        Ok(map) => map.apply(&default),
        Err(_) => default,
    };
    if !out.contains(&default) {
        out.push(default);
    }
    out
}

/// The configuration files found, how they layer, and the settings they
/// make (the defaults when a file cannot be read).
fn configuration() -> (Config, Vec<Check>) {
    let mut checks = Vec::new();
    let mut layers = Vec::new();
    let mut config = Config::default();
    // The user's file first: the repository's lies over it.
    for (path, what) in [
        (user_config(), "user configuration"),
        (repo_config(), "repository configuration"),
    ] {
        let Some(path) = path else {
            continue;
        };
        match Config::load(&path) {
            Ok(c) => {
                checks.push(ok(format!("{what}: {}", path.display())));
                layers.push(path.display().to_string());
                config = c.over(config);
            }
            Err(e) => checks.push(fail(
                format!("{what}: {}", e.summary()),
                format!("correct {}", path.display()),
            )),
        }
    }
    match layers.as_slice() {
        [] => checks.push(ok(format!(
            "no configuration file (pipelocal looks for {REPO_CONFIG} up to the repository's root, and ~/.config/pipelocal/config.yml): flags and defaults only"
        ))),
        [one] => checks.push(ok(format!("settings: flags over {one}"))),
        many => checks.push(ok(format!(
            "settings: flags over {}",
            many.iter().rev().cloned().collect::<Vec<_>>().join(" over ")
        ))),
    }
    (config, checks)
}

fn engine_checks(
    engine: Result<EngineReport, pipelocal_runner::executor::ExecError>,
    host: bool,
) -> Vec<Check> {
    let report = match engine {
        Ok(r) => r,
        Err(e) if host => {
            return vec![warn(
                format!("{e} (the configuration runs builds on the host)"),
                "only needed for --executor docker and container images",
            )]
        }
        Err(e) => {
            return vec![fail(
            e.to_string(),
            "start Docker or `podman system service`, set DOCKER_HOST, or run with --executor host",
        )]
        }
    };
    let mut checks = vec![ok(format!(
        "container engine at {} (found by {})",
        report.endpoint.address, report.endpoint.found_by
    ))];
    checks.push(match &report.version {
        Ok(v) if v.podman => ok(format!(
            "{} {} (API {}): Podman's Docker-compatible API",
            v.name, v.version, v.api_version
        )),
        Ok(v) => ok(format!("{} {} (API {})", v.name, v.version, v.api_version)),
        Err(e) => warn(format!("engine version: {e}"), "update the engine"),
    });
    let image = report.tried_with.as_deref().unwrap_or("no image");
    checks.push(match &report.container {
        Ok(()) => ok(format!("a build container starts ({image})")),
        Err(e) if report.tried_with.is_none() => fail(
            e.message.clone(),
            "pull or build an image, and map the projects' images to it with --image-map or image-map:",
        ),
        Err(e) => fail(
            format!("a build container cannot start ({image}): {}", e.message),
            e.fix.clone().unwrap_or_else(|| "the engine refuses containers, so no build can run in it: fix the engine as its error says, or use --executor host".into()),
        ),
    });
    checks.push(match &report.privileged {
        Ok(()) => ok("privileged containers start (projects with privilegedMode)"),
        Err(e) => warn(
            format!("a privileged container cannot start: {}", e.message),
            e.fix.clone().unwrap_or_else(|| "projects with privilegedMode (Docker-in-Docker) will fail: allow privileged containers in the engine".into()),
        ),
    });
    for (name, here) in &report.images {
        checks.push(if *here {
            ok(format!("image {name} is here"))
        } else {
            warn(
                format!("image {name} is not here"),
                format!("pull or build it, or map it to one that is: --image-map {name}=LOCAL-IMAGE (image-map: in {REPO_CONFIG})"),
            )
        });
    }
    checks
}

fn state_folder(dir: Option<PathBuf>) -> Check {
    let dir = dir.unwrap_or_else(|| PathBuf::from(".pipelocal"));
    if dir.is_dir() {
        let probe = dir.join(format!(".doctor-{}", std::process::id()));
        match std::fs::write(&probe, b"") {
            Ok(()) => {
                let _ = std::fs::remove_file(&probe);
                let pipelines = std::fs::read_dir(dir.join("pipelines"))
                    .map(|d| d.flatten().count())
                    .unwrap_or(0);
                ok(format!(
                    "state folder {} (history of {pipelines} pipeline(s))",
                    dir.display()
                ))
            }
            Err(e) => fail(
                format!("state folder {} cannot be written: {e}", dir.display()),
                "give the folder write access, or choose another with --state-dir or PIPELOCAL_STATE_DIR",
            ),
        }
    } else if dir.exists() {
        fail(
            format!("state folder {} is not a folder", dir.display()),
            "move the file away, or choose another with --state-dir",
        )
    } else {
        ok(format!(
            "state folder {} (made by the first run)",
            dir.display()
        ))
    }
}

fn git() -> Check {
    match std::process::Command::new("git").arg("--version").output() {
        Ok(out) if out.status.success() => {
            let version = String::from_utf8_lossy(&out.stdout).trim().to_string();
            let inside = std::process::Command::new("git")
                .args(["rev-parse", "--show-toplevel"])
                .output()
                .ok()
                .filter(|o| o.status.success())
                .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string());
            match inside {
                Some(top) => ok(format!("{version}; this folder is in the repository {top}")),
                None => ok(format!("{version}; this folder is not in a git repository")),
            }
        }
        _ => warn(
            "git is not installed",
            "install git: source actions read git repositories with it",
        ),
    }
}
