//! Batch builds (CodeBuild User Guide, "Batch builds in CodeBuild"): the tasks of `build-list`, `build-graph`,
//! `build-matrix` and `build-fanout`, run as separate builds under a
//! concurrency limit, in dependency order, with `fast-fail` and
//! `ignore-failure`, and the batch's record.

use std::collections::BTreeMap;
use std::path::PathBuf;

use crate::helpers::{SHARD_COUNT, SHARD_INDEX};
use futures_util::stream::{FuturesUnordered, StreamExt};
use pipelocal_model::buildspec::{Batch, BatchEnv, BatchKind, BatchTask};
use serde::Serialize;

use crate::build::{run_build, stop_channel, StopHandle, StopSignal};
use crate::clock::epoch_seconds;
use crate::environment::LOCAL_ACCOUNT;
use crate::events::EventSink;
use crate::executor::{connect, DockerExecutor, ExecError, Executor, HostExecutor};
use crate::phases::Status;
use crate::prepare::{prepare, project_name, BatchMember, LocalBuild, PrepareError};
use crate::record::BuildRecord;
use pipelocal_model::config::ExecutorKind;

/// One build of a batch, as the batch section asks for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Task {
    pub identifier: String,
    pub buildspec: Option<String>,
    pub env: BatchEnv,
    pub ignore_failure: bool,
    pub depend_on: Vec<String>,
}

impl Task {
    fn from_batch_task(t: &BatchTask) -> Self {
        Task {
            identifier: t.identifier.clone(),
            buildspec: t.buildspec.clone(),
            env: t.env.clone(),
            ignore_failure: t.ignore_failure,
            depend_on: t.depend_on.clone(),
        }
    }
}

/// Every build a batch section makes. A matrix is the cartesian product of
/// its dynamic values (identifiers `build1`, `build2`, ... in product order);
/// a fan-out makes `parallelism` identical builds (`build1` ... `buildN`).
pub fn tasks(batch: &Batch) -> Vec<Task> {
    match &batch.kind {
        BatchKind::List(list) | BatchKind::Graph(list) => {
            list.iter().map(Task::from_batch_task).collect()
        }
        BatchKind::Fanout {
            parallelism,
            ignore_failure,
        } => (1..=*parallelism)
            .map(|n| Task {
                identifier: format!("build{n}"),
                buildspec: None,
                env: BatchEnv {
                    variables: vec![
                        (SHARD_INDEX.to_string(), (n - 1).to_string()),
                        (SHARD_COUNT.to_string(), parallelism.to_string()),
                    ],
                    ..BatchEnv::default()
                },
                ignore_failure: *ignore_failure,
                depend_on: Vec::new(),
            })
            .collect(),
        BatchKind::Matrix(m) => {
            // Each dimension is a list of choices; a missing dimension has one empty choice.
            let mut combos: Vec<Task> = vec![Task {
                identifier: String::new(),
                buildspec: None,
                env: m.static_env.clone(),
                ignore_failure: m.ignore_failure,
                depend_on: Vec::new(),
            }];
            let mut expand = |values: &[String], apply: &dyn Fn(&mut Task, &str)| {
                if values.is_empty() {
                    return;
                }
                combos = combos
                    .iter()
                    .flat_map(|c| {
                        values.iter().map(move |v| {
                            let mut t = c.clone();
                            apply(&mut t, v);
                            t
                        })
                    })
                    .collect();
            };
            expand(&m.buildspecs, &|t, v| t.buildspec = Some(v.to_string()));
            expand(&m.images, &|t, v| t.env.image = Some(v.to_string()));
            expand(&m.compute_types, &|t, v| {
                t.env.compute_type = Some(v.to_string())
            });
            for (name, values) in &m.variables {
                expand(values, &|t, v| {
                    t.env.variables.push((name.clone(), v.to_string()))
                });
            }
            for (i, t) in combos.iter_mut().enumerate() {
                t.identifier = format!("build{}", i + 1);
            }
            combos
        }
    }
}

/// A build group of the batch record (`batch-get-build-batches`).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BuildGroup {
    pub identifier: String,
    pub depends_on: Vec<String>,
    pub ignore_failure: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub current_build_summary: Option<BuildSummary>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BuildSummary {
    pub arn: String,
    pub requested_on: f64,
    pub build_status: String,
}

