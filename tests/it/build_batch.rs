//! `pipelocal build --batch` (CodeBuild User Guide, "Batch builds in CodeBuild"): each kind of batch, order,
//! concurrency, fast-fail and ignore-failure.


use crate::common::{executors, Exec, Project};

struct Batch {
    code: i32,
    log: String,
    record: serde_json::Value,
}

fn run_batch(p: &Project, exec: Exec, extra: &[&str]) -> Batch {
    let b = p.build(exec, &[&["--batch"], extra].concat());
    Batch {
        code: b.code,
        log: b.log,
        record: b.record,
    }
}

impl Batch {
    fn statuses(&self) -> Vec<(String, String)> {
        self.record["buildGroups"]
            .as_array()
            .unwrap()
            .iter()
            .map(|g| {
                let s = g["currentBuildSummary"]["buildStatus"]
                    .as_str()
                    .unwrap_or("NOT_STARTED");
                (g["identifier"].as_str().unwrap().to_string(), s.to_string())
            })
            .collect()
    }

    /// (start, end) of a build of the batch, from its own record.
    fn span(&self, id: &str) -> (f64, f64) {
        let b = &self.record["builds"][id];
        (
            b["startTime"].as_f64().unwrap(),
            b["endTime"].as_f64().unwrap(),
        )
    }
}

const PHASES: &str = "phases:\n  build:\n    commands:\n      - echo \"id=$CODEBUILD_BATCH_BUILD_IDENTIFIER v=$V\"\n      - sleep 1\n      - test \"$FAIL\" != yes\n";

#[test]
fn a_build_list_runs_concurrently_with_task_variables() {
    for exec in executors() {
        let p = Project::new(&format!(
            "version: 0.2\nbatch:\n  build-list:\n    - identifier: one\n      env:\n        variables:\n          V: first\n    - identifier: two\n      env:\n        variables:\n          V: second\n    - identifier: three\n{PHASES}"
        ));
        let b = run_batch(&p, exec, &[]);
        assert_eq!(b.code, 0, "{exec:?}: {}", b.log);
        assert_eq!(b.record["buildBatchStatus"], "SUCCEEDED");
        assert!(
            b.log.contains("[one] id=one v=first\n")
                && b.log.contains("[two] id=two v=second\n")
                && b.log.contains("[three] id=three v=\n"),
            "{}",
            b.log
        );
        // All three were running at the same moment.
        let spans: Vec<(f64, f64)> = ["one", "two", "three"]
            .iter()
            .map(|id| b.span(id))
            .collect();
        let latest_start = spans.iter().map(|s| s.0).fold(f64::MIN, f64::max);
        let earliest_end = spans.iter().map(|s| s.1).fold(f64::MAX, f64::min);
        assert!(latest_start < earliest_end, "{exec:?}: {spans:?}");
        let arn = b.record["arn"].as_str().unwrap();
        assert!(
            arn.starts_with("arn:aws:codebuild:us-east-1:123456789012:build-batch/"),
            "{arn}"
        );
    }
}

#[test]
fn the_concurrency_limit_holds() {
    let p = Project::new(&format!("version: 0.2\nbatch:\n  build-list:\n    - identifier: a\n    - identifier: b\n    - identifier: c\n{PHASES}"));
    let b = run_batch(&p, Exec::Host, &["--batch-concurrency", "1"]);
    assert_eq!(b.code, 0, "{}", b.log);
    let mut spans: Vec<(f64, f64)> = ["a", "b", "c"].iter().map(|id| b.span(id)).collect();
    spans.sort_by(|x, y| x.0.partial_cmp(&y.0).unwrap());
    assert!(
        spans[0].1 <= spans[1].0 && spans[1].1 <= spans[2].0,
        "{spans:?}"
    );
}

#[test]
fn a_build_graph_waits_for_dependencies_and_ignores_allowed_failures() {
    for exec in executors() {
        let p = Project::new(&format!(
            "version: 0.2\nbatch:\n  build-graph:\n    - identifier: compile\n    - identifier: flaky\n      ignore-failure: true\n      env:\n        variables:\n          FAIL: \"yes\"\n    - identifier: publish\n      depend-on:\n        - compile\n        - flaky\n{PHASES}"
        ));
        let b = run_batch(&p, exec, &[]);
        assert_eq!(b.code, 0, "{exec:?}: {}", b.log);
        assert_eq!(
            b.statuses(),
            vec![
                ("compile".into(), "SUCCEEDED".into()),
                ("flaky".into(), "FAILED".into()),
                ("publish".into(), "SUCCEEDED".into())
            ]
        );
        assert!(
            b.span("publish").0 >= b.span("compile").1 && b.span("publish").0 >= b.span("flaky").1
        );
        assert_eq!(
            b.record["buildGroups"][2]["dependsOn"],
            serde_json::json!(["compile", "flaky"])
        );
    }
}

#[test]
fn a_failed_dependency_stops_its_dependants_and_fails_the_batch() {
    let p = Project::new(&format!(
        "version: 0.2\nbatch:\n  build-graph:\n    - identifier: compile\n      env:\n        variables:\n          FAIL: \"yes\"\n    - identifier: publish\n      depend-on: [compile]\n{PHASES}"
    ));
    let b = run_batch(&p, Exec::Host, &[]);
    assert_eq!(b.code, 1);
    assert_eq!(b.record["buildBatchStatus"], "FAILED");
    assert_eq!(
        b.statuses(),
        vec![
            ("compile".into(), "FAILED".into()),
            ("publish".into(), "NOT_STARTED".into())
        ]
    );
}

