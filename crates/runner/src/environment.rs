//! The variables a build sees (CodeBuild User Guide, "Environment variables in build environments"): CodeBuild's own, then the
//! user's by precedence (start-build overrides > project > buildspec > image).

use std::time::SystemTime;

use crate::clock::epoch_millis;
use crate::executor::Workspace;

pub const DEFAULT_REGION: &str = "us-east-1";
pub const LOCAL_ACCOUNT: &str = "123456789012";

/// Who a build is: the values behind its ids and ARNs.
#[derive(Debug, Clone)]
pub struct BuildIdentity {
    pub project: String,
    pub uuid: String,
    pub number: u64,
    pub start: SystemTime,
    pub region: String,
    pub image: String,
    pub initiator: String,
    /// For a build inside a batch: its identifier and the batch's ARN.
    pub batch: Option<(String, String)>,
}

impl BuildIdentity {
    pub fn new(project: &str, number: u64, image: &str, initiator: &str) -> Self {
        BuildIdentity {
            project: project.to_string(),
            uuid: uuid::Uuid::new_v4().to_string(),
            number,
            start: SystemTime::now(),
            region: DEFAULT_REGION.to_string(),
            image: image.to_string(),
            initiator: initiator.to_string(),
            batch: None,
        }
    }

    /// `<project>:<uuid>`.
    pub fn id(&self) -> String {
        format!("{}:{}", self.project, self.uuid)
    }

    pub fn arn(&self) -> String {
        format!(
            "arn:aws:codebuild:{}:{LOCAL_ACCOUNT}:build/{}",
            self.region,
            self.id()
        )
    }

    pub fn project_arn(&self) -> String {
        format!(
            "arn:aws:codebuild:{}:{LOCAL_ACCOUNT}:project/{}",
            self.region, self.project
        )
    }
}

/// Where the primary and secondary sources came from.
#[derive(Debug, Clone, Default)]
pub struct SourceVersions {
    pub source_version: Option<String>,
    pub resolved_source_version: Option<String>,
    pub repo_url: Option<String>,
    /// Per secondary source identifier: (version, repo url).
    pub secondary: Vec<(String, Option<String>, Option<String>)>,
}

/// Ordered `NAME=value` pairs where a later pair wins over an earlier one.
#[derive(Debug, Clone, Default)]
pub struct VarList(Vec<(String, String)>);

impl VarList {
    pub fn set(&mut self, name: &str, value: impl Into<String>) {
        let value = value.into();
        match self.0.iter_mut().find(|(n, _)| n == name) {
            Some(slot) => slot.1 = value,
            None => self.0.push((name.to_string(), value)),
        }
    }

    pub fn extend(&mut self, vars: &[(String, String)]) {
        for (n, v) in vars {
            self.set(n, v.clone());
        }
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn into_vec(self) -> Vec<(String, String)> {
        self.0
    }
}

/// One variable the user set. Secret values (from Parameter Store or Secrets
/// Manager) never reach a file and are masked in logs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserVariable {
    pub name: String,
    pub value: String,
    pub secret: bool,
}

impl UserVariable {
    pub fn plain(name: &str, value: &str) -> Self {
        UserVariable {
            name: name.into(),
            value: value.into(),
            secret: false,
        }
    }

    pub fn secret(name: &str, value: &str) -> Self {
        UserVariable {
            name: name.into(),
            value: value.into(),
            secret: true,
        }
    }
}

/// The user's variables by precedence, lowest first.
#[derive(Debug, Clone, Default)]
pub struct UserVariables {
    pub buildspec: Vec<UserVariable>,
    pub project: Vec<UserVariable>,
    pub overrides: Vec<UserVariable>,
}

impl UserVariables {
    /// The value each name ends with (overrides > project > buildspec), in
    /// the order names first appear.
    pub fn resolved(&self) -> Vec<&UserVariable> {
        let mut out: Vec<&UserVariable> = Vec::new();
        for v in self
            .buildspec
            .iter()
            .chain(&self.project)
            .chain(&self.overrides)
        {
            match out.iter_mut().find(|o| o.name == v.name) {
                Some(slot) => *slot = v,
                None => out.push(v),
            }
        }
        out
    }