/// The batch, shaped like one element of `aws codebuild batch-get-build-batches`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BatchRecord {
    pub id: String,
    pub arn: String,
    pub start_time: f64,
    pub end_time: f64,
    pub current_phase: String,
    pub build_batch_status: String,
    pub project_name: String,
    pub build_groups: Vec<BuildGroup>,
    pub complete: bool,
    /// Not in AWS's shape: each build's own record, by identifier.
    pub builds: BTreeMap<String, BuildRecord>,
}

/// A batch could not start, or one of its builds could not.
#[derive(Debug, thiserror::Error)]
pub enum BatchError {
    #[error("batch build '{identifier}': {source}")]
    Prepare {
        identifier: String,
        #[source]
        source: PrepareError,
    },
    #[error("batch build '{identifier}': {source}")]
    Environment {
        identifier: String,
        #[source]
        source: ExecError,
    },
}

/// The build environment for one build.
pub async fn make_executor(
    kind: ExecutorKind,
    spec: crate::executor::EnvironmentSpec,
) -> Result<Executor, ExecError> {
    Ok(match kind {
        ExecutorKind::Docker => Executor::Docker(DockerExecutor::new(connect().await?, spec)),
        ExecutorKind::Host => Executor::Host(HostExecutor::new(spec)?),
    })
}

/// Runs every build of `batch`, at most `limit` at once.
pub async fn run_batch(
    input: &LocalBuild,
    batch: &Batch,
    limit: usize,
    events: &EventSink,
    mut stop: StopSignal,
) -> Result<BatchRecord, BatchError> {
    let start = std::time::SystemTime::now();
    let project = project_name(input).map_err(|source| BatchError::Prepare {
        identifier: "batch".into(),
        source,
    })?;
    let uuid = uuid::Uuid::new_v4();
    let id = format!("{project}:{uuid}");
    let arn = format!(
        "arn:aws:codebuild:{}:{LOCAL_ACCOUNT}:build-batch/{id}",
        crate::environment::DEFAULT_REGION
    );
    let all = tasks(batch);
    let mut results: BTreeMap<String, Result<BuildRecord, ()>> = BTreeMap::new();
    let mut started: Vec<String> = Vec::new();
    let mut handles: Vec<StopHandle> = Vec::new();
    let mut running = FuturesUnordered::new();
    let mut stopping = false;
    let mut first_error: Option<BatchError> = None;
    loop {
        // A task starts once every task it depends on has ended well (or may fail).
        let ready: Vec<&Task> = all
            .iter()
            .filter(|t| !started.contains(&t.identifier))
            .filter(|t| {
                t.depend_on
                    .iter()
                    .all(|d| dependency_done(d, &all, &results))
            })
            .collect();
        for task in ready {
            if stopping || running.len() >= limit.max(1) {
                break;
            }
            started.push(task.identifier.clone());
            let member_input = member(input, task, &arn);
            let prepared = match prepare(&member_input) {
                Ok(p) => p,
                Err(source) => {
                    first_error.get_or_insert(BatchError::Prepare {
                        identifier: task.identifier.clone(),
                        source,
                    });
                    results.insert(task.identifier.clone(), Err(()));
                    continue;
                }
            };
            let (handle, signal) = stop_channel();
            handles.push(handle);
            let sink = events.for_build(&task.identifier);
            let identifier = task.identifier.clone();
            let kind = input.executor;
            running.push(async move {
                let result = match make_executor(kind, prepared.environment.clone()).await {
                    Ok(mut executor) => {
                        run_build(&mut executor, &prepared.request, &sink, signal).await
                    }
                    Err(e) => Err(e),
                };
                (identifier, result)
            });
        }
        if running.is_empty() {
            break;
        }
        let next = tokio::select! {
            n = running.next() => n,
            _ = stop.stopped() => {
                stopping = true;
                handles.iter().for_each(StopHandle::stop);
                continue;
            }
        };
        let Some((identifier, result)) = next else {
            break;
        };
        let ignore = all
            .iter()
            .any(|t| t.identifier == identifier && t.ignore_failure);
        let failed = match result {
            Ok(record) => {
                let failed = record.build_status != Status::Succeeded.as_str();
                results.insert(identifier, Ok(record));
                failed
            }
            Err(source) => {
                first_error.get_or_insert(BatchError::Environment {
                    identifier: identifier.clone(),
                    source,
                });
                results.insert(identifier, Err(()));
                true
            }
        };
        if failed && !ignore && batch.fast_fail && !stopping {
            stopping = true;
            handles.iter().for_each(StopHandle::stop);
        }
    }
    if let Some(e) = first_error.filter(|_| results.values().all(|r| r.is_err())) {
        return Err(e);
    }
    let builds: BTreeMap<String, BuildRecord> = results
        .iter()
        .filter_map(|(k, r)| r.as_ref().ok().map(|b| (k.clone(), b.clone())))
        .collect();
    let ok = all.iter().all(|t| {
        t.ignore_failure
            || builds
                .get(&t.identifier)
                .is_some_and(|b| b.build_status == Status::Succeeded.as_str())
    });
    let status = if stopping && !batch.fast_fail {
        "STOPPED"
    } else if ok {
        "SUCCEEDED"
    } else {
        "FAILED"
    };
    let groups = all
        .iter()
        .map(|t| BuildGroup {
            identifier: t.identifier.clone(),
            depends_on: t.depend_on.clone(),
            ignore_failure: t.ignore_failure,
            current_build_summary: builds.get(&t.identifier).map(|b| BuildSummary {
                arn: b.arn.clone(),
                requested_on: b.start_time,
                build_status: b.build_status.clone(),
            }),
        })
        .collect();
    Ok(BatchRecord {
        id,
        arn,
        start_time: epoch_seconds(start),
        end_time: epoch_seconds(std::time::SystemTime::now()),
        current_phase: status.into(),
        build_batch_status: status.into(),
        project_name: project,
        build_groups: groups,
        complete: true,
        builds,
    })
}

