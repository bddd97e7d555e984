//! `pipelocal run --from-execution` end to end on the host executor (the
//! tests are about which revisions and values a run takes, not where its
//! commands run): real git repositories made by
//! `fixtures/cloud/make-app-repo.sh`, the real binary, and the cloud records
//! of `fixtures/cloud/` (shaped like AWS's API reference).

use std::path::{Path, PathBuf};

use crate::common::{fixture, git, newest_record};

/// The commit `fixtures/cloud/get-pipeline-execution.json` pins (it fails).
const PINNED: &str = "7e0048ef0ae09b65dbd2ba8fa827000118f0b66e";
/// HEAD of the fixture repository (it passes).
const HEAD: &str = "72ec9f7b2de10b61ced71760d973299da9288204";

/// A finished `pipelocal run`.
type Ran = crate::common::Output;

fn log_of(r: &Ran) -> String {
    format!("{}\n{}", r.stdout, r.stderr)
}

/// `pipelocal run ARGS` on the host executor with no user configuration.
fn run(state: &Path, args: &[&str]) -> Ran {
    let mut all = vec!["run"];
    all.extend_from_slice(args);
    all.extend(["--executor", "host", "--plain"]);
    let env = [
        ("PIPELOCAL_CONFIG", std::ffi::OsStr::new("/dev/null")),
        ("PIPELOCAL_STATE_DIR", state.as_os_str()),
    ];
    crate::common::pipelocal_env(&all, &env)
}

/// The fixture repository, made fresh in a temporary folder.
fn app_repo() -> (tempfile::TempDir, PathBuf) {
    let (dir, app) = crate::common::cloud_app_repo();
    assert_eq!(git(&app, &["rev-parse", "HEAD"]), HEAD, "the fixture's commits are fixed");
    (dir, app)
}

fn shop_args(app: &Path) -> Vec<String> {
    vec![
        fixture("cloud/pipeline.json").display().to_string(),
        "--projects".into(),
        fixture("cloud/projects.json").display().to_string(),
        "--source".into(),
        format!("Code={}", app.display()),
    ]
}

