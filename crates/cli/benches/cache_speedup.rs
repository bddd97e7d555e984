//! A dependency cache in use: the first build of a project fills `cache.paths`
//! (its install step stands in for a dependency download: 2,000 files written
//! and a 2 s wait), the second finds them. Prints both times and the ratio,
//! from one run, for each executor available.

mod common;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::docker_answers;

const SPEC: &str = "version: 0.2\nphases:\n  install:\n    commands:\n      - |\n        if [ -f node_modules/.done ]; then echo cached; else\n          mkdir -p node_modules && i=0\n          while [ $i -lt 2000 ]; do echo \"module $i\" > node_modules/m$i.js; i=$((i+1)); done\n          sleep 2 && touch node_modules/.done\n        fi\n  build:\n    commands:\n      - ls node_modules | wc -l\ncache:\n  paths:\n    - 'node_modules/**/*'\n";

fn build(dir: &Path, state: &Path, executor: &str, project: &str) -> Duration {
    let start = Instant::now();
    let status = Command::new(env!("CARGO_BIN_EXE_pipelocal"))
        .args([
            "build",
            "-s",
            dir.to_str().unwrap(),
            "-i",
            "pipelocal/busybox",
            "--executor",
            executor,
        ])
        .args([
            "--project-name",
            project,
            "--state-dir",
            state.to_str().unwrap(),
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("run pipelocal");
    assert!(status.success(), "build failed");
    start.elapsed()
}

fn main() {
    let docker = docker_answers();
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut executors = vec!["host"];
    if docker {
        assert!(Command::new(repo.join("docker/build-images.sh"))
            .arg("busybox")
            .status()
            .unwrap()
            .success());
        executors.insert(0, "docker");
    }
    for executor in executors {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("buildspec.yml"), SPEC).unwrap();
        let state = tempfile::tempdir().unwrap();
        let project = format!("cache-bench-{}", std::process::id());
        let first = build(dir.path(), state.path(), executor, &project);
        let second = build(dir.path(), state.path(), executor, &project);
        if executor == "docker" {
            let _ = Command::new("docker")
                .args(["volume", "rm", "-f", &format!("pipelocal-cache-{project}")])
                .output();
        }
        println!("{executor}: first build (cache miss) {:6.0} ms, second build (cache hit) {:6.0} ms, second/first = {:.2}",
            first.as_secs_f64() * 1000.0, second.as_secs_f64() * 1000.0, second.as_secs_f64() / first.as_secs_f64());
    }
}
