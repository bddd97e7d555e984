//! Buildspec files, versions 0.1 and 0.2 (CodeBuild User Guide, "Build specification reference for CodeBuild").

mod batch;
mod parse;

pub use batch::{Batch, BatchEnv, BatchKind, BatchMatrix, BatchTask};
pub use parse::{load_buildspec, parse_buildspec};

use std::fmt;

use crate::problem::Problem;

/// Whether a shell can hold a variable of this name: `[A-Za-z_][A-Za-z0-9_]*`.
pub fn is_shell_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Whether a project name follows CodeBuild's rule: 2-255 letters, digits,
/// `-` and `_`, starting with a letter or digit.
pub fn is_project_name(name: &str) -> bool {
    (2..=255).contains(&name.len())
        && name
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphanumeric())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BuildspecVersion {
    /// Every command in its own shell.
    V0_1,
    /// One shell session carried across commands and phases.
    V0_2,
}

impl fmt::Display for BuildspecVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            BuildspecVersion::V0_1 => "0.1",
            BuildspecVersion::V0_2 => "0.2",
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum PhaseName {
    Install,
    PreBuild,
    Build,
    PostBuild,
}

impl PhaseName {
    pub const ALL: [PhaseName; 4] = [
        PhaseName::Install,
        PhaseName::PreBuild,
        PhaseName::Build,
        PhaseName::PostBuild,
    ];

    /// The key in the buildspec.
    pub fn key(self) -> &'static str {
        match self {
            PhaseName::Install => "install",
            PhaseName::PreBuild => "pre_build",
            PhaseName::Build => "build",
            PhaseName::PostBuild => "post_build",
        }
    }

    /// The phase type in logs and build records.
    pub fn phase_type(self) -> &'static str {
        match self {
            PhaseName::Install => "INSTALL",
            PhaseName::PreBuild => "PRE_BUILD",
            PhaseName::Build => "BUILD",
            PhaseName::PostBuild => "POST_BUILD",
        }
    }
}

/// What a phase does when one of its commands fails.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OnFailure {
    Abort,
    Continue,
    /// Re-run the phase up to `count` times while the error message matches `pattern`.
    Retry {
        count: u32,
        pattern: Option<String>,
    },
}

/// One command item as written (a block scalar is one command).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Command {
    pub text: String,
    pub line: Option<usize>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Phase {
    pub run_as: Option<String>,
    pub on_failure: Option<OnFailure>,
    pub runtime_versions: Vec<(String, String)>,
    pub commands: Vec<Command>,
    pub finally: Vec<Command>,
}

/// `secrets-manager` reference: `secret-id[:json-key[:version-stage[:version-id]]]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretRef {
    pub secret_id: String,
    pub json_key: Option<String>,
    pub version_stage: Option<String>,
    pub version_id: Option<String>,
}

