//! Every pipeline pipelocal ships and every valid pipeline of the corpus
//! runs end to end, or stops with a message that says exactly what to map
//! (an image, a projects file, a source, a local command).


use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common::{docker_available, fixture, repo, shared};
use pipelocal_model::pipeline::{load_pipeline, Category, Provider};

/// Words of the messages that tell what to map.
const HINTS: &[&str] = &[
    "--image-map",
    "--projects",
    "--source",
    ".pipelocal.yml",
    "build or tag it first",
];

fn pipelines() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(fixture("pipelines"))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_file())
        .collect();
    files.push(fixture("pipelines/cdk.out/PipelineStack.template.json"));
    files.push(fixture("example/pipeline.json"));
    files.push(fixture("example/pipeline.yaml"));
    if let Some(shared) = shared() {
        let corpus = shared.join("corpus/pipelines");
        files.extend(
            std::fs::read_dir(corpus)
                .unwrap()
                .flatten()
                .map(|e| e.path()),
        );
    } else if std::env::var("PIPELOCAL_REQUIRE_CORPUS").as_deref() == Ok("1") {
        panic!("PIPELOCAL_REQUIRE_CORPUS=1 but ../shared/corpus is missing");
    }
    files.sort();
    files
}

/// A git repository to stand in for every git source.
fn source_repo() -> tempfile::TempDir {
    crate::common::git_repo(&[("README.md", "source\n")])
}

fn run(file: &Path, src: &Path) -> Option<(i32, String)> {
    let loaded = load_pipeline(file, None).ok()?.into_valid().ok()?;
    let state = tempfile::tempdir().unwrap();
    let config = state.path().join("empty.yml");
    std::fs::write(&config, "").unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_pipelocal"));
    cmd.current_dir(repo())
        .env("PIPELOCAL_CONFIG", &config)
        .env("PIPELOCAL_STATE_DIR", state.path())
        .arg("run")
        .arg(file)
        .args(["--approve", "--plain"]);
    for (_, a) in loaded.pipeline.actions() {
        let t = &a.action_type_id;
        let git = matches!(
            t.kind(),
            Provider::CodeStarSourceConnection | Provider::CodeCommit | Provider::GitHubV1
        );
        if t.category == Category::Source && git {
            cmd.arg("--source")
                .arg(format!("{}={}", a.name, src.display()));
        }
    }
    let out = cmd.output().unwrap();
    Some((
        out.status.code().unwrap_or(-1),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    ))
}

#[test]
fn every_valid_pipeline_runs_or_says_what_to_map() {
    if !docker_available() {
        return;
    }
    let src = source_repo();
    let mut report = Vec::new();
    let mut unclear = Vec::new();
    for file in pipelines() {
        let Some((code, out)) = run(&file, src.path()) else {
            continue; // invalid definitions get their own tests
        };
        let name = file.file_name().unwrap().to_string_lossy().into_owned();
        let hint = HINTS.iter().find(|h| out.contains(*h));
        report.push(format!(
            "{name}: exit {code}, {}",
            hint.unwrap_or(&"no hint")
        ));
        if code != 0 && hint.is_none() {
            unclear.push(format!("{name} (exit {code}):\n{out}"));
        }
    }
    eprintln!("{}", report.join("\n"));
    assert!(report.len() >= 8, "{report:?}");
    assert!(
        unclear.is_empty(),
        "stopped without saying what to map:\n{}",
        unclear.join("\n\n")
    );
}
