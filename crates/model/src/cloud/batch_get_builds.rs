//! A cloud build's record: the output of `aws codebuild batch-get-builds`
//! (the whole response, `{"builds": [...], "buildsNotFound": [...]}`, or one
//! `Build` object). Field names and shapes are those of the CodeBuild API
//! Reference (`Build`, `BuildPhase`, `PhaseContext`, `ProjectSource`,
//! `ProjectSourceVersion`, `ProjectEnvironment`, `ProjectFleet`, `VpcConfig`,
//! `ProjectFileSystemLocation`). Fields this file does not name are
//! accepted and ignored: AWS adds fields, and a newer record must still load.

use std::path::Path;

use serde::Deserialize;
use serde_json::Value;

use crate::document::Document;
use crate::locate::DocPath;
use crate::problem::{LoadError, Place};
use crate::project::{Environment, EnvironmentVariable, Project, ProjectCache, ProjectSource};
use crate::scalar;

/// One build as `batch-get-builds` describes it: what reproducing it needs.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CloudBuild {
    pub id: String,
    pub arn: Option<String>,
    #[serde(default, deserialize_with = "scalar::opt_int")]
    pub build_number: Option<i64>,
    /// `SUCCEEDED | FAILED | FAULT | TIMED_OUT | IN_PROGRESS | STOPPED`.
    pub build_status: Option<String>,
    pub project_name: Option<String>,
    /// What was asked for (a branch, a commit, an S3 object version, ...).
    pub source_version: Option<String>,
    /// The commit the primary source was at (CodeCommit, GitHub, GitHub
    /// Enterprise, Bitbucket, and what CodePipeline passed); none for S3.
    pub resolved_source_version: Option<String>,
    #[serde(default)]
    pub phases: Vec<CloudPhase>,
    pub source: Option<ProjectSource>,
    #[serde(default)]
    pub secondary_sources: Vec<ProjectSource>,
    /// `{sourceIdentifier, sourceVersion}` per secondary source: the version
    /// asked for, the only one AWS records for a secondary source.
    #[serde(default)]
    pub secondary_source_versions: Vec<SourceVersion>,
    pub environment: CloudEnvironment,
    pub cache: Option<ProjectCache>,
    #[serde(default, deserialize_with = "scalar::opt_int")]
    pub timeout_in_minutes: Option<i64>,
    pub initiator: Option<String>,
    pub vpc_config: Option<VpcConfig>,
    #[serde(default)]
    pub file_system_locations: Vec<FileSystemLocation>,
}

/// `BuildPhase`: a phase's type, status and contexts.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CloudPhase {
    pub phase_type: String,
    /// Absent on the `COMPLETED` entry.
    pub phase_status: Option<String>,
    #[serde(default)]
    pub contexts: Vec<CloudPhaseContext>,
}

/// `PhaseContext`: `{statusCode, message}`; both empty on a phase that succeeded.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct CloudPhaseContext {
    #[serde(default)]
    pub status_code: String,
    #[serde(default)]
    pub message: String,
}

/// `ProjectSourceVersion`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SourceVersion {
    pub source_identifier: String,
    pub source_version: String,
}

/// `ProjectEnvironment` as a build record holds it.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CloudEnvironment {
    #[serde(rename = "type")]
    pub env_type: Option<String>,
    pub image: String,
    pub compute_type: Option<String>,
    /// `computeConfiguration` (vCpu, memory, disk, machineType): any value.
    pub compute_configuration: Option<Value>,
    pub fleet: Option<Fleet>,
    #[serde(default, deserialize_with = "scalar::bool_default_false")]
    pub privileged_mode: bool,
    #[serde(default)]
    pub environment_variables: Vec<EnvironmentVariable>,
    pub certificate: Option<String>,
    /// `dockerServer` (a remote Docker server for `docker` commands).
    pub docker_server: Option<Value>,
}

/// `ProjectFleet`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Fleet {
    pub fleet_arn: Option<String>,
}

/// `VpcConfig`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VpcConfig {
    pub vpc_id: Option<String>,
    #[serde(default)]
    pub subnets: Vec<String>,
    #[serde(default)]
    pub security_group_ids: Vec<String>,
}

/// `ProjectFileSystemLocation` (an EFS mount).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FileSystemLocation {
    pub identifier: Option<String>,
    pub location: Option<String>,
    pub mount_point: Option<String>,
}

/// The compute type CodeBuild uses when none is named; a build on it needs no note.
const SMALL: &str = "BUILD_GENERAL1_SMALL";

impl CloudBuild {
    /// The project the build ran as: its name, source (with the buildspec
    /// the build used), environment, timeout and cache, so that a local
    /// build takes them as it takes a `--project`.
    pub fn project(&self) -> Project {
        let env = &self.environment;
        Project {
            name: self
                .project_name
                .clone()
                .or_else(|| self.id.split_once(':').map(|(p, _)| p.to_string()))
                .unwrap_or_else(|| "build".into()),
            description: None,
            source: self.source.clone(),
            secondary_sources: self.secondary_sources.clone(),
            artifacts: None,
            secondary_artifacts: Vec::new(),
            environment: Environment {
                env_type: env.env_type.clone(),
                image: env.image.clone(),
                compute_type: env.compute_type.clone(),
                privileged_mode: env.privileged_mode,
                environment_variables: env.environment_variables.clone(),
            },
            timeout_in_minutes: self.timeout_in_minutes,
            queued_timeout_in_minutes: None,
            cache: self.cache.clone(),
            service_role: None,
            logical_id: None,
        }
    }

