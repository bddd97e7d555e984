//! `pipelocal run` end to end against the real Docker engine: a real git
//! repository as the source, zipped artifacts between actions, run-order
//! groups running concurrently, failures, variables, and the history that
//! `state`, `executions` and `logs` read.


use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common::{docker_available, fixture, pipelocal_containers, repo};
use serde_json::Value;

/// A git repository with one commit, made in a temporary folder.
struct Repo {
    dir: tempfile::TempDir,
}

impl Repo {
    fn new(files: &[(&str, &str)]) -> Repo {
        Repo {
            dir: crate::common::git_repo(files),
        }
    }

    fn git(&self, args: &[&str]) -> String {
        crate::common::git(self.dir.path(), args)
    }

    fn commit(&self, message: &str) -> String {
        self.git(&["add", "-A"]);
        self.git(&["commit", "-q", "-m", message]);
        self.git(&["rev-parse", "HEAD"])
    }

    fn path(&self) -> &str {
        self.dir.path().to_str().unwrap()
    }
}

/// A finished `pipelocal run` and its state folder.
struct Ran {
    code: i32,
    stdout: String,
    stderr: String,
    state: PathBuf,
}

fn command(state: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_pipelocal"));
    // No user configuration: the test says everything.
    c.current_dir(repo())
        .env("PIPELOCAL_CONFIG", "/dev/null")
        .env("PIPELOCAL_STATE_DIR", state);
    c
}

fn run(state: &Path, pipeline: &Path, extra: &[&str]) -> Ran {
    let out = command(state)
        .arg("run")
        .arg(pipeline)
        .args(extra)
        .output()
        .unwrap();
    Ran {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        state: state.to_path_buf(),
    }
}

impl Ran {
    /// The newest execution record in the history.
    fn record(&self) -> Value {
        crate::common::newest_record(&self.state)
    }

    fn action(&self, name: &str) -> Value {
        crate::common::action(&self.record(), name)
    }

    fn span(&self, name: &str) -> (f64, f64) {
        let a = self.action(name);
        (
            a["startTime"].as_f64().unwrap(),
            a["lastUpdateTime"].as_f64().unwrap(),
        )
    }

    /// Reads an output artifact's zip from the store: its file names and one file's text.
    fn artifact(&self, action: &str, output: &str) -> zip::ZipArchive<std::fs::File> {
        crate::common::artifact(&self.state, &self.action(action), output)
    }

    /// Containers still there from this execution's builds (other tests run
    /// builds at the same time, so only these are looked for).
    fn containers_left(&self) -> Vec<String> {
        let record = self.record();
        let ids: Vec<String> = record["actionExecutions"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|a| a["output"]["executionResult"]["externalExecutionId"].as_str())
            .filter(|id| id.contains(':'))
            .map(String::from)
            .collect();
        assert!(!ids.is_empty(), "no build ids recorded");
        pipelocal_containers()
            .into_iter()
            .filter(|c| {
                let out = Command::new("docker")
                    .args([
                        "inspect",
                        "--format",
                        "{{index .Config.Labels \"dev.pipelocal.build-id\"}}",
                        c,
                    ])
                    .output()
                    .unwrap();
                let label = String::from_utf8_lossy(&out.stdout).trim().to_string();
                ids.contains(&label)
            })
            .collect()
    }

    fn log(&self) -> String {
        format!("{}\n{}", self.stdout, self.stderr)
    }
}

fn read(zip: &mut zip::ZipArchive<std::fs::File>, name: &str) -> String {
    crate::common::zip_text(zip, name)
}

fn projects() -> String {
    fixture("runs/projects.json").display().to_string()
}

/// Runs `fixtures/runs/<name>` with a new one-commit repository of `files`
/// as its `Code` source and the fixture projects.
fn run_with_source(name: &str, files: &[(&str, &str)]) -> (Repo, tempfile::TempDir, Ran) {
    let src = Repo::new(files);
    let state = tempfile::tempdir().unwrap();
    let source = format!("Code={}", src.path());
    let r = run(
        state.path(),
        &fixture(&format!("runs/{name}")),
        &["--projects", &projects(), "--source", &source],
    );
    (src, state, r)
}

