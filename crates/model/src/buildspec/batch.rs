//! The `batch` section: build-list, build-graph, build-matrix, build-fanout (CodeBuild User Guide, "Batch build buildspec reference").

use std::collections::{HashMap, HashSet};

use serde_json::{Map, Value};

use super::parse::Reader;
use crate::locate::DocPath;
use crate::scalar::as_int;

/// Environment overrides of one batch build.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct BatchEnv {
    pub compute_type: Option<String>,
    pub image: Option<String>,
    pub privileged_mode: Option<bool>,
    pub env_type: Option<String>,
    pub variables: Vec<(String, String)>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct BatchTask {
    pub identifier: String,
    pub buildspec: Option<String>,
    pub env: BatchEnv,
    pub ignore_failure: bool,
    pub depend_on: Vec<String>,
    pub debug_session: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct BatchMatrix {
    pub ignore_failure: bool,
    pub static_env: BatchEnv,
    pub buildspecs: Vec<String>,
    pub compute_types: Vec<String>,
    pub images: Vec<String>,
    /// Each variable with the values the matrix takes for it.
    pub variables: Vec<(String, Vec<String>)>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BatchKind {
    List(Vec<BatchTask>),
    Graph(Vec<BatchTask>),
    Matrix(BatchMatrix),
    Fanout {
        parallelism: u32,
        ignore_failure: bool,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Batch {
    pub fast_fail: bool,
    pub kind: BatchKind,
}

const KINDS: &[&str] = &["build-list", "build-graph", "build-matrix", "build-fanout"];
const TASK_KEYS: &[&str] = &[
    "identifier",
    "buildspec",
    "env",
    "ignore-failure",
    "depend-on",
    "debug-session",
];
const ENV_KEYS: &[&str] = &[
    "compute-type",
    "image",
    "privileged-mode",
    "type",
    "variables",
    "fleet",
];

pub(super) fn parse_batch(r: &mut Reader<'_>, v: &Value, path: &DocPath) -> Option<Batch> {
    let m = r.map(Some(v), path, "batch")?;
    let mut allowed = vec!["fast-fail"];
    allowed.extend_from_slice(KINDS);
    r.known_keys(m, path, &allowed, "batch");
    let fast_fail = r
        .opt_bool(m.get("fast-fail"), &path.key("fast-fail"))
        .unwrap_or(false);
    let present: Vec<&str> = KINDS
        .iter()
        .copied()
        .filter(|k| m.contains_key(*k))
        .collect();
    if present.len() != 1 {
        r.error(path, format!("batch must have exactly one of build-list, build-graph, build-matrix, build-fanout (found {})", if present.is_empty() { "none".into() } else { present.join(", ") }));
        return None;
    }
    let key = present[0];
    let kpath = path.key(key);
    let kind = match key {
        "build-list" => BatchKind::List(tasks(r, m.get(key), &kpath, false)),
        "build-graph" => {
            let tasks = tasks(r, m.get(key), &kpath, true);
            check_graph(r, &tasks, &kpath);
            BatchKind::Graph(tasks)
        }
        "build-matrix" => BatchKind::Matrix(matrix(r, m.get(key), &kpath)),
        _ => {
            let f = r.map(m.get(key), &kpath, "build-fanout");
            let parallelism = f.and_then(|f| f.get("parallelism")).and_then(as_int);
            let ignore_failure = f
                .map(|f| f.get("ignore-failure").cloned())
                .and_then(|v| r.opt_bool(v.as_ref(), &kpath.key("ignore-failure")))
                .unwrap_or(false);
            match parallelism {
                Some(n) if (1..=100).contains(&n) => BatchKind::Fanout {
                    parallelism: n as u32,
                    ignore_failure,
                },
                _ => {
                    r.error(
                        &kpath.key("parallelism"),
                        "build-fanout needs parallelism, a whole number from 1 to 100",
                    );
                    return None;
                }
            }
        }
    };
    Some(Batch { fast_fail, kind })
}

fn env(r: &mut Reader<'_>, v: Option<&Value>, path: &DocPath) -> BatchEnv {
    let Some(m) = r.map(v, path, "env") else {
        return BatchEnv::default();
    };
    r.known_keys(m, path, ENV_KEYS, "batch env");
    BatchEnv {
        compute_type: r.opt_string(m.get("compute-type"), &path.key("compute-type")),
        image: r.opt_string(m.get("image"), &path.key("image")),
        privileged_mode: r.opt_bool(m.get("privileged-mode"), &path.key("privileged-mode")),
        env_type: r.opt_string(m.get("type"), &path.key("type")),
        variables: r.string_pairs(m.get("variables"), &path.key("variables"), "env/variables"),
    }
}

fn tasks(r: &mut Reader<'_>, v: Option<&Value>, path: &DocPath, graph: bool) -> Vec<BatchTask> {
    let items = match v {
        Some(Value::Array(items)) => items,
        _ => {
            r.error(path, "expected a list of builds");
            return Vec::new();
        }
    };
    let mut out: Vec<BatchTask> = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let ipath = path.index(i);
        let Some(m) = r.map(Some(item), &ipath, "a batch build") else {
            r.error(&ipath, "a batch build must be a mapping with an identifier");
            continue;
        };
        let mut allowed = TASK_KEYS.to_vec();
        if !graph {
            allowed.retain(|k| *k != "depend-on");
        }
        r.known_keys(m, &ipath, &allowed, "a batch build");
        let identifier = r
            .opt_string(m.get("identifier"), &ipath.key("identifier"))
            .unwrap_or_default();
        if identifier.is_empty()
            || !identifier
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_')
        {
            r.error(&ipath, format!("batch build identifier `{identifier}` is required and may contain only letters, digits and _"));
        }
        if out.iter().any(|t| t.identifier == identifier) {
            r.error(
                &ipath.key("identifier"),
                format!("batch build identifier `{identifier}` is used twice"),
            );
        }
        out.push(BatchTask {
            identifier,
            buildspec: r.opt_string(m.get("buildspec"), &ipath.key("buildspec")),
            env: env(r, m.get("env"), &ipath.key("env")),
            ignore_failure: r
                .opt_bool(m.get("ignore-failure"), &ipath.key("ignore-failure"))
                .unwrap_or(false),
            depend_on: r.strings(m.get("depend-on"), &ipath.key("depend-on")),
            debug_session: r
                .opt_bool(m.get("debug-session"), &ipath.key("debug-session"))
                .unwrap_or(false),
        });
    }
    out
}

fn check_graph(r: &mut Reader<'_>, tasks: &[BatchTask], path: &DocPath) {
    let ids: HashSet<&str> = tasks.iter().map(|t| t.identifier.as_str()).collect();
    for (i, t) in tasks.iter().enumerate() {
        for dep in &t.depend_on {
            if !ids.contains(dep.as_str()) {
                r.error(
                    &path.index(i).key("depend-on"),
                    format!(
                        "build `{}` depends on `{dep}`, which this build-graph does not define",
                        t.identifier
                    ),
                );
            }
        }
    }
    // Kahn's algorithm over identifiers: whatever cannot be ordered is on a
    // cycle. Each dependency counts once, however often it is listed, and
    // builds sharing an identifier (an error of its own) share their
    // dependencies.
    let mut depends: HashMap<&str, HashSet<&str>> = HashMap::new();
    for t in tasks {
        depends.entry(t.identifier.as_str()).or_default().extend(
            t.depend_on
                .iter()
                .map(String::as_str)
                .filter(|d| ids.contains(d)),
        );
    }
    let mut pending: HashMap<&str, usize> =
        depends.iter().map(|(id, deps)| (*id, deps.len())).collect();
    let mut ready: Vec<&str> = pending
        .iter()
        .filter(|(_, n)| **n == 0)
        .map(|(id, _)| *id)
        .collect();
    while let Some(done) = ready.pop() {
        pending.remove(done);
        for (id, deps) in &depends {
            if deps.contains(done) {
                if let Some(n) = pending.get_mut(id) {
                    *n -= 1;
                    if *n == 0 {
                        ready.push(id);
                    }
                }
            }
        }
    }
    if !pending.is_empty() {
        let mut cyclic: Vec<&str> = pending.keys().copied().collect();
        cyclic.sort();
        r.error(
            path,
            format!(
                "build-graph has a dependency cycle among: {}",
                cyclic.join(", ")
            ),
        );
    }
}

fn matrix(r: &mut Reader<'_>, v: Option<&Value>, path: &DocPath) -> BatchMatrix {
    let Some(m) = r.map(v, path, "build-matrix") else {
        return BatchMatrix::default();
    };
    r.known_keys(m, path, &["static", "dynamic"], "build-matrix");
    let spath = path.key("static");
    let empty = Map::new();
    let st = r.map(m.get("static"), &spath, "static").unwrap_or(&empty);
    let ignore_failure = r
        .opt_bool(st.get("ignore-failure"), &spath.key("ignore-failure"))
        .unwrap_or(false);
    let static_env = env(r, st.get("env"), &spath.key("env"));
    let dpath = path.key("dynamic");
    let dy = r.map(m.get("dynamic"), &dpath, "dynamic").unwrap_or(&empty);
    r.known_keys(dy, &dpath, &["buildspec", "env"], "build-matrix dynamic");
    let buildspecs = r.strings(dy.get("buildspec"), &dpath.key("buildspec"));
    let epath = dpath.key("env");
    let de = r
        .map(dy.get("env"), &epath, "dynamic env")
        .unwrap_or(&empty);
    let compute_types = r.strings(de.get("compute-type"), &epath.key("compute-type"));
    let images = r.strings(de.get("image"), &epath.key("image"));
    let mut variables = Vec::new();
    let vpath = epath.key("variables");
    if let Some(vars) = r.map(de.get("variables"), &vpath, "dynamic variables") {
        for (name, values) in vars {
            variables.push((name.clone(), r.strings(Some(values), &vpath.key(name))));
        }
    }
    BatchMatrix {
        ignore_failure,
        static_env,
        buildspecs,
        compute_types,
        images,
        variables,
    }
}
