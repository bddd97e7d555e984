//! `pipelocal graph` draws every fixture pipeline in each format; the drawings
//! of one pipeline are pinned as snapshots.


use crate::common::{files_under, fixture, pipelocal};

#[test]
fn draws_every_fixture_pipeline_in_every_format() {
    let mut files = files_under(&fixture("pipelines"));
    files.push(fixture("example/pipeline.yaml"));
    for file in files {
        for format in ["text", "mermaid", "dot"] {
            let out = pipelocal(&["graph", file.to_str().unwrap(), "--format", format]);
            assert_eq!(out.code, 0, "{} {format}: {}", file.display(), out.stderr);
            assert!(!out.stdout.is_empty());
        }
    }
}

#[test]
fn text_shows_parallel_groups_side_by_side_and_artifact_flow() {
    let out = pipelocal(&["graph", "fixtures/pipelines/parallel-actions.json"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    insta::assert_snapshot!("parallel_text", out.stdout);
}

#[test]
fn mermaid_and_dot_connect_producers_to_consumers() {
    let mermaid = pipelocal(&[
        "graph",
        "fixtures/pipelines/multi-input-output.get-pipeline.json",
        "--format",
        "mermaid",
    ]);
    insta::assert_snapshot!("multi_io_mermaid", mermaid.stdout);
    let dot = pipelocal(&[
        "graph",
        "fixtures/pipelines/multi-input-output.get-pipeline.json",
        "--format",
        "dot",
    ]);
    insta::assert_snapshot!("multi_io_dot", dot.stdout);
}

#[test]
fn graph_of_a_broken_file_exits_2() {
    let out = pipelocal(&["graph", "fixtures/invalid/pipelines/malformed.json"]);
    assert_eq!(out.code, 2);
    assert!(
        out.stderr.contains("malformed.json:5: invalid JSON"),
        "{}",
        out.stderr
    );
}
