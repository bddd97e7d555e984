//! Debugging a build through a real pseudo-terminal (rexpect): breakpoints,
//! a shell at a failure, pauses before a phase, `pipelocal shell` from
//! another terminal, `--keep`, `pipelocal clean` and `--resume`, on Docker
//! and on the host executor.


use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::{executors, Exec, Project, BUSYBOX};
use rexpect::session::{spawn_command, PtySession};

const TIMEOUT_MS: u64 = 60_000;

fn executor_name(exec: Exec) -> &'static str {
    match exec {
        Exec::Docker => "docker",
        Exec::Host => "host",
    }
}

/// `pipelocal build` of the project, its record in the state folder.
fn build_command(p: &Project, exec: Exec, extra: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_pipelocal"));
    cmd.args(["build", "-s", p.path(), "-i", BUSYBOX])
        .args(["--executor", executor_name(exec)])
        .args(["--state-dir", p.state.path().to_str().unwrap()])
        .args(["--record", record_path(p).to_str().unwrap()])
        .args(extra)
        .env("TERM", "dumb");
    cmd
}

fn record_path(p: &Project) -> std::path::PathBuf {
    p.state.path().join("record.json")
}

fn record(p: &Project) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(record_path(p)).unwrap()).unwrap()
}

fn phase_status(record: &serde_json::Value, phase: &str) -> String {
    record["phases"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["phaseType"] == phase)
        .map(|p| p["phaseStatus"].as_str().unwrap_or("").to_string())
        .unwrap_or_default()
}

fn pty(cmd: Command) -> PtySession {
    spawn_command(cmd, Some(TIMEOUT_MS)).expect("spawn in a pseudo-terminal")
}

/// Waits for the build in the pty to end and returns its record.
fn finished(mut s: PtySession, p: &Project) -> serde_json::Value {
    s.exp_eof().expect("the build ends");
    record(p)
}

const BREAKPOINT: &str = "version: 0.2\nenv:\n  secrets-manager:\n    TOKEN: tok\nphases:\n  build:\n    commands:\n      - X=hello; mkdir -p sub; cd sub\n      - echo \"token is $TOKEN\"; codebuild-breakpoint\n      - echo \"after $X in $(pwd)\"\n";

fn secrets_file(p: &Project) -> String {
    let path = p.state.path().join("secrets.yml");
    std::fs::write(&path, "secrets:\n  tok: s3cr3t-value\n").unwrap();
    path.to_str().unwrap().to_string()
}

#[test]
fn a_breakpoint_opens_a_shell_in_the_paused_state_and_codebuild_resume_goes_on() {
    for exec in executors() {
        let p = Project::new(BREAKPOINT);
        let secrets = secrets_file(&p);
        let mut s = pty(build_command(
            &p,
            exec,
            &["--debug-session", "--secrets-file", &secrets],
        ));
        s.exp_string("token is ***").unwrap();
        s.exp_string("is paused (codebuild-breakpoint)").unwrap();
        s.send_line("echo \"in-shell X=$X cwd=$(pwd) token=$TOKEN\"")
            .unwrap();
        let line = s
            .exp_regex("in-shell X=hello cwd=[^ ]*/sub token=\\S+")
            .unwrap()
            .1;
        assert!(line.ends_with("token=s3cr3t-value"), "{exec:?}: {line}");
        s.send_line("codebuild-resume").unwrap();
        s.exp_string("Resuming the build").unwrap();
        s.exp_regex("after hello in [^ ]*/sub").unwrap();
        let r = finished(s, &p);
        assert_eq!(r["buildStatus"], "SUCCEEDED", "{exec:?}");
        assert_eq!(r["debugSession"]["sessionEnabled"], true);
    }
}

#[test]
fn without_a_debug_session_codebuild_breakpoint_succeeds_and_says_so() {
    for exec in executors() {
        let p = Project::new(BREAKPOINT);
        let secrets = secrets_file(&p);
        let b = p.build(exec, &["--secrets-file", &secrets]);
        assert_eq!(b.code, 0, "{exec:?}: {}{}", b.log, b.stderr);
        assert!(
            b.log
                .contains("codebuild-breakpoint: ignored: this build has no debug session"),
            "{}",
            b.log
        );
        assert!(b.log.contains("after hello in"));
    }
}

