//! Execution modes across executions that share a state folder: SUPERSEDED
//! (one waiter per stage boundary, the newest), QUEUED (all wait, in order)
//! and PARALLEL (no stage locks). Timings come from the history, never from
//! wall-clock limits.


use std::process::{Child, Command};

use crate::common::{fixture, git_repo, repo};
use serde_json::Value;

struct Setup {
    src: tempfile::TempDir,
    state: tempfile::TempDir,
    work: tempfile::TempDir,
    pipeline: std::path::PathBuf,
    /// How many executions can be in Build at once (PARALLEL: all three).
    at_once: usize,
}

impl Setup {
    fn executions(&self) -> Vec<Value> {
        crate::common::executions(self.state.path(), "modes")
    }

    fn new(mode: &str) -> Setup {
        let src = git_repo(&[("app.txt", "hello\n")]);
        let work = tempfile::tempdir().unwrap();
        // Work holds Build until the test says go (after all three have
        // started), so the waiting is certain however slow the machine is.
        std::fs::write(
            work.path().join("config.yml"),
            format!(
                "actions:\n  Build/Work:\n    command: 'touch {w}/in-build.$$; while [ ! -f {w}/go ]; do sleep 0.1; done; sleep 0.5'\n",
                w = work.path().display()
            ),
        )
        .unwrap();
        let text = std::fs::read_to_string(fixture("runs/modes.json"))
            .unwrap()
            .replace("\"SUPERSEDED\"", &format!("\"{mode}\""));
        let pipeline = work.path().join("pipeline.json");
        std::fs::write(&pipeline, text).unwrap();
        Setup {
            src,
            state: tempfile::tempdir().unwrap(),
            work,
            pipeline,
            at_once: if mode == "PARALLEL" { 3 } else { 1 },
        }
    }

    fn start(&self) -> Child {
        Command::new(env!("CARGO_BIN_EXE_pipelocal"))
            .current_dir(repo())
            .env("PIPELOCAL_CONFIG", self.work.path().join("config.yml"))
            .env("PIPELOCAL_STATE_DIR", self.state.path())
            .args([
                "run",
                self.pipeline.to_str().unwrap(),
                "--plain",
                "--source",
            ])
            .arg(format!("Code={}", self.src.path().display()))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap()
    }

    /// Three executions, each started after the one before it has begun.
    fn three(&self) -> Vec<Value> {
        self.three_watching(|| {})
    }

    /// How many Work actions have started.
    fn in_build(&self) -> usize {
        std::fs::read_dir(self.work.path())
            .unwrap()
            .filter(|e| {
                e.as_ref()
                    .is_ok_and(|e| e.file_name().to_string_lossy().starts_with("in-build."))
            })
            .count()
    }

    /// `state --json` now.
    fn state(&self) -> Value {
        let out = Command::new(env!("CARGO_BIN_EXE_pipelocal"))
            .env("PIPELOCAL_CONFIG", self.work.path().join("config.yml"))
            .env("PIPELOCAL_STATE_DIR", self.state.path())
            .args(["state", "--json"])
            .output()
            .unwrap();
        serde_json::from_slice(&out.stdout).unwrap_or(Value::Null)
    }

    /// As `three`, calling `watch` once all three have started.
    fn three_watching(&self, watch: impl FnOnce()) -> Vec<Value> {
        let mut children = Vec::new();
        for n in 1..=3 {
            children.push(self.start());
            // Wait until this execution is recorded, so start order is certain.
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
            while self.executions().len() < n && std::time::Instant::now() < deadline {
                std::thread::sleep(std::time::Duration::from_millis(50));
            }
            std::thread::sleep(std::time::Duration::from_millis(300));
        }
        watch();
        // Go once as many as can be are in Build.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        while self.in_build() < self.at_once && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        std::fs::write(self.work.path().join("go"), "").unwrap();
        for mut c in children {
            c.wait().unwrap();
        }
        self.executions()
    }
}

/// (start, end) of an execution's Work action, if it ran.
fn work_span(record: &Value) -> Option<(f64, f64)> {
    record["actionExecutions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["actionName"] == "Work")
        .map(|a| {
            (
                a["startTime"].as_f64().unwrap(),
                a["lastUpdateTime"].as_f64().unwrap(),
            )
        })
}

fn statuses(list: &[Value]) -> Vec<&str> {
    list.iter().map(|e| e["status"].as_str().unwrap()).collect()
}

#[test]
fn superseded_lets_the_newest_waiting_execution_through() {
    let s = Setup::new("SUPERSEDED");
    let list = s.three();
    assert_eq!(
        statuses(&list),
        vec!["Succeeded", "Superseded", "Succeeded"]
    );
    let second = &list[1];
    assert!(
        work_span(second).is_none(),
        "a superseded execution never entered Build"
    );
    let third_id = list[2]["pipelineExecutionId"].as_str().unwrap();
    assert_eq!(
        second["statusSummary"],
        format!("Superseded at stage Build by execution {third_id}").as_str()
    );
    let (a, c) = (work_span(&list[0]).unwrap(), work_span(&list[2]).unwrap());
    assert!(c.0 >= a.1, "one execution at a time in Build: {a:?} {c:?}");
}

#[test]
fn queued_runs_every_execution_in_arrival_order() {
    let s = Setup::new("QUEUED");
    let mut queue_seen = Vec::new();
    let list = s.three_watching(|| {
        // While the first holds Build, the others queue in front of it.
        for _ in 0..200 {
            let state = s.state();
            let queue: Vec<String> = state["stageStates"][1]["inboundExecutions"]
                .as_array()
                .map(|q| {
                    q.iter()
                        .map(|e| e["pipelineExecutionId"].as_str().unwrap().to_string())
                        .collect()
                })
                .unwrap_or_default();
            if queue.len() == 2 {
                queue_seen = queue;
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
    });
    let ids: Vec<String> = list
        .iter()
        .map(|e| e["pipelineExecutionId"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        queue_seen,
        ids[1..].to_vec(),
        "the queue in state, in arrival order"
    );
    assert_eq!(statuses(&list), vec!["Succeeded", "Succeeded", "Succeeded"]);
    let spans: Vec<(f64, f64)> = list.iter().map(|e| work_span(e).unwrap()).collect();
    assert!(
        spans[1].0 >= spans[0].1 && spans[2].0 >= spans[1].1,
        "in order, one at a time: {spans:?}"
    );
}

#[test]
fn parallel_executions_do_not_wait_for_each_other() {
    let s = Setup::new("PARALLEL");
    let list = s.three();
    assert_eq!(statuses(&list), vec!["Succeeded", "Succeeded", "Succeeded"]);
    let spans: Vec<(f64, f64)> = list.iter().map(|e| work_span(e).unwrap()).collect();
    let latest_start = spans.iter().map(|s| s.0).fold(f64::MIN, f64::max);
    let earliest_end = spans.iter().map(|s| s.1).fold(f64::MAX, f64::min);
    assert!(
        latest_start < earliest_end,
        "all three in Build at once: {spans:?}"
    );
}
