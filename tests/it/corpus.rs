//! Walks the real-world corpus in ../shared/corpus (when this machine has it):
//! every valid file loads without errors, every invalid one fails with a
//! clear message, and nothing panics. Skips when the corpus is absent: the
//! behaviour itself is covered by fixtures.


use crate::common::{files_under, shared};
use pipelocal_model::check_file;

/// Corpus files that are invalid, and the message each must produce.
const INVALID: &[(&str, &str)] = &[
    // 0.1 `commands:` given as one string: CodeBuild cannot read it as a list.
    (
        "aws-samples__codepipeline-nested-cfn__cfn-nested-repo__buildspec.yml",
        "commands must be a list of strings, found a string",
    ),
    // build-graph whose last node depends on an identifier the file never defines.
    (
        "aws-amplify__amplify-cli__codebuild_specs__e2e_workflow_base.yml",
        "depends on `aggregate_e2e_reports`, which this build-graph does not define",
    ),
    // --generate-cli-skeleton output with empty strings and a zero timeout.
    (
        "HsiehShuJeng__codebuild-ecr-sample__create-project.json",
        "timeoutInMinutes 0 is out of range 5-2160",
    ),
    // Copied from documentation with <placeholder> values left in.
    (
        "johnalvero__clamav-s3-mirror__create-project.json",
        "project name '<codebuild-project-name>' must be",
    ),
];

#[test]
fn every_corpus_file_loads_or_fails_clearly() {
    let Some(shared) = shared() else {
        assert_ne!(
            std::env::var("PIPELOCAL_REQUIRE_CORPUS").as_deref(),
            Ok("1"),
            "PIPELOCAL_REQUIRE_CORPUS=1 but ../shared/corpus is missing"
        );
        crate::common::skipped("../shared/corpus is not beside this checkout (PIPELOCAL_REQUIRE_CORPUS=1 makes this a failure)");
        return;
    };
    let files: Vec<_> = files_under(&shared.join("corpus"))
        .into_iter()
        .filter(|p| p.extension().is_none_or(|e| e != "md"))
        .collect();
    assert!(
        files.len() >= 50,
        "corpus looks incomplete: {} files",
        files.len()
    );
    let mut failures = Vec::new();
    for path in &files {
        let name = path.file_name().unwrap().to_str().unwrap();
        let checked = match check_file(path, None) {
            Ok(c) => c,
            Err(e) => {
                failures.push(format!("{name}: not loadable: {e}"));
                continue;
            }
        };
        let errors: Vec<String> = checked
            .problems
            .iter()
            .filter(|p| p.is_error())
            .map(|p| p.to_string())
            .collect();
        match INVALID.iter().find(|(f, _)| *f == name) {
            Some((_, expected)) => {
                if !errors.iter().any(|e| e.contains(expected)) {
                    failures.push(format!(
                        "{name}: expected an error containing `{expected}`, got {errors:?}"
                    ));
                }
                if errors
                    .iter()
                    .any(|e| !e.starts_with(path.to_str().unwrap()))
                {
                    failures.push(format!(
                        "{name}: an error does not name the file: {errors:?}"
                    ));
                }
            }
            None if !errors.is_empty() => {
                failures.push(format!("{name}: valid file rejected: {errors:?}"))
            }
            None => {}
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
