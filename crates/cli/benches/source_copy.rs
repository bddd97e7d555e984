//! Getting a source folder into a build container: a committed git repository
//! of 20,000 files (~200 MB) with a trivial buildspec. Prints the time of
//! pipelocal's DOWNLOAD_SOURCE phase (from the log's microsecond timestamps:
//! the record's durations are whole seconds) against `docker cp` of the same
//! tree into a container and `tar c | tar x` on this disk, then the same
//! build with a 50,000-file `node_modules` git ignores (left out, so it
//! should cost nothing) and with `--all-files` (copied). Each time is the
//! best of three (the machine may be shared), all from one run; no
//! thresholds. The target is DOWNLOAD_SOURCE <= 0.35x `docker cp`.

mod common;

use std::io::Write;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use common::{build_images, docker_answers, idle_container, run, timed};

/// The container of the `docker cp` baseline.
const IMAGE: &str = "pipelocal/busybox";
/// GNU tar unpacks the stream (as in CodeBuild's images); busybox's slower
/// tar makes pipelocal use the archive API instead.
const IMAGES: [&str; 2] = ["pipelocal/debian:bookworm", "pipelocal/busybox"];
const FOLDERS: usize = 200;
const FILES_PER_FOLDER: usize = 100;
const MODULE_FILES: usize = 50_000;

/// How many times each figure is measured; the shortest is kept.
const TRIES: usize = 3;

/// The shortest of `TRIES` runs, each started with no dirty pages: every
/// run writes ~400 MB, and the writeback of the previous one would
/// otherwise be charged to the next (times varied 3x without this).
fn best(mut f: impl FnMut() -> Duration) -> Duration {
    (0..TRIES)
        .map(|_| {
            run(&mut Command::new("sync"));
            f()
        })
        .min()
        .unwrap_or_default()
}

fn git(dir: &Path, args: &[&str]) {
    run(Command::new("git")
        .arg("-C")
        .arg(dir)
        .args([
            "-c",
            "user.name=Bench",
            "-c",
            "user.email=bench@example.com",
        ])
        .args(args));
}

/// 20,000 files of 1-19 KB of incompressible bytes, committed.
fn make_tree(dir: &Path) -> u64 {
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let mut total = 0;
    for d in 0..FOLDERS {
        let folder = dir.join(format!("pkg{d:03}/src"));
        std::fs::create_dir_all(&folder).unwrap();
        for f in 0..FILES_PER_FOLDER {
            let size = 1024 + (next() % (18 * 1024)) as usize;
            let bytes: Vec<u8> = (0..size.div_ceil(8))
                .flat_map(|_| next().to_le_bytes())
                .take(size)
                .collect();
            std::fs::write(folder.join(format!("file{f:03}.dat")), &bytes).unwrap();
            total += size as u64;
        }
    }
    std::fs::write(dir.join(".gitignore"), "node_modules/\n").unwrap();
    std::fs::write(
        dir.join("buildspec.yml"),
        "version: 0.2\nphases:\n  build:\n    commands:\n      - echo built\n",
    )
    .unwrap();
    git(dir, &["init", "-q", "-b", "main"]);
    git(dir, &["add", "-A"]);
    git(
        dir,
        &["-c", "gc.auto=0", "commit", "-q", "-m", "bench tree"],
    );
    // Packed, as a clone's `.git` is (and no background gc under the copy).
    git(dir, &["gc", "-q"]);
    total
}

/// 50,000 small files in 500 packages, as `npm install` leaves them.
fn make_node_modules(dir: &Path) {
    for p in 0..MODULE_FILES / 100 {
        let folder = dir.join(format!("node_modules/dep{p:03}/lib"));
        std::fs::create_dir_all(&folder).unwrap();
        for f in 0..100 {
            let mut file = std::fs::File::create(folder.join(format!("m{f:02}.js"))).unwrap();
            writeln!(file, "module.exports = {{ dep: {p}, file: {f} }};").unwrap();
        }
    }
}

/// Seconds since midnight of a `[Container] YYYY/MM/DD HH:MM:SS.micros` line.
fn stamp(line: &str) -> Option<f64> {
    let time = line.split_whitespace().nth(2)?;
    let mut parts = time.split(':');
    let h: f64 = parts.next()?.parse().ok()?;
    let m: f64 = parts.next()?.parse().ok()?;
    let s: f64 = parts.next()?.parse().ok()?;
    Some(h * 3600.0 + m * 60.0 + s)
}

