//! `pipelocal shell [BUILD-ID]` and the shell a paused build opens on its
//! own terminal: the terminal put in raw mode while a container shell runs
//! (the engine's terminal does the line editing), restored however it ends.

use std::io::IsTerminal;
use std::path::Path;
use std::process::ExitCode;

use pipelocal_runner::events::{BuildEvent, BuildEventKind};
use pipelocal_runner::executor::shell_session::{open_shell, Terminal};
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
    let mut input = crate::input::chunks().lock().await;
    let mut output = tokio::io::stdout();
    let raw = RawMode::enable();
    let result = open_shell(
        target,
        resume_on_exit,
        Some(Terminal {
            input: &mut input,
            output: &mut output,
            size: size(),
        }),
    )
    .await;
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

/// `pipelocal shell [BUILD-ID]`.
pub fn run(build_id: Option<&str>, state_dir: &Path) -> ExitCode {
    let Some(id) = build_id else {
        let targets = ShellTarget::list(state_dir);
        if targets.is_empty() {
            println!(
                "No paused or kept builds in {} (pipelocal build --debug-session, --break-on-failure, --keep)",
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
        return ExitCode::SUCCESS;
    };
    let target = match ShellTarget::load(state_dir, id) {
        Ok(Some(t)) => t,
        Ok(None) => {
            return unusable(format!(
                "no paused or kept build {id} in {} (`pipelocal shell` lists them)",
                state_dir.display()
            ))
        }
        Err(e) => return unusable(e),
    };
    if target.container.is_some() && !std::io::stdin().is_terminal() {
        return unusable("`pipelocal shell` needs a terminal");
    }
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(r) => r,
        Err(e) => return unusable(format!("cannot start the async runtime: {e}")),
    };
    let result = runtime.block_on(attach(&target, false));
    // The stdin read left waiting on the terminal must not hold the exit.
    runtime.shutdown_background();
    match result {
        Ok(_) => ExitCode::SUCCESS,
        Err(e) => unusable(e),
    }
}

/// `pipelocal clean`: removes kept builds, and what pipelocal processes that
/// died left in the engine.
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
        crate::build::reap_leftovers().await;
        if failed {
            ExitCode::from(crate::EXIT_FAILED)
        } else {
            ExitCode::SUCCESS
        }
    })
}
