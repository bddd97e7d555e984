//! Stage locks between executions that share a state folder (CodePipeline User Guide,
//! "Set or change the pipeline execution mode"), so several `pipelocal run`s behave as executions of one pipeline:
//!
//! - SUPERSEDED: a stage runs one execution at a time; one execution waits
//!   at each stage boundary, and a newer one arriving there supersedes it.
//! - QUEUED: stages lock; waiting executions enter in arrival order.
//! - PARALLEL: no locks.
//!
//! A stage's lock is an exclusive file lock on `locks/<stage>.lock`, held
//! while the stage runs; the waiters are listed in `locks/<stage>.waiting`,
//! changed only under `locks/<stage>.meta`'s lock. File locks go when their
//! process does, so a crashed run never holds a stage.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use pipelocal_model::file_name::path_component;
use pipelocal_model::pipeline::ExecutionMode;
use pipelocal_runner::build::StopSignal;

/// A stage held by this execution until dropped.
pub struct StageLock {
    _file: Option<File>,
}

/// How waiting at a stage boundary ended.
pub enum Entry {
    Entered(StageLock),
    /// A newer execution arrived at the same boundary (SUPERSEDED).
    Superseded {
        by: String,
    },
    Stopped,
}

/// One waiter: execution id, start time and the process that waits, and
/// (SUPERSEDED) the newer execution that replaced it, kept in the list until
/// the waiter has read it: the newer one may enter the stage and leave the
/// list before the older one looks again.
#[derive(Debug, Clone, PartialEq)]
struct Waiter {
    id: String,
    start: f64,
    pid: u32,
    superseded_by: Option<String>,
}

impl Waiter {
    /// Whether the waiting process still exists (a killed run leaves its line).
    fn alive(&self) -> bool {
        let Ok(pid) = libc::pid_t::try_from(self.pid) else {
            return false;
        };
        // SAFETY: signal 0 only asks whether the process exists.
        let answer = unsafe { libc::kill(pid, 0) };
        answer == 0 || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
    }
}

fn open(path: &Path) -> std::io::Result<File> {
    OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)
}

fn read_waiters(file: &mut File) -> std::io::Result<Vec<Waiter>> {
    let mut text = String::new();
    file.rewind()?;
    file.read_to_string(&mut text)?;
    Ok(text
        .lines()
        .filter_map(|l| {
            let mut parts = l.split(' ');
            Some(Waiter {
                id: parts.next()?.to_string(),
                start: parts.next()?.parse().ok()?,
                pid: parts.next()?.parse().ok()?,
                superseded_by: parts.next().map(str::to_string),
            })
        })
        .collect())
}

fn write_waiters(file: &mut File, waiters: &[Waiter]) -> std::io::Result<()> {
    file.set_len(0)?;
    file.rewind()?;
    for w in waiters {
        write!(file, "{} {} {}", w.id, w.start, w.pid)?;
        match &w.superseded_by {
            Some(by) => writeln!(file, " {by}")?,
            None => writeln!(file)?,
        }
    }
    file.sync_all()
}

/// The lock files of one stage.
struct StageFiles {
    lock: PathBuf,
    meta: PathBuf,
    waiting: PathBuf,
}

impl StageFiles {
    fn new(dir: &Path, stage: &str) -> std::io::Result<Self> {
        std::fs::create_dir_all(dir)?;
        let name = path_component(stage);
        Ok(StageFiles {
            lock: dir.join(format!("{name}.lock")),
            meta: dir.join(format!("{name}.meta")),
            waiting: dir.join(format!("{name}.waiting")),
        })
    }

    /// Runs `change` on the waiter list under the meta lock.
    fn with_waiters<T>(&self, change: impl FnOnce(&mut Vec<Waiter>) -> T) -> std::io::Result<T> {
        let meta = open(&self.meta)?;
        meta.lock()?;
        let mut file = open(&self.waiting)?;
        let mut waiters = read_waiters(&mut file)?;
        waiters.retain(Waiter::alive);
        let out = change(&mut waiters);
        write_waiters(&mut file, &waiters)?;
        Ok(out)
    }
}

/// Waits until this execution may enter `stage`, as the pipeline's execution
/// mode says; `dir` is the pipeline's lock folder.
pub async fn enter_stage(
    dir: &Path,
    stage: &str,
    mode: ExecutionMode,
    id: &str,
    start: f64,
    stop: &StopSignal,
) -> std::io::Result<Entry> {
    if mode == ExecutionMode::Parallel {
        return Ok(Entry::Entered(StageLock { _file: None }));
    }
    let files = StageFiles::new(dir, stage)?;
    let me = Waiter {
        id: id.to_string(),
        start,
        pid: std::process::id(),
        superseded_by: None,
    };
    // Arrive: in SUPERSEDED one waiter per boundary, the newest; in QUEUED, a line.
    let superseded_now = files.with_waiters(|waiters| match mode {
        ExecutionMode::Superseded => match waiters.iter().find(|w| w.superseded_by.is_none()) {
            Some(w) if w.start > me.start => Some(w.id.clone()),
            _ => {
                for w in waiters.iter_mut() {
                    w.superseded_by.get_or_insert_with(|| me.id.clone());
                }
                waiters.push(me.clone());
                None
            }
        },
        _ => {
            waiters.push(me.clone());
            None
        }
    })?;
    if let Some(by) = superseded_now {
        return Ok(Entry::Superseded { by });
    }
    let lock = open(&files.lock)?;
    loop {
        if stop.is_stopped() {
            files.with_waiters(|w| w.retain(|x| x.id != me.id))?;
            return Ok(Entry::Stopped);
        }
        enum Turn {
            Mine,
            Wait,
            Superseded(String),
        }
        let turn = files.with_waiters(|waiters| {
            if let Some(at) = waiters.iter().position(|w| w.id == me.id) {
                if let Some(by) = waiters[at].superseded_by.clone() {
                    waiters.remove(at);
                    return Turn::Superseded(by);
                }
            }
            let first = waiters.iter().find(|w| w.superseded_by.is_none()).cloned();
            match first {
                Some(w) if w.id == me.id => Turn::Mine,
                // Replaced as the one waiter: a newer execution arrived.
                Some(w) if mode == ExecutionMode::Superseded => Turn::Superseded(w.id),
                None if mode == ExecutionMode::Superseded => Turn::Superseded(String::new()),
                _ => Turn::Wait,
            }
        })?;
        match turn {
            Turn::Superseded(by) => return Ok(Entry::Superseded { by }),
            Turn::Mine => match lock.try_lock() {
                Ok(()) => {
                    files.with_waiters(|w| w.retain(|x| x.id != me.id))?;
                    return Ok(Entry::Entered(StageLock { _file: Some(lock) }));
                }
                Err(std::fs::TryLockError::WouldBlock) => {}
                Err(std::fs::TryLockError::Error(e)) => return Err(e),
            },
            Turn::Wait => {}
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The executions waiting to enter `stage`, in arrival order (for `state`).
pub fn waiting(dir: &Path, stage: &str) -> Vec<String> {
    let Ok(files) = StageFiles::new(dir, stage) else {
        return Vec::new();
    };
    let Ok(mut file) = OpenOptions::new().read(true).open(&files.waiting) else {
        return Vec::new();
    };
    read_waiters(&mut file)
        .unwrap_or_default()
        .into_iter()
        .filter(|w| w.superseded_by.is_none() && w.alive())
        .map(|w| w.id)
        .collect()
}