#[test]
fn a_matrix_builds_the_cartesian_product() {
    for exec in executors() {
        let p = Project::new(&format!(
            "version: 0.2\nbatch:\n  build-matrix:\n    dynamic:\n      buildspec:\n        - buildspec.yml\n        - other.yml\n      env:\n        variables:\n          V:\n            - x\n            - y\n            - z\n{PHASES}"
        ));
        p.file(
            "other.yml",
            "version: 0.2\nphases:\n  build:\n    commands:\n      - echo \"other v=$V\"\n",
        );
        let b = run_batch(&p, exec, &["--batch-concurrency", "6"]);
        assert_eq!(b.code, 0, "{exec:?}: {}", b.log);
        assert_eq!(b.statuses().len(), 6);
        for (id, line) in [
            ("build1", "id=build1 v=x"),
            ("build3", "id=build3 v=z"),
            ("build4", "other v=x"),
            ("build6", "other v=z"),
        ] {
            assert!(
                b.log.contains(&format!("[{id}] {line}\n")),
                "{exec:?} {id}: {}",
                b.log
            );
        }
    }
}

#[test]
fn fast_fail_stops_the_other_builds() {
    let p = Project::new(
        "version: 0.2\nbatch:\n  fast-fail: true\n  build-list:\n    - identifier: quick_fail\n      env:\n        variables:\n          QUICK: \"yes\"\n    - identifier: slow\nphases:\n  build:\n    commands:\n      - if [ \"$QUICK\" = yes ]; then exit 1; fi; sleep 30\n",
    );
    let started = std::time::Instant::now();
    let b = run_batch(&p, Exec::Host, &[]);
    assert_eq!(b.code, 1);
    assert!(
        started.elapsed() < std::time::Duration::from_secs(20),
        "slow was not stopped"
    );
    assert_eq!(
        b.statuses(),
        vec![
            ("quick_fail".into(), "FAILED".into()),
            ("slow".into(), "STOPPED".into())
        ]
    );
}

#[test]
fn a_fanout_starts_identical_builds() {
    let p = Project::new("version: 0.2\nbatch:\n  build-fanout:\n    parallelism: 3\nphases:\n  build:\n    commands:\n      - echo \"shard $CODEBUILD_BATCH_BUILD_IDENTIFIER\"\n");
    let b = run_batch(&p, Exec::Host, &[]);
    assert_eq!(b.code, 0, "{}", b.log);
    for n in 1..=3 {
        assert!(
            b.log.contains(&format!("[build{n}] shard build{n}\n")),
            "{}",
            b.log
        );
    }
}

/// `codebuild-tests-run` gives each fan-out build its own slice of the test
/// files: together the shards run every file once.
#[test]
fn fanout_shards_split_the_test_files_with_codebuild_tests_run() {
    for exec in executors() {
        for strategy in ["equal-distribution", "stability"] {
            let p = Project::new(&format!(
                "version: 0.2\nbatch:\n  build-fanout:\n    parallelism: 3\nphases:\n  build:\n    commands:\n      - |\n        codebuild-tests-run \\\n          --test-command 'sh run.sh' \\\n          --files-search \"codebuild-glob-search 'tests/**/*_test.sh'\" \\\n          --sharding-strategy {strategy}\n"
            ));
            let files = [
                "tests/a_test.sh",
                "tests/b_test.sh",
                "tests/deep/c_test.sh",
                "tests/deep/d e_test.sh",
                "tests/e_test.sh",
                "tests/not_a_test.txt",
            ];
            for f in files {
                p.file(f, "true\n");
            }
            p.file("run.sh", "for f; do echo \"ran $f\"; done\necho \"count $(printf '%s\\n' \"$CODEBUILD_CURRENT_SHARD_FILES\" | grep -c .)\"\n");
            let b = run_batch(&p, exec, &[]);
            assert_eq!(b.code, 0, "{exec:?} {strategy}: {}", b.log);
            let mut ran: Vec<String> = Vec::new();
            for line in b.log.lines() {
                if let Some((_, file)) = line.split_once("] ran ") {
                    ran.push(file.to_string());
                }
            }
            ran.sort();
            assert_eq!(ran, files[..5].to_vec(), "{exec:?} {strategy}: {}", b.log);
            if strategy == "equal-distribution" {
                // Five sorted files over three shards: slices of 2, 2 and 1.
                for (n, count) in [(1, 2), (2, 2), (3, 1)] {
                    assert!(
                        b.log.contains(&format!("[build{n}] count {count}\n")),
                        "{}",
                        b.log
                    );
                }
            }
        }
    }
}

#[test]
fn batch_without_a_batch_section_exits_2() {
    let p = Project::new("version: 0.2\nphases:\n  build:\n    commands:\n      - echo hi\n");
    let out = crate::common::pipelocal(&["build", "-s", p.path(), "--batch", "--executor", "host"]);
    assert_eq!(out.code, 2);
    assert!(
        out.stderr
            .contains("--batch: the buildspec has no `batch` section"),
        "{}",
        out.stderr
    );
}