#[test]
fn artifacts_and_variables_flow_through_concurrent_groups() {
    if !docker_available() {
        return;
    }
    let (src, _state, r) = run_with_source(
        "flow.json",
        &[("app.txt", "hello world\n"), ("buildspec.yml", "unused")],
    );
    let commit = src.git(&["rev-parse", "HEAD"]);
    assert_eq!(r.code, 0, "{}", r.log());
    let record = r.record();
    assert_eq!(record["status"], "Succeeded");
    for stage in record["stages"].as_array().unwrap() {
        assert_eq!(stage["status"], "Succeeded", "{stage}");
    }

    // The three actions of the first group ran at the same time, the fourth after them.
    let spans: Vec<(f64, f64)> = ["Compile", "Lint", "Docs"]
        .iter()
        .map(|a| r.span(a))
        .collect();
    let latest_start = spans.iter().map(|s| s.0).fold(f64::MIN, f64::max);
    let earliest_end = spans.iter().map(|s| s.1).fold(f64::MAX, f64::min);
    assert!(latest_start < earliest_end, "not concurrent: {spans:?}");
    let last_end = spans.iter().map(|s| s.1).fold(f64::MIN, f64::max);
    assert!(
        r.span("Package").0 >= last_end,
        "Package started before its group ended"
    );

    // Source variables and exported variables reached the Package action.
    let source_vars = &r.action("Code")["output"]["outputVariables"];
    assert_eq!(source_vars["CommitId"], commit.as_str());
    assert_eq!(source_vars["BranchName"], "main");
    assert_eq!(source_vars["FullRepositoryName"], "example/flow");
    assert_eq!(source_vars["CommitMessage"], "first commit");
    let version = r.action("Compile")["output"]["outputVariables"]["VERSION"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(version.starts_with("2.0."), "{version}");
    let package = r.action("Package");
    let env = package["input"]["resolvedConfiguration"]["EnvironmentVariables"]
        .as_str()
        .unwrap();
    assert!(env.contains(&commit) && env.contains(&version), "{env}");
    assert!(
        package["input"]["configuration"]["EnvironmentVariables"]
            .as_str()
            .unwrap()
            .contains("#{SourceVars.CommitId}"),
        "the raw configuration is kept"
    );

    // The source artifact is the commit's tree without .git.
    let mut src_zip = r.artifact("Code", "Src");
    assert_eq!(read(&mut src_zip, "app.txt"), "hello world\n");
    assert!((0..src_zip.len()).all(|i| !src_zip.by_index(i).unwrap().name().starts_with(".git")));

    // Two outputs from secondary-artifacts, keyed by output name.
    let mut manifest = r.artifact("Package", "Manifest");
    assert_eq!(
        read(&mut manifest, "manifest.txt"),
        format!("{commit} {version} codepipeline/flow\n")
    );
    let mut pkg = r.artifact("Package", "Pkg");
    assert_eq!(read(&mut pkg, "bin.txt"), "compiled hello world\n");
    assert_eq!(
        read(&mut pkg, "docs/index.txt"),
        format!("docs for {commit}\n")
    );

    // Every key follows AWS's layout.
    let key = package["output"]["outputArtifacts"][0]["s3location"]["key"]
        .as_str()
        .unwrap();
    assert!(
        key.starts_with("flow/Pkg/") || key.starts_with("flow/Manifest/"),
        "{key}"
    );

    // The Test action read both and logged them; lines carry their action.
    assert!(
        r.stdout.contains("[Test/Check] compiled hello world"),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains(&format!(
        "[Test/Check] {commit} {version} codepipeline/flow"
    )));
    assert!(r.containers_left().is_empty(), "containers left behind");
}

#[test]
fn a_failed_action_lets_its_sibling_finish_and_stops_the_rest() {
    let src = Repo::new(&[("app.txt", "hello\n")]);
    std::fs::write(src.dir.path().join("fix.txt"), "fixed\n").unwrap();
    src.commit("Fix the check\n\nThe body says why, at length.");
    let state = tempfile::tempdir().unwrap();
    let source = format!("Code={}", src.path());
    let r = run(
        state.path(),
        &fixture("runs/failing.json"),
        // Orchestration only: the host executor runs it anywhere.
        &["--projects", &projects(), "--source", &source, "--executor", "host"],
    );
    assert_eq!(r.code, 1, "{}", r.log());
    let record = r.record();
    assert_eq!(record["status"], "Failed");
    // A source action's summary is its commit's subject alone.
    assert_eq!(
        r.action("Code")["output"]["executionResult"]["externalExecutionSummary"],
        "Fix the check"
    );
    // The summary says where and why, then what to do next.
    let id = record["pipelineExecutionId"].as_str().unwrap();
    assert!(
        r.stdout.contains(
            "Failed:\n  Build/Breaks: BUILD: COMMAND_EXECUTION_ERROR: exit 3: exit status 3\n"
        ),
        "{}",
        r.stdout
    );
    for next in [
        format!("pipelocal logs {id} Build/Breaks"),
        format!("pipelocal retry {id}"),
        "--break-on-failure".to_string(),
        format!("pipelocal view {id}"),
    ] {
        assert!(r.stdout.contains(&next), "{next} not in {}", r.stdout);
    }
    let stages: Vec<(&str, &str)> = record["stages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["stageName"].as_str().unwrap(),
                s["status"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(stages, vec![("Source", "Succeeded"), ("Build", "Failed")]);
    let breaks = r.action("Breaks");
    assert_eq!(breaks["status"], "Failed");
    let summary = breaks["output"]["executionResult"]["externalExecutionSummary"]
        .as_str()
        .unwrap();
    assert_eq!(
        summary,
        "Build terminated with state: FAILED. Phase: BUILD, Code: COMMAND_EXECUTION_ERROR, Message: Error while executing command: exit 3. Reason: exit status 3"
    );
    assert_eq!(
        breaks["output"]["executionResult"]["errorDetails"]["code"],
        "JobFailed"
    );
    assert_eq!(r.action("Sibling")["status"], "Succeeded");
    assert!(r.action("Later").is_null(), "the next group started");
    assert!(r.action("After").is_null(), "the next stage started");

    // state and logs tell the same story.
    let out = command(state.path())
        .args(["state", "--json"])
        .output()
        .unwrap();
    let view: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(view["pipelineName"], "failing");
    let build = &view["stageStates"][1];
    assert_eq!(build["stageName"], "Build");
    assert_eq!(build["latestExecution"]["status"], "Failed");
    assert_eq!(build["latestExecution"]["pipelineExecutionId"], id);
    assert_eq!(
        build["actionStates"][0]["latestExecution"]["summary"],
        summary
    );
    assert!(view["stageStates"][2]["latestExecution"].is_null());
    let logs = command(state.path())
        .args(["logs", id, "Breaks"])
        .output()
        .unwrap();
    let logs = String::from_utf8_lossy(&logs.stdout);
    assert!(
        logs.contains("Command did not exit successfully exit 3 exit status 3"),
        "{logs}"
    );
    assert!(logs.contains(summary), "{logs}");

    let out = command(state.path())
        .args(["executions", "--json"])
        .output()
        .unwrap();
    let list: Value = serde_json::from_slice(&out.stdout).unwrap();
    let first = &list["pipelineExecutionSummaries"][0];
    assert_eq!(first["pipelineExecutionId"], id);
    assert_eq!(first["status"], "Failed");
    assert_eq!(first["sourceRevisions"][0]["actionName"], "Code");
}

#[test]
fn api_json_and_cloudformation_yaml_run_the_same() {
    if !docker_available() {
        return;
    }
    let app = fixture("example/app");
    let mut results = Vec::new();
    for (file, extra) in [
        (
            "example/pipeline.json",
            vec!["--projects", "fixtures/example/projects.json"],
        ),
        // The template holds its projects.
        ("example/pipeline.yaml", vec![]),
    ] {
        let state = tempfile::tempdir().unwrap();
        let source = format!("App={}", app.display());
        let mut args = extra.clone();
        args.extend([
            "--source",
            &source,
            "--image-map",
            "aws/codebuild/standard:7.0=pipelocal/busybox",
        ]);
        let r = run(state.path(), &fixture(file), &args);
        assert_eq!(r.code, 0, "{file}: {}", r.log());
        let record = r.record();
        let actions: Vec<(String, String, Value)> = record["actionExecutions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| {
                (
                    a["actionName"].as_str().unwrap().to_string(),
                    a["status"].as_str().unwrap().to_string(),
                    a["output"]["outputVariables"].clone(),
                )
            })
            .collect();
        let mut greeting = r.artifact("Build", "BuildOutput");
        results.push((actions, read(&mut greeting, "greeting.txt")));
    }
    assert_eq!(results[0], results[1]);
    assert_eq!(results[0].1, "Hello, pipelocal!\n");
}

#[test]
fn ctrl_c_abandons_running_actions_and_leaves_a_readable_history() {
    if !docker_available() {
        return;
    }
    let src = Repo::new(&[("app.txt", "hello\n")]);
    let state = tempfile::tempdir().unwrap();
    let source = format!("Code={}", src.path());
    let mut child = command(state.path())
        .arg("run")
        .arg(fixture("runs/slow.json"))
        .args(["--projects", &projects(), "--source", &source])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        use std::io::BufRead;
        let mut seen = String::new();
        for line in std::io::BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
        {
            seen.push_str(&line);
            seen.push('\n');
            if line.contains("[Build/Slow] started slow work") {
                unsafe { libc::kill(child_pid(), libc::SIGINT) };
            }
        }
        seen
    });
    fn child_pid() -> i32 {
        CHILD.load(std::sync::atomic::Ordering::SeqCst)
    }
    static CHILD: std::sync::atomic::AtomicI32 = std::sync::atomic::AtomicI32::new(0);
    CHILD.store(child.id() as i32, std::sync::atomic::Ordering::SeqCst);
    let status = child.wait().unwrap();
    let seen = reader.join().unwrap();
    assert_eq!(status.code(), Some(1), "{seen}");
    let r = Ran {
        code: 1,
        stdout: seen,
        stderr: String::new(),
        state: state.path().to_path_buf(),
    };
    let record = r.record();
    assert_eq!(record["status"], "Stopped", "{}", r.stdout);
    assert_eq!(r.action("Slow")["status"], "Abandoned");
    // Its sibling was in flight too (it sleeps): stopping abandons every running action.
    assert_eq!(r.action("Quick")["status"], "Abandoned");
    assert!(r.action("After").is_null());
    assert!(r.containers_left().is_empty(), "containers left behind");
    // No half-written file anywhere in the history.
    for entry in walkdir::WalkDir::new(state.path().join("pipelines"))
        .into_iter()
        .flatten()
    {
        assert!(
            !entry.file_name().to_string_lossy().ends_with(".partial"),
            "{:?}",
            entry.path()
        );
    }
}

