//! `pipelocal build --from-build` and `--cloud-log` (docs/reproducing.md):
//! a cloud build's record (fixtures/cloud/, shaped like `batch-get-builds`)
//! reproduced from real git repositories at the record's exact commits, the
//! phases compared with a verdict, the logs compared command by command.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common::{docker_available, fixture, git, pipelocal, repo, Output};

const FAILING: &str = "e73107e7163f65ff643beb589ef0c1122db699cf";
const PASSING: &str = "93f0b52a73e0fa9687e104ee3e5210dd951936e3";
const CONFIG_OLD: &str = "4c3b0a24f56f8a4b2d6b6e750a583ea52331d023";
const CONFIG_NEW: &str = "5bb7dbbded89a20cf0ea9be8bd24b623c9b27727";

/// The repositories the fixtures' records were built from, and a state folder.
struct Demo {
    dir: tempfile::TempDir,
    state: tempfile::TempDir,
}

impl Demo {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let status = Command::new(fixture("cloud/make-demo-repos.sh"))
            .arg(dir.path())
            .status()
            .expect("run make-demo-repos.sh");
        assert!(status.success());
        Demo {
            dir,
            state: tempfile::tempdir().unwrap(),
        }
    }

    fn app(&self) -> PathBuf {
        self.dir.path().join("app")
    }

    fn config(&self) -> PathBuf {
        self.dir.path().join("config")
    }

    fn record_path(&self) -> PathBuf {
        self.state.path().join("record.json")
    }

    /// `pipelocal build --from-build <fixture>` on the host, with `extra`.
    fn build(&self, record: &str, extra: &[&str]) -> (Output, serde_json::Value) {
        self.build_from(&fixture(record), extra)
    }

    /// `build --from-build FROM` with `extra`, on the host executor; its record.
    fn build_from(&self, from: &Path, extra: &[&str]) -> (Output, serde_json::Value) {
        let record_path = self.record_path();
        let _ = std::fs::remove_file(&record_path);
        let mut args = vec![
            "build",
            "--from-build",
            from.to_str().unwrap(),
            "--executor",
            "host",
            "--state-dir",
            self.state.path().to_str().unwrap(),
            "--record",
            record_path.to_str().unwrap(),
        ];
        args.extend_from_slice(extra);
        let out = pipelocal(&args);
        let record = std::fs::read_to_string(&record_path)
            .map(|t| serde_json::from_str(&t).unwrap())
            .unwrap_or(serde_json::Value::Null);
        (out, record)
    }
}

fn secrets() -> String {
    fixture("cloud/secrets.yml").display().to_string()
}

