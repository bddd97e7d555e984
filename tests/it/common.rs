//! Helpers shared by the end-to-end tests: paths and running the binary.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

/// The repository root (tests run with the cli crate as working directory).
pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

pub fn fixture(rel: &str) -> PathBuf {
    repo().join("fixtures").join(rel)
}

/// `../shared/` beside the checkout, if this machine has it.
pub fn shared() -> Option<PathBuf> {
    let dir = repo().join("../shared");
    dir.is_dir().then_some(dir)
}

pub struct Output {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

pub fn pipelocal(args: &[&str]) -> Output {
    pipelocal_env(args, &[])
}

/// `pipelocal` from the repository's folder with these variables set.
pub fn pipelocal_env(args: &[&str], env: &[(&str, &std::ffi::OsStr)]) -> Output {
    let out = Command::new(env!("CARGO_BIN_EXE_pipelocal"))
        .args(args)
        .current_dir(repo())
        .envs(env.iter().copied())
        .output()
        .expect("run pipelocal");
    Output {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Every file below `dir`, sorted, as paths relative to the repository.
pub fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = walkdir::WalkDir::new(dir)
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file())
        .map(|e| e.into_path())
        .collect();
    out.sort();
    out
}

/// Says that the running test could not run (or not all of it) and why:
/// written to stderr directly, past libtest's capture, so a skip is never
/// silent.
pub fn skipped(why: &str) {
    use std::io::Write;
    let thread = std::thread::current();
    let name = thread.name().unwrap_or("a test");
    let _ = writeln!(std::io::stderr(), "SKIPPED {name}: {why}");
}

/// Whether a Docker engine answers. With `PIPELOCAL_REQUIRE_DOCKER=1` (CI) a
/// missing engine fails the test. Builds the test images on first use.
fn engine_answers() -> bool {
    static READY: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *READY.get_or_init(|| {
        let ok = Command::new("docker")
            .arg("info")
            .output()
            .map(|o| o.status.success())
            .unwrap_or(false);
        if !ok {
            if std::env::var("PIPELOCAL_REQUIRE_DOCKER").as_deref() == Ok("1") {
                panic!("PIPELOCAL_REQUIRE_DOCKER=1 but no Docker engine answers `docker info`");
            }
            return false;
        }
        let status = Command::new(repo().join("docker/build-images.sh"))
            .args(["busybox", "debian"])
            .status()
            .expect("run docker/build-images.sh");
        assert!(status.success(), "docker/build-images.sh failed");
        true
    })
}

/// Whether a Docker engine answers; when none does, the test says it is
/// skipped (see [`engine_answers`] for CI).
pub fn docker_available() -> bool {
    let ok = engine_answers();
    if !ok {
        skipped("no Docker engine answers `docker info` (PIPELOCAL_REQUIRE_DOCKER=1 makes this a failure)");
    }
    ok
}

pub const BUSYBOX: &str = "pipelocal/busybox";
pub const DEBIAN: &str = "pipelocal/debian:bookworm";

/// Containers pipelocal made that still exist.
pub fn pipelocal_containers() -> Vec<String> {
    let out = Command::new("docker")
        .args(["ps", "-aq", "--filter", "label=dev.pipelocal.build-id"])
        .output()
        .expect("docker ps");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(String::from)
        .collect()
}

/// Where a test build runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exec {
    Docker,
    Host,
}

/// The executors a behaviour test runs on here: the host always, Docker when it answers.
/// Without Docker the test says that its Docker half is skipped.
pub fn executors() -> Vec<Exec> {
    let mut out = vec![Exec::Host];
    if engine_answers() {
        out.insert(0, Exec::Docker);
    } else {
        skipped("ran on the host executor only: no Docker engine answers `docker info`");
    }
    out
}

/// A finished `pipelocal build`: its exit code, log, and record.
pub struct Built {
    pub code: i32,
    pub log: String,
    pub stderr: String,
    pub record: serde_json::Value,
}