/// Whether a dependant may start: the dependency succeeded, or ended in any
/// way while allowed to fail.
fn dependency_done(
    id: &str,
    all: &[Task],
    results: &BTreeMap<String, Result<BuildRecord, ()>>,
) -> bool {
    let may_fail = all.iter().any(|t| t.identifier == id && t.ignore_failure);
    match results.get(id) {
        Some(Ok(record)) => may_fail || record.build_status == Status::Succeeded.as_str(),
        Some(Err(())) => may_fail,
        None => false,
    }
}

/// The single-build input for one task of the batch.
fn member(input: &LocalBuild, task: &Task, batch_arn: &str) -> LocalBuild {
    let mut one = input.clone();
    if let Some(b) = &task.buildspec {
        one.buildspec = Some(b.clone());
    }
    if let Some(image) = &task.env.image {
        one.image = Some(image.clone());
    }
    if let Some(p) = task.env.privileged_mode {
        one.privileged = p;
    }
    one.artifacts_dir = input
        .artifacts_dir
        .as_ref()
        .map(|d: &PathBuf| d.join(&task.identifier));
    one.reports_dir = input
        .reports_dir
        .as_ref()
        .map(|d: &PathBuf| d.join(&task.identifier));
    one.batch = Some(BatchMember {
        identifier: task.identifier.clone(),
        batch_arn: batch_arn.to_string(),
        variables: task.env.variables.clone(),
    });
    one
}

#[cfg(test)]
mod tests {
    use super::*;
    use pipelocal_model::buildspec::BatchMatrix;

    #[test]
    fn a_matrix_is_the_cartesian_product() {
        let m = BatchMatrix {
            buildspecs: vec!["a.yml".into(), "b.yml".into()],
            variables: vec![("V".into(), vec!["1".into(), "2".into(), "3".into()])],
            ..Default::default()
        };
        let got = tasks(&Batch {
            fast_fail: false,
            kind: BatchKind::Matrix(m),
        });
        assert_eq!(got.len(), 6);
        assert_eq!(got[0].identifier, "build1");
        assert_eq!(
            (got[0].buildspec.as_deref(), got[0].env.variables.clone()),
            (Some("a.yml"), vec![("V".into(), "1".into())])
        );
        assert_eq!(
            (got[5].buildspec.as_deref(), got[5].env.variables.clone()),
            (Some("b.yml"), vec![("V".into(), "3".into())])
        );
        let fan = tasks(&Batch {
            fast_fail: false,
            kind: BatchKind::Fanout {
                parallelism: 3,
                ignore_failure: true,
            },
        });
        assert_eq!(
            fan.iter()
                .map(|t| t.identifier.as_str())
                .collect::<Vec<_>>(),
            vec!["build1", "build2", "build3"]
        );
    }
}
