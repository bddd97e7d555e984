//! CodeBuild's curated image names against a real Docker engine with no
//! registry to pull from: an unmapped `aws/codebuild/standard:7.0` (which AWS
//! publishes nowhere) stops with how to get it, never a Docker Hub lookup
//! failure; an `--image-map` glob runs it in a local image.

use std::process::Command;

use crate::common::{docker_available, pipelocal, Project, BUSYBOX};

const STANDARD: &str = "aws/codebuild/standard:7.0";

/// Whether the engine has an image of that name (someone built it from
/// AWS's Dockerfile): then it is used as it is, and the refusal is not tested.
fn engine_has(image: &str) -> bool {
    Command::new("docker")
        .args(["image", "inspect", image])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false)
}

#[test]
fn an_unmapped_curated_image_aws_does_not_publish_says_how_to_get_it() {
    if !docker_available() {
        return;
    }
    if engine_has(STANDARD) {
        crate::common::skipped("the engine has an image aws/codebuild/standard:7.0: it is used as it is");
        return;
    }
    let p = Project::new("version: 0.2\nphases:\n  build:\n    commands:\n      - echo never\n");
    let built = p.build_with_image(crate::common::Exec::Docker, STANDARD, &[]);
    assert_eq!(built.code, 2, "{}\n{}", built.log, built.stderr);
    let err = built
        .stderr
        .lines()
        .find(|l| l.starts_with("error:"))
        .unwrap_or_else(|| panic!("no error line: {}", built.stderr));
    assert!(err.contains("'aws/codebuild/standard:7.0' is a CodeBuild curated image"), "{err}");
    assert!(err.contains("AWS publishes no copy of it"), "{err}");
    assert!(err.contains("aws-codebuild-docker-images/ubuntu/standard/7.0"), "{err}");
    assert!(err.contains("docker build -t aws/codebuild/standard:7.0 ."), "{err}");
    assert!(err.contains("--image-map 'aws/codebuild/standard:7.0=IMAGE'"), "{err}");
    assert!(!err.contains("docker.io") && !err.contains("pull access denied"), "{err}");
    assert!(!built.log.contains("never"), "{}", built.log);
}

#[test]
fn an_image_map_glob_runs_curated_images_in_a_local_image() {
    if !docker_available() {
        return;
    }
    let p = Project::new("version: 0.2\nphases:\n  build:\n    commands:\n      - cat /etc/os-release || echo no-os-release\n      - echo built here\n");
    let built = p.build_with_image(
        crate::common::Exec::Docker,
        STANDARD,
        &["--image-map", &format!("aws/codebuild/*={BUSYBOX}")],
    );
    assert_eq!(built.code, 0, "{}\n{}", built.log, built.stderr);
    assert!(built.log.contains("built here"), "{}", built.log);
    assert_eq!(built.record["environment"]["image"], BUSYBOX);
    // A glob that is no glob is refused before anything runs.
    let out = pipelocal(&["build", "-s", p.path(), "-i", STANDARD, "--image-map", "aws/codebuild/[=x"]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(out.stderr.contains("image-map aws/codebuild/[: not a usable glob"), "{}", out.stderr);
}

#[test]
fn a_run_whose_project_names_an_unpublished_curated_image_stops_before_it_starts() {
    if !docker_available() {
        return;
    }
    if engine_has(STANDARD) {
        crate::common::skipped("the engine has an image aws/codebuild/standard:7.0: it is used as it is");
        return;
    }
    let (_dir, app) = crate::common::cloud_app_repo();
    let state = tempfile::tempdir().unwrap();
    let run = |extra: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_pipelocal"))
            .current_dir(crate::common::repo())
            .env("PIPELOCAL_CONFIG", "/dev/null")
            .env("PIPELOCAL_STATE_DIR", state.path())
            .arg("run")
            .arg(crate::common::fixture("cloud/pipeline.json"))
            .arg("--projects")
            .arg(crate::common::fixture("cloud/projects.json"))
            .arg("--source")
            .arg(format!("Code={}", app.display()))
            .args(["--plain", "--executor", "docker"])
            .args(extra)
            .output()
            .unwrap()
    };
    let out = run(&[]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("action Unit (project shop-unit): image 'aws/codebuild/standard:7.0' is a CodeBuild curated image"), "{err}");
    assert!(err.contains("ubuntu/standard/7.0"), "{err}");
    assert!(!state.path().join("pipelines").exists(), "nothing ran");
    // The glob of the docs' example runs it in the local busybox image.
    let out = run(&["--image-map", &format!("aws/codebuild/*={BUSYBOX}")]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("deploying to dev"), "{stdout}");
    assert!(stdout.contains("greeting: hello"), "{stdout}");
}

/// The example of docs/reproducing.md ("Try it on this repository's
/// fixtures"), run as the page writes it: a failed cloud execution pinned to
/// a commit that fails, reproduced with a glob image map.
#[test]
fn the_reproducing_page_example_runs_as_written() {
    if !docker_available() {
        return;
    }
    let page = std::fs::read_to_string(crate::common::repo().join("docs/reproducing.md")).unwrap();
    let section = &page[page.find("### Try it on this repository's fixtures").expect("the section")..];
    let start = section.find("```sh\n").expect("a sh block") + "```sh\n".len();
    let script = &section[start..start + section[start..].find("```").unwrap()];
    assert!(script.contains("--from-execution"), "{script}");
    let bin = std::path::Path::new(env!("CARGO_BIN_EXE_pipelocal")).parent().unwrap();
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap_or_default());
    let state = tempfile::tempdir().unwrap();
    let out = Command::new("bash")
        .args(["-e", "-c", script])
        .current_dir(crate::common::repo())
        .env("PATH", path)
        .env("PIPELOCAL_CONFIG", "/dev/null")
        .env("PIPELOCAL_STATE_DIR", state.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    // As the page says: it exits 1, the build of the pinned commit failing as in the cloud.
    assert_eq!(out.status.code(), Some(1), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("greeting: helo"), "{stdout}");
    assert!(stdout.contains("deploying to staging"), "{stdout}");
    assert!(stdout.contains("Reproduced: the cloud's failure of Build/Unit fails here too."), "{stdout}");
}
