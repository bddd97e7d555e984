//! What only the Docker executor does: container lifecycle and cleanup after
//! every kind of ending, privileged mode, run-as, images, engine errors.


use std::process::Command;

use crate::common::{containers_of, docker_available, pipelocal, Exec, Project, BUSYBOX, DEBIAN};

#[test]
fn no_container_is_left_after_success_failure_or_timeout() {
    if !docker_available() {
        return;
    }
    let cases = [
        ("cleanup-success", "echo ok", &[][..], "SUCCEEDED"),
        ("cleanup-failure", "exit 9", &[][..], "FAILED"),
        (
            "cleanup-timeout",
            "sleep 60",
            &["--timeout", "2s"][..],
            "TIMED_OUT",
        ),
    ];
    for (project, command, extra, status) in cases {
        let project = &crate::common::unique_project(project);
        let p = Project::new(&format!(
            "version: 0.2\nphases:\n  build:\n    commands:\n      - {command}\n"
        ));
        let mut args = vec!["--project-name", project];
        args.extend_from_slice(extra);
        let b = p.build(Exec::Docker, &args);
        assert_eq!(b.status(), status, "{project}: {}{}", b.log, b.stderr);
        assert!(
            containers_of(project).is_empty(),
            "{project} left {:?}",
            containers_of(project)
        );
    }
}

/// Starts a long build and waits until its first command runs.
fn start_long_build(p: &Project, project: &str) -> std::process::Child {
    crate::common::start_build_until(p, Exec::Docker, project, |line| line.contains("Running command sleep"))
}

fn record_of(p: &Project) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(p.state.path().join("record.json")).unwrap())
        .unwrap()
}

#[test]
fn ctrl_c_stops_the_build_and_removes_its_container() {
    if !docker_available() {
        return;
    }
    let project = &crate::common::unique_project("stopped-build");
    let p = Project::new("version: 0.2\nphases:\n  build:\n    commands:\n      - sleep 120\n");
    let mut child = start_long_build(&p, project);
    assert_eq!(containers_of(project).len(), 1);
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let exit = child.wait().unwrap();
    assert_eq!(exit.code(), Some(1));
    let record = record_of(&p);
    assert_eq!(record["buildStatus"], "STOPPED");
    let build = record["phases"]
        .as_array()
        .unwrap()
        .iter()
        .find(|ph| ph["phaseType"] == "BUILD")
        .unwrap();
    assert_eq!(build["phaseStatus"], "STOPPED");
    assert!(containers_of(project).is_empty());
}

#[test]
fn sigterm_stops_the_build_like_ctrl_c() {
    if !docker_available() {
        return;
    }
    let project = &crate::common::unique_project("terminated-build");
    let p = Project::new("version: 0.2\nphases:\n  build:\n    commands:\n      - sleep 120\n");
    let mut child = start_long_build(&p, project);
    assert!(Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap()
        .success());
    assert_eq!(child.wait().unwrap().code(), Some(1));
    assert_eq!(record_of(&p)["buildStatus"], "STOPPED");
    assert!(containers_of(project).is_empty());
}

#[test]
fn a_docker_error_mid_build_ends_the_build_and_leaves_nothing() {
    if !docker_available() {
        return;
    }
    let project = &crate::common::unique_project("docker-error-build");
    let p = Project::new(
        "version: 0.2\nphases:\n  build:\n    commands:\n      - sleep 120\n      - echo after\n",
    );
    let mut child = start_long_build(&p, project);
    let names = containers_of(project);
    assert_eq!(names.len(), 1);
    assert!(Command::new("docker")
        .args(["rm", "-f", &names[0]])
        .output()
        .unwrap()
        .status
        .success());
    let exit = child.wait().unwrap();
    assert_eq!(exit.code(), Some(1));
    let record = record_of(&p);
    assert_ne!(record["buildStatus"], "SUCCEEDED");
    assert!(containers_of(project).is_empty());
}