    /// The version a secondary source was built at, by its identifier.
    pub fn secondary_version(&self, identifier: &str) -> Option<&str> {
        self.secondary_source_versions
            .iter()
            .find(|v| v.source_identifier == identifier)
            .map(|v| v.source_version.as_str())
    }

    /// The record's settings a local build cannot honour, one sentence each
    /// naming the field: they are said, never silently dropped.
    pub fn unhonoured(&self) -> Vec<String> {
        let mut out = Vec::new();
        let env = &self.environment;
        if let Some(vpc) = &self.vpc_config {
            if vpc.vpc_id.is_some() || !vpc.subnets.is_empty() {
                out.push(format!(
                    "vpcConfig ({}): the build runs on this machine's network, not in the VPC",
                    vpc.vpc_id.as_deref().unwrap_or("subnets")
                ));
            }
        }
        for fs in &self.file_system_locations {
            out.push(format!(
                "fileSystemLocations {} ({} at {}): the file system is not mounted",
                fs.identifier.as_deref().unwrap_or("?"),
                fs.location.as_deref().unwrap_or("?"),
                fs.mount_point.as_deref().unwrap_or("?")
            ));
        }
        if let Some(compute) = env.compute_type.as_deref().filter(|c| *c != SMALL) {
            out.push(format!(
                "environment.computeType {compute}: the build has this machine's CPUs and memory"
            ));
        }
        if env.compute_configuration.is_some() {
            out.push("environment.computeConfiguration: the build has this machine's CPUs, memory and disk".into());
        }
        if let Some(fleet) = &env.fleet {
            out.push(format!(
                "environment.fleet ({}): the build runs here, not on the fleet",
                fleet.fleet_arn.as_deref().unwrap_or("a fleet")
            ));
        }
        if let Some(t) = env
            .env_type
            .as_deref()
            .filter(|t| !matches!(*t, "LINUX_CONTAINER" | "ARM_CONTAINER"))
        {
            out.push(format!(
                "environment.type {t}: the build runs in a Linux container (or on this host)"
            ));
        }
        if env.certificate.is_some() {
            out.push("environment.certificate: the certificate is not installed".into());
        }
        if env.docker_server.is_some() {
            out.push("environment.dockerServer: `docker` commands use what the build environment has (privileged mode)".into());
        }
        out
    }
}

/// Reads the build to reproduce from a `batch-get-builds` file: its only
/// build, or the one `build_id` names (its id, its ARN, or the id's part
/// after the project name).
pub fn load_cloud_build(path: &Path, build_id: Option<&str>) -> Result<CloudBuild, LoadError> {
    let doc = Document::read(path)?;
    cloud_build_from_document(&doc, build_id)
}

