//! The AppSpec file of an EC2/on-premises revision (`appspec.yml`), read into
//! [`AppSpec`] with the CodeDeploy agent's rejections and every problem's
//! line (CodeDeploy User Guide, "CodeDeploy AppSpec file reference": the
//! 'files', 'permissions' and 'hooks' sections).

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::{Map, Value};

use crate::document::Document;
use crate::locate::DocPath;
use crate::problem::{LoadError, Place, Problem};
use crate::scalar::stringify;
use crate::similar::closest;

/// Where the agent looks for the AppSpec file in a revision, in order.
pub const APPSPEC_NAMES: [&str; 2] = ["appspec.yml", "appspec.yaml"];

/// A hook's `timeout` when it gives none, and the cap on one event's scripts
/// together (AppSpec 'hooks' section).
pub const DEFAULT_TIMEOUT_SECS: u64 = 3600;

/// A parsed AppSpec file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppSpec {
    pub os: Os,
    /// Where `os` is (the file and its line), for errors about it.
    pub os_place: Place,
    pub files: Vec<FileMapping>,
    pub file_exists_behavior: FileExistsBehavior,
    pub permissions: Vec<Permission>,
    /// Scripts by event, each event's in the listed order.
    pub hooks: BTreeMap<LifecycleEvent, Vec<Hook>>,
}

impl AppSpec {
    /// The scripts of `event`, none when the file lists none.
    pub fn scripts(&self, event: LifecycleEvent) -> &[Hook] {
        self.hooks.get(&event).map_or(&[], Vec::as_slice)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Os {
    Linux,
    Windows,
}

/// A `files` entry: `source` (relative to the revision's root; `/` is all
/// of it) copied to the absolute `destination` during Install.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileMapping {
    pub source: String,
    pub destination: String,
    /// Where the entry is, for errors about it found later (a source not
    /// in the bundle).
    pub place: Place,
}

/// What Install does with a file that is at a destination but was not
/// installed by the last successful deployment (AppSpec 'files' section).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum FileExistsBehavior {
    /// The deployment fails (the default).
    #[default]
    Disallow,
    /// The revision's file replaces it.
    Overwrite,
    /// The instance's file is kept.
    Retain,
}

/// A `permissions` entry (Linux only).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Permission {
    pub object: String,
    /// `**` (everything below `object`, the default) or a simple glob
    /// matched against the names directly inside it.
    pub pattern: String,
    pub except: Vec<String>,
    pub owner: Option<String>,
    pub group: Option<String>,
    /// Octal digits for chmod, e.g. `644`.
    pub mode: Option<String>,
    /// Which installed paths it applies to; both when the file says neither.
    pub types: Vec<ObjectType>,
    /// setfacl entries, read (so a malformed list is an error) but not
    /// applied locally. `context` (SELinux) is accepted and not kept: nothing
    /// uses it.
    pub acls: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ObjectType {
    File,
    Directory,
}

/// One script of a lifecycle event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hook {
    /// Relative to the revision's root.
    pub location: String,
    pub timeout_secs: u64,
    /// The user it runs as; the agent's (root) when `None`.
    pub runas: Option<String>,
    /// Where the entry is, for errors about it found later (a script not
    /// in the bundle).
    pub place: Place,
}

/// The lifecycle events of an EC2/on-premises deployment (AppSpec 'hooks'
/// section, "List of lifecycle event hooks"), in the order an in-place
/// deployment runs them; the traffic events run only with a load balancer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum LifecycleEvent {
    BeforeBlockTraffic,
    BlockTraffic,
    AfterBlockTraffic,
    ApplicationStop,
    DownloadBundle,
    BeforeInstall,
    Install,
    AfterInstall,
    ApplicationStart,
    ValidateService,
    BeforeAllowTraffic,
    AllowTraffic,
    AfterAllowTraffic,
}

