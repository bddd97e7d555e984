//! Finding the configuration files: `.pipelocal.yml` in the current folder or
//! the nearest parent up to the repository's root, over the user's file
//! (`$PIPELOCAL_CONFIG`, else `$XDG_CONFIG_HOME/pipelocal/config.yml`, else
//! `~/.config/pipelocal/config.yml`).

use std::path::PathBuf;

use clap::Args;
use pipelocal_model::cfn::parameters::read_parameter_file;
use pipelocal_model::cfn::ParameterValues;
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

/// Template parameter values, for `validate`, `graph`, `run` and `retry`.
#[derive(Debug, Args, Default)]
pub struct ParameterArgs {
    /// A template parameter's value, over its Default; repeatable.
    #[arg(long = "parameter", value_name = "KEY=VALUE", value_parser = name_value)]
    parameter: Vec<(String, String)>,
    /// Template parameter values from a file in one of CloudFormation's own
    /// formats (create-stack's list, `aws cloudformation deploy`'s
    /// Key=Value list, a CodePipeline template configuration); repeatable.
    #[arg(long = "parameters", value_name = "FILE")]
    parameter_files: Vec<PathBuf>,
}

impl ParameterArgs {
    /// The values these flags give: the files in order, then `--parameter`.
    pub fn given(&self) -> Result<ParameterValues, String> {
        let mut out = ParameterValues::new();
        for file in &self.parameter_files {
            out.extend(read_parameter_file(file).map_err(|e| e.summary())?);
        }
        out.extend(self.parameter.iter().cloned());
        Ok(out)
    }

    /// The configuration files' `parameters`, then these flags.
    pub fn values(&self) -> Result<ParameterValues, String> {
        let mut out = load_config()?.parameters;
        out.extend(self.given()?);
        Ok(out)
    }
}

/// `NAME=VALUE` of a repeatable flag.
pub fn name_value(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((n, v)) if !n.is_empty() => Ok((n.to_string(), v.to_string())),
        _ => Err(format!("expected NAME=VALUE, found `{text}`")),
    }
}
