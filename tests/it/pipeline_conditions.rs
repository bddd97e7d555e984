//! V2 stage behaviours in `pipelocal run`: `beforeEntry` conditions with
//! VariableCheck rules (SKIP), the automatic `onFailure` RETRY, and ROLLBACK
//! to the artifacts of the last execution that succeeded in the stage.


use std::process::Command;

use crate::common::{attempts, fixture, git, repo};
use serde_json::Value;

struct Setup {
    src: tempfile::TempDir,
    state: tempfile::TempDir,
    work: tempfile::TempDir,
}

impl Setup {
    /// Every execution, oldest first.
    fn executions(&self) -> Vec<Value> {
        crate::common::executions(self.state.path(), "conditions")
    }

    fn new() -> Setup {
        let s = Setup {
            src: tempfile::tempdir().unwrap(),
            state: tempfile::tempdir().unwrap(),
            work: tempfile::tempdir().unwrap(),
        };
        s.commit("hello\n");
        let w = s.work.path().display();
        // Flaky fails on its first attempt only; Verify passes while the marker exists.
        std::fs::write(
            s.work.path().join("config.yml"),
            format!(
                "actions:\n  Staging/Stage:\n    command: echo staging\n  Prod/Flaky:\n    command: 'n=$(cat {w}/count 2>/dev/null || echo 0); n=$((n+1)); echo $n > {w}/count; echo \"attempt $n\"; [ $n -ge 2 ]'\n  Prod/Steady:\n    command: 'echo steady >> {w}/steady'\n  Verify/Verify:\n    command: 'echo \"verifying $PIPELOCAL_ACTION_CONFIGURATION\"; test -f {w}/healthy'\n"
            ),
        )
        .unwrap();
        s
    }

    fn commit(&self, text: &str) -> String {
        std::fs::write(self.src.path().join("app.txt"), text).unwrap();
        let dir = self.src.path();
        if !dir.join(".git").exists() {
            git(dir, &["init", "-q", "-b", "main"]);
        }
        git(dir, &["add", "-A"]);
        git(dir, &["commit", "-q", "-m", "change"]);
        git(dir, &["rev-parse", "HEAD"])
    }

    fn run(&self, extra: &[&str]) -> (i32, String) {
        let source = format!("Code={}", self.src.path().display());
        let projects = fixture("runs/projects.json").display().to_string();
        let pipeline = fixture("runs/conditions.json").display().to_string();
        let out = Command::new(env!("CARGO_BIN_EXE_pipelocal"))
            .current_dir(repo())
            .env("PIPELOCAL_CONFIG", self.work.path().join("config.yml"))
            .env("PIPELOCAL_STATE_DIR", self.state.path())
            .args([
                "run",
                &pipeline,
                "--projects",
                &projects,
                "--source",
                &source,
                // Orchestration only: the host executor runs it anywhere.
                "--executor",
                "host",
            ])
            .args(extra)
            .output()
            .unwrap();
        (
            out.status.code().unwrap_or(-1),
            format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ),
        )
    }
}

impl Setup {
    /// `pipelocal view`'s page of an execution.
    fn page(&self, id: &str) -> String {
        let file = self.work.path().join(format!("{id}.html"));
        let env = [
            ("PIPELOCAL_CONFIG", std::ffi::OsStr::new("/dev/null")),
            ("PIPELOCAL_STATE_DIR", self.state.path().as_os_str()),
        ];
        let out = crate::common::pipelocal_env(&["view", id, "-o", file.to_str().unwrap()], &env);
        assert_eq!(out.code, 0, "{}", out.stderr);
        std::fs::read_to_string(file).unwrap()
    }
}

fn stage_status(record: &Value, stage: &str) -> String {
    record["stages"]
        .as_array()
        .unwrap()
        .iter()
        .rev()
        .find(|s| s["stageName"] == stage)
        .map(|s| s["status"].as_str().unwrap().to_string())
        .unwrap_or_default()
}