#[test]
fn unusable_input_exits_2_with_the_flag_that_fixes_it() {
    let state = tempfile::tempdir().unwrap();
    let r = run(state.path(), &fixture("runs/flow.json"), &[]);
    assert_eq!(r.code, 2, "{}", r.log());
    assert!(
        r.stderr.contains("CodeBuild project 'flow-compile' is not defined: give its definition with --projects FILE"),
        "{}",
        r.stderr
    );
    let r = run(
        state.path(),
        &fixture("runs/flow.json"),
        &["--projects", &projects(), "--source", "Nope=."],
    );
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("--source Nope: no source action or source artifact has that name (source actions: Code)"), "{}", r.stderr);
    // An engine that does not answer stops the run before anything runs.
    let out = command(state.path())
        .env("DOCKER_HOST", "unix:///nonexistent/docker.sock")
        .arg("run")
        .arg(fixture("runs/flow.json"))
        .args(["--projects", &projects(), "--source", "Code=."])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("cannot reach a Docker engine") && err.contains("--executor host"),
        "{err}"
    );
    let r = run(state.path(), Path::new("no/such.json"), &[]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("no/such.json"), "{}", r.stderr);
    assert!(
        !state.path().join("pipelines").exists(),
        "nothing ran, nothing was recorded"
    );
}