impl LifecycleEvent {
    pub const ALL: [LifecycleEvent; 13] = [
        LifecycleEvent::BeforeBlockTraffic,
        LifecycleEvent::BlockTraffic,
        LifecycleEvent::AfterBlockTraffic,
        LifecycleEvent::ApplicationStop,
        LifecycleEvent::DownloadBundle,
        LifecycleEvent::BeforeInstall,
        LifecycleEvent::Install,
        LifecycleEvent::AfterInstall,
        LifecycleEvent::ApplicationStart,
        LifecycleEvent::ValidateService,
        LifecycleEvent::BeforeAllowTraffic,
        LifecycleEvent::AllowTraffic,
        LifecycleEvent::AfterAllowTraffic,
    ];

    pub fn name(self) -> &'static str {
        match self {
            LifecycleEvent::BeforeBlockTraffic => "BeforeBlockTraffic",
            LifecycleEvent::BlockTraffic => "BlockTraffic",
            LifecycleEvent::AfterBlockTraffic => "AfterBlockTraffic",
            LifecycleEvent::ApplicationStop => "ApplicationStop",
            LifecycleEvent::DownloadBundle => "DownloadBundle",
            LifecycleEvent::BeforeInstall => "BeforeInstall",
            LifecycleEvent::Install => "Install",
            LifecycleEvent::AfterInstall => "AfterInstall",
            LifecycleEvent::ApplicationStart => "ApplicationStart",
            LifecycleEvent::ValidateService => "ValidateService",
            LifecycleEvent::BeforeAllowTraffic => "BeforeAllowTraffic",
            LifecycleEvent::AllowTraffic => "AllowTraffic",
            LifecycleEvent::AfterAllowTraffic => "AfterAllowTraffic",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|e| e.name() == name)
    }

    /// DownloadBundle, Install, BlockTraffic and AllowTraffic are the
    /// agent's own: "cannot be scripted".
    pub fn runs_scripts(self) -> bool {
        !matches!(
            self,
            LifecycleEvent::DownloadBundle
                | LifecycleEvent::Install
                | LifecycleEvent::BlockTraffic
                | LifecycleEvent::AllowTraffic
        )
    }

    /// Hooks that run only when the deployment group has a load balancer.
    pub fn needs_load_balancer(self) -> bool {
        matches!(
            self,
            LifecycleEvent::BeforeBlockTraffic
                | LifecycleEvent::BlockTraffic
                | LifecycleEvent::AfterBlockTraffic
                | LifecycleEvent::BeforeAllowTraffic
                | LifecycleEvent::AllowTraffic
                | LifecycleEvent::AfterAllowTraffic
        )
    }
}

impl std::fmt::Display for LifecycleEvent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// An AppSpec file and what is worth saying about it without failing it.
#[derive(Debug, Clone)]
pub struct LoadedAppSpec {
    pub appspec: AppSpec,
    pub warnings: Vec<Problem>,
}

/// Parses AppSpec text; `path` names it in messages.
pub fn parse_appspec(path: &Path, text: String) -> Result<LoadedAppSpec, LoadError> {
    if text.trim().is_empty() {
        return Err(LoadError::invalid(Problem::error(
            Place::file(path).at_line(Some(1)),
            "The deployment failed because the application specification file was empty. Make sure your AppSpec file defines at minimum the 'version' and 'os' properties.",
        )));
    }
    let doc = Document::parse(path, text)?;
    let mut r = Reader {
        doc: &doc,
        errors: Vec::new(),
        warnings: Vec::new(),
    };
    let appspec = r.appspec();
    let (appspec, warnings) = LoadError::unless_errors(appspec, r.errors, r.warnings)?;
    Ok(LoadedAppSpec { appspec, warnings })
}

const TOP_KEYS: &[&str] = &[
    "version",
    "os",
    "files",
    "permissions",
    "hooks",
    "file_exists_behavior",
];
const FILE_KEYS: &[&str] = &["source", "destination"];
const PERMISSION_KEYS: &[&str] = &[
    "object", "pattern", "except", "owner", "group", "mode", "acls", "context", "type",
];
const HOOK_KEYS: &[&str] = &["location", "timeout", "runas", "sudo"];

