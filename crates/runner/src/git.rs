//! Asking git about a folder of this machine: one way to run it and read
//! its answer, for sources, their versions and pinned commits.

use std::path::Path;
use std::process::Command;

/// `git -C dir ARGS...`: its standard output without trailing whitespace
/// (leading spaces are kept: `status --porcelain` starts lines with them),
/// or, when it fails, what it said on standard error.
pub fn output(dir: &Path, args: &[&str]) -> Result<String, String> {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .output()
        .map_err(|e| format!("cannot run git: {e}"))?;
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).trim().to_string());
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim_end().to_string())
}

/// The full id of commit `rev` in the repository holding `dir`, if it has it.
pub fn commit(dir: &Path, rev: &str) -> Option<String> {
    output(
        dir,
        &[
            "rev-parse",
            "--verify",
            "--quiet",
            &format!("{rev}^{{commit}}"),
        ],
    )
    .ok()
}