const FAILING: &str = "version: 0.2\nphases:\n  build:\n    commands:\n      - Y=1; cd /tmp\n      - test -e \"$CODEBUILD_SRC_DIR/fixed\"\n      - echo \"went on with Y=$Y\"\n  post_build:\n    commands:\n      - echo \"post succeeding=$CODEBUILD_BUILD_SUCCEEDING\"\n";

/// A `FAILING` build paused at its failure, on a terminal.
fn paused_at_failure(exec: Exec) -> (Project, PtySession) {
    let p = Project::new(FAILING);
    let mut s = pty(build_command(&p, exec, &["--break-on-failure"]));
    s.exp_string("is paused (failure)").unwrap();
    s.exp_string("pipelocal-rerun").unwrap();
    (p, s)
}

#[test]
fn a_failure_pauses_in_its_state_and_leaving_lets_it_stand() {
    for exec in executors() {
        let (p, mut s) = paused_at_failure(exec);
        s.send_line("echo \"state Y=$Y cwd=$(pwd)\"").unwrap();
        s.exp_string("state Y=1 cwd=/tmp").unwrap();
        s.send_line("exit").unwrap();
        s.exp_string("post succeeding=0").unwrap();
        let r = finished(s, &p);
        assert_eq!(r["buildStatus"], "FAILED", "{exec:?}");
        assert_eq!(phase_status(&r, "BUILD"), "FAILED");
    }
}

#[test]
fn a_failed_command_run_again_in_place_lets_the_build_go_on() {
    for exec in executors() {
        let (p, mut s) = paused_at_failure(exec);
        s.send_line("touch \"$CODEBUILD_SRC_DIR/fixed\"").unwrap();
        s.send_line("pipelocal-rerun").unwrap();
        s.exp_string("the command succeeded").unwrap();
        s.exp_string("went on with Y=1").unwrap();
        s.exp_string("post succeeding=1").unwrap();
        let r = finished(s, &p);
        assert_eq!(r["buildStatus"], "SUCCEEDED", "{exec:?}");
    }
}

#[test]
fn break_before_pauses_at_the_phase_boundary() {
    for exec in executors() {
        let p = Project::new("version: 0.2\nphases:\n  install:\n    commands:\n      - touch \"$CODEBUILD_SRC_DIR/installed\"\n  build:\n    commands:\n      - touch \"$CODEBUILD_SRC_DIR/built\"\n");
        let mut s = pty(build_command(&p, exec, &["--break-before", "BUILD"]));
        s.exp_string("is paused (before-BUILD)").unwrap();
        s.send_line("test -e \"$CODEBUILD_SRC_DIR/built\" || echo NOT-BUILT-YET; test -e \"$CODEBUILD_SRC_DIR/installed\" && echo INSTALLED-FIRST").unwrap();
        s.exp_string("NOT-BUILT-YET").unwrap();
        s.exp_string("INSTALLED-FIRST").unwrap();
        s.send_line("codebuild-resume").unwrap();
        let r = finished(s, &p);
        assert_eq!(r["buildStatus"], "SUCCEEDED", "{exec:?}");
    }
}

/// Starts a build without a terminal and returns it with the id its pause names.
fn paused_without_terminal(
    p: &Project,
    exec: Exec,
    extra: &[&str],
) -> (std::process::Child, String) {
    let mut child = build_command(p, exec, extra)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let mut lines = BufReader::new(stderr).lines();
    let deadline = Instant::now() + Duration::from_secs(60);
    let id = loop {
        let line = lines.next().expect("the build said it paused").unwrap();
        if let Some(id) =
            line.strip_prefix("pipelocal: paused; from a terminal run: pipelocal shell ")
        {
            break id.to_string();
        }
        assert!(Instant::now() < deadline, "the build never paused");
    };
    let stdout = child.stdout.take().unwrap();
    std::thread::spawn(move || for _ in BufReader::new(stdout).lines() {});
    std::thread::spawn(move || for _ in lines {});
    (child, id)
}

fn shell_command(p: &Project, id: Option<&str>) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_pipelocal"));
    cmd.arg("shell")
        .args(id)
        .args(["--state-dir", p.state.path().to_str().unwrap()])
        .env("TERM", "dumb");
    cmd
}