struct Reader<'d> {
    doc: &'d Document,
    errors: Vec<Problem>,
    warnings: Vec<Problem>,
}

impl Reader<'_> {
    fn error(&mut self, path: &DocPath, message: impl Into<String>) {
        self.errors.push(self.doc.error(path, message));
    }

    fn warn(&mut self, path: &DocPath, message: impl Into<String>) {
        self.warnings.push(self.doc.warning(path, message));
    }

    /// `item` as a mapping (`what` says what it must hold), its unknown keys
    /// warned about; `None` (and an error) when it is no mapping.
    fn entry<'v>(
        &mut self,
        item: &'v Value,
        at: &DocPath,
        what: &str,
        keys: &[&str],
    ) -> Option<&'v Map<String, Value>> {
        let Some(map) = item.as_object() else {
            self.error(at, format!("{what} must be a mapping"));
            return None;
        };
        let unknown = self.doc.unknown_keys(map, at, keys, what);
        self.warnings.extend(unknown);
        Some(map)
    }

    /// A list, or nothing for an absent or null value.
    fn list<'v>(&mut self, v: Option<&'v Value>, path: &DocPath, what: &str) -> &'v [Value] {
        match v {
            None | Some(Value::Null) => &[],
            Some(Value::Array(items)) => items,
            Some(_) => {
                self.error(path, format!("`{what}` must be a list"));
                &[]
            }
        }
    }

    fn string(&mut self, v: Option<&Value>, path: &DocPath) -> Option<String> {
        match v {
            None | Some(Value::Null) => None,
            Some(v @ (Value::String(_) | Value::Number(_) | Value::Bool(_))) => {
                Some(stringify(v).trim().to_string())
            }
            Some(_) => {
                self.error(path, "expected a string");
                None
            }
        }
    }

    fn appspec(&mut self) -> Option<AppSpec> {
        let root = DocPath::root();
        let Some(top) = self.doc.value.as_object() else {
            self.error(
                &root,
                "the AppSpec file must be a YAML mapping with `version` and `os`",
            );
            return None;
        };
        let unknown = self
            .doc
            .unknown_keys(top, &root, TOP_KEYS, "the AppSpec file");
        self.warnings.extend(unknown);
        self.version(top.get("version"), &root.key("version"));
        let os = self.os(top.get("os"), &root.key("os"))?;
        let os_place = self.doc.place(&root.key("os"));
        let files = self.files(top.get("files"), &root.key("files"));
        let file_exists_behavior = self.file_exists_behavior(
            top.get("file_exists_behavior"),
            &root.key("file_exists_behavior"),
        );
        let permissions = self.permissions(top.get("permissions"), &root.key("permissions"), os);
        let hooks = self.hooks(top.get("hooks"), &root.key("hooks"));
        Some(AppSpec {
            os,
            os_place,
            files,
            file_exists_behavior,
            permissions,
            hooks,
        })
    }

    /// The agent compares the value with the number 0.0: a quoted "0.0" is
    /// a string, and fails.
    fn version(&mut self, v: Option<&Value>, path: &DocPath) {
        let ok = matches!(v, Some(Value::Number(n)) if n.as_f64() == Some(0.0));
        if !ok {
            let shown = v.map(stringify).unwrap_or_default();
            let hint = match v {
                Some(Value::String(s)) if s.trim() == "0.0" => {
                    " (pipelocal: the agent reads a quoted \"0.0\" as text; write version: 0.0 unquoted)"
                }
                _ => "",
            };
            let path = if v.is_some() {
                path.clone()
            } else {
                DocPath::root()
            };
            self.error(&path, format!("The deployment failed because an invalid version value ({shown}) was entered in the application specification file. Make sure your AppSpec file specifies \"0.0\" as the version, and then try again.{hint}"));
        }
    }

    fn os(&mut self, v: Option<&Value>, path: &DocPath) -> Option<Os> {
        let text = v.map(stringify).unwrap_or_default();
        match text.as_str() {
            "linux" => Some(Os::Linux),
            "windows" => Some(Os::Windows),
            _ => {
                let path = if v.is_some() {
                    path.clone()
                } else {
                    DocPath::root()
                };
                self.error(&path, format!("The deployment failed because the application specification file specifies an unsupported operating system ({text}). Specify either \"linux\" or \"windows\" in the os section of the AppSpec file, and then try again."));
                None
            }
        }
    }

    fn files(&mut self, v: Option<&Value>, path: &DocPath) -> Vec<FileMapping> {
        let mut out = Vec::new();
        for (i, item) in self.list(v, path, "files").iter().enumerate() {
            let at = path.index(i);
            let Some(map) = self.entry(item, &at, "a `files` entry", FILE_KEYS) else {
                continue;
            };
            let source = self.string(map.get("source"), &at.key("source"));
            let destination = self.string(map.get("destination"), &at.key("destination"));
            let Some(source) = source.filter(|s| !s.is_empty()) else {
                self.error(&at, "a `files` entry has no `source`");
                continue;
            };
            let Some(destination) = destination.filter(|d| !d.is_empty()) else {
                self.error(&at, "a `files` entry has no `destination`");
                continue;
            };
            if !destination.starts_with('/') {
                self.error(
                    &at.key("destination"),
                    format!("destination `{destination}` must be an absolute path"),
                );
            }
            out.push(FileMapping {
                source,
                destination,
                place: self.doc.place(&at),
            });
        }
        out
    }

    fn file_exists_behavior(&mut self, v: Option<&Value>, path: &DocPath) -> FileExistsBehavior {
        match v.map(stringify).as_deref() {
            None | Some("") => FileExistsBehavior::Disallow,
            Some("DISALLOW") => FileExistsBehavior::Disallow,
            Some("OVERWRITE") => FileExistsBehavior::Overwrite,
            Some("RETAIN") => FileExistsBehavior::Retain,
            Some(other) => {
                self.error(path, format!("The deployment failed because an invalid option was specified for fileExistsBehavior: {other}. Valid options include OVERWRITE, RETAIN, and DISALLOW."));
                FileExistsBehavior::Disallow
            }
        }
    }

    fn permissions(&mut self, v: Option<&Value>, path: &DocPath, os: Os) -> Vec<Permission> {
        let items = self.list(v, path, "permissions");
        if !items.is_empty() && os == Os::Windows {
            self.error(path, "The deployment failed because the application specification file specifies file permissions, but the deployment is targeting one or more Windows Server instances. Update the permissions section of the AppSpec file, and then try again.");
            return Vec::new();
        }
        let mut out = Vec::new();
        for (i, item) in items.iter().enumerate() {
            let at = path.index(i);
            let Some(map) = self.entry(item, &at, "a `permissions` entry", PERMISSION_KEYS) else {
                continue;
            };
            let Some(object) = self
                .string(map.get("object"), &at.key("object"))
                .filter(|o| !o.is_empty())
            else {
                self.error(&at, "The deployment failed because a permission listed in the application specification file has no object value. Update the permissions section of the AppSpec file, and then try again.");
                continue;
            };
            let pattern = self
                .string(map.get("pattern"), &at.key("pattern"))
                .unwrap_or_else(|| "**".into());
            let except = self.strings(map.get("except"), &at.key("except"));
            let mut types = Vec::new();
            for t in self.strings(map.get("type"), &at.key("type")) {
                match t.as_str() {
                    "file" => types.push(ObjectType::File),
                    "directory" => types.push(ObjectType::Directory),
                    other => self.error(&at.key("type"), format!("The deployment failed because the application specification file specifies a permission for an object type not supported for permissions ({other}). Update the permissions section of the AppSpec file, and then try again.")),
                }
            }
            if types.is_empty() {
                types = vec![ObjectType::File, ObjectType::Directory];
            }
            let mode = self.string(map.get("mode"), &at.key("mode"));
            if let Some(m) = &mode {
                let octal =
                    (3..=4).contains(&m.len()) && m.chars().all(|c| ('0'..='7').contains(&c));
                if !octal {
                    self.error(
                        &at.key("mode"),
                        format!("mode `{m}` is not a chmod mode: give three or four octal digits, e.g. \"0644\" (quoted when it starts with 0)"),
                    );
                }
            }
            out.push(Permission {
                object,
                pattern,
                except,
                owner: self.string(map.get("owner"), &at.key("owner")),
                group: self.string(map.get("group"), &at.key("group")),
                mode,
                types,
                acls: self.strings(map.get("acls"), &at.key("acls")),
            });
        }
        out
    }

    /// A list of strings; one string stands for a one-item list.
    fn strings(&mut self, v: Option<&Value>, path: &DocPath) -> Vec<String> {
        match v {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(items)) => items
                .iter()
                .enumerate()
                .filter_map(|(i, item)| self.string(Some(item), &path.index(i)))
                .collect(),
            Some(one) => self.string(Some(one), path).into_iter().collect(),
        }
    }

    fn hooks(&mut self, v: Option<&Value>, path: &DocPath) -> BTreeMap<LifecycleEvent, Vec<Hook>> {
        let mut out = BTreeMap::new();
        let map = match v {
            None | Some(Value::Null) => return out,
            Some(Value::Object(map)) => map,
            Some(_) => {
                self.error(
                    path,
                    "`hooks` must be a mapping of lifecycle event names to scripts",
                );
                return out;
            }
        };
        for (name, scripts) in map {
            let at = path.key(name);
            let Some(event) = LifecycleEvent::from_name(name) else {
                let hint = closest(name, LifecycleEvent::ALL.iter().map(|e| e.name()))
                    .map(|s| format!("; did you mean `{s}`?"))
                    .unwrap_or_default();
                self.error(&at, format!("unknown lifecycle event `{name}`{hint}"));
                continue;
            };
            if !event.runs_scripts() {
                self.error(
                    &at,
                    format!("the {name} lifecycle event cannot be scripted: it is the agent's own"),
                );
                continue;
            }
            let mut hooks = Vec::new();
            for (i, script) in self.list(Some(scripts), &at, name).iter().enumerate() {
                if let Some(hook) = self.hook(script, &at.index(i)) {
                    hooks.push(hook);
                }
            }
            // Saturating: timeouts are the file's, and may be as large as a u64 holds.
            let total = hooks
                .iter()
                .fold(0u64, |sum, h| sum.saturating_add(h.timeout_secs));
            if total > DEFAULT_TIMEOUT_SECS {
                self.warn(&at, format!("the {name} scripts' timeouts add up to {total} seconds: CodeDeploy fails an event whose scripts run longer than {DEFAULT_TIMEOUT_SECS} seconds together"));
            }
            if event.needs_load_balancer() {
                self.warn(&at, format!("{name} runs only for a deployment group with a load balancer: its scripts do not run locally"));
            }
            out.insert(event, hooks);
        }
        out
    }

    fn hook(&mut self, script: &Value, at: &DocPath) -> Option<Hook> {
        let map = self.entry(script, at, "a hook script", HOOK_KEYS)?;
        let Some(location) = self
            .string(map.get("location"), &at.key("location"))
            .filter(|l| !l.is_empty())
        else {
            self.error(at, "The deployment failed because the application specification file specifies a script with no location value. Specify the location in the hooks section of the AppSpec file, and then try again.");
            return None;
        };
        let timeout_secs = match map.get("timeout") {
            None | Some(Value::Null) => DEFAULT_TIMEOUT_SECS,
            // The agent reads the number with Ruby's `to_i`: `inf` or `nan`
            // is 0 there, so refused. Past u64's range it saturates (`as`),
            // as it would not end before anyway.
            Some(t) => match stringify(t).trim().parse::<f64>() {
                Ok(n) if n.is_finite() && n > 0.0 && n.fract() == 0.0 => n as u64,
                // The agent takes whole seconds; a fraction is rounded up so it never cuts a script short.
                Ok(n) if n.is_finite() && n > 0.0 => n.ceil() as u64,
                _ => {
                    self.error(&at.key("timeout"), format!("The deployment failed because an invalid timeout value ({}) was provided for a script in the application specification file. Make corrections in the hooks section of the AppSpec file, and then try again.", stringify(t)));
                    return None;
                }
            },
        };
        Some(Hook {
            place: self.doc.place(at),
            location,
            timeout_secs,
            runas: self
                .string(map.get("runas"), &at.key("runas"))
                .filter(|r| !r.is_empty()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<LoadedAppSpec, LoadError> {
        parse_appspec(Path::new("appspec.yml"), text.to_string())
    }

    #[test]
    fn reads_a_full_appspec() {
        let loaded = parse(
            "version: 0.0\nos: linux\nfiles:\n  - source: /\n    destination: /srv/app\nfile_exists_behavior: OVERWRITE\npermissions:\n  - object: /srv/app\n    pattern: \"*.sh\"\n    except: [skip.sh]\n    owner: codebuild-user\n    mode: \"0750\"\n    type: [file]\nhooks:\n  BeforeInstall:\n    - location: scripts/before.sh\n  ValidateService:\n    - location: scripts/check.sh\n      timeout: 30\n      runas: codebuild-user\n",
        )
        .unwrap();
        assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);
        let a = loaded.appspec;
        assert_eq!(a.os, Os::Linux);
        assert_eq!(a.file_exists_behavior, FileExistsBehavior::Overwrite);
        assert_eq!(a.files[0].destination, "/srv/app");
        let p = &a.permissions[0];
        assert_eq!(p.pattern, "*.sh");
        assert_eq!(p.except, vec!["skip.sh".to_string()]);
        assert_eq!(p.types, vec![ObjectType::File]);
        assert_eq!(p.mode.as_deref(), Some("0750"));
        assert_eq!(p.group, None);
        let before = a.scripts(LifecycleEvent::BeforeInstall);
        assert_eq!(before[0].timeout_secs, DEFAULT_TIMEOUT_SECS);
        assert_eq!(before[0].runas, None);
        let check = &a.scripts(LifecycleEvent::ValidateService)[0];
        assert_eq!(check.timeout_secs, 30);
        assert_eq!(check.runas.as_deref(), Some("codebuild-user"));
        assert!(a.scripts(LifecycleEvent::ApplicationStart).is_empty());
    }

    #[test]
    fn the_agents_rejections_carry_file_and_line() {
        let head = "version: 0.0\nos: linux\n";
        let table: &[(&str, &str, &str)] = &[
            (
                "",
                "appspec.yml:1:",
                "application specification file was empty",
            ),
            ("os: linux\n", "appspec.yml:", "invalid version value ()"),
            (
                "version: \"0.0\"\nos: linux\n",
                "appspec.yml:1:",
                "write version: 0.0 unquoted",
            ),
            (
                "version: 1.0\nos: linux\n",
                "appspec.yml:1:",
                "invalid version value (1.0)",
            ),
            (
                "version: 0.0\nos: macos\n",
                "appspec.yml:2:",
                "unsupported operating system (macos)",
            ),
            (
                "hooks:\n  AfterInstall:\n    - timeout: 10\n",
                "appspec.yml:5:",
                "specifies a script with no location value",
            ),
            (
                "hooks:\n  AfterInstall:\n    - location: a.sh\n      timeout: 0\n",
                "appspec.yml:6:",
                "invalid timeout value (0)",
            ),
            (
                "hooks:\n  AfterInstall:\n    - location: a.sh\n      timeout: -5\n",
                "appspec.yml:6:",
                "invalid timeout value (-5)",
            ),
            (
                "hooks:\n  AfterInstal:\n    - location: a.sh\n",
                "appspec.yml:4:",
                "unknown lifecycle event `AfterInstal`; did you mean `AfterInstall`?",
            ),
            (
                "hooks:\n  Install:\n    - location: a.sh\n",
                "appspec.yml:4:",
                "Install lifecycle event cannot be scripted",
            ),
            (
                "permissions:\n  - owner: root\n",
                "appspec.yml:4:",
                "has no object value",
            ),
            (
                "permissions:\n  - object: /srv\n    type: [socket]\n",
                "appspec.yml:5:",
                "object type not supported for permissions (socket)",
            ),
            (
                "permissions:\n  - object: /srv\n    mode: u+x\n",
                "appspec.yml:5:",
                "mode `u+x` is not a chmod mode",
            ),
            (
                "file_exists_behavior: REPLACE\n",
                "appspec.yml:3:",
                "invalid option was specified for fileExistsBehavior: REPLACE",
            ),
            (
                "files:\n  - destination: /srv\n",
                "appspec.yml:4:",
                "a `files` entry has no `source`",
            ),
            (
                "files:\n  - source: app\n    destination: srv\n",
                "appspec.yml:5:",
                "must be an absolute path",
            ),
        ];
        for (body, place, message) in table {
            let text = if body.is_empty() || body.starts_with("version") || body.starts_with("os") {
                body.to_string()
            } else {
                format!("{head}{body}")
            };
            let err = parse(&text).expect_err(body).summary();
            assert!(err.starts_with(place), "{body:?}: {err}");
            assert!(err.contains(message), "{body:?}: {err}");
        }
        let windows = parse("version: 0.0\nos: windows\npermissions:\n  - object: C:\\app\n")
            .unwrap_err()
            .summary();
        assert!(
            windows.contains("targeting one or more Windows Server instances"),
            "{windows}"
        );
    }

    #[test]
    fn huge_timeouts_add_up_without_overflow_and_infinite_ones_are_refused() {
        let loaded = parse(
            "version: 0.0\nos: linux\nhooks:\n  AfterInstall:\n    - location: a.sh\n      timeout: 18446744073709551615\n    - location: b.sh\n      timeout: 1e300\n",
        )
        .unwrap();
        let hooks = loaded.appspec.scripts(LifecycleEvent::AfterInstall);
        assert_eq!(hooks[0].timeout_secs, u64::MAX);
        assert_eq!(hooks[1].timeout_secs, u64::MAX);
        let said: Vec<String> = loaded.warnings.iter().map(ToString::to_string).collect();
        assert!(
            said.iter()
                .any(|w| w.contains(&format!("add up to {} seconds", u64::MAX))),
            "{said:?}"
        );
        let err = parse("version: 0.0\nos: linux\nhooks:\n  AfterInstall:\n    - location: a.sh\n      timeout: inf\n")
            .unwrap_err()
            .summary();
        assert!(err.contains("invalid timeout value"), "{err}");
    }

    #[test]
    fn entries_keep_their_file_and_line() {
        let a = parse_appspec(
            Path::new("appspec.yaml"),
            "version: 0.0\nos: linux\nfiles:\n  - source: app\n    destination: /srv\nhooks:\n  AfterInstall:\n    - location: a.sh\n".to_string(),
        )
        .unwrap()
        .appspec;
        assert_eq!(a.os_place.to_string(), "appspec.yaml:2");
        assert_eq!(a.files[0].place.to_string(), "appspec.yaml:4");
        assert_eq!(
            a.scripts(LifecycleEvent::AfterInstall)[0].place.to_string(),
            "appspec.yaml:8"
        );
    }

    #[test]
    fn traffic_hooks_and_unknown_keys_warn() {
        let loaded = parse(
            "version: 0.0\nos: linux\nhooks:\n  BeforeAllowTraffic:\n    - location: a.sh\n      tmeout: 3\n",
        )
        .unwrap();
        let said: Vec<String> = loaded.warnings.iter().map(ToString::to_string).collect();
        assert!(
            said.iter().any(|w| w.contains("did you mean `timeout`?")),
            "{said:?}"
        );
        assert!(
            said.iter().any(|w| w.contains("with a load balancer")),
            "{said:?}"
        );
    }
}
