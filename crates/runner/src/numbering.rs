//! Per-project build numbers that increase across runs, kept in the state
//! folder (`<state-dir>/projects/<project>/last-build-number`).

use std::io::{Read, Seek, Write};
use std::path::Path;

/// Takes the next build number of `project`. A file lock keeps concurrent
/// builds (batches, parallel pipeline actions) from taking the same one.
pub fn next_build_number(state_dir: &Path, project: &str) -> std::io::Result<u64> {
    let dir = state_dir.join("projects").join(project);
    std::fs::create_dir_all(&dir)?;
    let mut file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(dir.join("last-build-number"))?;
    file.lock()?;
    let mut text = String::new();
    file.read_to_string(&mut text)?;
    let next = text.trim().parse::<u64>().unwrap_or(0) + 1;
    file.set_len(0)?;
    file.rewind()?;
    writeln!(file, "{next}")?;
    file.sync_all()?;
    Ok(next)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_increase_per_project() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(next_build_number(dir.path(), "a").unwrap(), 1);
        assert_eq!(next_build_number(dir.path(), "a").unwrap(), 2);
        assert_eq!(next_build_number(dir.path(), "b").unwrap(), 1);
    }
}
