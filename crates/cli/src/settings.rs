//! Finding the configuration files: `.pipelocal.yml` in the current folder or
//! the nearest parent up to the repository's root, over the user's file
//! (`$PIPELOCAL_CONFIG`, else `$XDG_CONFIG_HOME/pipelocal/config.yml`, else
//! `~/.config/pipelocal/config.yml`).

use std::path::PathBuf;

use pipelocal_model::config::Config;

pub const REPO_CONFIG: &str = ".pipelocal.yml";

pub(crate) fn repo_config() -> Option<PathBuf> {
    let mut dir = std::env::current_dir().ok()?;
    loop {
        let candidate = dir.join(REPO_CONFIG);
        if candidate.is_file() {
            return Some(candidate);
        }
        // The repository's root is as far up as a repository's file is looked for.
        if dir.join(".git").exists() || !dir.pop() {
            return None;
        }
    }
}

pub(crate) fn user_config() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("PIPELOCAL_CONFIG") {
        return Some(PathBuf::from(path));
    }
    let base = std::env::var_os("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")))?;
    let path = base.join("pipelocal").join("config.yml");
    path.is_file().then_some(path)
}

/// The repository's configuration over the user's; empty when there is none.
pub fn load_config() -> Result<Config, String> {
    let load = |path: Option<PathBuf>| -> Result<Config, String> {
        match path {
            Some(p) => Config::load(&p).map_err(|e| e.summary()),
            None => Ok(Config::default()),
        }
    };
    let user = load(user_config())?;
    let repo = load(repo_config())?;
    Ok(repo.over(user))
}

/// The state folder: the flag, else the configuration's, else `.pipelocal`.
pub fn state_dir(flag: Option<&std::path::Path>) -> Result<PathBuf, String> {
    if let Some(dir) = flag {
        return Ok(dir.to_path_buf());
    }
    Ok(load_config()?
        .state_dir
        .unwrap_or_else(|| PathBuf::from(".pipelocal")))
}