#[test]
fn a_v2_pipeline_with_variables_an_s3_source_and_a_commands_action() {
    if !docker_available() {
        return;
    }
    let src = Repo::new(&[("app.txt", "hello from git\n")]);
    let state = tempfile::tempdir().unwrap();
    // The S3 source's object lives in the local bucket folder.
    let bucket = state.path().join("s3/flow-inputs");
    std::fs::create_dir_all(&bucket).unwrap();
    {
        let mut w = zip::ZipWriter::new(std::fs::File::create(bucket.join("data.zip")).unwrap());
        w.start_file("data.txt", zip::write::SimpleFileOptions::default())
            .unwrap();
        std::io::Write::write_all(&mut w, b"data from s3\n").unwrap();
        w.finish().unwrap();
    }
    let source = format!("Code={}", src.path());
    let r = run(
        state.path(),
        &fixture("runs/v2.json"),
        &[
            "--projects",
            &projects(),
            "--source",
            &source,
            "--variable",
            "Greeting=hi",
            "--default-image",
            "pipelocal/busybox",
        ],
    );
    assert_eq!(r.code, 0, "{}", r.log());
    let record = r.record();
    let id = record["pipelineExecutionId"].as_str().unwrap();
    assert_eq!(record["variables"][0]["name"], "Greeting");
    assert_eq!(record["variables"][0]["resolvedValue"], "hi");
    assert_eq!(record["executionMode"], "QUEUED");
    assert!(
        r.stdout
            .contains(&format!("[Build/Cmds] exec={id} greeting=hi\n")),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("[Build/Cmds] hello from git\n"));
    assert!(r.stdout.contains("[Build/Cmds] data from s3\n"));
    let cmds = r.action("Cmds");
    assert_eq!(
        cmds["output"]["outputVariables"]["FROM_COMMANDS"],
        "commands-hi"
    );
    let etag = r.action("Bundle")["output"]["outputVariables"]["ETag"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(etag.len(), 32, "an MD5 in hex: {etag}");
    assert!(
        r.stdout
            .contains(&format!("[Build/UseVars] got commands-hi etag={etag}\n")),
        "{}",
        r.stdout
    );
    let mut out = r.artifact("Cmds", "CmdOut");
    assert_eq!(read(&mut out, "out/made.txt"), "made\n");
    assert_eq!(out.len(), 1, "only the files the output names");
}

#[test]
fn an_unresolvable_variable_fails_the_action_with_aws_message() {
    if !docker_available() {
        return;
    }
    let (_src, _state, r) = run_with_source("unresolved.json", &[("app.txt", "hello\n")]);
    assert_eq!(r.code, 1, "{}", r.log());
    let used = r.action("Use");
    assert_eq!(used["status"], "Failed");
    assert_eq!(
        used["output"]["executionResult"]["errorDetails"]["message"],
        "An action in this pipeline failed because one or more variables could not be resolved: Action name=Use"
    );
    assert!(
        used["output"]["executionResult"]["externalExecutionId"].is_null(),
        "no build ran"
    );
}

#[test]
fn a_clone_ref_source_is_a_repository_the_build_runs_git_in() {
    if !docker_available() {
        return;
    }
    let src = Repo::new(&[("app.txt", "hello\n")]);
    std::fs::write(src.dir.path().join("app.txt"), "second\n").unwrap();
    let commit = src.commit("second commit");
    let state = tempfile::tempdir().unwrap();
    let source = format!("Code={}", src.path());
    let r = run(
        state.path(),
        &fixture("runs/clone.json"),
        &["--projects", &projects(), "--source", &source],
    );
    assert_eq!(r.code, 0, "{}", r.log());
    assert!(
        r.stdout.contains(&format!("[Build/Git] {commit}\n")),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("[Build/Git] second commit\n"));
}

#[test]
fn an_ecr_source_names_a_local_image() {
    if !docker_available() {
        return;
    }
    let tag = |args: &[&str]| Command::new("docker").args(args).status().unwrap();
    tag(&["tag", crate::common::BUSYBOX, "pipelocal-test-ecr:v1"]);
    let state = tempfile::tempdir().unwrap();
    let r = run(
        state.path(),
        &fixture("runs/ecr.json"),
        &["--projects", &projects()],
    );
    tag(&["rmi", "pipelocal-test-ecr:v1"]);
    assert_eq!(r.code, 0, "{}", r.log());
    let vars = &r.action("Image")["output"]["outputVariables"];
    assert_eq!(vars["ImageTag"], "v1");
    assert_eq!(vars["RepositoryName"], "pipelocal-test-ecr");
    let digest = vars["ImageDigest"].as_str().unwrap();
    assert!(digest.starts_with("sha256:"), "{digest}");
    let mut img = r.artifact("Image", "Img");
    let detail: Value = serde_json::from_str(&read(&mut img, "imageDetail.json")).unwrap();
    assert_eq!(detail["ImageURI"], "pipelocal-test-ecr:v1");
    assert!(
        r.stdout
            .contains(&format!("[Build/Show] got  etag={digest}\n")),
        "{}",
        r.stdout
    );
}

#[test]
fn the_repository_configuration_and_the_default_git_source() {
    if !docker_available() {
        return;
    }
    // A repository holding its pipeline, its projects and its configuration;
    // run from inside it with no flags, the source is that repository.
    let src = Repo::new(&[("app.txt", "hello\n")]);
    let root = src.dir.path();
    std::fs::copy(fixture("runs/failing.json"), root.join("pipeline.json")).unwrap();
    std::fs::copy(fixture("runs/projects.json"), root.join("projects.json")).unwrap();
    std::fs::write(
        root.join(".pipelocal.yml"),
        // Shared files may map other pipelines' sources and variables.
        "projects:\n  - projects.json\nstate-dir: state\nsources:\n  SomeOtherSource: /nowhere\nvariables:\n  NotDeclaredHere: x\n",
    )
    .unwrap();
    let committed = src.commit("pipeline");
    // An uncommitted change is left out unless asked for.
    std::fs::write(root.join("app.txt"), "changed\n").unwrap();
    let go = |extra: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_pipelocal"))
            .current_dir(root)
            .env("PIPELOCAL_CONFIG", "/dev/null")
            .env_remove("PIPELOCAL_STATE_DIR")
            .args(["run", "pipeline.json"])
            .args(extra)
            .output()
            .unwrap();
        Ran {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
            state: root.join("state"),
        }
    };
    let r = go(&[]);
    assert_eq!(r.code, 1, "the failing pipeline ran: {}", r.log());
    assert_eq!(
        r.action("Code")["output"]["outputVariables"]["CommitId"],
        committed.as_str()
    );
    assert!(
        r.stdout
            .contains("has uncommitted changes: the source is the committed HEAD"),
        "{}",
        r.stdout
    );
    assert_eq!(read(&mut r.artifact("Code", "Src"), "app.txt"), "hello\n");
    let r = go(&["--uncommitted"]);
    assert_eq!(read(&mut r.artifact("Code", "Src"), "app.txt"), "changed\n");
    assert!(
        r.stdout
            .contains("they are part of the source (--uncommitted)"),
        "{}",
        r.stdout
    );
    // What git ignores stays out of --uncommitted; --all-files brings it,
    // and still not .git (the state folder elsewhere: it is not ignored).
    std::fs::write(root.join(".gitignore"), "*.tmp\nstate/\n").unwrap();
    std::fs::write(root.join("scratch.tmp"), "local\n").unwrap();
    let r = go(&["--uncommitted"]);
    assert!(r.artifact("Code", "Src").by_name("scratch.tmp").is_err());
    let elsewhere = tempfile::tempdir().unwrap();
    let mut r = go(&[
        "--all-files",
        "--state-dir",
        elsewhere.path().to_str().unwrap(),
    ]);
    r.state = elsewhere.path().to_path_buf();
    let mut zip = r.artifact("Code", "Src");
    assert_eq!(read(&mut zip, "scratch.tmp"), "local\n");
    assert_eq!(read(&mut zip, "app.txt"), "changed\n");
    assert!(zip.by_name(".git/HEAD").is_err());
    // A broken configuration file names its line.
    std::fs::write(
        root.join(".pipelocal.yml"),
        "projects:\n  - projects.json\nimage_map: {}\n",
    )
    .unwrap();
    let r = go(&[]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains(".pipelocal.yml:3") && r.stderr.contains("unknown field `image_map`"),
        "{}",
        r.stderr
    );
}