    fn pairs(&self, secret: bool) -> Vec<(String, String)> {
        self.resolved()
            .into_iter()
            .filter(|v| v.secret == secret)
            .map(|v| (v.name.clone(), v.value.clone()))
            .collect()
    }

    /// Variables that may be written to the shell state.
    pub fn plain(&self) -> Vec<(String, String)> {
        self.pairs(false)
    }

    /// Variables handed to each command in its process environment only.
    pub fn secrets(&self) -> Vec<(String, String)> {
        self.pairs(true)
    }

    /// Every secret value known, to mask in logs.
    pub fn secret_values(&self) -> Vec<String> {
        self.buildspec
            .iter()
            .chain(&self.project)
            .chain(&self.overrides)
            .filter(|v| v.secret)
            .map(|v| v.value.clone())
            .collect()
    }
}

/// Every variable of a build. `home` is `/root` in a container; the host
/// executor keeps the user's own.
pub fn build_variables(
    who: &BuildIdentity,
    workspace: &Workspace,
    sources: &SourceVersions,
    user: &UserVariables,
    home: Option<&str>,
) -> Vec<(String, String)> {
    let mut vars = VarList::default();
    // Set by CodeBuild but overridable by the user's variables.
    vars.set("AWS_DEFAULT_REGION", &who.region);
    vars.set("AWS_REGION", &who.region);
    if let Some(home) = home {
        vars.set("HOME", home);
    }
    vars.extend(&user.plain());
    // CODEBUILD_ names are CodeBuild's: set last so they cannot be replaced.
    vars.set("CODEBUILD_BUILD_ARN", who.arn());
    vars.set("CODEBUILD_BUILD_ID", who.id());
    vars.set("CODEBUILD_BUILD_IMAGE", &who.image);
    vars.set("CODEBUILD_BUILD_NUMBER", who.number.to_string());
    vars.set("CODEBUILD_BUILD_SUCCEEDING", "1");
    if let Some((identifier, batch_arn)) = &who.batch {
        vars.set("CODEBUILD_BATCH_BUILD_IDENTIFIER", identifier);
        vars.set("CODEBUILD_BUILD_BATCH_ARN", batch_arn);
    }
    vars.set("CODEBUILD_CI", "true");
    vars.set("CODEBUILD_INITIATOR", &who.initiator);
    vars.set(
        "CODEBUILD_KMS_KEY_ID",
        format!("arn:aws:kms:{}:{LOCAL_ACCOUNT}:alias/aws/s3", who.region),
    );
    vars.set("CODEBUILD_LOG_PATH", &who.uuid);
    vars.set("CODEBUILD_PROJECT_ARN", who.project_arn());
    if let Some(v) = &sources.resolved_source_version {
        vars.set("CODEBUILD_RESOLVED_SOURCE_VERSION", v);
    }
    vars.set(
        "CODEBUILD_SOURCE_REPO_URL",
        sources.repo_url.clone().unwrap_or_default(),
    );
    vars.set(
        "CODEBUILD_SOURCE_VERSION",
        sources.source_version.clone().unwrap_or_default(),
    );
    vars.set("CODEBUILD_SRC_DIR", &workspace.src_dir);
    for (id, dir) in &workspace.secondary {
        vars.set(&format!("CODEBUILD_SRC_DIR_{id}"), dir);
    }
    for (id, version, url) in &sources.secondary {
        if let Some(v) = version {
            vars.set(&format!("CODEBUILD_SOURCE_VERSION_{id}"), v);
        }
        if let Some(u) = url {
            vars.set(&format!("CODEBUILD_SOURCE_REPO_URL_{id}"), u);
        }
    }
    vars.set("CODEBUILD_START_TIME", epoch_millis(who.start).to_string());
    vars.into_vec()
}

/// Commit, branch and remote of a source folder that is a git work tree.
pub fn git_versions(dir: &std::path::Path) -> SourceVersions {
    let git = |args: &[&str]| -> Option<String> {
        crate::git::output(dir, args)
            .ok()
            .filter(|text| !text.is_empty())
    };
    let commit = git(&["rev-parse", "HEAD"]);
    SourceVersions {
        source_version: commit.clone(),
        resolved_source_version: commit,
        repo_url: git(&["remote", "get-url", "origin"]),
        secondary: Vec::new(),
    }
}