impl Built {
    /// `(phaseType, phaseStatus)` of every phase in the record.
    pub fn phases(&self) -> Vec<(String, String)> {
        self.record["phases"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|p| {
                        (
                            p["phaseType"].as_str().unwrap_or_default().to_string(),
                            p["phaseStatus"].as_str().unwrap_or_default().to_string(),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    pub fn phase_status(&self, phase: &str) -> Option<String> {
        self.phases()
            .into_iter()
            .find(|(p, _)| p == phase)
            .map(|(_, s)| s)
    }

    pub fn context(&self, phase: &str) -> (String, String) {
        let p = self.record["phases"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["phaseType"] == phase)
            .expect("phase in record");
        let c = &p["contexts"][0];
        (
            c["statusCode"].as_str().unwrap_or_default().into(),
            c["message"].as_str().unwrap_or_default().into(),
        )
    }

    pub fn status(&self) -> &str {
        self.record["buildStatus"].as_str().unwrap_or_default()
    }

    /// Output lines that are not `[Container]` lines.
    pub fn output(&self) -> Vec<&str> {
        self.log
            .lines()
            .filter(|l| !l.starts_with("[Container] "))
            .collect()
    }
}

/// A folder holding a buildspec, and a state folder, for one test build.
pub struct Project {
    pub dir: tempfile::TempDir,
    pub state: tempfile::TempDir,
}

impl Project {
    pub fn new(buildspec: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("buildspec.yml"), buildspec).unwrap();
        Project {
            dir,
            state: tempfile::tempdir().unwrap(),
        }
    }

    pub fn file(&self, rel: &str, contents: &str) -> &Self {
        let path = self.dir.path().join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, contents).unwrap();
        self
    }

    pub fn path(&self) -> &str {
        self.dir.path().to_str().unwrap()
    }

    /// Runs `pipelocal build` on this folder with the busybox image.
    pub fn build(&self, exec: Exec, extra: &[&str]) -> Built {
        self.build_with_image(exec, BUSYBOX, extra)
    }

    pub fn build_with_image(&self, exec: Exec, image: &str, extra: &[&str]) -> Built {
        let record = self.state.path().join("record.json");
        let _ = std::fs::remove_file(&record);
        let executor = match exec {
            Exec::Docker => "docker",
            Exec::Host => "host",
        };
        let mut args = vec![
            "build",
            "-s",
            self.path(),
            "-i",
            image,
            "--executor",
            executor,
            "--state-dir",
            self.state.path().to_str().unwrap(),
            "--record",
            record.to_str().unwrap(),
        ];
        args.extend_from_slice(extra);
        let out = pipelocal(&args);
        let record = std::fs::read_to_string(&record)
            .map(|t| serde_json::from_str(&t).unwrap())
            .unwrap_or(serde_json::Value::Null);
        Built {
            code: out.code,
            log: out.stdout,
            stderr: out.stderr,
            record,
        }
    }
}

/// Runs git in `dir` with a fixed identity; its trimmed output.
pub fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(["-c", "user.name=Test", "-c", "user.email=test@example.com"])
        .args(args)
        .output()
        .expect("run git");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// A git repository of `files` with one commit (on `main`, message `first commit`).
pub fn git_repo(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (name, text) in files {
        let path = dir.path().join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
    git(dir.path(), &["init", "-q", "-b", "main"]);
    git(dir.path(), &["add", "-A"]);
    git(dir.path(), &["commit", "-q", "-m", "first commit"]);
    dir
}

/// Every execution record of `pipeline` in a state folder, oldest first.
pub fn executions(state: &Path, pipeline: &str) -> Vec<serde_json::Value> {
    let dir = state.join("pipelines").join(pipeline).join("executions");
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut list: Vec<serde_json::Value> = entries
        .flatten()
        .filter_map(|e| std::fs::read_to_string(e.path().join("execution.json")).ok())
        .filter_map(|t| serde_json::from_str(&t).ok())
        .collect();
    list.sort_by(|a, b| {
        let time = |v: &serde_json::Value| v["startTime"].as_f64().unwrap_or(0.0);
        time(a).total_cmp(&time(b))
    });
    list
}

/// The statuses of each attempt of `action` in an execution record.
pub fn attempts(record: &serde_json::Value, action: &str) -> Vec<String> {
    record["actionExecutions"]
        .as_array()
        .map(|list| {
            list.iter()
                .filter(|a| a["actionName"] == action)
                .map(|a| a["status"].as_str().unwrap_or_default().to_string())
                .collect()
        })
        .unwrap_or_default()
}

/// An output artifact of an action execution (from an execution record),
/// opened from the local artifact store of `state`.
pub fn artifact(
    state: &Path,
    action: &serde_json::Value,
    output: &str,
) -> zip::ZipArchive<std::fs::File> {
    let art = action["output"]["outputArtifacts"]
        .as_array()
        .and_then(|list| list.iter().find(|o| o["name"] == output))
        .unwrap_or_else(|| panic!("no output {output}: {action}"));
    let path = state
        .join("s3")
        .join(art["s3location"]["bucket"].as_str().unwrap())
        .join(art["s3location"]["key"].as_str().unwrap());
    zip::ZipArchive::new(std::fs::File::open(path).unwrap()).unwrap()
}

/// A file of a zip, as text.
pub fn zip_text(zip: &mut zip::ZipArchive<std::fs::File>, name: &str) -> String {
    let mut text = String::new();
    std::io::Read::read_to_string(&mut zip.by_name(name).unwrap(), &mut text).unwrap();
    text
}

/// The newest execution record in a state folder, whatever the pipeline.
pub fn newest_record(state: &Path) -> serde_json::Value {
    let mut found: Vec<serde_json::Value> = walkdir::WalkDir::new(state.join("pipelines"))
        .into_iter()
        .flatten()
        .filter(|e| e.file_name() == "execution.json")
        .map(|e| serde_json::from_str(&std::fs::read_to_string(e.path()).unwrap()).unwrap())
        .collect();
    let time = |v: &serde_json::Value| v["startTime"].as_f64().unwrap_or(0.0);
    found.sort_by(|a, b| time(b).total_cmp(&time(a)));
    found.into_iter().next().expect("an execution record")
}

/// The first execution of `action` in a record (`Null` when it never ran).
pub fn action(record: &serde_json::Value, name: &str) -> serde_json::Value {
    record["actionExecutions"]
        .as_array()
        .and_then(|list| list.iter().find(|a| a["actionName"] == name))
        .cloned()
        .unwrap_or(serde_json::Value::Null)
}

/// The actions a record ran, in order.
pub fn ran(record: &serde_json::Value) -> Vec<String> {
    record["actionExecutions"]
        .as_array()
        .map(|list| {
            list.iter()
                .map(|a| a["actionName"].as_str().unwrap_or_default().to_string())
                .collect()
        })
        .unwrap_or_default()
}

/// A project name no other test run on this engine uses at the same time
/// (another checkout's suite may run the same test): the name plus this
/// test process's id, so `containers_of` sees only this run's builds.
pub fn unique_project(name: &str) -> String {
    format!("{name}-{}", std::process::id())
}

/// Containers of builds of `project` (container names are `pipelocal-<project>-<uuid>`).
pub fn containers_of(project: &str) -> Vec<String> {
    container_names(&[
        "label=dev.pipelocal.build-id".to_string(),
        format!("name=pipelocal-{project}-"),
    ])
}

/// The names of the containers, running or not, that pass every `docker
/// ps` filter of `filters`.
pub fn container_names(filters: &[String]) -> Vec<String> {
    let mut cmd = Command::new("docker");
    cmd.args(["ps", "-a", "--format", "{{.Names}}"]);
    for f in filters {
        cmd.args(["--filter", f]);
    }
    let out = cmd.output().unwrap();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(String::from)
        .collect()
}

/// Starts `pipelocal build` of `p` on `exec` (Docker: busybox; its record in
/// the state folder) and returns once a line of its log satisfies `until`;
/// the log keeps being drained so the build never blocks on a full pipe.
pub fn start_build_until(
    p: &Project,
    exec: Exec,
    project: &str,
    until: impl Fn(&str) -> bool,
) -> std::process::Child {
    use std::io::{BufRead, BufReader};
    use std::process::Stdio;
    use std::time::{Duration, Instant};
    let record = p.state.path().join("record.json");
    let mut child = Command::new(env!("CARGO_BIN_EXE_pipelocal"))
        .args(["build", "-s", p.path()])
        .args(match exec {
            Exec::Docker => ["-i", BUSYBOX],
            Exec::Host => ["--executor", "host"],
        })
        .args(["--project-name", project])
        .args(["--record", record.to_str().unwrap()])
        .args(["--state-dir", p.state.path().to_str().unwrap()])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let line = lines.next().expect("build log ended early").unwrap();
        if until(&line) {
            break;
        }
        assert!(Instant::now() < deadline, "the build never got there");
    }
    std::thread::spawn(move || for _ in lines {});
    child
}

/// The repository `fixtures/cloud/` pins, made by its `make-app-repo.sh` in a
/// temporary folder: the folder, and the repository (`<folder>/app`) in it.
pub fn cloud_app_repo() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let app = dir.path().join("app");
    let status = Command::new(repo().join("fixtures/cloud/make-app-repo.sh"))
        .arg(&app)
        .status()
        .expect("run fixtures/cloud/make-app-repo.sh");
    assert!(status.success(), "fixtures/cloud/make-app-repo.sh failed");
    (dir, app)
}
