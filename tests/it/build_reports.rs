//! `-r DIR`: every report format CodeBuild takes, from real sample files.


use crate::common::{executors, fixture, Project};

const GROUPS: &[(&str, &str, &str)] = &[
    ("pytest", "pytest-junit.xml", "JUNITXML"),
    ("nunit", "nunit2.xml", "NUNITXML"),
    ("nunit3", "nunit3.xml", "NUNIT3XML"),
    ("testng", "testng-results.xml", "TESTNGXML"),
    ("trx", "results.trx", "VISUALSTUDIOTRX"),
    ("cucumber", "cucumber.json", "CUCUMBERJSON"),
    ("cobertura", "coveragepy-cobertura.xml", "COBERTURAXML"),
    ("clover", "clover.xml", "CLOVERXML"),
    ("jacoco", "jacoco.xml", "JACOCOXML"),
    ("simplecov", "simplecov-resultset.json", "SIMPLECOV"),
];

/// Builds with some of the groups (a project may have at most 5); returns the
/// log, the record and the reports folder.
fn build_groups(
    exec: crate::common::Exec,
    groups: &[(&str, &str, &str)],
    extra_missing: bool,
) -> (crate::common::Built, tempfile::TempDir) {
    let mut spec = String::from("version: 0.2\nphases:\n  build:\n    commands:\n      - mkdir -p out && cp samples/* out/\nreports:\n");
    for (name, file, format) in groups {
        spec.push_str(&format!("  {name}:\n    files:\n      - '{file}'\n    base-directory: out\n    file-format: {format}\n"));
    }
    if extra_missing {
        spec.push_str("  missing:\n    files:\n      - 'nothing/*.xml'\n");
    }
    let p = Project::new(&spec);
    for (_, file, _) in groups {
        p.file(
            &format!("samples/{file}"),
            &std::fs::read_to_string(fixture(&format!("reports/{file}"))).unwrap(),
        );
    }
    let out = tempfile::tempdir().unwrap();
    let b = p.build(
        exec,
        &["--project-name", "calc", "-r", out.path().to_str().unwrap()],
    );
    (b, out)
}

#[test]
fn every_format_is_reported_and_failing_tests_do_not_fail_the_build() {
    for exec in executors() {
        let (tests, coverage) = GROUPS.split_at(5);
        let (b_tests, out_tests) = build_groups(exec, &tests[..4], true);
        let (b_more, out_more) = build_groups(exec, &tests[4..], false);
        let (b_cov, out_cov) = build_groups(exec, coverage, false);
        for b in [&b_tests, &b_more, &b_cov] {
            assert_eq!(
                b.code, 0,
                "{exec:?}: failing test cases must not fail the build: {}",
                b.log
            );
        }
        let report = |name: &str| -> serde_json::Value {
            let file = format!("calc-{name}.json");
            let dir = [&out_tests, &out_more, &out_cov]
                .into_iter()
                .find(|d| d.path().join(&file).exists())
                .expect("report written");
            serde_json::from_str(&std::fs::read_to_string(dir.path().join(file)).unwrap()).unwrap()
        };
        for (name, _, format) in GROUPS {
            let r = report(name);
            assert_eq!(r["fileFormat"], *format);
            let is_coverage =
                ["COBERTURAXML", "CLOVERXML", "JACOCOXML", "SIMPLECOV"].contains(format);
            assert_eq!(
                r["status"],
                if is_coverage { "SUCCEEDED" } else { "FAILED" },
                "{exec:?} {name}"
            );
            assert_eq!(
                r["type"],
                if is_coverage { "CODE_COVERAGE" } else { "TEST" }
            );
        }
        let junit = report("pytest");
        assert_eq!(junit["testSummary"]["total"], 5);
        assert_eq!(
            junit["testSummary"]["statusCounts"],
            serde_json::json!({"FAILED": 2, "SKIPPED": 1, "SUCCEEDED": 2})
        );
        assert_eq!(
            junit["testCases"][0]["status"], "FAILED",
            "failures come first"
        );
        assert_eq!(
            junit["reportGroupArn"],
            "arn:aws:codebuild:us-east-1:123456789012:report-group/calc-pytest"
        );
        let cov = report("cobertura");
        assert_eq!(cov["codeCoverageSummary"]["lineCoveragePercentage"], 75.0);
        assert_eq!(cov["codeCoverageSummary"]["branchCoveragePercentage"], 25.0);
        assert_eq!(report("missing")["status"], "INCOMPLETE");
        assert!(
            b_tests.log.contains(
                "Report calc-pytest: 2 passed, 2 failed, 0 errors, 1 skipped of 5 (FAILED)"
            ),
            "{}",
            b_tests.log
        );
        assert!(
            b_cov
                .log
                .contains("Coverage calc-jacoco: lines 75.00% (12/16), branches 62.50% (5/8)"),
            "{}",
            b_cov.log
        );
        assert_eq!(b_tests.record["reportArns"].as_array().unwrap().len(), 5);
    }
}

#[test]
fn reports_are_made_for_failed_builds_and_masked() {
    for exec in executors() {
        let p = Project::new(
            "version: 0.2\nenv:\n  parameter-store:\n    TOKEN: /t\nphases:\n  build:\n    commands:\n      - printf '<testsuite><testcase classname=\"c\" name=\"leak\"><failure message=\"token %s\"/></testcase></testsuite>' \"$TOKEN\" > junit.xml\n      - exit 1\nreports:\n  unit:\n    files:\n      - junit.xml\n",
        );
        p.file("secrets.yml", "parameters:\n  /t: very-secret-token\n");
        let secrets = format!("{}/secrets.yml", p.path());
        let out = tempfile::tempdir().unwrap();
        let b = p.build(
            exec,
            &[
                "--project-name",
                "leaky",
                "--secrets-file",
                &secrets,
                "-r",
                out.path().to_str().unwrap(),
            ],
        );
        assert_eq!(b.code, 1, "{exec:?}");
        let text = std::fs::read_to_string(out.path().join("leaky-unit.json")).unwrap();
        assert!(text.contains("\"message\": \"token ***\""), "{text}");
        assert!(!text.contains("very-secret-token"));
    }
}