#[test]
fn a_variable_check_skips_a_stage_and_a_failed_stage_retries_once() {
    let s = Setup::new();
    std::fs::write(s.work.path().join("healthy"), "").unwrap();
    let (code, out) = s.run(&["--variable", "Deploy=no"]);
    assert_eq!(code, 0, "{out}");
    let record = &s.executions()[0];
    assert_eq!(stage_status(record, "Staging"), "Skipped");
    assert!(attempts(record, "Stage").is_empty());
    let skip = record["conditions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["stageName"] == "Staging")
        .unwrap();
    assert_eq!(skip["status"], "Failed");
    assert_eq!(skip["summary"], "rule WantDeploy failed: no is not EQ yes");
    // Prod's beforeEntry check passed on the exported VERSION.
    let prod_check = record["conditions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["stageName"] == "Prod")
        .unwrap();
    assert_eq!(prod_check["status"], "Succeeded");
    // Flaky failed, the stage retried its failed action once, automatically.
    assert_eq!(attempts(record, "Flaky"), vec!["Failed", "Succeeded"]);
    assert_eq!(attempts(record, "Steady"), vec!["Succeeded"]);
    assert_eq!(record["stageRetries"][0]["trigger"], "AutomatedStageRetry");
    assert_eq!(stage_status(record, "Prod"), "Succeeded");
    assert_eq!(record["status"], "Succeeded");
    // The page marks the skipped stage, its condition and the automatic retry.
    let html = s.page(record["pipelineExecutionId"].as_str().unwrap());
    assert!(html.contains("class=\"stage s-Skipped\" data-stage=\"Staging\""));
    assert!(html.contains(
        "<li class=\"condition s-Failed\">condition BEFORE_ENTRY Failed: rule WantDeploy failed: no is not EQ yes</li>"
    ), "{html}");
    assert!(
        html.contains("<li class=\"retry\">retried (FAILED_ACTIONS, AutomatedStageRetry)"),
        "{html}"
    );
    assert!(html.contains("href=\"#a-Prod-Flaky-2\""), "{html}");
    // get-pipeline-state shows the conditions and the retry.
    let out = Command::new(env!("CARGO_BIN_EXE_pipelocal"))
        .env("PIPELOCAL_CONFIG", s.work.path().join("config.yml"))
        .args(["state", "--json", "--state-dir"])
        .arg(s.state.path())
        .output()
        .unwrap();
    let state: Value = serde_json::from_slice(&out.stdout).unwrap();
    let staging = &state["stageStates"][2];
    assert_eq!(staging["latestExecution"]["status"], "Skipped");
    let before = &staging["beforeEntryConditionState"];
    assert_eq!(before["latestExecution"]["status"], "Failed");
    assert_eq!(
        before["conditionStates"][0]["ruleStates"][0]["ruleName"],
        "WantDeploy"
    );
    let prod = &state["stageStates"][3];
    assert_eq!(prod["retryStageMetadata"]["autoStageRetryAttempt"], 1);
    assert_eq!(
        prod["retryStageMetadata"]["latestRetryTrigger"],
        "AutomatedStageRetry"
    );
}

#[test]
fn a_failed_stage_rolls_back_to_the_last_execution_that_succeeded_in_it() {
    let s = Setup::new();
    let first_commit = s.src.path().join(".git");
    assert!(first_commit.exists());
    std::fs::write(s.work.path().join("healthy"), "").unwrap();
    std::fs::write(s.work.path().join("count"), "5").unwrap();
    let (code, out) = s.run(&[]);
    assert_eq!(code, 0, "{out}");
    let good = s.executions()[0]["pipelineExecutionId"]
        .as_str()
        .unwrap()
        .to_string();
    let good_commit = s.executions()[0]["sourceRevisions"][0]["revisionId"]
        .as_str()
        .unwrap()
        .to_string();

    // A new commit whose Verify fails: the stage rolls back.
    s.commit("broken\n");
    std::fs::remove_file(s.work.path().join("healthy")).unwrap();
    let (code, out) = s.run(&[]);
    assert_eq!(code, 1, "{out}");
    let all = s.executions();
    assert_eq!(all.len(), 3, "the failed execution and its rollback: {out}");
    let (failed, rollback) = (&all[1], &all[2]);
    assert_eq!(failed["status"], "Failed");
    assert_eq!(rollback["executionType"], "ROLLBACK");
    assert_eq!(rollback["trigger"]["triggerType"], "AutomatedRollback");
    assert_eq!(
        rollback["rollbackMetadata"]["rollbackTargetPipelineExecutionId"],
        good.as_str()
    );
    // Only the Verify stage ran, with the target's variables (its commit).
    let ran = crate::common::ran(rollback);
    assert_eq!(ran, vec!["Verify"]);
    let config = rollback["actionExecutions"][0]["input"]["resolvedConfiguration"]
        ["EnvironmentVariables"]
        .as_str()
        .unwrap();
    assert!(config.contains(&good_commit), "{config}");
    // The rollback's page names the execution whose artifacts it used.
    let html = s.page(rollback["pipelineExecutionId"].as_str().unwrap());
    assert!(html.contains(&format!(
        "<p class=\"mark rollback\">Rollback: with the artifacts of execution <code>{good}</code></p>"
    )), "{html}");
    assert!(html.contains("<span>ROLLBACK</span>"), "{html}");
}

#[test]
fn a_failed_gate_and_a_failed_on_success_check_fail_their_stages() {
    let s = Setup::new();
    std::fs::write(
        s.work.path().join("config.yml"),
        "actions:\n  Gate/Pass:\n    command: echo passing\n  Final/Done:\n    command: echo done\n",
    )
    .unwrap();
    let run = |extra: &[&str]| {
        let source = format!("Code={}", s.src.path().display());
        let out = Command::new(env!("CARGO_BIN_EXE_pipelocal"))
            .current_dir(repo())
            .env("PIPELOCAL_CONFIG", s.work.path().join("config.yml"))
            .env("PIPELOCAL_STATE_DIR", s.state.path())
            .args([
                "run",
                fixture("runs/gates.json").to_str().unwrap(),
                "--source",
                &source,
                // Orchestration only: the host executor runs it anywhere.
                "--executor",
                "host",
            ])
            .args(extra)
            .output()
            .unwrap();
        out.status.code().unwrap_or(-1)
    };
    let newest = || {
        let dir = s.state.path().join("pipelines/gates/executions");
        let mut list: Vec<Value> = std::fs::read_dir(dir)
            .unwrap()
            .flatten()
            .map(|e| {
                serde_json::from_str(
                    &std::fs::read_to_string(e.path().join("execution.json")).unwrap(),
                )
                .unwrap()
            })
            .collect();
        list.sort_by(|a: &Value, b: &Value| {
            a["startTime"]
                .as_f64()
                .unwrap()
                .total_cmp(&b["startTime"].as_f64().unwrap())
        });
        list.pop().unwrap()
    };
    // The gate fails: no action of the stage runs, and its onFailure RETRY
    // does not apply (it is for failed actions).
    assert_eq!(run(&["--variable", "Go=no"]), 1);
    let record = newest();
    assert_eq!(stage_status(&record, "Gate"), "Failed");
    assert!(attempts(&record, "Pass").is_empty());
    assert!(record["stageRetries"].is_null(), "{record}");
    // onSuccess fails the stage after its actions succeeded.
    assert_eq!(run(&["--variable", "Sure=no"]), 1);
    let record = newest();
    assert_eq!(attempts(&record, "Done"), vec!["Succeeded"]);
    assert_eq!(stage_status(&record, "Final"), "Failed");
    let on_success = record["conditions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["hook"] == "ON_SUCCESS")
        .unwrap();
    assert_eq!(on_success["summary"], "rule Sure failed: no is not EQ yes");
    assert_eq!(run(&[]), 0);
}
