//! Reads buildspec YAML into [`Buildspec`], with CodeBuild's error wording
//! where it is known (CodeBuild User Guide, "Build specification reference for CodeBuild") and a line for every problem.

use std::path::Path;

use serde_json::{Map, Value};

use super::batch::parse_batch;
use super::*;
use crate::document::Document;
use crate::locate::DocPath;
use crate::problem::{LoadError, Problem};
use crate::scalar::{as_bool, stringify};
use crate::similar::closest;

mod env;
mod outputs;
mod phases;

#[cfg(test)]
use phases::parse_on_failure;

pub fn load_buildspec(path: &Path) -> Result<LoadedBuildspec, LoadError> {
    let doc = Document::read(path)?;
    from_document(&doc)
}

/// Parses buildspec text; `path` names it in messages (it need not exist).
pub fn parse_buildspec(path: &Path, text: String) -> Result<LoadedBuildspec, LoadError> {
    let doc = Document::parse(path, text)?;
    from_document(&doc)
}

fn from_document(doc: &Document) -> Result<LoadedBuildspec, LoadError> {
    let mut r = Reader {
        doc,
        errors: Vec::new(),
        warnings: Vec::new(),
    };
    let spec = r.buildspec();
    let (buildspec, warnings) = LoadError::unless_errors(spec, r.errors, r.warnings)?;
    Ok(LoadedBuildspec {
        buildspec,
        warnings,
    })
}

pub(super) struct Reader<'d> {
    doc: &'d Document,
    pub errors: Vec<Problem>,
    pub warnings: Vec<Problem>,
}

const TOP_KEYS: &[&str] = &[
    "version",
    "run-as",
    "env",
    "environment_variables",
    "proxy",
    "batch",
    "phases",
    "reports",
    "artifacts",
    "cache",
];
const ENV_KEYS: &[&str] = &[
    "shell",
    "variables",
    "parameter-store",
    "secrets-manager",
    "exported-variables",
    "git-credential-helper",
];
const PHASE_KEYS: &[&str] = &[
    "run-as",
    "on-failure",
    "runtime-versions",
    "commands",
    "finally",
];
const ARTIFACT_KEYS: &[&str] = &[
    "files",
    "name",
    "discard-paths",
    "base-directory",
    "exclude-paths",
    "enable-symlinks",
    "s3-prefix",
    "secondary-artifacts",
];
const REPORT_KEYS: &[&str] = &["files", "base-directory", "discard-paths", "file-format"];
const CACHE_KEYS: &[&str] = &["paths", "key", "fallback-keys", "action"];
const SHELLS: &[&str] = &[
    "bash",
    "/bin/sh",
    "sh",
    "powershell.exe",
    "cmd.exe",
    "pwsh",
    "/bin/bash",
];

impl<'d> Reader<'d> {
    pub(super) fn error(&mut self, path: &DocPath, message: impl Into<String>) {
        self.errors.push(self.doc.error(path, message));
    }

    /// Problems with the whole file are reported at its first line.
    fn error_at_first_line(&mut self, message: &str) {
        let place = crate::problem::Place::file(&self.doc.path).at_line(Some(1));
        self.errors.push(Problem::error(place, message));
    }

    pub(super) fn warn(&mut self, path: &DocPath, message: impl Into<String>) {
        self.warnings.push(self.doc.warning(path, message));
    }

    fn buildspec(&mut self) -> Option<Buildspec> {
        let root = DocPath::root();
        let Some(top) = self.doc.value.as_object() else {
            self.error_at_first_line("the buildspec must be a YAML mapping with a `version` key");
            return None;
        };
        self.known_keys(top, &root, TOP_KEYS, "buildspec");
        let version = match top.get("version").map(stringify).as_deref().map(str::trim) {
            Some("0.2") => BuildspecVersion::V0_2,
            Some("0.1") => BuildspecVersion::V0_1,
            Some(other) => {
                self.error(
                    &root.key("version"),
                    format!("invalid buildspec version '{other}': must be 0.1 or 0.2"),
                );
                return None;
            }
            None => {
                self.error_at_first_line("missing buildspec version: add `version: 0.2`");
                return None;
            }
        };
        let env = match version {
            BuildspecVersion::V0_2 => self.env(top.get("env"), &root.key("env")),
            BuildspecVersion::V0_1 => self.env_0_1(top, &root),
        };
        let proxy = self.proxy(top.get("proxy"), &root.key("proxy"));
        let batch = top
            .get("batch")
            .and_then(|b| parse_batch(self, b, &root.key("batch")));
        let phases = self.phases(top.get("phases"), &root.key("phases"));
        let reports = self.reports(top.get("reports"), &root.key("reports"));
        let artifacts = top
            .get("artifacts")
            .and_then(|a| self.artifacts(a, &root.key("artifacts")));
        let cache = top
            .get("cache")
            .and_then(|c| self.cache(c, &root.key("cache")));
        let run_as = self.opt_string(top.get("run-as"), &root.key("run-as"));
        if phases.is_empty() && batch.is_none() {
            self.warn(
                &root,
                "the buildspec has no phases: a build runs no commands",
            );
        }
        Some(Buildspec {
            version,
            run_as,
            env,
            proxy,
            batch,
            phases,
            reports,
            artifacts,
            cache,
        })
    }

