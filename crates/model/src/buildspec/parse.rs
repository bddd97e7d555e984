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
    match spec {
        Some(buildspec) if r.errors.is_empty() => Ok(LoadedBuildspec {
            buildspec,
            warnings: r.warnings,
        }),
        _ => {
            let mut problems = r.errors;
            problems.extend(r.warnings);
            Err(LoadError::Invalid { problems })
        }
    }
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
        for key in map.keys() {
            if !allowed.contains(&key.as_str()) {
                let hint = closest(key, allowed.iter().copied())
                    .map(|s| format!("; did you mean `{s}`?"))
                    .unwrap_or_default();
                self.warn(
                    &path.key(key),
                    format!("unknown key `{key}` in {what} is ignored{hint}"),
                );
            }
        }
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

    fn env(&mut self, v: Option<&Value>, path: &DocPath) -> Env {
        let Some(env) = self.map(v, path, "env") else {
            return Env::default();
        };
        self.known_keys(env, path, ENV_KEYS, "env");
        let shell = self.opt_string(env.get("shell"), &path.key("shell"));
        if let Some(s) = &shell {
            if !SHELLS.contains(&s.as_str()) {
                self.warn(&path.key("shell"), format!("env/shell `{s}` is not one CodeBuild documents (bash, /bin/sh, powershell.exe, cmd.exe)"));
            }
        }
        let variables = self.string_pairs(
            env.get("variables"),
            &path.key("variables"),
            "env/variables",
        );
        for (name, _) in &variables {
            if name.starts_with("CODEBUILD_") {
                self.warn(
                    &path.key("variables").key(name),
                    format!("`{name}`: names starting with CODEBUILD_ are reserved for CodeBuild"),
                );
            }
        }
        let parameter_store = self.string_pairs(
            env.get("parameter-store"),
            &path.key("parameter-store"),
            "env/parameter-store",
        );
        let secrets_manager: Vec<(String, SecretRef)> = self
            .string_pairs(
                env.get("secrets-manager"),
                &path.key("secrets-manager"),
                "env/secrets-manager",
            )
            .into_iter()
            .map(|(k, v)| (k, SecretRef::parse(&v)))
            .collect();
        let exported_variables = self.strings(
            env.get("exported-variables"),
            &path.key("exported-variables"),
        );
        for name in &exported_variables {
            if name.starts_with("AWS_") {
                self.warn(&path.key("exported-variables"), format!("`{name}` cannot be exported: names starting with AWS_ are not exported by CodeBuild"));
            }
        }
        let git_credential_helper = self
            .opt_bool(
                env.get("git-credential-helper"),
                &path.key("git-credential-helper"),
            )
            .unwrap_or(false);
        let names = [
            (
                "variables",
                variables.iter().map(|(n, _)| n).collect::<Vec<_>>(),
            ),
            (
                "parameter-store",
                parameter_store.iter().map(|(n, _)| n).collect(),
            ),
            (
                "secrets-manager",
                secrets_manager.iter().map(|(n, _)| n).collect(),
            ),
            ("exported-variables", exported_variables.iter().collect()),
        ];
        for (key, list) in names {
            for name in list.into_iter().filter(|n| !is_shell_name(n)) {
                self.warn(
                    &path.key(key).key(name),
                    format!("`{name}` is not a shell variable name (letters, digits and _, not starting with a digit): commands cannot see it"),
                );
            }
        }
        Env {
            shell,
            variables,
            parameter_store,
            secrets_manager,
            exported_variables,
            git_credential_helper,
        }
    }

    fn env_0_1(&mut self, top: &Map<String, Value>, root: &DocPath) -> Env {
        if top.contains_key("env") {
            self.warn(
                &root.key("env"),
                "`env` is a version 0.2 key; version 0.1 uses `environment_variables`",
            );
        }
        let path = root.key("environment_variables");
        let Some(env) = self.map(
            top.get("environment_variables"),
            &path,
            "environment_variables",
        ) else {
            return Env::default();
        };
        self.known_keys(env, &path, &["plaintext"], "environment_variables");
        let variables = self.string_pairs(
            env.get("plaintext"),
            &path.key("plaintext"),
            "environment_variables/plaintext",
        );
        Env {
            variables,
            ..Env::default()
        }
    }

    fn proxy(&mut self, v: Option<&Value>, path: &DocPath) -> Proxy {
        let Some(m) = self.map(v, path, "proxy") else {
            return Proxy::default();
        };
        self.known_keys(m, path, &["upload-artifacts", "logs"], "proxy");
        Proxy {
            upload_artifacts: self
                .opt_bool(m.get("upload-artifacts"), &path.key("upload-artifacts"))
                .unwrap_or(false),
            logs: self
                .opt_bool(m.get("logs"), &path.key("logs"))
                .unwrap_or(false),
        }
    }

    fn phases(&mut self, v: Option<&Value>, path: &DocPath) -> Vec<(PhaseName, Phase)> {
        let Some(m) = self.map(v, path, "phases") else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for (key, value) in m {
            let Some(name) = PhaseName::ALL.into_iter().find(|p| p.key() == key) else {
                let hint = closest(key, PhaseName::ALL.iter().map(|p| p.key()))
                    .map(|s| format!("; did you mean `{s}`?"))
                    .unwrap_or_default();
                self.error(&path.key(key), format!("unknown phase `{key}`: phases are install, pre_build, build and post_build{hint}"));
                continue;
            };
            let phase = self.phase(name, value, &path.key(key));
            out.push((name, phase));
        }
        out.sort_by_key(|(n, _)| *n);
        out
    }

    fn phase(&mut self, name: PhaseName, v: &Value, path: &DocPath) -> Phase {
        let Some(m) = self.map(Some(v), path, "a phase") else {
            return Phase::default();
        };
        self.known_keys(m, path, PHASE_KEYS, &format!("phase {}", name.key()));
        let on_failure = match self.opt_string(m.get("on-failure"), &path.key("on-failure")) {
            Some(text) => match parse_on_failure(&text) {
                Ok(f) => Some(f),
                Err(msg) => {
                    self.error(&path.key("on-failure"), msg);
                    None
                }
            },
            None => None,
        };
        let runtime_versions = if m.contains_key("runtime-versions") {
            if name != PhaseName::Install {
                self.warn(
                    &path.key("runtime-versions"),
                    "runtime-versions is only read in the install phase",
                );
            }
            let rv = self.string_pairs(
                m.get("runtime-versions"),
                &path.key("runtime-versions"),
                "runtime-versions",
            );
            if rv.is_empty() {
                self.error(
                    &path.key("runtime-versions"),
                    "runtime-versions must list at least one runtime",
                );
            }
            rv
        } else {
            Vec::new()
        };
        Phase {
            run_as: self.opt_string(m.get("run-as"), &path.key("run-as")),
            on_failure,
            runtime_versions,
            commands: self.commands(m.get("commands"), &path.key("commands")),
            finally: self.commands(m.get("finally"), &path.key("finally")),
        }
    }

    fn commands(&mut self, v: Option<&Value>, path: &DocPath) -> Vec<Command> {
        let items = match v {
            None | Some(Value::Null) => return Vec::new(),
            Some(Value::Array(items)) => items,
            Some(other) => {
                self.error(
                    path,
                    format!("commands must be a list of strings, found {}", kind(other)),
                );
                return Vec::new();
            }
        };
        let mut out = Vec::new();
        for (i, item) in items.iter().enumerate() {
            let item_path = path.index(i);
            let line = self.doc.line(&item_path);
            match item {
                Value::String(_) | Value::Number(_) | Value::Bool(_) => out.push(Command {
                    text: stringify(item),
                    line,
                }),
                Value::Null => {
                    self.warn(&item_path, format!("Commands[{i}] is empty and is skipped"))
                }
                Value::Object(_) => {
                    let at = line
                        .map(|l| {
                            format!(
                                " at line {l}, value of the key tag on line {} might be empty",
                                l.saturating_sub(1)
                            )
                        })
                        .unwrap_or_default();
                    self.error(&item_path, format!("Expected Commands[{i}] to be of string type: found subkeys instead{at} (quote a command that contains `: `)"));
                }
                Value::Array(_) => self.error(
                    &item_path,
                    format!("Expected Commands[{i}] to be of string type: found a list instead"),
                ),
            }
        }
        out
    }

    fn reports(&mut self, v: Option<&Value>, path: &DocPath) -> Vec<ReportGroup> {
        let Some(m) = self.map(v, path, "reports") else {
            return Vec::new();
        };
        if m.len() > 5 {
            self.error(
                path,
                format!("{} report groups: a project may have at most 5", m.len()),
            );
        }
        let mut out = Vec::new();
        for (name, group) in m {
            let gpath = path.key(name);
            let Some(g) = self.map(Some(group), &gpath, "a report group") else {
                continue;
            };
            self.known_keys(g, &gpath, REPORT_KEYS, &format!("report group {name}"));
            let files = self.strings(g.get("files"), &gpath.key("files"));
            if files.is_empty() {
                self.error(&gpath, format!("report group `{name}` needs `files`"));
            }
            let file_format = match self.opt_string(g.get("file-format"), &gpath.key("file-format"))
            {
                None => ReportFormat::JunitXml,
                Some(f) => ReportFormat::parse(&f).unwrap_or_else(|| {
                    let all: Vec<&str> = ReportFormat::ALL.iter().map(|f| f.name()).collect();
                    self.error(
                        &gpath.key("file-format"),
                        format!(
                            "unknown report file-format `{f}`: one of {}",
                            all.join(", ")
                        ),
                    );
                    ReportFormat::JunitXml
                }),
            };
            out.push(ReportGroup {
                name: name.clone(),
                files,
                base_directory: self
                    .opt_string(g.get("base-directory"), &gpath.key("base-directory")),
                discard_paths: self
                    .opt_bool(g.get("discard-paths"), &gpath.key("discard-paths"))
                    .unwrap_or(false),
                file_format,
            });
        }
        out
    }

    fn artifact_spec(
        &mut self,
        m: &Map<String, Value>,
        path: &DocPath,
        allowed: &[&str],
        what: &str,
    ) -> ArtifactSpec {
        self.known_keys(m, path, allowed, what);
        ArtifactSpec {
            files: self.strings(m.get("files"), &path.key("files")),
            name: self.opt_string(m.get("name"), &path.key("name")),
            discard_paths: self
                .opt_bool(m.get("discard-paths"), &path.key("discard-paths"))
                .unwrap_or(false),
            base_directory: self.opt_string(m.get("base-directory"), &path.key("base-directory")),
            exclude_paths: self.strings(m.get("exclude-paths"), &path.key("exclude-paths")),
            enable_symlinks: self
                .opt_bool(m.get("enable-symlinks"), &path.key("enable-symlinks"))
                .unwrap_or(false),
            s3_prefix: self.opt_string(m.get("s3-prefix"), &path.key("s3-prefix")),
        }
    }

    fn artifacts(&mut self, v: &Value, path: &DocPath) -> Option<Artifacts> {
        let m = self.map(Some(v), path, "artifacts")?;
        let primary = self.artifact_spec(m, path, ARTIFACT_KEYS, "artifacts");
        let mut secondary = Vec::new();
        let spath = path.key("secondary-artifacts");
        if let Some(sec) = self.map(m.get("secondary-artifacts"), &spath, "secondary-artifacts") {
            for (id, spec) in sec {
                let ipath = spath.key(id);
                if !id.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') || id.is_empty() {
                    self.error(&ipath, format!("secondary artifact identifier `{id}` may contain only letters, digits and _"));
                }
                let Some(sm) = self.map(Some(spec), &ipath, "a secondary artifact") else {
                    continue;
                };
                let spec = self.artifact_spec(
                    sm,
                    &ipath,
                    &ARTIFACT_KEYS[..7],
                    &format!("secondary artifact {id}"),
                );
                if spec.files.is_empty() {
                    self.error(&ipath, format!("secondary artifact `{id}` needs `files`"));
                }
                secondary.push((id.clone(), spec));
            }
        }
        if primary.files.is_empty() && secondary.is_empty() {
            self.error(path, "artifacts needs `files`");
        }
        Some(Artifacts { primary, secondary })
    }

    fn cache(&mut self, v: &Value, path: &DocPath) -> Option<Cache> {
        let m = self.map(Some(v), path, "cache")?;
        self.known_keys(m, path, CACHE_KEYS, "cache");
        let action = match self
            .opt_string(m.get("action"), &path.key("action"))
            .as_deref()
        {
            None => None,
            Some("restore") => Some(CacheAction::Restore),
            Some("save") => Some(CacheAction::Save),
            Some(other) => {
                self.error(
                    &path.key("action"),
                    format!("cache action `{other}` must be restore or save"),
                );
                None
            }
        };
        let fallback_keys = self.strings(m.get("fallback-keys"), &path.key("fallback-keys"));
        if fallback_keys.len() > 5 {
            self.error(
                &path.key("fallback-keys"),
                "cache fallback-keys may list at most 5 keys",
            );
        }
        Some(Cache {
            paths: self.strings(m.get("paths"), &path.key("paths")),
            key: self.opt_string(m.get("key"), &path.key("key")),
            fallback_keys,
            action,
        })
    }
}

