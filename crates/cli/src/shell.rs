//! `pipelocal shell [BUILD-ID]` and the shell a paused build opens on its
//! own terminal: the terminal put in raw mode while a container shell runs
//! (the engine's terminal does the line editing), restored however it ends.

use std::io::IsTerminal;
use std::path::Path;
use std::process::ExitCode;

use pipelocal_runner::events::{BuildEvent, BuildEventKind};
use pipelocal_runner::executor::deploy_containers::{self, Found, TARGET_LABEL};
use pipelocal_runner::executor::shell_session::{open_deploy_shell, open_shell, Terminal};
use pipelocal_runner::pause::ShellTarget;

use crate::build::unusable;

/// The terminal's settings before raw mode, put back when dropped.
struct RawMode(libc::termios);

impl RawMode {
    fn enable() -> Option<Self> {
        // SAFETY: tcgetattr/tcsetattr on stdin with a zeroed termios we own.
        unsafe {
            let mut saved: libc::termios = std::mem::zeroed();
            if libc::tcgetattr(libc::STDIN_FILENO, &mut saved) != 0 {
                return None;
            }
            let mut raw = saved;
            libc::cfmakeraw(&mut raw);
            if libc::tcsetattr(libc::STDIN_FILENO, libc::TCSANOW, &raw) != 0 {
                return None;
            }
            Some(RawMode(saved))
        }
    }
}

impl Drop for RawMode {
    fn drop(&mut self) {
        // SAFETY: restores the settings read in `enable`.
        unsafe {
            libc::tcsetattr(libc::STDIN_FILENO, libc::TCSANOW, &self.0);
        }
    }
}

/// Columns and rows of the terminal.
fn size() -> Option<(u16, u16)> {
    // SAFETY: TIOCGWINSZ fills a winsize we own.
    unsafe {
        let mut ws: libc::winsize = std::mem::zeroed();
        (libc::ioctl(libc::STDOUT_FILENO, libc::TIOCGWINSZ, &mut ws) == 0 && ws.ws_col > 0)
            .then_some((ws.ws_col, ws.ws_row))
    }
}

/// Opens the shell of `target` on this terminal; returns its exit status.
pub(crate) async fn attach(target: &ShellTarget, resume_on_exit: bool) -> Result<i64, String> {
    if target.container.is_none() {
        return open_shell(target, resume_on_exit, None)
            .await
            .map_err(|e| e.to_string());
    }
    on_terminal(Opening::Build(target, resume_on_exit)).await
}

/// A shell in a container: a paused or kept build's, or a deploy container's.
enum Opening<'a> {
    Build(&'a ShellTarget, bool),
    Deploy(&'a Found),
}

/// Opens the shell with this terminal in raw mode, restored however it ends.
async fn on_terminal(opening: Opening<'_>) -> Result<i64, String> {
    let mut input = crate::input::chunks().lock().await;
    let mut output = tokio::io::stdout();
    let raw = RawMode::enable();
    let terminal = Terminal {
        input: &mut input,
        output: &mut output,
        size: size(),
    };
    let result = match opening {
        Opening::Build(target, resume_on_exit) => {
            open_shell(target, resume_on_exit, Some(terminal)).await
        }
        Opening::Deploy(container) => open_deploy_shell(container, terminal).await,
    };
    drop(raw);
    result.map_err(|e| e.to_string())
}

/// What a build or run does when a build pauses or is kept: records it for
/// `pipelocal shell`, and on a terminal opens the shell itself, one at a
/// time (a second paused action waits until the first shell is left).
pub struct Shells {
    pub state_dir: std::path::PathBuf,
    pub interactive: bool,
}

impl Shells {
    /// Keeps the shell records in step; the shell to open now, if any.
    pub(crate) fn on(&self, event: &BuildEvent) -> Option<ShellTarget> {
        match &event.kind {
            BuildEventKind::Paused { target, .. } => {
                if let Err(e) = target.save(&self.state_dir) {
                    eprintln!(
                        "pipelocal: cannot record the paused build for `pipelocal shell`: {e}"
                    );
                }
                if !self.interactive {
                    eprintln!(
                        "pipelocal: paused; from a terminal run: pipelocal shell {}",
                        target.build_id
                    );
                }
                self.interactive.then(|| (**target).clone())
            }
            BuildEventKind::Resumed { build_id } => {
                ShellTarget::remove(&self.state_dir, build_id);
                None
            }
            BuildEventKind::Kept(target) => {
                if let Err(e) = target.save(&self.state_dir) {
                    eprintln!("pipelocal: cannot record the kept build for `pipelocal shell`: {e}");
                }
                None
            }
            _ => None,
        }
    }
}

/// Opens a paused build's shell on this terminal; leaving it lets the build
/// go on. A shell that cannot open says how to reach the build instead.
pub(crate) async fn open(target: &ShellTarget) {
    if let Err(e) = attach(target, true).await {
        eprintln!(
            "pipelocal: the shell could not open: {e}; use `pipelocal shell {}`",
            target.build_id
        );
    }
}

/// The deploy containers (instances, tasks) of `state_dir`: none when no
/// engine answers (builds on the host have no use for one, so that is not
/// worth a word), an error when one answers but cannot list them.
async fn deploy_containers_of(state_dir: &Path) -> Result<Vec<Found>, String> {
    let Ok(docker) = pipelocal_runner::executor::connect().await else {
        return Ok(Vec::new());
    };
    let label = deploy_containers::state_label(state_dir);
    deploy_containers::list(&docker, None, &label)
        .await
        .map_err(|e| e.to_string())
}

/// `pipelocal shell [ID]`: ID a paused or kept build, or a deploy
/// container by name or by its `Application/DeploymentGroup` or
/// `cluster/service`.
pub fn run(build_id: Option<&str>, state_dir: &Path) -> ExitCode {
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(r) => r,
        Err(e) => return unusable(format!("cannot start the async runtime: {e}")),
    };
    let deployed = match runtime.block_on(deploy_containers_of(state_dir)) {
        Ok(found) => found,
        // Builds can still be listed and opened without them.
        Err(e) => {
            eprintln!("pipelocal: deploy containers are not listed: {e}");
            Vec::new()
        }
    };
    let Some(id) = build_id else {
        let targets = ShellTarget::list(state_dir);
        if targets.is_empty() && deployed.is_empty() {
            println!(
                "No paused or kept builds or deploy containers in {} (pipelocal build --debug-session, --break-on-failure, --keep; pipelocal run --deploy local)",
                state_dir.display()
            );
        }
        for t in targets {
            let what = if t.paused { "paused" } else { "kept" };
            let place = t
                .container
                .as_deref()
                .map_or("host folder", |c| c.get(..12).unwrap_or(c));
            println!("{}  {what}  {place}", t.build_id);
        }
        for c in &deployed {
            let kind = c
                .labels
                .get(deploy_containers::DEPLOY_LABEL)
                .map_or("deploy", String::as_str);
            let state = if c.running { "running" } else { "stopped" };
            let target = c.labels.get(TARGET_LABEL).map_or("", String::as_str);
            println!("{}  {kind}  {state}  {target}", c.name);
        }
        return ExitCode::SUCCESS;
    };
    let chosen = match ShellTarget::load(state_dir, id) {
        Ok(Some(target)) => Chosen::Build(Box::new(target)),
        Ok(None) => match deployed_named(&deployed, id) {
            Ok(container) => Chosen::Deploy(container),
            Err(message) => return unusable(message),
        },
        Err(e) => return unusable(e),
    };
    let in_container = match &chosen {
        Chosen::Build(target) => target.container.is_some(),
        Chosen::Deploy(_) => true,
    };
    if in_container && !std::io::stdin().is_terminal() {
        return unusable("`pipelocal shell` needs a terminal");
    }
    let result = runtime.block_on(async {
        match &chosen {
            Chosen::Build(target) => attach(target, false).await,
            Chosen::Deploy(container) => {
                if !container.running {
                    let docker = pipelocal_runner::executor::connect()
                        .await
                        .map_err(|e| e.to_string())?;
                    deploy_containers::restart(&docker, &container.id)
                        .await
                        .map_err(|e| e.to_string())?;
                }
                on_terminal(Opening::Deploy(container)).await
            }
        }
    });
    // The stdin read left waiting on the terminal must not hold the exit.
    runtime.shutdown_background();
    match result {
        Ok(_) => ExitCode::SUCCESS,
        Err(e) => unusable(e),
    }
}