#[test]
fn a_batch_enabled_action_runs_the_batch_and_combines_its_artifacts() {
    if !docker_available() {
        return;
    }
    let (_src, _state, r) = run_with_source("batch.json", &[("app.txt", "hello\n")]);
    assert_eq!(r.code, 0, "{}", r.log());
    let matrix = r.action("Matrix");
    assert!(
        matrix["output"]["executionResult"]["externalExecutionId"]
            .as_str()
            .unwrap()
            .starts_with("flow-batch:"),
        "{matrix}"
    );
    assert!(
        r.stdout.contains("[Build/Matrix] [windows] [Container]"),
        "{}",
        r.stdout
    );
    let mut combined = r.artifact("Matrix", "Combined");
    assert_eq!(read(&mut combined, "linux/target.txt"), "built for linux\n");
    assert_eq!(
        read(&mut combined, "windows/target.txt"),
        "built for windows\n"
    );
}

#[test]
fn json_output_is_one_object_per_event_and_log_line() {
    let src = Repo::new(&[("app.txt", "hello\n")]);
    let state = tempfile::tempdir().unwrap();
    let source = format!("Code={}", src.path());
    let r = run(
        state.path(),
        &fixture("runs/failing.json"),
        &[
            "--projects",
            &projects(),
            "--source",
            &source,
            "--json",
            "--executor",
            "host",
        ],
    );
    assert_eq!(r.code, 1, "{}", r.log());
    let events: Vec<Value> = r
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    let find = |kind: &str, action: &str| {
        events
            .iter()
            .find(|e| e["event"] == kind && e["action"] == action)
            .cloned()
            .unwrap_or(Value::Null)
    };
    assert_eq!(find("ActionFinished", "Breaks")["status"], "Failed");
    assert!(events
        .iter()
        .any(|e| e["event"] == "Log" && e["action"] == "Breaks" && e["line"] == "breaking"));
    let last = events.last().unwrap();
    assert_eq!(last["event"], "ExecutionFinished");
    assert_eq!(last["status"], "Failed");
    assert!(last["at"].as_f64().unwrap() > 0.0);
}