/// One `pipelocal build`: the DOWNLOAD_SOURCE phase's time and the log line
/// about left-out files, if any.
fn download_source(
    dir: &Path,
    state: &Path,
    image: &str,
    extra: &[&str],
) -> (Duration, Option<String>) {
    let out = Command::new(env!("CARGO_BIN_EXE_pipelocal"))
        .args(["build", "-s", dir.to_str().unwrap(), "-i", image])
        .args(["--state-dir", state.to_str().unwrap()])
        .args(extra)
        .output()
        .expect("run pipelocal");
    let log = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "build failed: {log}");
    let find = |needle: &str| {
        log.lines()
            .find(|l| l.contains(needle))
            .and_then(stamp)
            .expect("phase line in the log")
    };
    let mut seconds = find("Phase complete: DOWNLOAD_SOURCE") - find("Phase is DOWNLOAD_SOURCE");
    if seconds < 0.0 {
        seconds += 86_400.0;
    }
    let note = log
        .lines()
        .find(|l| l.contains("Left out of"))
        .map(|l| l.splitn(4, ' ').nth(3).unwrap_or(l).to_string());
    (Duration::from_secs_f64(seconds), note)
}

fn docker_cp(dir: &Path) -> Duration {
    let name = format!("pipelocal-bench-cp-{}", std::process::id());
    idle_container(&name, IMAGE);
    let took = timed(|| {
        run(Command::new("docker")
            .arg("cp")
            .arg(format!("{}/.", dir.display()))
            .arg(format!("{name}:/src")))
    });
    run(Command::new("docker").args(["rm", "-f", &name]));
    took
}

fn host_tar(dir: &Path) -> Duration {
    let into = tempfile::tempdir().unwrap();
    let script = format!(
        "tar -C '{}' -cf - . | tar -C '{}' -xf -",
        dir.display(),
        into.path().display()
    );
    timed(|| run(Command::new("sh").args(["-c", &script])))
}

fn main() {
    if !docker_answers() {
        eprintln!("source_copy: no Docker engine answers; nothing to measure");
        return;
    }
    build_images(&["busybox", "debian"]);

    let dir = tempfile::tempdir().unwrap();
    let state = tempfile::tempdir().unwrap();
    let bytes = make_tree(dir.path());
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let files = FOLDERS * FILES_PER_FOLDER;
    let cp = best(|| docker_cp(dir.path()));
    let tar = best(|| host_tar(dir.path()));
    println!(
        "{files} files, {:.0} MB, a committed git repository (its .git too):",
        bytes as f64 / 1e6
    );
    println!(
        "  docker cp into a running container:            {:8.0} ms",
        ms(cp)
    );
    println!(
        "  tar c | tar x on this disk:                    {:8.0} ms",
        ms(tar)
    );
    let mut plain = Vec::new();
    for image in IMAGES {
        // A first build warms the page cache and the image.
        download_source(dir.path(), state.path(), image, &[]);
        let took = best(|| download_source(dir.path(), state.path(), image, &[]).0);
        println!(
            "  pipelocal build in {image:<26} DOWNLOAD_SOURCE {:8.0} ms  {:.2}x docker cp  {:.2}x host tar",
            ms(took),
            ms(took) / ms(cp),
            ms(took) / ms(tar)
        );
        plain.push(took);
    }

    make_node_modules(dir.path());
    println!("with a git-ignored node_modules of {MODULE_FILES} files:");
    let mut note = None;
    for (image, without) in IMAGES.into_iter().zip(plain) {
        note = download_source(dir.path(), state.path(), image, &[]).1;
        let with = best(|| download_source(dir.path(), state.path(), image, &[]).0);
        let all = best(|| download_source(dir.path(), state.path(), image, &["--all-files"]).0);
        println!(
            "  pipelocal build in {image:<26} DOWNLOAD_SOURCE {:8.0} ms  {:.2}x without it;  --all-files {:8.0} ms",
            ms(with),
            ms(with) / ms(without),
            ms(all)
        );
    }
    if let Some(note) = note {
        println!("  the log said: {note}");
    }
}