pub fn cloud_build_from_document(
    doc: &Document,
    build_id: Option<&str>,
) -> Result<CloudBuild, LoadError> {
    let syntax = |message: String| LoadError::Syntax {
        place: Place::file(&doc.path).into(),
        message,
    };
    let (items, base): (Vec<&Value>, DocPath) = match &doc.value {
        Value::Object(m) if m.contains_key("builds") => match &m["builds"] {
            Value::Array(items) => (items.iter().collect(), DocPath::root().key("builds")),
            _ => {
                return Err(LoadError::invalid(doc.error(
                    &DocPath::root().key("builds"),
                    "`builds` must be a list of builds",
                )))
            }
        },
        Value::Object(m) if m.contains_key("id") && m.contains_key("environment") => {
            (vec![&doc.value], DocPath::root())
        }
        _ => return Err(syntax(
            "not a CodeBuild build record: expected `aws codebuild batch-get-builds` output (with `builds`) or one build (with `id` and `environment`)".into(),
        )),
    };
    let indexed = base != DocPath::root();
    let id_of = |v: &Value| {
        v.get("id")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string()
    };
    let matches = |v: &Value, wanted: &str| {
        let id = id_of(v);
        id == wanted
            || v.get("arn").and_then(Value::as_str) == Some(wanted)
            || id.split_once(':').is_some_and(|(_, uuid)| uuid == wanted)
    };
    let ids = || {
        items
            .iter()
            .map(|v| id_of(v))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let chosen = match (build_id, items.len()) {
        (Some(wanted), _) => items
            .iter()
            .position(|v| matches(v, wanted))
            .ok_or_else(|| {
                let not_found = doc
                    .value
                    .get("buildsNotFound")
                    .and_then(Value::as_array)
                    .is_some_and(|l| l.iter().any(|v| v.as_str() == Some(wanted)));
                let why = if not_found {
                    " (it is in `buildsNotFound`: AWS did not find it)".to_string()
                } else {
                    String::new()
                };
                syntax(format!(
                    "no build {wanted}{why}; the file has: {}",
                    if items.is_empty() {
                        "none".into()
                    } else {
                        ids()
                    }
                ))
            })?,
        (None, 1) => 0,
        (None, 0) => {
            let missing = doc
                .value
                .get("buildsNotFound")
                .and_then(Value::as_array)
                .map(|l| {
                    l.iter()
                        .filter_map(Value::as_str)
                        .collect::<Vec<_>>()
                        .join(", ")
                })
                .filter(|s| !s.is_empty())
                .map(|s| format!(" (buildsNotFound: {s})"))
                .unwrap_or_default();
            return Err(syntax(format!("the file holds no build{missing}")));
        }
        (None, _) => {
            return Err(syntax(format!(
                "the file holds {} builds ({}); choose one with --build-id",
                items.len(),
                ids()
            )))
        }
    };
    let path = if indexed {
        base.index(chosen)
    } else {
        base.clone()
    };
    serde_path_to_error::deserialize::<_, CloudBuild>(items[chosen].clone()).map_err(|e| {
        let field = path.join_serde(e.path());
        LoadError::invalid(doc.error(&field, field.prefix(e.inner())))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(text: &str) -> Document {
        Document::parse(Path::new("builds.json"), text.into()).unwrap()
    }

    const TWO: &str = r#"{
  "builds": [
    {
      "id": "api:11111111-2222-3333-4444-555555555555",
      "arn": "arn:aws:codebuild:eu-west-1:123456789012:build/api:11111111-2222-3333-4444-555555555555",
      "buildNumber": 7,
      "buildStatus": "FAILED",
      "projectName": "api",
      "resolvedSourceVersion": "0123456789abcdef0123456789abcdef01234567",
      "someFieldAwsAddsLater": {"x": 1},
      "environment": {"type": "LINUX_CONTAINER", "image": "aws/codebuild/standard:7.0",
        "computeType": "BUILD_GENERAL1_LARGE",
        "environmentVariables": [{"name": "A", "value": "1", "type": "PLAINTEXT"}]},
      "phases": [{"phaseType": "BUILD", "phaseStatus": "FAILED",
        "contexts": [{"statusCode": "COMMAND_EXECUTION_ERROR", "message": "Error while executing command: sh check.sh. Reason: exit status 1"}]},
        {"phaseType": "COMPLETED", "startTime": 1.5}],
      "vpcConfig": {"vpcId": "vpc-1", "subnets": ["subnet-1"], "securityGroupIds": []}
    },
    {
      "id": "api:99999999-2222-3333-4444-555555555555",
      "environment": {
        "image": 5
      }
    }
  ],
  "buildsNotFound": ["api:gone"]
}"#;

    #[test]
    fn one_build_is_chosen_by_id_arn_or_uuid() {
        let d = doc(TWO);
        let err = cloud_build_from_document(&d, None).unwrap_err().to_string();
        assert!(
            err.contains("holds 2 builds") && err.contains("--build-id"),
            "{err}"
        );
        let b =
            cloud_build_from_document(&d, Some("11111111-2222-3333-4444-555555555555")).unwrap();
        assert_eq!(b.build_number, Some(7));
        assert_eq!(b.project().environment.environment_variables.len(), 1);
        assert_eq!(b.phases[1].phase_status, None);
        let by_arn = cloud_build_from_document(&d, b.arn.as_deref()).unwrap();
        assert_eq!(by_arn.id, b.id);
        let unhonoured = b.unhonoured();
        assert_eq!(unhonoured.len(), 2, "{unhonoured:?}");
        assert!(unhonoured[0].starts_with("vpcConfig (vpc-1)"));
        assert!(unhonoured[1].starts_with("environment.computeType BUILD_GENERAL1_LARGE"));
    }

    #[test]
    fn a_bad_field_names_its_line_and_a_missing_build_says_what_there_is() {
        let d = doc(TWO);
        let err = cloud_build_from_document(&d, Some("api:99999999-2222-3333-4444-555555555555"))
            .unwrap_err()
            .summary();
        assert!(err.starts_with("builds.json:22: "), "{err}");
        assert!(err.contains("builds[1].environment.image"), "{err}");
        let err = cloud_build_from_document(&d, Some("api:gone"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("buildsNotFound"), "{err}");
        let err = cloud_build_from_document(&doc(r#"{"builds": []}"#), None)
            .unwrap_err()
            .to_string();
        assert!(err.contains("holds no build"), "{err}");
        let err = cloud_build_from_document(&doc(r#"{"pipeline": {}}"#), None)
            .unwrap_err()
            .to_string();
        assert!(err.contains("batch-get-builds"), "{err}");
    }

    #[test]
    fn one_build_object_alone_is_read() {
        let d = doc(r#"{"id": "p:u", "environment": {"image": "img", "privilegedMode": true}}"#);
        let b = cloud_build_from_document(&d, None).unwrap();
        assert!(b.environment.privileged_mode);
        assert_eq!(b.project().name, "p");
        assert!(b.unhonoured().is_empty());
    }
}
