//! Phase transitions, `finally` and `on-failure` (CodeBuild User Guide, "Build phase transitions"), on every
//! executor available here.


use crate::common::{executors, Project};

fn names(built: &crate::common::Built) -> Vec<String> {
    built.phases().into_iter().map(|(p, _)| p).collect()
}

const ALL_BEFORE_INSTALL: [&str; 4] = ["SUBMITTED", "QUEUED", "PROVISIONING", "DOWNLOAD_SOURCE"];

#[test]
fn a_passing_build_walks_every_phase() {
    for exec in executors() {
        let p =
            Project::new("version: 0.2\nphases:\n  build:\n    commands:\n      - echo hello\n");
        let b = p.build(exec, &[]);
        assert_eq!(b.code, 0, "{exec:?}: {}{}", b.log, b.stderr);
        assert_eq!(b.status(), "SUCCEEDED");
        let mut expected: Vec<&str> = ALL_BEFORE_INSTALL.to_vec();
        expected.extend([
            "INSTALL",
            "PRE_BUILD",
            "BUILD",
            "POST_BUILD",
            "UPLOAD_ARTIFACTS",
            "FINALIZING",
            "COMPLETED",
        ]);
        assert_eq!(names(&b), expected, "{exec:?}");
        assert_eq!(b.record["currentPhase"], "COMPLETED");
        assert!(
            b.log.contains(" Running command echo hello\nhello\n"),
            "{}",
            b.log
        );
        assert!(b.log.contains("Phase complete: BUILD State: SUCCEEDED"));
    }
}

#[test]
fn install_or_pre_build_failure_skips_to_finalizing() {
    for exec in executors() {
        for failing in ["install", "pre_build"] {
            let spec = format!(
                "version: 0.2\nphases:\n  {failing}:\n    commands:\n      - echo before\n      - \"false\"\n      - echo skipped-command\n  build:\n    commands:\n      - echo build-ran\n  post_build:\n    commands:\n      - echo post-ran\n"
            );
            let b = Project::new(&spec).build(exec, &[]);
            assert_eq!(b.code, 1, "{exec:?} {failing}");
            assert_eq!(b.status(), "FAILED");
            let phase = failing.to_uppercase();
            assert_eq!(b.phase_status(&phase).as_deref(), Some("FAILED"));
            for skipped in ["BUILD", "POST_BUILD", "UPLOAD_ARTIFACTS"] {
                assert_eq!(
                    b.phase_status(skipped),
                    None,
                    "{exec:?} {failing}: {skipped} ran"
                );
            }
            assert_eq!(b.phase_status("FINALIZING").as_deref(), Some("SUCCEEDED"));
            assert!(
                !b.log.contains("build-ran")
                    && !b.log.contains("post-ran")
                    && !b.log.contains("skipped-command")
            );
            assert_eq!(
                b.context(&phase),
                (
                    "COMMAND_EXECUTION_ERROR".into(),
                    "Error while executing command: false. Reason: exit status 1".into()
                )
            );
            assert!(b
                .log
                .contains("Command did not exit successfully false exit status 1"));
        }
    }
}

#[test]
fn build_failure_still_runs_post_build_and_upload() {
    for exec in executors() {
        let b = Project::new(
            "version: 0.2\nphases:\n  build:\n    commands:\n      - echo \"in build $CODEBUILD_BUILD_SUCCEEDING\"\n      - exit 3\n  post_build:\n    commands:\n      - echo \"in post $CODEBUILD_BUILD_SUCCEEDING\"\n",
        )
        .build(exec, &[]);
        assert_eq!(b.code, 1);
        assert_eq!(b.phase_status("BUILD").as_deref(), Some("FAILED"));
        assert_eq!(b.phase_status("POST_BUILD").as_deref(), Some("SUCCEEDED"));
        assert_eq!(
            b.phase_status("UPLOAD_ARTIFACTS").as_deref(),
            Some("SUCCEEDED")
        );
        assert_eq!(b.output(), vec!["in build 1", "in post 0"], "{exec:?}");
        assert_eq!(
            b.context("BUILD").1,
            "Error while executing command: exit 3. Reason: exit status 3"
        );
    }
}

#[test]
fn post_build_failure_still_attempts_upload() {
    for exec in executors() {
        let b =
            Project::new("version: 0.2\nphases:\n  post_build:\n    commands:\n      - exit 1\n")
                .build(exec, &[]);
        assert_eq!(b.phase_status("POST_BUILD").as_deref(), Some("FAILED"));
        assert_eq!(
            b.phase_status("UPLOAD_ARTIFACTS").as_deref(),
            Some("SUCCEEDED")
        );
        assert_eq!(b.status(), "FAILED");
    }
}

