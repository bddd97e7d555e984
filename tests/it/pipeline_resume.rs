//! `pipelocal retry`, `run --from-stage` and `run --only`: a failed stage
//! runs again with the stored artifacts and variables of the stages before
//! it, and nothing before it runs again.


use std::process::Command;

use crate::common::{attempts, fixture, git_repo, repo};
use serde_json::Value;

struct Setup {
    src: tempfile::TempDir,
    state: tempfile::TempDir,
    config: tempfile::TempDir,
    marker: std::path::PathBuf,
}

impl Setup {
    fn executions(&self) -> Vec<Value> {
        crate::common::executions(self.state.path(), "retry")
    }

    fn new() -> Setup {
        let src = git_repo(&[("app.txt", "hello\n")]);
        let config = tempfile::tempdir().unwrap();
        let marker = config.path().join("fixed");
        // The Check action fails until the marker file exists: the "fix".
        std::fs::write(
            config.path().join("config.yml"),
            format!(
                "actions:\n  Test/Check:\n    command: 'cat bin.txt; echo \"$PIPELOCAL_ACTION_CONFIGURATION\"; test -f {}'\n",
                marker.display()
            ),
        )
        .unwrap();
        Setup {
            src,
            state: tempfile::tempdir().unwrap(),
            config,
            marker,
        }
    }