#[test]
fn privileged_mode_and_no_docker_socket_by_default() {
    if !docker_available() {
        return;
    }
    // CapEff of a privileged container has every capability bit set.
    let p = Project::new("version: 0.2\nphases:\n  build:\n    commands:\n      - grep CapEff /proc/self/status | awk '{print $2}'\n      - test ! -e /var/run/docker.sock && echo no-socket\n");
    let plain = p.build(Exec::Docker, &[]);
    assert_eq!(plain.code, 0, "{}{}", plain.log, plain.stderr);
    assert_eq!(plain.output()[1], "no-socket");
    assert_eq!(plain.record["environment"]["privilegedMode"], false);
    let privileged = p.build(Exec::Docker, &["-d"]);
    assert_eq!(privileged.record["environment"]["privilegedMode"], true);
    if privileged.phase_status("PROVISIONING").as_deref() == Some("FAILED") {
        // Engines in restricted sandboxes (this project's CI among them) refuse
        // privileged containers: the engine's refusal proves the request reached it.
        let (code, message) = privileged.context("PROVISIONING");
        assert_eq!(code, "BUILD_CONTAINER_UNABLE_TO_START");
        assert!(
            message.contains("caps")
                || message.contains("privileged")
                || message.contains("permitted"),
            "{message}"
        );
        assert!(
            privileged
                .log
                .contains("Phase complete: PROVISIONING State: FAILED"),
            "{}",
            privileged.log
        );
        crate::common::skipped(&format!(
            "the rest needs privileged containers, which this engine cannot start: {message}"
        ));
        return;
    }
    assert_eq!(
        privileged.code, 0,
        "{}{}",
        privileged.log, privileged.stderr
    );
    let caps = |b: &crate::common::Built| u64::from_str_radix(b.output()[0], 16).unwrap();
    assert!(
        caps(&privileged) > caps(&plain),
        "{} vs {}",
        privileged.output()[0],
        plain.output()[0]
    );
    assert!(caps(&privileged).count_ones() >= 38);
}

#[test]
fn commands_run_as_root_unless_run_as() {
    if !docker_available() {
        return;
    }
    let p = Project::new(
        "version: 0.2\nrun-as: codebuild-user\nphases:\n  install:\n    run-as: root\n    commands:\n      - id -u\n  build:\n    commands:\n      - id -u\n",
    );
    let b = p.build(Exec::Docker, &[]);
    assert_eq!(b.code, 0, "{}", b.log);
    assert_eq!(b.output(), vec!["0", "1000"]);
    let root = Project::new("version: 0.2\nphases:\n  build:\n    commands:\n      - id -u\n")
        .build(Exec::Docker, &[]);
    assert_eq!(root.output(), vec!["0"]);
}

#[test]
fn shells_default_sh_and_env_shell_bash() {
    if !docker_available() {
        return;
    }
    // On Debian /bin/sh is dash: `[[` is not a builtin there, as on CodeBuild's Ubuntu images.
    let dash = Project::new("version: 0.2\nphases:\n  build:\n    commands:\n      - \"[[ 1 == 1 ]] && echo bash-syntax\"\n").build_with_image(Exec::Docker, DEBIAN, &[]);
    assert_eq!(dash.status(), "FAILED", "{}", dash.log);
    assert!(
        dash.log
            .contains("/codebuild/output/tmp/script.sh: 4: [[: not found"),
        "{}",
        dash.log
    );
    let bash = Project::new("version: 0.2\nenv:\n  shell: bash\nphases:\n  build:\n    commands:\n      - if [[ 1 == 1 ]]; then echo bash-syntax; fi\n").build_with_image(Exec::Docker, DEBIAN, &[]);
    assert_eq!(bash.code, 0, "{}", bash.log);
    assert_eq!(bash.output(), vec!["bash-syntax"]);
}

#[test]
fn the_image_entrypoint_user_and_env_are_overridden() {
    if !docker_available() {
        return;
    }
    let ctx = tempfile::tempdir().unwrap();
    std::fs::write(
        ctx.path().join("Dockerfile"),
        format!("FROM {BUSYBOX}\nENV FROM_IMAGE=image SHARED=image\nUSER 1000\nENTRYPOINT [\"/bin/false\"]\n"),
    )
    .unwrap();
    let tag = "pipelocal/test-entrypoint-user";
    let built = Command::new("docker")
        .args(["build", "-q", "-t", tag])
        .arg(ctx.path())
        .env("DOCKER_BUILDKIT", "0")
        .output()
        .unwrap();
    assert!(
        built.status.success(),
        "{}",
        String::from_utf8_lossy(&built.stderr)
    );
    let b = Project::new("version: 0.2\nenv:\n  variables:\n    SHARED: buildspec\nphases:\n  build:\n    commands:\n      - echo \"$(id -u) $FROM_IMAGE $SHARED\"\n")
        .build_with_image(Exec::Docker, tag, &[]);
    assert_eq!(b.code, 0, "{}{}", b.log, b.stderr);
    assert_eq!(b.output(), vec!["0 image buildspec"]);
}

#[test]
fn an_image_that_cannot_be_had_exits_2() {
    if !docker_available() {
        return;
    }
    let p = Project::new("version: 0.2\nphases:\n  build:\n    commands:\n      - echo hi\n");
    let b = p.build_with_image(Exec::Docker, "registry.invalid/nothing/here:1", &[]);
    assert_eq!(b.code, 2, "{}", b.stderr);
    assert_eq!(b.stderr.lines().count(), 1, "{}", b.stderr);
    assert!(b.stderr.starts_with("error: image 'registry.invalid/nothing/here:1' is not available locally and cannot be pulled"), "{}", b.stderr);
}

