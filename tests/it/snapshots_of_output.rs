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
