//! What every bench needs: running commands quietly, timing them, and the
//! Docker engine and the test images.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Runs a command with its output dropped; panics if it fails.
pub fn run(cmd: &mut Command) {
    let status = cmd
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("start command");
    assert!(status.success(), "{cmd:?} failed");
}

pub fn timed(f: impl FnOnce()) -> Duration {
    let start = Instant::now();
    f();
    start.elapsed()
}

/// Whether a Docker engine answers `docker info`.
pub fn docker_answers() -> bool {
    Command::new("docker")
        .arg("info")
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false)
}

/// The repository root.
pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Builds the named test images (`docker/build-images.sh`), if missing.
pub fn build_images(names: &[&str]) {
    run(Command::new(repo().join("docker/build-images.sh")).args(names));
}

/// Starts a container of `image` named `name` that only waits (as the
/// baselines' target for `docker exec` and `docker cp`).
pub fn idle_container(name: &str, image: &str) {
    run(Command::new("docker").args([
        "run",
        "-d",
        "--name",
        name,
        "--entrypoint",
        "tail",
        image,
        "-f",
        "/dev/null",
    ]));
}