/// Runs fixtures/runs/parameters.yaml from `src`, its names from `app`, with
/// the busybox image; `extra` adds flags.
fn run_parameters(state: &Path, src: &Repo, app: &str, extra: &[&str]) -> Ran {
    let source = format!("App={}", src.path());
    let (app, service) = (format!("AppName={app}"), format!("ServiceName={app}"));
    let mut args = vec![
        "--source",
        &source,
        "--parameter",
        &app,
        "--parameter",
        &service,
        "--parameter",
        "BuildImage=pipelocal/busybox",
    ];
    args.extend(extra);
    run(state, &fixture("runs/parameters.yaml"), &args)
}

#[test]
fn template_parameters_name_the_pipeline_and_choose_its_image() {
    if !docker_available() {
        return;
    }
    let src = Repo::new(&[("app.txt", "app-v1")]);
    let state = tempfile::tempdir().unwrap();
    let template = fixture("runs/parameters.yaml");
    let source = format!("App={}", src.path());
    // The image comes from a parameter nobody gave: the run cannot start, and
    // says which flag gives it.
    let r = run(
        state.path(),
        &template,
        &[
            "--source",
            &source,
            "--parameter",
            "AppName=shop",
            "--parameter",
            "ServiceName=cart",
        ],
    );
    assert_eq!(r.code, 2, "{}", r.log());
    assert!(
        r.stderr.contains("parameter 'BuildImage' has no value: 'param-BuildImage' stands in for it"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("stage 'Build', action 'Compile': the image of project 'cart-build' (param-BuildImage) depends on parameter 'BuildImage', which has no value ('param-BuildImage' stands in for it): give it with --parameter BuildImage=..."), "{}", r.stderr);
    let r = run_parameters(state.path(), &src, "shop", &["--parameter", "Stage=prod"]);
    assert_eq!(r.code, 0, "{}", r.log());
    assert!(
        r.stdout.contains("building for prod from app-v1"),
        "{}",
        r.stdout
    );
    assert_eq!(r.record()["pipelineName"], "shop-pipeline");
}

#[test]
fn a_code_zip_source_carries_symlinks_as_files_holding_their_target() {
    let src = Repo::new(&[("real.txt", "the real content")]);
    std::os::unix::fs::symlink("real.txt", src.dir.path().join("app.txt")).unwrap();
    src.commit("a link");
    let state = tempfile::tempdir().unwrap();
    let r = run_parameters(state.path(), &src, "links", &["--executor", "host"]);
    assert_eq!(r.code, 0, "{}", r.log());
    // As CodePipeline's CODE_ZIP delivers it: the link's target path, as text.
    assert!(
        r.stdout.contains("building for dev from real.txt\n"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout.contains("symbolic links become plain files holding their target path, as in CodePipeline's CODE_ZIP artifact (OutputArtifactFormat CODEBUILD_CLONE_REF keeps them): app.txt"),
        "{}",
        r.stdout
    );
    let mut zip = crate::common::artifact(&r.state, &r.action("App"), "links-SourceArtifact");
    let entry = zip.by_name("app.txt").unwrap();
    assert!(!entry.is_symlink());
}

#[test]
fn a_buildspec_secret_is_exported_with_its_value_and_masked_in_every_log() {
    if !docker_available() {
        return;
    }
    let src = Repo::new(&[("app.txt", "x")]);
    let state = tempfile::tempdir().unwrap();
    let secrets = state.path().join("secrets.yml");
    std::fs::write(
        &secrets,
        "parameters:\n  /app/db-pass: hunter2-db\nsecrets:\n  app-token: hunter2-token\n",
    )
    .unwrap();
    let source = format!("App={}", src.path());
    let r = run(
        state.path(),
        &fixture("runs/exported-secrets.yaml"),
        &[
            "--source",
            &source,
            "--secrets-file",
            secrets.to_str().unwrap(),
        ],
    );
    assert_eq!(r.code, 0, "{}", r.log());
    // The buildspec's own parameter-store variable is exported with its value;
    // the project's secrets-manager variable is not exported at all.
    let vars = &r.action("Export")["output"]["outputVariables"];
    assert_eq!(vars["DB_PASS"], "hunter2-db", "{vars}");
    assert!(vars.get("PROJECT_TOKEN").is_none(), "{vars}");
    // It reaches the later action, whose log masks it as the first one's does.
    assert!(
        r.stdout.contains("[Build/Export] db is ***\n"),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("[Build/Use] got ***\n"), "{}", r.stdout);
    assert!(!r.log().contains("hunter2"), "{}", r.log());
    let id = r.record()["pipelineExecutionId"]
        .as_str()
        .unwrap()
        .to_string();
    let stored = command(state.path()).args(["logs", &id]).output().unwrap();
    let stored = String::from_utf8_lossy(&stored.stdout);
    assert!(stored.contains("got ***"), "{stored}");
    assert!(!stored.contains("hunter2"), "{stored}");
}

#[test]
fn a_project_defined_nowhere_stops_the_run_unless_assumed() {
    if !docker_available() {
        return;
    }
    let src = Repo::new(&[(
        "buildspec.yml",
        "version: 0.2\nphases:\n  build:\n    commands:\n      - echo \"from the source's buildspec in $CODEBUILD_BUILD_IMAGE\"\n",
    )]);
    let state = tempfile::tempdir().unwrap();
    let source = format!("Code={}", src.path());
    let pipeline = fixture("runs/undefined-project.json");
    let r = run(state.path(), &pipeline, &["--source", &source]);
    assert_eq!(r.code, 2, "{}", r.log());
    assert!(
        r.stderr
            .contains("CodeBuild project 'owned-by-another-stack' is not defined"),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr.contains("--assume-undefined-projects"),
        "{}",
        r.stderr
    );
    let r = run(
        state.path(),
        &pipeline,
        &[
            "--source",
            &source,
            "--assume-undefined-projects",
            "--default-image",
            "pipelocal/busybox",
        ],
    );
    assert_eq!(r.code, 0, "{}", r.log());
    assert!(r.stdout.contains("CodeBuild project 'owned-by-another-stack' is defined nowhere: assumed (--assume-undefined-projects) with image pipelocal/busybox and the buildspec.yml of the primary input artifact"), "{}", r.stdout);
    assert!(
        r.stdout
            .contains("from the source's buildspec in pipelocal/busybox\n"),
        "{}",
        r.stdout
    );
    // The configuration key does the same.
    let config = state.path().join("config.yml");
    std::fs::write(
        &config,
        "assume-undefined-projects: true\ndefault-image: pipelocal/busybox\n",
    )
    .unwrap();
    let out = command(state.path())
        .env("PIPELOCAL_CONFIG", &config)
        .arg("run")
        .arg(&pipeline)
        .args(["--source", &source])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