    fn pipelocal(&self, args: &[&str]) -> (i32, String, String) {
        let out = Command::new(env!("CARGO_BIN_EXE_pipelocal"))
            .current_dir(repo())
            .env("PIPELOCAL_CONFIG", self.config.path().join("config.yml"))
            .env("PIPELOCAL_STATE_DIR", self.state.path())
            .args(args)
            .output()
            .unwrap();
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    fn run(&self, extra: &[&str]) -> (i32, String, String) {
        let source = format!("Code={}", self.src.path().display());
        let projects = fixture("runs/projects.json").display().to_string();
        let pipeline = fixture("runs/retry.json").display().to_string();
        let mut args = vec![
            "run",
            &pipeline,
            "--projects",
            &projects,
            "--source",
            &source,
            // Orchestration only: the host executor runs it anywhere.
            "--executor",
            "host",
        ];
        args.extend_from_slice(extra);
        self.pipelocal(&args)
    }
}

fn fix(setup: &Setup) {
    std::fs::write(&setup.marker, "").unwrap();
}

#[test]
fn retry_reruns_only_the_failed_actions_of_the_same_execution() {
    let s = Setup::new();
    let (code, out, err) = s.run(&[]);
    assert_eq!(code, 1, "{out}{err}");
    let first = &s.executions()[0];
    let id = first["pipelineExecutionId"].as_str().unwrap().to_string();
    assert_eq!(attempts(first, "Check"), vec!["Failed"]);
    assert_eq!(attempts(first, "Lint"), vec!["Succeeded"]);

    fix(&s);
    let (code, out, err) = s.pipelocal(&["retry", &id]);
    assert_eq!(code, 0, "{out}{err}");
    let all = s.executions();
    assert_eq!(all.len(), 1, "a retry is the same execution");
    let record = &all[0];
    assert_eq!(record["pipelineExecutionId"], id.as_str());
    assert_eq!(record["status"], "Succeeded");
    // Nothing before the stage ran again, and in FAILED_ACTIONS mode nor did Lint.
    assert_eq!(attempts(record, "Code"), vec!["Succeeded"]);
    assert_eq!(attempts(record, "Compile"), vec!["Succeeded"]);
    assert_eq!(attempts(record, "Lint"), vec!["Succeeded"]);
    assert_eq!(attempts(record, "Check"), vec!["Failed", "Succeeded"]);
    assert!(
        !out.contains("-> Source/Code") && !out.contains("-> Build/Compile"),
        "{out}"
    );
    // The stored artifact and variable of the Build stage were used.
    assert!(out.contains("[Test/Check] compiled hello"), "{out}");
    assert!(out.contains("2.0.1"), "the VERSION Compile exported: {out}");
    assert_eq!(record["stageRetries"][0]["retryMode"], "FAILED_ACTIONS");
    // One log for the action, both attempts in it.
    let (_, logs, _) = s.pipelocal(&["logs", &id, "Check"]);
    assert_eq!(logs.matches("==> Test/Check").count(), 1, "{logs}");
    assert!(
        logs.contains("==> Test/Check Failed, then Succeeded <=="),
        "{logs}"
    );
    let (_, state, _) = s.pipelocal(&["state", "--json"]);
    let state: Value = serde_json::from_str(&state).unwrap();
    let test = &state["stageStates"][2];
    assert_eq!(test["latestExecution"]["status"], "Succeeded");
    assert_eq!(test["retryStageMetadata"]["manualStageRetryAttempt"], 1);
    assert_eq!(
        test["retryStageMetadata"]["latestRetryTrigger"],
        "ManualStageRetry"
    );

    // Nothing left to retry.
    let (code, _, err) = s.pipelocal(&["retry", &id]);
    assert_eq!(code, 2);
    assert!(err.contains("has no failed or stopped stage"), "{err}");

    // ALL_ACTIONS re-runs every action of the named stage.
    std::fs::remove_file(&s.marker).unwrap();
    let (code, ..) = s.run(&[]);
    assert_eq!(code, 1);
    let second = s.executions()[1]["pipelineExecutionId"]
        .as_str()
        .unwrap()
        .to_string();
    fix(&s);
    let (code, out, err) =
        s.pipelocal(&["retry", &second, "--stage", "Test", "--mode", "all-actions"]);
    assert_eq!(code, 0, "{out}{err}");
    let record = s.executions()[1].clone();
    assert_eq!(attempts(&record, "Lint"), vec!["Succeeded", "Succeeded"]);
    assert_eq!(attempts(&record, "Check"), vec!["Failed", "Succeeded"]);
    assert_eq!(attempts(&record, "Compile"), vec!["Succeeded"]);
    assert_eq!(record["stageRetries"][0]["retryMode"], "ALL_ACTIONS");

    // A stage that succeeded is not retried.
    let (code, _, err) = s.pipelocal(&["retry", &id, "--stage", "Test", "--mode", "all-actions"]);
    assert_eq!(code, 2, "a succeeded stage cannot be retried: {err}");
    assert!(err.contains("StageNotRetryableException"), "{err}");
}

#[test]
fn from_stage_and_only_start_new_executions_with_stored_artifacts() {
    let s = Setup::new();
    let (code, ..) = s.run(&[]);
    assert_eq!(code, 1);
    let first_id = s.executions()[0]["pipelineExecutionId"]
        .as_str()
        .unwrap()
        .to_string();
    fix(&s);

    let (code, out, err) = s.run(&["--from-stage", "Test"]);
    assert_eq!(code, 0, "{out}{err}");
    let second = s.executions()[1].clone();
    assert_ne!(second["pipelineExecutionId"], first_id.as_str());
    assert!(attempts(&second, "Code").is_empty() && attempts(&second, "Compile").is_empty());
    assert_eq!(attempts(&second, "Check"), vec!["Succeeded"]);
    assert_eq!(attempts(&second, "Lint"), vec!["Succeeded"]);
    assert!(second["trigger"]["triggerDetail"]
        .as_str()
        .unwrap()
        .contains(&first_id));

    let (code, out, err) = s.run(&["--only", "Check", "--execution", &first_id]);
    assert_eq!(code, 0, "{out}{err}");
    let third = s.executions()[2].clone();
    let ran = crate::common::ran(&third);
    assert_eq!(ran, vec!["Check"]);

    // That execution holds no Bin: starting from it, Check cannot have its input.
    let third_id = third["pipelineExecutionId"].as_str().unwrap().to_string();
    let (code, out, _) = s.run(&["--from-stage", "Test", "--execution", &third_id]);
    assert_eq!(code, 1, "{out}");
    let fourth = s.executions()[3].clone();
    let check = fourth["actionExecutions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["actionName"] == "Check")
        .unwrap()
        .clone();
    let message = check["output"]["executionResult"]["errorDetails"]["message"]
        .as_str()
        .unwrap();
    assert!(
        message.starts_with("input artifact Bin is not available"),
        "{message}"
    );

    // The first execution is no longer the latest to reach Test: no retry.
    std::fs::remove_file(&s.marker).unwrap();
    let (code, ..) = s.run(&[]);
    assert_eq!(code, 1);
    let failed = s.executions()[4]["pipelineExecutionId"]
        .as_str()
        .unwrap()
        .to_string();
    let (code, ..) = s.run(&["--from-stage", "Test", "--execution", &failed]);
    assert_eq!(code, 1);
    let (code, _, err) = s.pipelocal(&["retry", &failed]);
    assert_eq!(code, 2);
    assert!(err.contains("NotLatestPipelineExecutionException"), "{err}");

    let (code, _, err) = s.run(&["--from-stage", "Nope"]);
    assert_eq!(code, 2);
    assert!(
        err.contains("the pipeline has no stage Nope (its stages: Source, Build, Test)"),
        "{err}"
    );
}