/// What `pipelocal shell ID` opens.
enum Chosen<'a> {
    Build(Box<ShellTarget>),
    Deploy(&'a Found),
}

/// The deploy container `id` names: by container name, or by target when
/// one container has it (an instance; a task's containers share theirs).
fn deployed_named<'c>(deployed: &'c [Found], id: &str) -> Result<&'c Found, String> {
    if let Some(c) = deployed.iter().find(|c| c.name == id) {
        return Ok(c);
    }
    let by_target: Vec<&Found> = deployed
        .iter()
        .filter(|c| c.labels.get(TARGET_LABEL).map(String::as_str) == Some(id))
        .collect();
    match by_target.as_slice() {
        [one] => Ok(one),
        [] => Err(format!(
            "no paused or kept build, and no instance or task, {id} (`pipelocal shell` lists them)"
        )),
        several => Err(format!(
            "{id} has {} containers: name one ({})",
            several.len(),
            several
                .iter()
                .map(|c| c.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )),
    }
}

/// `pipelocal clean`: removes kept builds, the state folder's deploy
/// containers and networks, and what pipelocal processes that died left in
/// the engine.
pub fn clean(state_dir: &Path) -> ExitCode {
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(r) => r,
        Err(e) => return unusable(format!("cannot start the async runtime: {e}")),
    };
    runtime.block_on(async {
        let mut failed = false;
        for target in ShellTarget::list(state_dir)
            .into_iter()
            .filter(|t| !t.paused)
        {
            match pipelocal_runner::executor::owner::discard(&target).await {
                Ok(()) => {
                    ShellTarget::remove(state_dir, &target.build_id);
                    println!("Removed kept build {}", target.build_id);
                }
                Err(e) => {
                    eprintln!("error: {}: {e}", target.build_id);
                    failed = true;
                }
            }
        }
        if let Ok(docker) = pipelocal_runner::executor::connect().await {
            let label = deploy_containers::state_label(state_dir);
            match deploy_containers::remove_all(&docker, &label).await {
                Ok(removed) => {
                    for name in removed.containers {
                        println!("Removed deploy container {name}");
                    }
                    for name in removed.networks {
                        println!("Removed deploy network {name}");
                    }
                }
                Err(e) => {
                    eprintln!("error: removing deploy containers: {e}");
                    failed = true;
                }
            }
        }
        crate::build::reap_leftovers().await;
        if failed {
            ExitCode::from(crate::EXIT_FAILED)
        } else {
            ExitCode::SUCCESS
        }
    })
}