fn strs(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

#[test]
fn the_pinned_commit_fails_as_in_the_cloud_while_head_passes() {
    let (_dir, app) = app_repo();
    let state = tempfile::tempdir().unwrap();
    let mut args = shop_args(&app);
    args.extend([
        "--from-execution".to_string(),
        fixture("cloud/get-pipeline-execution.json").display().to_string(),
        "--action-executions".to_string(),
        fixture("cloud/list-action-executions.json").display().to_string(),
    ]);
    let r = run(state.path(), &strs(&args));
    assert_eq!(r.code, 1, "the pinned commit fails: {}", log_of(&r));
    let log = log_of(&r);
    // Which revision, and the execution's variable value.
    assert!(log.contains("Source Code: commit 7e0048ef0ae0 (as in execution 3137f7cb-7cf7-4e4f-9ac4-5b3e2b4a1c2d)"), "{log}");
    assert!(log.contains("greeting: helo"), "{log}");
    assert!(log.contains("deploying to staging"), "{log}");
    // The definition is version 3, the execution ran version 2.
    assert!(log.contains("ran version 2 of the pipeline, and this definition is version 3"), "{log}");
    // The cloud's statuses beside this run's.
    assert!(log.contains("Beside cloud execution 3137f7cb-7cf7-4e4f-9ac4-5b3e2b4a1c2d (Failed: Stage Build failed):"), "{log}");
    let unit = log
        .lines()
        .find(|l| l.trim_start().starts_with("Build/Unit ") && l.contains("cloud:"))
        .unwrap_or_else(|| panic!("no Build/Unit line: {log}"));
    assert!(unit.contains("Failed") && unit.contains("failure reproduced"), "{unit}");
    assert!(log.contains("Reproduced: the cloud's failure of Build/Unit fails here too."), "{log}");
    let record = newest_record(state.path());
    assert_eq!(record["sourceRevisions"][0]["revisionId"], PINNED);
    assert_eq!(record["variables"][0]["resolvedValue"], "staging");
    assert!(record["trigger"]["triggerDetail"].as_str().unwrap().contains("--from-execution"));
    // The working tree and HEAD are as they were.
    assert_eq!(git(&app, &["rev-parse", "HEAD"]), HEAD);
    assert_eq!(git(&app, &["status", "--porcelain"]), "");
    assert_eq!(std::fs::read_to_string(app.join("greeting.txt")).unwrap(), "hello\n");

    // Without the execution: HEAD, the default variable, and it passes.
    let r = run(state.path(), &strs(&shop_args(&app)));
    assert_eq!(r.code, 0, "HEAD passes: {}", log_of(&r));
    assert!(log_of(&r).contains("deploying to dev"), "{}", log_of(&r));
    assert_eq!(newest_record(state.path())["sourceRevisions"][0]["revisionId"], HEAD);
}

#[test]
fn a_commit_the_clone_lacks_stops_the_run_naming_the_fetch() {
    let other = crate::common::git_repo(&[("buildspec.yml", "version: 0.2\n")]);
    let state = tempfile::tempdir().unwrap();
    let mut args = shop_args(other.path());
    args.extend([
        "--from-execution".to_string(),
        fixture("cloud/get-pipeline-execution.json").display().to_string(),
    ]);
    let r = run(state.path(), &strs(&args));
    assert_eq!(r.code, 2, "{}", log_of(&r));
    let line = r.stderr.trim();
    assert_eq!(line.lines().count(), 1, "one line: {line}");
    assert!(line.starts_with("error: "), "{line}");
    assert!(line.contains("get-pipeline-execution.json:9"), "{line}");
    assert!(line.contains(&format!("commit {PINNED} of source Code is not in the clone")), "{line}");
    assert!(line.contains(&format!("fetch origin {PINNED}")), "{line}");
    assert!(!state.path().join("pipelines").exists(), "nothing ran");
}

#[test]
fn unusable_records_are_refused_before_anything_runs() {
    let (_dir, app) = app_repo();
    let state = tempfile::tempdir().unwrap();
    let files = tempfile::tempdir().unwrap();
    let with = |from: &Path, actions: Option<&Path>| {
        let mut args = shop_args(&app);
        args.extend(["--from-execution".to_string(), from.display().to_string()]);
        if let Some(a) = actions {
            args.extend(["--action-executions".to_string(), a.display().to_string()]);
        }
        run(state.path(), &strs(&args))
    };
    // Not JSON.
    let broken = files.path().join("broken.json");
    std::fs::write(&broken, "{\n  \"pipelineExecution\": {\n    \"pipelineName\": \"shop\",,\n").unwrap();
    let r = with(&broken, None);
    assert_eq!(r.code, 2, "{}", log_of(&r));
    assert!(r.stderr.contains("broken.json:3") && r.stderr.contains("invalid JSON"), "{}", r.stderr);
    // Missing.
    let r = with(&files.path().join("missing.json"), None);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("missing.json: cannot read file"), "{}", r.stderr);
    // An action the pipeline does not have.
    let actions = files.path().join("actions.json");
    let text = std::fs::read_to_string(fixture("cloud/list-action-executions.json"))
        .unwrap()
        .replace("\"actionName\": \"Unit\"", "\"actionName\": \"Lint\"");
    std::fs::write(&actions, text).unwrap();
    let r = with(&fixture("cloud/get-pipeline-execution.json"), Some(&actions));
    assert_eq!(r.code, 2, "{}", log_of(&r));
    assert!(r.stderr.contains("actions.json:3"), "{}", r.stderr);
    assert!(r.stderr.contains("pipeline shop has no action Build/Lint (its actions: Source/Code, Build/Unit)"), "{}", r.stderr);
    // The records of another pipeline's execution.
    let r = with(&fixture("cloud/v2-get-pipeline-execution.json"), None);
    assert_eq!(r.code, 2, "{}", log_of(&r));
    assert!(r.stderr.contains("Data is not an output artifact of a source action of pipeline shop"), "{}", r.stderr);
    // --action-executions alone means nothing.
    let mut args = shop_args(&app);
    args.extend(["--action-executions".to_string(), actions.display().to_string()]);
    let r = run(state.path(), &strs(&args));
    assert_eq!(r.code, 2, "{}", log_of(&r));
    assert!(r.stderr.contains("--from-execution"), "{}", r.stderr);
    assert!(!state.path().join("pipelines").exists(), "nothing ran");
}

/// A zip of one `data.txt`, as an S3 source object.
fn data_zip(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let mut w = zip::ZipWriter::new(std::fs::File::create(path).unwrap());
    w.start_file("data.txt", zip::write::SimpleFileOptions::default())
        .unwrap();
    std::io::Write::write_all(&mut w, text.as_bytes()).unwrap();
    w.finish().unwrap();
}