#[test]
fn an_unreachable_engine_exits_2_naming_what_to_fix() {
    let p = Project::new("version: 0.2\nphases:\n  build:\n    commands:\n      - echo hi\n");
    let out = Command::new(env!("CARGO_BIN_EXE_pipelocal"))
        .args([
            "build",
            "-s",
            p.path(),
            "--state-dir",
            p.state.path().to_str().unwrap(),
        ])
        .env("DOCKER_HOST", "unix:///nonexistent/docker.sock")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.starts_with("error: cannot reach a Docker engine: tried DOCKER_HOST=unix:///nonexistent/docker.sock"), "{err}");
    assert!(err.contains("--executor host"), "{err}");
}

#[test]
fn bad_flags_and_inputs_exit_2() {
    let p = Project::new("version: 0.2\n");
    for (args, expected) in [
        (
            vec!["build", "-s", "/no/such/folder"],
            "error: source folder /no/such/folder:",
        ),
        (
            vec!["build", "-s", p.path(), "--timeout", "soon"],
            "invalid duration 'soon'",
        ),
        (
            vec!["build", "-s", p.path(), "-s", "not-an-id"],
            "a secondary source is ID:DIR",
        ),
        (
            vec!["build", "-s", p.path(), "-e", "/no/such/env"],
            "error: /no/such/env:",
        ),
        (
            vec![
                "build",
                "-s",
                p.path(),
                "--project",
                "/no/such/project.json",
            ],
            "cannot read file",
        ),
    ] {
        let out = pipelocal(&args);
        assert_eq!(out.code, 2, "{args:?}: {}", out.stderr);
        assert!(out.stderr.contains(expected), "{args:?}: {}", out.stderr);
    }
}

#[test]
fn the_bundled_example_builds_and_tests_itself() {
    if !docker_available() {
        return;
    }
    let example = crate::common::fixture("example/app");
    let state = tempfile::tempdir().unwrap();
    let record = state.path().join("r.json");
    let out = pipelocal(&[
        "build",
        "-s",
        example.to_str().unwrap(),
        "-i",
        DEBIAN,
        "--project-name",
        "greeter-build",
        "--state-dir",
        state.path().to_str().unwrap(),
        "--record",
        record.to_str().unwrap(),
    ]);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert!(out.stdout.contains("ok - greets by name"), "{}", out.stdout);
    assert!(out.stdout.contains("2 passed, 0 failed"));
    assert!(out.stdout.contains("Built version 1.0.1"), "{}", out.stdout);
}

#[test]
fn a_mounted_source_folder_keeps_its_owner_mode_and_time() {
    if !docker_available() {
        return;
    }
    use std::os::unix::fs::MetadataExt;
    let p =
        Project::new("version: 0.2\nphases:\n  build:\n    commands:\n      - echo hi > out.txt\n");
    let folder = p.dir.path();
    std::fs::set_permissions(folder, std::os::unix::fs::PermissionsExt::from_mode(0o750)).unwrap();
    let before = std::fs::metadata(folder).unwrap();
    let b = p.build(Exec::Docker, &["-m"]);
    assert_eq!(b.code, 0, "{}{}", b.log, b.stderr);
    let after = std::fs::metadata(folder).unwrap();
    assert_eq!(
        (after.mode(), after.uid(), after.gid()),
        (before.mode(), before.uid(), before.gid())
    );
    assert!(
        after.mtime() >= before.mtime(),
        "the folder's time went back"
    );
    assert!(folder.join("out.txt").exists());
}

#[test]
fn invalid_names_exit_2() {
    let p = Project::new("version: 0.2\n");
    let out = pipelocal(&[
        "build",
        "-s",
        p.path(),
        "--project-name",
        "../escape",
        "--state-dir",
        p.state.path().to_str().unwrap(),
    ]);
    assert_eq!(out.code, 2);
    assert!(
        out.stderr.contains("project name '../escape' is not valid"),
        "{}",
        out.stderr
    );
    p.file("bad.env", "MY-VAR=1\n");
    let env = format!("{}/bad.env", p.path());
    let out = pipelocal(&["build", "-s", p.path(), "-e", &env]);
    assert_eq!(out.code, 2);
    assert!(
        out.stderr
            .contains("bad.env:1: expected NAME=VALUE, found `MY-VAR=1`"),
        "{}",
        out.stderr
    );
}