#[test]
fn without_a_terminal_the_build_waits_for_pipelocal_shell_and_codebuild_resume() {
    for exec in executors() {
        let p = Project::new(BREAKPOINT);
        let secrets = secrets_file(&p);
        let (mut child, id) =
            paused_without_terminal(&p, exec, &["--debug-session", "--secrets-file", &secrets]);
        let listed = crate::common::pipelocal(&["shell", "--state-dir", p.state.path().to_str().unwrap()]);
        assert!(
            listed.stdout.contains(&format!("{id}  paused")),
            "{}",
            listed.stdout
        );
        // A shell left without codebuild-resume keeps the build paused.
        let mut s = pty(shell_command(&p, Some(&id)));
        s.exp_string("keeps it paused").unwrap();
        s.send_line("echo \"X=$X\"").unwrap();
        s.exp_string("X=hello").unwrap();
        s.send_line("exit").unwrap();
        s.exp_eof().unwrap();
        std::thread::sleep(Duration::from_millis(1500));
        assert!(
            child.try_wait().unwrap().is_none(),
            "{exec:?}: the build went on"
        );
        let mut s = pty(shell_command(&p, Some(&id)));
        s.exp_string("is paused").unwrap();
        s.send_line("codebuild-resume").unwrap();
        s.exp_eof().unwrap();
        let status = child.wait().unwrap();
        assert!(status.success(), "{exec:?}");
        assert_eq!(record(&p)["buildStatus"], "SUCCEEDED");
    }
}

#[test]
fn ctrl_c_while_paused_stops_the_build_and_leaves_nothing() {
    for exec in executors() {
        let p = Project::new(BREAKPOINT);
        let secrets = secrets_file(&p);
        let (mut child, id) =
            paused_without_terminal(&p, exec, &["--debug-session", "--secrets-file", &secrets]);
        // SAFETY: sends SIGINT to the child we started.
        unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
        let status = child.wait().unwrap();
        assert_eq!(status.code(), Some(1), "{exec:?}");
        assert_eq!(record(&p)["buildStatus"], "STOPPED");
        let listed = crate::common::pipelocal(&["shell", "--state-dir", p.state.path().to_str().unwrap()]);
        assert!(!listed.stdout.contains(&id), "{}", listed.stdout);
        if let Exec::Docker = exec {
            let out = Command::new("docker")
                .args([
                    "ps",
                    "-aq",
                    "--filter",
                    &format!("label=dev.pipelocal.build-id={id}"),
                ])
                .output()
                .unwrap();
            assert!(out.stdout.is_empty(), "a container of {id} is left");
        }
    }
}

const RESUMABLE: &str = "version: 0.2\nphases:\n  install:\n    commands:\n      - echo run >> \"$CODEBUILD_SRC_DIR/install-runs\"; Z=from-install\n  build:\n    commands:\n      - test -e \"$CODEBUILD_SRC_DIR/fixed\"\n";