fn path(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn a_failed_cloud_build_is_reproduced_at_its_commit_though_head_passes() {
    let demo = Demo::new();
    let app = demo.app();
    let (out, record) = demo.build(
        "cloud/failed-build.json",
        &["-s", path(&app), "--secrets-file", &secrets()],
    );
    assert_eq!(out.code, 1, "{}{}", out.stdout, out.stderr);
    assert!(
        out.stderr.contains("reproduced: FAILED in BUILD like the cloud build (COMMAND_EXECUTION_ERROR, sh check.sh, exit status 1)\n"),
        "{}",
        out.stderr
    );
    assert!(!out.stderr.contains("not reproduced"), "{}", out.stderr);
    assert!(
        out.stderr.contains(&format!(
            "reproducing cloud build demo:4f6b1c1e-8a55-4c1f-9d53-3a1b2c3d4e5f (build number 42), FAILED at commit {FAILING}"
        )),
        "{}",
        out.stderr
    );
    // The phases side by side.
    let row = out
        .stderr
        .lines()
        .find(|l| l.starts_with("BUILD "))
        .expect("a BUILD row");
    assert_eq!(
        row.matches("FAILED (COMMAND_EXECUTION_ERROR, sh check.sh, exit status 1)")
            .count(),
        2,
        "{row}"
    );
    // What pipelocal cannot honour is named, one line each.
    for warning in [
        "warning: vpcConfig (vpc-0a1b2c3d): ",
        "warning: fileSystemLocations cache (fs-0a1b2c3d.efs.eu-west-1.amazonaws.com:/ at /mnt/cache): ",
        "warning: environment.computeType BUILD_GENERAL1_MEDIUM: ",
    ] {
        assert!(out.stderr.contains(warning), "{warning}: {}", out.stderr);
    }
    assert!(
        out.stdout
            .contains("\ngreeting.txt does not say hello: helo\n"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains(&format!(
            " Reproducing cloud build demo:4f6b1c1e-8a55-4c1f-9d53-3a1b2c3d4e5f (build number 42) at {FAILING}\n"
        )),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("\nsecrets are set\n"), "{}", out.stdout);
    assert!(!out.stdout.contains("secret-value"), "{}", out.stdout);
    // The record's settings, and the comparison in --record.
    assert_eq!(record["resolvedSourceVersion"], FAILING);
    assert_eq!(record["projectName"], "demo");
    assert_eq!(record["timeoutInMinutes"], 15);
    let vars = record["environment"]["environmentVariables"]
        .as_array()
        .unwrap();
    assert!(vars.iter().any(|v| v["name"] == "DB_PASSWORD"
        && v["value"] == "/demo/db-password"
        && v["type"] == "PARAMETER_STORE"));
    let comparison = &record["pipelocalReproduction"];
    assert_eq!(comparison["reproduced"], true);
    assert_eq!(comparison["cloudBuildNumber"], 42);
    assert!(comparison["verdict"]
        .as_str()
        .unwrap()
        .starts_with("reproduced: FAILED in BUILD"));
    // The clone is as it was: same HEAD, clean, no worktree; no checkout left behind.
    assert_eq!(git(&app, &["rev-parse", "HEAD"]), PASSING);
    assert_eq!(git(&app, &["status", "--porcelain"]), "");
    assert_eq!(git(&app, &["worktree", "list"]).lines().count(), 1);
    let left = std::fs::read_dir(demo.state.path().join("checkouts")).map(|d| d.count());
    assert_eq!(left.unwrap_or(0), 0);
}

#[test]
fn a_succeeded_cloud_build_is_reproduced_and_a_flag_wins_over_the_record() {
    let demo = Demo::new();
    let app = demo.app();
    let (out, record) = demo.build(
        "cloud/succeeded-build.json",
        &[
            "-s",
            path(&app),
            "--secrets-file",
            &secrets(),
            "--timeout",
            "7m",
        ],
    );
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert!(
        out.stderr
            .contains("reproduced: SUCCEEDED like the cloud build\n"),
        "{}",
        out.stderr
    );
    assert_eq!(record["resolvedSourceVersion"], PASSING);
    assert_eq!(record["timeoutInMinutes"], 7);
}

#[test]
fn a_different_result_is_not_reproduced_and_says_the_first_difference() {
    let demo = Demo::new();
    // The failed build's record, as if it had been built at HEAD.
    let mut cloud: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(fixture("cloud/failed-build.json")).unwrap())
            .unwrap();
    cloud["builds"][0]["resolvedSourceVersion"] = PASSING.into();
    let file = demo.state.path().join("at-head.json");
    std::fs::write(&file, cloud.to_string()).unwrap();
    let (out, _) = demo.build_from(
        &file,
        &["-s", path(&demo.app()), "--secrets-file", &secrets()],
    );
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert!(
        out.stderr.contains("not reproduced: BUILD FAILED (COMMAND_EXECUTION_ERROR, sh check.sh, exit status 1) in the cloud, SUCCEEDED here\n"),
        "{}",
        out.stderr
    );
}

#[test]
fn missing_secrets_are_all_named_and_nothing_runs() {
    let demo = Demo::new();
    let app = demo.app();
    let (out, _) = demo.build("cloud/failed-build.json", &["-s", path(&app)]);
    assert_eq!(out.code, 2, "{}{}", out.stdout, out.stderr);
    assert_eq!(out.stdout, "", "nothing ran");
    let error = out
        .stderr
        .lines()
        .find(|l| l.starts_with("error: "))
        .unwrap();
    assert!(error.contains("2 secret values are missing"), "{error}");
    assert!(
        error.contains("PARAMETER_STORE variable DB_PASSWORD: parameter '/demo/db-password'"),
        "{error}"
    );
    assert!(
        error.contains("SECRETS_MANAGER variable API_TOKEN: secret 'demo/api-token'"),
        "{error}"
    );
    assert!(error.ends_with("give them in a --secrets-file"), "{error}");
    // A secrets file with one of the two: the other is named.
    let partial = demo.state.path().join("partial.yml");
    std::fs::write(&partial, "parameters:\n  /demo/db-password: x\n").unwrap();
    let (out, _) = demo.build(
        "cloud/failed-build.json",
        &["-s", path(&app), "--secrets-file", path(&partial)],
    );
    assert_eq!(out.code, 2, "{}{}", out.stdout, out.stderr);
    assert!(
        out.stderr.contains("1 secret value is missing"),
        "{}",
        out.stderr
    );
    assert!(!out.stderr.contains("DB_PASSWORD"), "{}", out.stderr);
    assert!(
        out.stderr
            .contains(&format!("add them to {}", partial.display())),
        "{}",
        out.stderr
    );
}

#[test]
fn secondary_sources_are_built_at_their_versions_with_the_inline_buildspec() {
    let demo = Demo::new();
    let (app, config) = (demo.app(), demo.config());
    let secondary = format!("config:{}", config.display());
    let (out, record) = demo.build(
        "cloud/secondary-sources-build.json",
        &["-s", path(&app), "-s", &secondary],
    );
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    let output: Vec<&str> = out
        .stdout
        .lines()
        .filter(|l| !l.starts_with("[Container] "))
        .collect();
    // The record's inline buildspec, not the repository's buildspec.yml.
    assert_eq!(output, vec!["mode=old", "hello"], "{}", out.stdout);
    assert!(out
        .stdout
        .contains("YAML location is /codebuild/readonly/buildspec.yml"));
    assert!(
        out.stderr
            .contains("reproduced: SUCCEEDED like the cloud build"),
        "{}",
        out.stderr
    );
    assert_eq!(git(&config, &["rev-parse", "HEAD"]), CONFIG_NEW);
    assert!(record["source"]["buildspec"]
        .as_str()
        .unwrap()
        .contains("settings.txt"));
    // Without the secondary source's clone, nothing runs and -s ID:DIR is named.
    let (out, _) = demo.build("cloud/secondary-sources-build.json", &["-s", path(&app)]);
    assert_eq!(out.code, 2, "{}{}", out.stdout, out.stderr);
    assert!(
        out.stderr.contains(&format!("the cloud build had the secondary source `config` at {CONFIG_OLD}: give the folder of its clone with -s config:DIR")),
        "{}",
        out.stderr
    );
}

#[test]
fn unusable_input_is_one_line_naming_the_file_and_the_fix() {
    let demo = Demo::new();
    // A clone without the commit: the commit and the fetch that brings it.
    let config = demo.config();
    let (out, _) = demo.build(
        "cloud/failed-build.json",
        &["-s", path(&config), "--secrets-file", &secrets()],
    );
    assert_eq!(out.code, 2, "{}{}", out.stdout, out.stderr);
    assert!(
        out.stderr.contains(&format!(
            "{}: the clone has no commit {FAILING} (the cloud build's resolvedSourceVersion): fetch it with `git -C {} fetch origin {FAILING}`",
            config.display(),
            config.display()
        )),
        "{}",
        out.stderr
    );
    // A record that is not JSON: its file and line.
    let bad = demo.state.path().join("bad.json");
    std::fs::write(&bad, "{\n  \"builds\": [\n    {\"id\": \"x\",}\n  ]\n}\n").unwrap();
    let out = pipelocal(&["build", "--from-build", path(&bad), "--executor", "host"]);
    assert_eq!(out.code, 2);
    assert!(
        out.stderr
            .starts_with(&format!("error: {}:3: invalid JSON", bad.display())),
        "{}",
        out.stderr
    );
    // A build id the file does not have: the ids it has.
    let (out, _) = demo.build(
        "cloud/failed-build.json",
        &["-s", path(&demo.app()), "--build-id", "demo:nope"],
    );
    assert_eq!(out.code, 2);
    assert!(
        out.stderr.contains(
            "no build demo:nope; the file has: demo:4f6b1c1e-8a55-4c1f-9d53-3a1b2c3d4e5f"
        ),
        "{}",
        out.stderr
    );
    // A missing file.
    let out = pipelocal(&["build", "--from-build", "no-such-build.json"]);
    assert_eq!(out.code, 2);
    assert!(
        out.stderr.contains("no-such-build.json: cannot read file"),
        "{}",
        out.stderr
    );
}

#[test]
fn the_logs_are_compared_command_by_command() {
    let demo = Demo::new();
    let app = demo.app();
    let json_log = fixture("cloud/failed-build-log.json");
    let (out, record) = demo.build(
        "cloud/failed-build.json",
        &[
            "-s",
            path(&app),
            "--secrets-file",
            &secrets(),
            "--cloud-log",
            path(&json_log),
        ],
    );
    assert_eq!(out.code, 1, "{}{}", out.stdout, out.stderr);
    assert!(
        out.stderr
            .contains("the logs agree: the same commands with the same exit statuses and output"),
        "{}",
        out.stderr
    );
    assert!(record["pipelocalReproduction"]
        .get("logDifference")
        .is_none());
    // A variable that differs here: the first command whose output differs.
    let env = demo.state.path().join("staging.env");
    std::fs::write(&env, "APP_ENV=staging\n").unwrap();
    let text_log = fixture("cloud/failed-build-log.txt");
    let (out, record) = demo.build(
        "cloud/failed-build.json",
        &[
            "-s",
            path(&app),
            "--secrets-file",
            &secrets(),
            "--cloud-log",
            path(&text_log),
            "-e",
            path(&env),
        ],
    );
    assert_eq!(out.code, 1, "{}{}", out.stdout, out.stderr);
    assert!(
        out.stderr.contains("first difference in the logs: `echo \"installing for $APP_ENV\"` (INSTALL): its output differs at its line 1\n  cloud (log line 21, exit status 0):\n    | installing for production\n  local (log line "),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("    | installing for staging\n"),
        "{}",
        out.stderr
    );
    assert_eq!(
        record["pipelocalReproduction"]["logDifference"]["local"]["excerpt"][0],
        "installing for staging"
    );
}

/// docs/reproducing.md's example, run as written (in Docker, as it says).
#[test]
fn the_docs_example_runs_as_written() {
    if !docker_available() {
        return;
    }
    let page = std::fs::read_to_string(repo().join("docs/reproducing.md")).unwrap();
    let section = page
        .split("## Trying it without AWS")
        .nth(1)
        .expect("a section `## Trying it without AWS`");
    let script = section
        .split("```sh\n")
        .nth(1)
        .and_then(|s| s.split("```").next())
        .expect("a sh block");
    let state = tempfile::tempdir().unwrap();
    let bin = PathBuf::from(env!("CARGO_BIN_EXE_pipelocal"));
    let path_var = format!(
        "{}:{}",
        bin.parent().unwrap().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let out = Command::new("bash")
        .args(["-e", "-c", script])
        .current_dir(repo())
        .env("PATH", path_var)
        .env("PIPELOCAL_STATE_DIR", state.path())
        .output()
        .unwrap();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    // The cloud build failed, and so does its reproduction: exit status 1.
    assert_eq!(out.status.code(), Some(1), "{stdout}{stderr}");
    assert!(
        stderr.contains("reproduced: FAILED in BUILD like the cloud build (COMMAND_EXECUTION_ERROR, sh check.sh, exit status 1)"),
        "{stderr}"
    );
    assert!(stderr.contains("the logs agree"), "{stderr}");
    assert!(
        stdout.contains("greeting.txt does not say hello: helo"),
        "{stdout}"
    );
}