pub(super) fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "nothing",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "a mapping",
    }
}

/// `ABORT`, `CONTINUE`, `RETRY`, `RETRY-<count>`, `RETRY-<regex>`, `RETRY-<count>-<regex>`.
pub fn parse_on_failure(text: &str) -> Result<OnFailure, String> {
    const DEFAULT_RETRIES: u32 = 3;
    match text.trim() {
        "ABORT" => return Ok(OnFailure::Abort),
        "CONTINUE" => return Ok(OnFailure::Continue),
        "RETRY" => {
            return Ok(OnFailure::Retry {
                count: DEFAULT_RETRIES,
                pattern: None,
            })
        }
        _ => {}
    }
    let Some(rest) = text.trim().strip_prefix("RETRY-") else {
        return Err(format!("invalid on-failure value `{text}`: use ABORT, CONTINUE, RETRY, RETRY-<count>, RETRY-<regex> or RETRY-<count>-<regex>"));
    };
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    let after = &rest[digits.len()..];
    let (count, pattern) = if !digits.is_empty() && (after.is_empty() || after.starts_with('-')) {
        let count: u32 = digits
            .parse()
            .map_err(|_| format!("invalid retry count in `{text}`"))?;
        if count > 100 {
            return Err(format!(
                "retry count {count} in `{text}` is out of range 0-100"
            ));
        }
        let pattern = after
            .strip_prefix('-')
            .filter(|p| !p.is_empty())
            .map(String::from);
        (count, pattern)
    } else {
        (
            DEFAULT_RETRIES,
            Some(rest.to_string()).filter(|p| !p.is_empty()),
        )
    };
    if let Some(p) = &pattern {
        if let Err(e) = regex::Regex::new(&format!("^(?:{p})$")) {
            let reason = e
                .to_string()
                .lines()
                .last()
                .unwrap_or_default()
                .trim()
                .to_string();
            return Err(format!(
                "invalid regular expression `{p}` in on-failure `{text}`: {reason}"
            ));
        }
    }
    Ok(OnFailure::Retry { count, pattern })
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