#[test]
fn invalid_buildspec_fails_download_source_before_any_command() {
    for exec in executors() {
        let b = Project::new("version: 0.2\nphases:\n  build:\n    commands:\n      - echo ran\n      - echo key: value\n").build(exec, &[]);
        assert_eq!(b.code, 1);
        assert_eq!(b.phase_status("DOWNLOAD_SOURCE").as_deref(), Some("FAILED"));
        assert_eq!(b.phase_status("INSTALL"), None);
        let (code, message) = b.context("DOWNLOAD_SOURCE");
        assert_eq!(code, "YAML_FILE_ERROR");
        assert!(
            message.contains("buildspec.yml:6: Expected Commands[1] to be of string type"),
            "{message}"
        );
        assert!(!b.log.contains("Running command"), "{}", b.log);

        let missing = Project::new("version: 0.2\n");
        let b = missing.build(exec, &["-b", "ci/nope.yml"]);
        assert_eq!(b.context("DOWNLOAD_SOURCE").0, "YAML_FILE_ERROR");
        // CodeBuild's words, with the path inside the build environment.
        let (_, message) = b.context("DOWNLOAD_SOURCE");
        assert!(
            message.starts_with("stat ")
                && message.ends_with("/ci/nope.yml: no such file or directory")
                && !message.contains(missing.path()),
            "{:?}",
            b.context("DOWNLOAD_SOURCE")
        );
    }
}

#[test]
fn finally_runs_after_a_failure_and_can_fail_the_phase() {
    for exec in executors() {
        let b = Project::new(
            "version: 0.2\nphases:\n  install:\n    commands:\n      - \"false\"\n      - echo not-run\n    finally:\n      - echo cleanup-one\n      - echo cleanup-two\n",
        )
        .build(exec, &[]);
        assert_eq!(b.output(), vec!["cleanup-one", "cleanup-two"], "{exec:?}");
        assert_eq!(b.phase_status("INSTALL").as_deref(), Some("FAILED"));
        assert_eq!(
            b.context("INSTALL").1,
            "Error while executing command: false. Reason: exit status 1"
        );

        let b = Project::new("version: 0.2\nphases:\n  build:\n    commands:\n      - echo ok\n    finally:\n      - exit 4\n      - echo after\n").build(exec, &[]);
        assert_eq!(b.phase_status("BUILD").as_deref(), Some("FAILED"));
        assert_eq!(b.output(), vec!["ok"]);
        assert_eq!(
            b.context("BUILD").1,
            "Error while executing command: exit 4. Reason: exit status 4"
        );
    }
}

#[test]
fn on_failure_abort_and_continue() {
    for exec in executors() {
        let b = Project::new(
            "version: 0.2\nphases:\n  build:\n    on-failure: ABORT\n    commands:\n      - \"false\"\n  post_build:\n    commands:\n      - echo post\n",
        )
        .build(exec, &[]);
        assert_eq!(
            b.phase_status("POST_BUILD"),
            None,
            "{exec:?}: ABORT must skip post_build"
        );
        assert_eq!(b.phase_status("UPLOAD_ARTIFACTS"), None);
        assert_eq!(b.status(), "FAILED");

        let b = Project::new(
            "version: 0.2\nphases:\n  install:\n    on-failure: CONTINUE\n    commands:\n      - \"false\"\n  pre_build:\n    commands:\n      - echo pre\n  build:\n    commands:\n      - echo build\n",
        )
        .build(exec, &[]);
        assert_eq!(b.phase_status("INSTALL").as_deref(), Some("FAILED"));
        assert_eq!(b.phase_status("PRE_BUILD").as_deref(), Some("SUCCEEDED"));
        assert_eq!(b.output(), vec!["pre", "build"]);
        assert_eq!(b.status(), "FAILED", "CONTINUE still fails the build");
    }
}

#[test]
fn on_failure_retry_forms() {
    for exec in executors() {
        // Fails twice, then passes: RETRY (3 retries) succeeds.
        let flaky = "      - n=$(cat $CODEBUILD_SRC_DIR/count 2>/dev/null || echo 0); n=$((n+1)); echo $n > $CODEBUILD_SRC_DIR/count; echo attempt $n; [ $n -ge 3 ]\n";
        let b = Project::new(&format!(
            "version: 0.2\nphases:\n  build:\n    on-failure: RETRY\n    commands:\n{flaky}"
        ))
        .build(exec, &[]);
        assert_eq!(b.status(), "SUCCEEDED", "{exec:?}: {}", b.log);
        assert_eq!(b.output(), vec!["attempt 1", "attempt 2", "attempt 3"]);

        // RETRY-1: one retry is not enough.
        let b = Project::new(&format!(
            "version: 0.2\nphases:\n  build:\n    on-failure: RETRY-1\n    commands:\n{flaky}"
        ))
        .build(exec, &[]);
        assert_eq!(b.status(), "FAILED");
        assert_eq!(b.output(), vec!["attempt 1", "attempt 2"]);

        // A regex that does not match the error message: no retry.
        let b = Project::new(&format!("version: 0.2\nphases:\n  build:\n    on-failure: RETRY-.*timed out.*\n    commands:\n{flaky}")).build(exec, &[]);
        assert_eq!(b.output(), vec!["attempt 1"]);

        // Count and a matching regex.
        let b = Project::new(&format!("version: 0.2\nphases:\n  build:\n    on-failure: RETRY-5-.*exit status 1\n    commands:\n{flaky}")).build(exec, &[]);
        assert_eq!(b.status(), "SUCCEEDED");
        assert_eq!(b.output().len(), 3);
    }
}