    pub(super) fn known_keys(
        &mut self,
        map: &Map<String, Value>,
        path: &DocPath,
        allowed: &[&str],
        what: &str,
    ) {
        let unknown = self.doc.unknown_keys(map, path, allowed, what);
        self.warnings.extend(unknown);
    }

    /// A mapping, or `None` for an absent or null value.
    pub(super) fn map<'v>(
        &mut self,
        v: Option<&'v Value>,
        path: &DocPath,
        what: &str,
    ) -> Option<&'v Map<String, Value>> {
        match v {
            None | Some(Value::Null) => None,
            Some(Value::Object(m)) => Some(m),
            Some(other) => {
                self.error(
                    path,
                    format!("{what} must be a mapping, found {}", kind(other)),
                );
                None
            }
        }
    }

    pub(super) fn opt_string(&mut self, v: Option<&Value>, path: &DocPath) -> Option<String> {
        match v {
            None | Some(Value::Null) => None,
            Some(v @ (Value::String(_) | Value::Number(_) | Value::Bool(_))) => Some(stringify(v)),
            Some(other) => {
                self.error(path, format!("expected a string, found {}", kind(other)));
                None
            }
        }
    }

    pub(super) fn opt_bool(&mut self, v: Option<&Value>, path: &DocPath) -> Option<bool> {
        match v {
            None | Some(Value::Null) => None,
            Some(v) => match as_bool(v) {
                Some(b) => Some(b),
                None => {
                    self.error(path, format!("expected yes or no, found {}", stringify(v)));
                    None
                }
            },
        }
    }

    /// A list of strings; a single string stands for a one-item list.
    pub(super) fn strings(&mut self, v: Option<&Value>, path: &DocPath) -> Vec<String> {
        match v {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(items)) => {
                let mut out = Vec::new();
                for (i, item) in items.iter().enumerate() {
                    match item {
                        Value::Null => {}
                        Value::String(_) | Value::Number(_) | Value::Bool(_) => {
                            out.push(stringify(item))
                        }
                        other => self.error(
                            &path.index(i),
                            format!("expected a string, found {}", kind(other)),
                        ),
                    }
                }
                out
            }
            Some(v @ (Value::String(_) | Value::Number(_) | Value::Bool(_))) => vec![stringify(v)],
            Some(other) => {
                self.error(
                    path,
                    format!("expected a list of strings, found {}", kind(other)),
                );
                Vec::new()
            }
        }
    }

    /// `NAME: value` pairs; values are kept literally (CodeBuild never expands them).
    pub(super) fn string_pairs(
        &mut self,
        v: Option<&Value>,
        path: &DocPath,
        what: &str,
    ) -> Vec<(String, String)> {
        let Some(map) = self.map(v, path, what) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for (k, v) in map {
            match v {
                Value::Array(_) | Value::Object(_) => {
                    self.error(
                        &path.key(k),
                        format!("{what} `{k}` must be a string, found {}", kind(v)),
                    );
                }
                other => out.push((k.trim().to_string(), stringify(other))),
            }
        }
        out
    }
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "nothing",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "a mapping",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<LoadedBuildspec, LoadError> {
        parse_buildspec(Path::new("buildspec.yml"), text.to_string())
    }

    #[test]
    fn on_failure_forms() {
        assert_eq!(parse_on_failure("ABORT"), Ok(OnFailure::Abort));
        assert_eq!(
            parse_on_failure("RETRY"),
            Ok(OnFailure::Retry {
                count: 3,
                pattern: None
            })
        );
        assert_eq!(
            parse_on_failure("RETRY-4"),
            Ok(OnFailure::Retry {
                count: 4,
                pattern: None
            })
        );
        assert_eq!(
            parse_on_failure("RETRY-.*timed out.*"),
            Ok(OnFailure::Retry {
                count: 3,
                pattern: Some(".*timed out.*".into())
            })
        );
        assert_eq!(
            parse_on_failure("RETRY-3-.*connection.*"),
            Ok(OnFailure::Retry {
                count: 3,
                pattern: Some(".*connection.*".into())
            })
        );
        assert!(parse_on_failure("RETRY-101").is_err());
        assert!(parse_on_failure("STOP").is_err());
        assert!(parse_on_failure("RETRY-2-[unclosed")
            .unwrap_err()
            .contains("invalid regular expression `[unclosed`"));
    }

    #[test]
    fn unquoted_colon_in_command_is_codebuild_error_with_line() {
        let err = parse("version: 0.2\nphases:\n  build:\n    commands:\n      - echo ok\n      - echo key: value\n").unwrap_err();
        let text = err.to_string();
        assert!(text.starts_with("buildspec.yml:6: error: Expected Commands[1] to be of string type: found subkeys instead at line 6, value of the key tag on line 5 might be empty"), "{text}");
    }

    #[test]
    fn reads_a_full_02_buildspec() {
        let spec = parse(
            "version: 0.2\nrun-as: root\nenv:\n  shell: bash\n  variables:\n    A: \"$B\"\n    N: 3\n  secrets-manager:\n    S: id:key\n  exported-variables: [A]\n  git-credential-helper: yes\nphases:\n  install:\n    runtime-versions:\n      python: 3.12\n  build:\n    on-failure: CONTINUE\n    commands:\n      - |\n        echo one\n        echo two\n    finally:\n      - echo done\nreports:\n  unit:\n    files: ['**/*.xml']\n    file-format: junitxml\nartifacts:\n  files: '**/*'\n  discard-paths: yes\n  secondary-artifacts:\n    logs:\n      files: [log.txt]\ncache:\n  paths: ['/root/.m2/**/*']\n",
        )
        .unwrap();
        let b = spec.buildspec;
        assert_eq!(b.version, BuildspecVersion::V0_2);
        assert_eq!(
            b.env.variables,
            vec![("A".into(), "$B".into()), ("N".into(), "3".into())]
        );
        assert!(b.env.git_credential_helper);
        let build = b.phase(PhaseName::Build).unwrap();
        assert_eq!(build.commands[0].text, "echo one\necho two\n");
        assert_eq!(build.on_failure, Some(OnFailure::Continue));
        assert_eq!(
            b.phase(PhaseName::Install).unwrap().runtime_versions,
            vec![("python".into(), "3.12".into())]
        );
        assert_eq!(b.reports[0].file_format, ReportFormat::JunitXml);
        let a = b.artifacts.unwrap();
        assert!(a.primary.discard_paths);
        assert_eq!(a.secondary[0].0, "logs");
        assert!(spec.warnings.is_empty(), "{:?}", spec.warnings);
    }

    #[test]
    fn version_01_and_bad_versions() {
        let spec = parse("version: 0.1\nenvironment_variables:\n  plaintext:\n    X: y\nphases:\n  build:\n    commands: [echo $X]\n").unwrap();
        assert_eq!(spec.buildspec.version, BuildspecVersion::V0_1);
        assert_eq!(spec.buildspec.env.variables[0].1, "y");
        assert!(parse("version: 0.3\nphases: {}\n")
            .unwrap_err()
            .to_string()
            .contains("invalid buildspec version '0.3'"));
        assert!(parse("phases: {}\n")
            .unwrap_err()
            .to_string()
            .contains("missing buildspec version"));
    }

    #[test]
    fn misspelt_phase_is_an_error_and_unknown_keys_warn() {
        let err = parse("version: 0.2\nphases:\n  prebuild:\n    commands: [ls]\n").unwrap_err();
        assert!(
            err.to_string()
                .contains("buildspec.yml:3: error: unknown phase `prebuild`"),
            "{err}"
        );
        assert!(
            err.to_string().contains("did you mean `pre_build`?"),
            "{err}"
        );
        let ok = parse("version: 0.2\nphases:\n  install:\n    Commands: [ls]\n").unwrap();
        assert!(
            ok.warnings[0].message.contains("did you mean `commands`?"),
            "{:?}",
            ok.warnings
        );
    }
}