impl SecretRef {
    /// Splits the reference; a full ARN's own colons stay in the secret id.
    pub fn parse(text: &str) -> SecretRef {
        let (id, rest) = if text.starts_with("arn:") {
            // arn:aws:secretsmanager:region:account:secret:name[:json-key...]
            let parts: Vec<&str> = text.splitn(8, ':').collect();
            if parts.len() > 7 {
                (parts[..7].join(":"), Some(parts[7].to_string()))
            } else {
                (text.to_string(), None)
            }
        } else {
            match text.split_once(':') {
                Some((id, rest)) => (id.to_string(), Some(rest.to_string())),
                None => (text.to_string(), None),
            }
        };
        let mut fields = rest
            .as_deref()
            .unwrap_or_default()
            .splitn(3, ':')
            .map(|s| (!s.is_empty()).then(|| s.to_string()));
        SecretRef {
            secret_id: id,
            json_key: fields.next().flatten(),
            version_stage: fields.next().flatten(),
            version_id: fields.next().flatten(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Env {
    pub shell: Option<String>,
    pub variables: Vec<(String, String)>,
    pub parameter_store: Vec<(String, String)>,
    pub secrets_manager: Vec<(String, SecretRef)>,
    pub exported_variables: Vec<String>,
    pub git_credential_helper: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Proxy {
    pub upload_artifacts: bool,
    pub logs: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportFormat {
    JunitXml,
    CucumberJson,
    NunitXml,
    Nunit3Xml,
    TestNgXml,
    VisualStudioTrx,
    CloverXml,
    CoberturaXml,
    JacocoXml,
    SimpleCov,
}

impl ReportFormat {
    pub const ALL: [ReportFormat; 10] = [
        ReportFormat::JunitXml,
        ReportFormat::CucumberJson,
        ReportFormat::NunitXml,
        ReportFormat::Nunit3Xml,
        ReportFormat::TestNgXml,
        ReportFormat::VisualStudioTrx,
        ReportFormat::CloverXml,
        ReportFormat::CoberturaXml,
        ReportFormat::JacocoXml,
        ReportFormat::SimpleCov,
    ];

    pub fn name(self) -> &'static str {
        match self {
            ReportFormat::JunitXml => "JUNITXML",
            ReportFormat::CucumberJson => "CUCUMBERJSON",
            ReportFormat::NunitXml => "NUNITXML",
            ReportFormat::Nunit3Xml => "NUNIT3XML",
            ReportFormat::TestNgXml => "TESTNGXML",
            ReportFormat::VisualStudioTrx => "VISUALSTUDIOTRX",
            ReportFormat::CloverXml => "CLOVERXML",
            ReportFormat::CoberturaXml => "COBERTURAXML",
            ReportFormat::JacocoXml => "JACOCOXML",
            ReportFormat::SimpleCov => "SIMPLECOV",
        }
    }

    /// Case-insensitive, as CodeBuild reads it.
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|f| f.name().eq_ignore_ascii_case(text.trim()))
    }

    pub fn is_coverage(self) -> bool {
        matches!(
            self,
            ReportFormat::CloverXml
                | ReportFormat::CoberturaXml
                | ReportFormat::JacocoXml
                | ReportFormat::SimpleCov
        )
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportGroup {
    /// A name (the group becomes `<project>-<name>`) or a report group ARN.
    pub name: String,
    pub files: Vec<String>,
    pub base_directory: Option<String>,
    pub discard_paths: bool,
    pub file_format: ReportFormat,
}

/// The file selection of one artifact (primary or secondary).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ArtifactSpec {
    pub files: Vec<String>,
    pub name: Option<String>,
    pub discard_paths: bool,
    pub base_directory: Option<String>,
    pub exclude_paths: Vec<String>,
    pub enable_symlinks: bool,
    pub s3_prefix: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Artifacts {
    pub primary: ArtifactSpec,
    /// Keyed by artifact identifier, in file order.
    pub secondary: Vec<(String, ArtifactSpec)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CacheAction {
    Restore,
    Save,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Cache {
    pub paths: Vec<String>,
    pub key: Option<String>,
    pub fallback_keys: Vec<String>,
    /// `None`: restore and save.
    pub action: Option<CacheAction>,
}

/// A parsed buildspec. Phases absent from the file are `None`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Buildspec {
    pub version: BuildspecVersion,
    pub run_as: Option<String>,
    pub env: Env,
    pub proxy: Proxy,
    pub batch: Option<Batch>,
    pub phases: Vec<(PhaseName, Phase)>,
    pub reports: Vec<ReportGroup>,
    pub artifacts: Option<Artifacts>,
    pub cache: Option<Cache>,
}

impl Buildspec {
    pub fn phase(&self, name: PhaseName) -> Option<&Phase> {
        self.phases.iter().find(|(n, _)| *n == name).map(|(_, p)| p)
    }
}

/// A buildspec with the warnings found while reading it.
#[derive(Debug, Clone)]
pub struct LoadedBuildspec {
    pub buildspec: Buildspec,
    pub warnings: Vec<Problem>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_refs_split_like_codebuild() {
        let r = SecretRef::parse("TestSecret:MY_KEY");
        assert_eq!(
            (r.secret_id.as_str(), r.json_key.as_deref()),
            ("TestSecret", Some("MY_KEY"))
        );
        let r = SecretRef::parse("arn:aws:secretsmanager:us-east-1:1:secret:app-AbC:pw::v1");
        assert_eq!(
            r.secret_id,
            "arn:aws:secretsmanager:us-east-1:1:secret:app-AbC"
        );
        assert_eq!(
            (
                r.json_key.as_deref(),
                r.version_stage.as_deref(),
                r.version_id.as_deref()
            ),
            (Some("pw"), None, Some("v1"))
        );
        assert_eq!(SecretRef::parse("plain").json_key, None);
    }
}
