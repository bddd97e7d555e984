//! `install.runtime-versions` from the image's runtimes.yml (CodeBuild User Guide, "Available runtimes").


use std::process::Command;

use crate::common::{docker_available, executors, Exec, Project, BUSYBOX};

const RUNTIMES: &str = r#"version: 0.1
runtimes:
  python:
    versions:
      "3.11":
        commands:
          - echo "Installing Python version 3.11 ..."
          - export PY_SELECTED=3.11
      "3.12":
        commands:
          - echo "Installing Python version 3.12 ..."
          - export PY_SELECTED=3.12
  java:
    versions:
      corretto17:
        commands:
          - export JAVA_SELECTED=17
      corretto21:
        commands:
          - export JAVA_SELECTED=21
"#;

/// An image like CodeBuild's curated ones: a runtimes.yml in the usual place.
fn image_with_runtimes() -> &'static str {
    let tag = "pipelocal/test-runtimes";
    let ctx = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(ctx.path().join("config")).unwrap();
    std::fs::write(ctx.path().join("config/runtimes.yml"), RUNTIMES).unwrap();
    std::fs::write(
        ctx.path().join("Dockerfile"),
        format!("FROM {BUSYBOX}\nCOPY config /codebuild/image/config\n"),
    )
    .unwrap();
    let out = Command::new("docker")
        .args(["build", "-q", "-t", tag])
        .arg(ctx.path())
        .env("DOCKER_BUILDKIT", "0")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    tag
}

#[test]
fn runtime_versions_run_the_images_commands() {
    if !docker_available() {
        return;
    }
    let image = image_with_runtimes();
    let p = Project::new(
        "version: 0.2\nenv:\n  variables:\n    JV: corretto17\nphases:\n  install:\n    runtime-versions:\n      python: 3.x\n      java: \"$JV\"\n    commands:\n      - echo \"install sees $PY_SELECTED\"\n  build:\n    commands:\n      - echo \"build sees $PY_SELECTED and $JAVA_SELECTED\"\n",
    );
    let b = p.build_with_image(Exec::Docker, image, &[]);
    assert_eq!(b.code, 0, "{}{}", b.log, b.stderr);
    assert!(
        b.log
            .contains("Running command echo \"Installing Python version 3.12 ...\""),
        "{}",
        b.log
    );
    assert_eq!(
        b.output(),
        vec![
            "Installing Python version 3.12 ...",
            "install sees 3.12",
            "build sees 3.12 and 17"
        ]
    );

    let b = Project::new("version: 0.2\nphases:\n  install:\n    runtime-versions:\n      python: 2.7\n  build:\n    commands:\n      - echo never\n")
        .build_with_image(Exec::Docker, image, &[]);
    assert_eq!(b.phase_status("INSTALL").as_deref(), Some("FAILED"));
    let (code, message) = b.context("INSTALL");
    assert_eq!(code, "YAML_FILE_ERROR");
    assert!(
        message.starts_with("Unknown runtime version named '2.7' of python"),
        "{message}"
    );
}

#[test]
fn images_without_runtimes_warn_and_carry_on() {
    for exec in executors() {
        let b = Project::new("version: 0.2\nphases:\n  install:\n    runtime-versions:\n      nodejs: 20\n  build:\n    commands:\n      - echo built\n").build(exec, &[]);
        assert_eq!(b.code, 0, "{exec:?}: {}", b.log);
        assert!(b.log.contains("Skipping install of runtimes. Runtime version selection is not supported by this build image"), "{}", b.log);
        assert_eq!(b.output(), vec!["built"]);
    }
}