#[test]
fn keep_shell_clean_and_resume_from_a_phase() {
    for exec in executors() {
        let p = Project::new(RESUMABLE);
        let b = p.build(exec, &["--keep"]);
        assert_eq!(b.code, 1, "{exec:?}: {}{}", b.log, b.stderr);
        let first = b.record["id"].as_str().unwrap().to_string();
        assert!(
            b.log.contains(&format!("pipelocal shell {first}")),
            "{}",
            b.log
        );
        let listed = crate::common::pipelocal(&["shell", "--state-dir", p.state.path().to_str().unwrap()]);
        assert!(
            listed.stdout.contains(&format!("{first}  kept")),
            "{}",
            listed.stdout
        );

        // The kept environment as the build left it.
        let mut s = pty(shell_command(&p, Some(&first)));
        s.exp_string("has ended").unwrap();
        s.send_line("echo \"Z=$Z runs=$(cat \"$CODEBUILD_SRC_DIR/install-runs\" | wc -l)\"")
            .unwrap();
        s.exp_regex("Z=from-install runs=\\s*1").unwrap();
        s.send_line("exit").unwrap();
        s.exp_eof().unwrap();

        // Fix the buildspec and go on from BUILD: INSTALL does not run again.
        std::fs::write(
            p.dir.path().join("buildspec.yml"),
            RESUMABLE.replace(
                "test -e",
                "echo \"Z=$Z\"; touch \"$CODEBUILD_SRC_DIR/fixed\"; test -e",
            ),
        )
        .unwrap();
        let b = p.build(
            exec,
            &["--resume", &first, "--from-phase", "BUILD", "--keep"],
        );
        assert_eq!(b.code, 0, "{exec:?}: {}{}", b.log, b.stderr);
        assert!(
            b.log
                .contains(&format!("Resuming build {first} from phase BUILD")),
            "{}",
            b.log
        );
        assert!(b.output().contains(&"Z=from-install"), "{}", b.log);
        assert!(!b.log.contains("Entering phase INSTALL"), "{}", b.log);
        assert_eq!(b.record["pipelocalResumedFrom"]["buildId"], first.as_str());
        assert_eq!(b.record["pipelocalResumedFrom"]["phase"], "BUILD");
        let second = b.record["id"].as_str().unwrap().to_string();
        let mut s = pty(shell_command(&p, Some(&second)));
        s.exp_string("has ended").unwrap();
        s.send_line("echo \"runs=$(wc -l < \"$CODEBUILD_SRC_DIR/install-runs\")\"")
            .unwrap();
        s.exp_regex("runs=\\s*1\\r?\\n").unwrap();
        s.send_line("exit").unwrap();
        s.exp_eof().unwrap();

        let cleaned =
            crate::common::pipelocal(&["clean", "--state-dir", p.state.path().to_str().unwrap()]);
        assert_eq!(cleaned.code, 0, "{}", cleaned.stderr);
        assert!(
            cleaned
                .stdout
                .contains(&format!("Removed kept build {second}")),
            "{}",
            cleaned.stdout
        );
        let listed = crate::common::pipelocal(&["shell", "--state-dir", p.state.path().to_str().unwrap()]);
        assert!(
            listed.stdout.contains("No paused or kept builds"),
            "{}",
            listed.stdout
        );
        if let Exec::Docker = exec {
            let out = Command::new("docker")
                .args([
                    "ps",
                    "-aq",
                    "--filter",
                    "label=dev.pipelocal.kept",
                    "--filter",
                    &format!("label=dev.pipelocal.build-id={first}"),
                ])
                .output()
                .unwrap();
            assert!(out.stdout.is_empty(), "the kept container is left");
        }
    }
}

#[test]
fn resume_names_what_to_fix_when_there_is_nothing_to_resume() {
    let p = Project::new(RESUMABLE);
    let b = p.build(Exec::Host, &["--resume", "nope:1", "--from-phase", "BUILD"]);
    assert_eq!(b.code, 2, "{}", b.stderr);
    assert!(b.stderr.contains("no kept build nope:1"), "{}", b.stderr);
    assert!(b.stderr.contains("--keep"), "{}", b.stderr);
    let b = p.build(Exec::Host, &["--from-phase", "BUILD"]);
    assert_eq!(b.code, 2, "{}", b.stderr);
}

#[test]
fn run_pauses_concurrent_actions_one_shell_at_a_time() {
    for exec in executors() {
        let src = crate::common::git_repo(&[("app.txt", "hello\n")]);
        let state = tempfile::tempdir().unwrap();
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_pipelocal"));
        cmd.current_dir(crate::common::repo())
            .env("PIPELOCAL_CONFIG", "/dev/null")
            .env("PIPELOCAL_STATE_DIR", state.path())
            .env("TERM", "dumb")
            .arg("run")
            .arg(crate::common::fixture("runs/debug.json"))
            .args([
                "--projects",
                crate::common::fixture("runs/projects.json").to_str().unwrap(),
            ])
            .args(["--source", &format!("Code={}", src.path().display())])
            .args([
                "--executor",
                executor_name(exec),
                "--debug-session",
                "--plain",
            ]);
        let mut s = pty(cmd);
        let mut seen = Vec::new();
        for _ in 0..2 {
            s.exp_string("is paused (codebuild-breakpoint)").unwrap();
            s.send_line("echo \"shell-of-$WHO\"").unwrap();
            let who = s.exp_regex("shell-of-(left|right)").unwrap().1;
            seen.push(who);
            s.send_line("codebuild-resume").unwrap();
        }
        seen.sort();
        assert_eq!(seen, vec!["shell-of-left", "shell-of-right"], "{exec:?}");
        s.exp_eof().unwrap();
        let record = crate::common::newest_record(state.path());
        assert_eq!(record["status"], "Succeeded", "{exec:?}: {record}");
        let listed = crate::common::pipelocal(&["shell", "--state-dir", state.path().to_str().unwrap()]);
        assert!(
            listed.stdout.contains("No paused or kept builds"),
            "{}",
            listed.stdout
        );
    }
}