#[test]
fn an_s3_source_takes_the_version_the_local_bucket_keeps() {
    const VERSION: &str = "3sL4kqtJlcpXroDTDmJ.rmSpXd3dIbrHY";
    let src = crate::common::git_repo(&[("app.txt", "hello from git\n")]);
    let state = tempfile::tempdir().unwrap();
    let bucket = state.path().join("s3/flow-inputs");
    data_zip(&bucket.join("data.zip"), "data of today\n");
    let args = [
        fixture("runs/v2.json").display().to_string(),
        "--projects".into(),
        fixture("runs/projects.json").display().to_string(),
        "--source".into(),
        format!("Code={}", src.path().display()),
        "--from-execution".into(),
        fixture("cloud/v2-get-pipeline-execution.json").display().to_string(),
    ];
    // The local bucket does not keep that version yet: how to put it there.
    let r = run(state.path(), &strs(&args));
    assert_eq!(r.code, 2, "{}", log_of(&r));
    assert!(
        r.stderr.contains(&format!("aws s3api get-object --bucket flow-inputs --key data.zip --version-id {VERSION} ")),
        "{}",
        r.stderr
    );
    data_zip(&bucket.join(".versions/data.zip").join(VERSION), "data of that execution\n");
    let r = run(state.path(), &strs(&args));
    assert_eq!(r.code, 0, "{}", log_of(&r));
    let log = log_of(&r);
    assert!(log.contains("[Build/Cmds] data of that execution"), "{log}");
    assert!(!log.contains("data of today"), "{log}");
    assert!(log.contains("greeting=from-the-cloud"), "{log}");
    assert!(log.contains("names no revision for source action Code: it takes its local input as it is"), "{log}");
    let record = newest_record(state.path());
    let bundle = crate::common::action(&record, "Bundle");
    assert_eq!(bundle["output"]["outputVariables"]["VersionId"], VERSION);
    // An execution started with an S3_OBJECT_KEY revision names an object of the bucket.
    data_zip(&bucket.join("archive/data-v1.zip"), "data of the archive\n");
    let by_key = state.path().join("by-key.json");
    let text = std::fs::read_to_string(fixture("cloud/v2-get-pipeline-execution.json"))
        .unwrap()
        .replace(VERSION, "archive/data-v1.zip");
    std::fs::write(&by_key, text).unwrap();
    let mut keyed = args[..5].to_vec();
    keyed.extend(["--from-execution".to_string(), by_key.display().to_string()]);
    let r = run(state.path(), &strs(&keyed));
    assert_eq!(r.code, 0, "{}", log_of(&r));
    assert!(log_of(&r).contains("[Build/Cmds] data of the archive"), "{}", log_of(&r));
    // A --variable still wins over the execution's value.
    let mut again = args.to_vec();
    again.extend(["--variable".to_string(), "Greeting=mine".to_string()]);
    let r = run(state.path(), &strs(&again));
    assert_eq!(r.code, 0, "{}", log_of(&r));
    assert!(log_of(&r).contains("greeting=mine"), "{}", log_of(&r));
}

#[test]
fn an_ecr_source_takes_the_local_image_with_the_pinned_digest() {
    if !crate::common::docker_available() {
        return;
    }
    // A repository name of its own: the ECR test of pipeline_run tags another.
    let repository = "pipelocal-test-ecr-pin";
    let files = tempfile::tempdir().unwrap();
    let pipeline = files.path().join("ecr.json");
    let text = std::fs::read_to_string(fixture("runs/ecr.json"))
        .unwrap()
        .replace("\"pipelocal-test-ecr\"", &format!("\"{repository}\""));
    std::fs::write(&pipeline, text).unwrap();
    let docker = |args: &[&str]| {
        let out = std::process::Command::new("docker").args(args).output().unwrap();
        assert!(out.status.success(), "docker {args:?}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    };
    let image = format!("{repository}:v1");
    docker(&["tag", crate::common::BUSYBOX, &image]);
    let digest = docker(&["image", "inspect", "--format", "{{.Id}}", &image]);
    let execution = |revision: &str| {
        let path = files.path().join("execution.json");
        let record = serde_json::json!({"pipelineExecution": {
            "pipelineName": "ecr",
            "pipelineVersion": 1,
            "pipelineExecutionId": "5d7e9f10-2a3b-4c5d-8e9f-0a1b2c3d4e5f",
            "status": "Succeeded",
            "artifactRevisions": [{"name": "Img", "revisionId": revision}]
        }});
        std::fs::write(&path, serde_json::to_string_pretty(&record).unwrap()).unwrap();
        path
    };
    let state = tempfile::tempdir().unwrap();
    let args = |file: &Path| {
        vec![
            pipeline.display().to_string(),
            "--projects".into(),
            fixture("runs/projects.json").display().to_string(),
            "--from-execution".into(),
            file.display().to_string(),
        ]
    };
    let r = run(state.path(), &strs(&args(&execution(&digest))));
    let missing = "sha256:0000000000000000000000000000000000000000000000000000000000000000";
    let refused = run(state.path(), &strs(&args(&execution(missing))));
    docker(&["rmi", &image]);
    assert_eq!(r.code, 0, "{}", log_of(&r));
    assert!(log_of(&r).contains(&format!("Source Image: image {image} ({digest})")), "{}", log_of(&r));
    let record = newest_record(state.path());
    let source = crate::common::action(&record, "Image");
    assert_eq!(source["output"]["outputVariables"]["ImageDigest"], digest.as_str());
    assert_eq!(refused.code, 2, "{}", log_of(&refused));
    assert!(
        refused.stderr.contains(&format!("docker pull ACCOUNT.dkr.ecr.REGION.amazonaws.com/{repository}@{missing}")),
        "{}",
        refused.stderr
    );
}
