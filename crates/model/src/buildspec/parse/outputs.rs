//! What a build leaves: `reports`, `artifacts` (primary and secondary)
//! and `cache`.

use serde_json::{Map, Value};

use super::*;
use crate::locate::DocPath;

impl Reader<'_> {
    pub(super) fn reports(&mut self, v: Option<&Value>, path: &DocPath) -> Vec<ReportGroup> {
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

    pub(super) fn artifact_spec(
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

    pub(super) fn artifacts(&mut self, v: &Value, path: &DocPath) -> Option<Artifacts> {
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

    pub(super) fn cache(&mut self, v: &Value, path: &DocPath) -> Option<Cache> {
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
