//! Artifact zipping: a 5,000-file and a 20,000-file (~200 MB) tree made by the build are zipped
//! as the build's artifact (Docker and host executors), against Info-ZIP's
//! `zip -r` of the same tree on this machine. Prints times, ratios and the
//! peak memory of each pipelocal run from one run; no thresholds (speed
//! targets do not belong in tests). Needs `zip` on the PATH for the baseline.

mod common;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{build_images, docker_answers};

const IMAGE: &str = "pipelocal/busybox";
/// Tree sizes measured: peak memory must stay flat as the artifact grows.
const SIZES: [usize; 2] = [5_000, 20_000];
/// Bytes per file: 20,000 x 10 KiB = ~200 MB.
const FILE_SIZE: usize = 10 * 1024;

fn ok(cmd: &mut Command) -> bool {
    cmd.stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
}

/// Text-like contents (compressible as source code and logs are), different per file.
fn contents(i: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(FILE_SIZE);
    let mut x = i as u64 * 2_654_435_761 + 1;
    while out.len() < FILE_SIZE {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let word = [
            "build", "artifact", "zip", "line", "value", "phase", "cache",
        ][x as usize % 7];
        out.extend_from_slice(format!("{word} {} ", x % 10_000).as_bytes());
        if x.is_multiple_of(9) {
            out.push(b'\n');
        }
    }
    out.truncate(FILE_SIZE);
    out
}

fn make_tree(root: &Path, files: usize) {
    for i in 0..files {
        let dir = root.join(format!("d{:03}", i / 100));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(format!("f{i}.txt")), contents(i)).unwrap();
    }
}

/// Wall time and peak resident memory (KiB) of a command, via GNU time when present.
/// Starts with no dirty pages: the writeback of the previous step's ~200 MB
/// (and the discards of its deleted files, on a disk mounted with `discard`)
/// would otherwise be charged to this one.
fn measure(cmd: &mut Command) -> (Duration, Option<u64>) {
    ok(&mut Command::new("sync"));
    let report = tempfile::NamedTempFile::new().unwrap();
    let time = Path::new("/usr/bin/time");
    let start = Instant::now();
    let status = if time.exists() {
        let mut wrapped = Command::new(time);
        wrapped
            .args(["-f", "%M", "-o", report.path().to_str().unwrap()])
            .arg(cmd.get_program())
            .args(cmd.get_args());
        if let Some(dir) = cmd.get_current_dir() {
            wrapped.current_dir(dir);
        }
        wrapped.stdout(Stdio::null()).stderr(Stdio::null()).status()
    } else {
        cmd.stdout(Stdio::null()).stderr(Stdio::null()).status()
    };
    let elapsed = start.elapsed();
    assert!(status.expect("start command").success(), "{cmd:?} failed");
    let peak = std::fs::read_to_string(report.path())
        .ok()
        .and_then(|t| t.lines().last().and_then(|l| l.trim().parse().ok()));
    (elapsed, peak)
}

fn pipelocal_build(spec_dir: &Path, executor: &str, artifacts: &Path) -> (Duration, Option<u64>) {
    let state = tempfile::tempdir().unwrap();
    measure(
        Command::new(env!("CARGO_BIN_EXE_pipelocal"))
            .args(["build", "-s", spec_dir.to_str().unwrap(), "-i", IMAGE])
            .args(["--executor", executor, "--mount-source"])
            .args(["-a", artifacts.to_str().unwrap()])
            .args(["--state-dir", state.path().to_str().unwrap()]),
    )
}

fn main() {
    let docker = docker_answers();
    if !ok(Command::new("zip").arg("-v")) {
        eprintln!("artifact_zip: Info-ZIP's zip is not installed (apt-get install zip); nothing to compare against");
        return;
    }
    if docker {
        build_images(&["busybox"]);
    } else {
        eprintln!("artifact_zip: no Docker engine answers; measuring the host executor only");
    }

    for files in SIZES {
        measure_size(files, docker);
    }
}

fn measure_size(files: usize, docker: bool) {
    // The tree the build makes, also made here for zip -r.
    let tree = tempfile::tempdir().unwrap();
    make_tree(&tree.path().join("out"), files);
    let zipped = tempfile::tempdir().unwrap();
    let (zip_r, _) = measure(
        Command::new("zip")
            .args(["-q", "-r"])
            .arg(zipped.path().join("out.zip"))
            .arg("out")
            .current_dir(tree.path()),
    );

    // The build copies the pre-made tree from its (mounted, so not uploaded)
    // source into `out/`: a copy measured on its own below and subtracted.
    let source = tempfile::tempdir().unwrap();
    std::fs::rename(tree.path().join("out"), source.path().join("tree")).unwrap();
    // Each build copies into a folder of its own: deleting the previous
    // build's 20,000 files inside the measured build would time the disk's
    // discards, not the zip.
    let with_artifacts = |out: &str| {
        format!("version: 0.2\nphases:\n  build:\n    commands:\n      - cp -r tree {out}\nartifacts:\n  files:\n    - '**/*'\n  base-directory: {out}\n")
    };
    let without = |out: &str| {
        format!("version: 0.2\nphases:\n  build:\n    commands:\n      - cp -r tree {out}\n")
    };

    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "Artifact of {files} files, {} MB:",
        files * FILE_SIZE / 1_000_000
    );
    println!(
        "  zip -r of the same tree:                         {:8.0} ms",
        ms(zip_r)
    );
    let executors: &[&str] = if docker {
        &["docker", "host"]
    } else {
        &["host"]
    };
    for executor in executors {
        let out = tempfile::tempdir().unwrap();
        let spec = source.path().join("buildspec.yml");
        std::fs::write(&spec, without(&format!("out-{executor}-without"))).unwrap();
        let (base, _) = pipelocal_build(source.path(), executor, out.path());
        std::fs::write(&spec, with_artifacts(&format!("out-{executor}-with"))).unwrap();
        let (full, peak) = pipelocal_build(source.path(), executor, out.path());
        assert!(out.path().join("artifacts.zip").exists());
        let artifact = full.saturating_sub(base);
        println!(
            "  pipelocal build ({executor}): {:8.0} ms with the artifact, {:8.0} ms without",
            ms(full),
            ms(base)
        );
        println!(
            "  artifact cost ({executor}):               {:8.0} ms = {:.2}x zip -r; peak memory {}",
            ms(artifact),
            ms(artifact) / ms(zip_r),
            peak.map_or("unknown (no /usr/bin/time)".to_string(), |k| format!(
                "{} MB",
                k / 1024
            ))
        );
    }
}
