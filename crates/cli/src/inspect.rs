//! `pipelocal state`, `executions` and `logs`: what the history says, as text
//! or in AWS's JSON shapes.

use std::path::Path;
use std::process::ExitCode;

use pipelocal_model::pipeline::load_pipeline;
use pipelocal_orchestrator::history::{ExecutionRecord, History};
use pipelocal_orchestrator::locks::waiting;
use pipelocal_orchestrator::state::{add_inbound, execution_list, pipeline_state};

use crate::build::unusable;
use crate::settings::state_dir;

/// Which pipeline: a name, a definition file (its pipeline's name), or the
/// only pipeline that has run with this state folder.
fn pipeline_name(history: &History, given: Option<&str>) -> Result<String, String> {
    let known = history.pipelines();
    match given {
        Some(g) if Path::new(g).is_file() => load_pipeline(Path::new(g), None)
            .map(|l| l.pipeline.name)
            .map_err(|e| e.summary()),
        Some(g) if known.iter().any(|k| k == g) => Ok(g.to_string()),
        Some(g) => Err(format!(
            "no executions of pipeline '{g}' in this state folder (pipelines here: {})",
            if known.is_empty() {
                "none".into()
            } else {
                known.join(", ")
            }
        )),
        None => match known.as_slice() {
            [one] => Ok(one.clone()),
            [] => Err("no pipeline has run with this state folder yet: see `pipelocal run`".into()),
            many => Err(format!(
                "several pipelines ran here: name one of {}",
                many.join(", ")
            )),
        },
    }
}

fn executions(
    state: Option<&Path>,
    pipeline: Option<&str>,
) -> Result<Vec<ExecutionRecord>, String> {
    let history = History::new(&state_dir(state)?);
    let name = pipeline_name(&history, pipeline)?;
    history.executions(&name).map_err(|e| e.to_string())
}

fn json(value: &impl serde::Serialize) -> String {
    serde_json::to_string_pretty(value).expect("views serialize")
}

pub fn state(state: Option<&Path>, pipeline: Option<&str>, as_json: bool) -> ExitCode {
    let list = match executions(state, pipeline) {
        Ok(l) => l,
        Err(e) => return unusable(e),
    };
    let Some(mut view) = pipeline_state(&list) else {
        return unusable("no executions yet");
    };
    if let (Ok(dir), Some(newest)) = (state_dir(state), list.first()) {
        let locks = History::new(&dir).lock_dir(&newest.pipeline_name);
        add_inbound(&mut view, &newest.execution_mode, |stage| {
            waiting(&locks, stage)
        });
    }
    if as_json {
        println!("{}", json(&view));
        return ExitCode::SUCCESS;
    }
    println!(
        "Pipeline {} (version {})",
        view.pipeline_name, view.pipeline_version
    );
    for stage in &view.stage_states {
        match &stage.latest_execution {
            Some(e) => println!(
                "  {:<20} {:<10} {}",
                stage.stage_name,
                e.status.to_string(),
                e.pipeline_execution_id
            ),
            None => println!("  {:<20} {:<10}", stage.stage_name, "-"),
        }
        for action in &stage.action_states {
            match &action.latest_execution {
                Some(a) => println!(
                    "    {:<18} {:<10} {}",
                    action.action_name,
                    a.status.to_string(),
                    a.summary.as_deref().unwrap_or("")
                ),
                None => println!("    {:<18} -", action.action_name),
            }
        }
    }
    ExitCode::SUCCESS
}

pub fn list(state: Option<&Path>, pipeline: Option<&str>, as_json: bool) -> ExitCode {
    let list = match executions(state, pipeline) {
        Ok(l) => l,
        Err(e) => return unusable(e),
    };
    if as_json {
        println!("{}", json(&execution_list(&list)));
        return ExitCode::SUCCESS;
    }
    for e in &list {
        let revision = e
            .source_revisions
            .first()
            .and_then(|r| r.revision_id.as_deref())
            .map(|r| &r[..r.len().min(12)])
            .unwrap_or("");
        println!(
            "{}  {:<10} {}  {}  {}",
            e.pipeline_execution_id,
            e.status.to_string(),
            pipelocal_runner::clock::log_stamp(
                std::time::UNIX_EPOCH + std::time::Duration::from_secs_f64(e.start_time)
            ),
            revision,
            e.status_summary.as_deref().unwrap_or("")
        );
    }
    ExitCode::SUCCESS
}

pub fn logs(state: Option<&Path>, id: &str, action: Option<&str>) -> ExitCode {
    let dir = match state_dir(state) {
        Ok(d) => d,
        Err(e) => return unusable(e),
    };
    let history = History::new(&dir);
    let record = match history.find(id) {
        Ok(r) => r,
        Err(e) => return unusable(e),
    };
    let chosen: Vec<_> = record
        .action_executions
        .iter()
        .filter(|a| match action {
            None => true,
            Some(want) => {
                want == a.action_name || *want == format!("{}/{}", a.stage_name, a.action_name)
            }
        })
        .collect();
    if chosen.is_empty() {
        let names: Vec<String> = record
            .action_executions
            .iter()
            .map(|a| format!("{}/{}", a.stage_name, a.action_name))
            .collect();
        return unusable(format!(
            "execution {id} has no action {} (it ran: {})",
            action.unwrap_or(""),
            names.join(", ")
        ));
    }
    // One log per action: its attempts (retries) were appended to it in turn.
    let mut shown: Vec<(&str, &str)> = Vec::new();
    for a in &chosen {
        let key = (a.stage_name.as_str(), a.action_name.as_str());
        if shown.contains(&key) {
            continue;
        }
        shown.push(key);
        let attempts: Vec<_> = chosen
            .iter()
            .filter(|b| (b.stage_name.as_str(), b.action_name.as_str()) == key)
            .collect();
        let statuses: Vec<String> = attempts.iter().map(|b| b.status.to_string()).collect();
        println!(
            "==> {}/{} {} <==",
            a.stage_name,
            a.action_name,
            statuses.join(", then ")
        );
        let path = history.log_path(&record.pipeline_name, id, &a.stage_name, &a.action_name);
        if let Ok(text) = std::fs::read_to_string(&path) {
            print!("{text}");
            if !text.is_empty() && !text.ends_with('\n') {
                println!();
            }
        }
        let last = attempts.last().map_or(*a, |b| **b);
        if let Some(s) = &last.output.execution_result.external_execution_summary {
            println!("{s}");
        }
    }
    ExitCode::SUCCESS
}
