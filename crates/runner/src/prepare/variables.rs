//! The variables a build gets and where each comes from, as CodeBuild takes
//! them (CodeBuild User Guide, "Environment variables in build
//! environments"): the buildspec's `env` (plain, `parameter-store`,
//! `secrets-manager`), the project's variables, a pipeline action's
//! overrides, and `-e` env files; secret references are looked up in the
//! `--secrets-file`. What the record shows is gathered beside them: a
//! secret's reference, never its value.

use std::path::Path;

use pipelocal_model::buildspec::{is_shell_name, Buildspec, SecretRef};
use pipelocal_model::project::{EnvironmentVariable, EnvironmentVariableType, Project};
use pipelocal_model::secrets::SecretsFile;

use super::{LocalBuild, PrepareError};
use crate::environment::{UserVariable, UserVariables};
use crate::record::EnvironmentVariableRecord;

/// A build's variables, what its record shows of them, and the secret
/// references the secrets file could not answer.
pub(super) struct Gathered {
    pub variables: UserVariables,
    pub record: Vec<EnvironmentVariableRecord>,
    pub unresolved: Vec<String>,
    /// The same references without the fix: what a reproduction lists.
    pub missing: Vec<String>,
}

/// Gathers the variables of a build of `input` with `project` and `spec`.
pub(super) fn gather(
    input: &LocalBuild,
    project: Option<&Project>,
    spec: Option<&Buildspec>,
) -> Result<Gathered, PrepareError> {
    let secrets = match &input.secrets_file {
        Some(file) => Some(SecretsFile::load(file)?),
        None => None,
    };
    let mut vars = Resolving {
        secrets: secrets.as_ref(),
        unresolved: Vec::new(),
        missing: Vec::new(),
    };
    let mut variables = UserVariables::default();
    let mut record_vars = Vec::new();
    if let Some(spec) = spec {
        variables.buildspec = spec
            .env
            .variables
            .iter()
            .map(|(n, v)| UserVariable::plain(n, v))
            .collect();
        for (name, parameter) in &spec.env.parameter_store {
            variables
                .buildspec
                .extend(vars.parameter(name, parameter, "parameter-store"));
        }
        for (name, reference) in &spec.env.secrets_manager {
            variables
                .buildspec
                .extend(vars.secret(name, reference, "secrets-manager"));
        }
    }
    // The record shows a secret's reference, never its value.
    if let Some(p) = project {
        for v in &p.environment.environment_variables {
            record_vars.push(EnvironmentVariableRecord::of(v));
            variables.project.extend(vars.typed(v));
        }
    }
    for v in input.pipeline.iter().flat_map(|p| &p.overrides) {
        record_vars.push(EnvironmentVariableRecord::of(v));
        variables.overrides.extend(vars.typed(v));
    }
    if let Some(file) = &input.env_file {
        for (name, value) in read_env_file(file)? {
            record_vars.push(EnvironmentVariableRecord {
                name: name.clone(),
                value: value.clone(),
                var_type: "PLAINTEXT".into(),
            });
            variables.overrides.push(UserVariable::plain(&name, &value));
        }
    }
    Ok(Gathered {
        variables,
        record: record_vars,
        unresolved: vars.unresolved,
        missing: vars.missing,
    })
}

/// Looks secret references up in the secrets file, noting what it lacks.
struct Resolving<'s> {
    secrets: Option<&'s SecretsFile>,
    unresolved: Vec<String>,
    missing: Vec<String>,
}

impl Resolving<'_> {
    /// A project or action variable's value, by its type.
    fn typed(&mut self, v: &EnvironmentVariable) -> Option<UserVariable> {
        let ty = v.var_type.as_str();
        match v.var_type {
            EnvironmentVariableType::Plaintext => Some(UserVariable::plain(&v.name, &v.value)),
            EnvironmentVariableType::ParameterStore => self.parameter(&v.name, &v.value, ty),
            EnvironmentVariableType::SecretsManager => {
                self.secret(&v.name, &SecretRef::parse(&v.value), ty)
            }
        }
    }

    fn missing(&mut self, what: String) {
        let fix = if self.secrets.is_some() {
            "add it to the --secrets-file"
        } else {
            "give its value in a --secrets-file"
        };
        self.unresolved.push(format!("{what}; {fix}"));
        self.missing.push(what);
    }

    fn parameter(&mut self, name: &str, parameter: &str, kind: &str) -> Option<UserVariable> {
        match self.secrets.and_then(|s| s.parameter(parameter)) {
            Some(value) => Some(UserVariable::secret(name, value)),
            None => {
                self.missing(format!(
                    "{kind} variable {name}: parameter '{parameter}' does not exist"
                ));
                None
            }
        }
    }

    fn secret(&mut self, name: &str, reference: &SecretRef, kind: &str) -> Option<UserVariable> {
        let found = match self.secrets {
            Some(s) => s.secret(reference),
            None => Err(format!("secret '{}' is not known", reference.secret_id)),
        };
        match found {
            Ok(value) => Some(UserVariable::secret(name, &value)),
            Err(why) => {
                self.missing(format!("{kind} variable {name}: {why}"));
                None
            }
        }
    }
}

/// `NAME=VALUE` lines; `#` comments and blank lines are skipped.
fn read_env_file(path: &Path) -> Result<Vec<(String, String)>, PrepareError> {
    let text = std::fs::read_to_string(path).map_err(|e| PrepareError::EnvFile {
        path: path.to_path_buf(),
        reason: e.to_string(),
    })?;
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let trimmed = line.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        match trimmed.split_once('=') {
            Some((name, value)) if is_shell_name(name.trim()) => {
                out.push((name.trim().to_string(), value.to_string()));
            }
            _ => {
                return Err(PrepareError::EnvLine {
                    path: path.to_path_buf(),
                    line: i + 1,
                    text: trimmed.to_string(),
                })
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_files() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("e");
        std::fs::write(&f, "# c\n\nA=1\nB= two = 2\n").unwrap();
        assert_eq!(
            read_env_file(&f).unwrap(),
            vec![("A".into(), "1".into()), ("B".into(), " two = 2".into())]
        );
        std::fs::write(&f, "A=1\nnot a pair\n").unwrap();
        assert_eq!(
            read_env_file(&f).unwrap_err().to_string(),
            format!("{}:2: expected NAME=VALUE, found `not a pair`", f.display())
        );
    }
}
