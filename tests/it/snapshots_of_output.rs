//! What users read, checked whole as snapshots (insta) instead of piecemeal:
//! `validate`'s problems and CodeBuild's `[Container]` log. Times and
//! temporary paths are filtered out; everything else must match exactly
//! (`cargo insta review` after a deliberate change).

use crate::common::{fixture, pipelocal, Exec, Project};

#[test]
fn validate_names_file_line_pipeline_stage_and_action_of_each_problem() {
    let file = fixture("invalid/pipelines/several-pipelines.yaml");
    let rel = file.strip_prefix(crate::common::repo()).unwrap();
    let out = pipelocal(&["validate", rel.to_str().unwrap()]);
    assert_eq!(out.code, 1, "{}{}", out.stdout, out.stderr);
    insta::assert_snapshot!("validate_several_pipelines", out.stdout + &out.stderr);
}

#[test]
fn the_container_log_of_a_failing_build_with_finally() {
    let p = Project::new(
        "version: 0.2\nenv:\n  variables:\n    GREETING: hello\nphases:\n  install:\n    commands:\n      - echo \"$GREETING\"\n  build:\n    commands:\n      - echo building\n      - sh -c \"exit 4\"\n    finally:\n      - echo cleanup\n  post_build:\n    commands:\n      - echo post\n",
    );
    // The host executor: the log's format is the runner's, whatever runs it.
    let b = p.build(Exec::Host, &[]);
    assert_eq!(b.code, 1, "{}{}", b.log, b.stderr);
    insta::with_settings!({filters => vec![
        (r"\d{4}/\d{2}/\d{2} \d{2}:\d{2}:\d{2}\.\d{6}", "[TIME]"),
        (r"/[^\s]*/pipelocal-build-[A-Za-z0-9]+", "[BUILD_DIR]"),
    ]}, {
        insta::assert_snapshot!("container_log_failing_build", b.log);
    });
}

#[test]
fn state_json_is_get_pipeline_state_of_a_failed_execution() {
    let src = crate::common::git_repo(&[("app.txt", "hello\n")]);
    let state = tempfile::tempdir().unwrap();
    let env = [
        ("PIPELOCAL_CONFIG", std::ffi::OsStr::new("/dev/null")),
        ("PIPELOCAL_STATE_DIR", state.path().as_os_str()),
    ];
    let source = format!("Code={}", src.path().display());
    let projects = fixture("runs/projects.json");
    let pipeline = fixture("runs/failing.json");
    // Orchestration only: the host executor runs it anywhere.
    let run = crate::common::pipelocal_env(
        &[
            "run",
            pipeline.to_str().unwrap(),
            "--projects",
            projects.to_str().unwrap(),
            "--source",
            &source,
            "--executor",
            "host",
        ],
        &env,
    );
    assert_eq!(run.code, 1, "{}{}", run.stdout, run.stderr);
    let out = crate::common::pipelocal_env(&["state", "failing", "--json"], &env);
    assert_eq!(out.code, 0, "{}", out.stderr);
    insta::with_settings!({filters => vec![
        (r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", "[UUID]"),
        (r"\b[0-9a-f]{40}\b", "[COMMIT]"),
        (r#""(created|updated|lastStatusChange)": [0-9.e+]+"#, r#""$1": [TIME]"#),
    ]}, {
        insta::assert_snapshot!("state_json_failed_execution", out.stdout);
    });
}
