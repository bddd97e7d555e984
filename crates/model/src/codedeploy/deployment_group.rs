//! `AWS::CodeDeploy::DeploymentGroup` resources of a template: what a local
//! deployment honours of them (CloudFormation Template Reference,
//! `AWS::CodeDeploy::DeploymentGroup` and its `AutoRollbackConfiguration`).

use serde_json::Value;

use crate::cfn::{Resolver, Template};
use crate::locate::DocPath;
use crate::problem::Problem;
use crate::scalar::{as_bool, stringify};

pub const DEPLOYMENT_GROUP_TYPE: &str = "AWS::CodeDeploy::DeploymentGroup";

/// A deployment group the template defines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeploymentGroup {
    pub logical_id: String,
    pub application_name: String,
    /// `DeploymentGroupName`, else the logical id (what the stand-in of
    /// `!Ref` gives for it too).
    pub deployment_group_name: String,
    pub auto_rollback: AutoRollback,
}

/// `AutoRollbackConfiguration`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AutoRollback {
    pub enabled: bool,
    /// `DEPLOYMENT_FAILURE`, `DEPLOYMENT_STOP_ON_ALARM`, `DEPLOYMENT_STOP_ON_REQUEST`.
    pub events: Vec<String>,
}

impl AutoRollback {
    /// Whether a failed deployment rolls back.
    pub fn on_failure(&self) -> bool {
        self.enabled && self.events.iter().any(|e| e == "DEPLOYMENT_FAILURE")
    }
}

const EVENTS: [&str; 3] = [
    "DEPLOYMENT_FAILURE",
    "DEPLOYMENT_STOP_ON_ALARM",
    "DEPLOYMENT_STOP_ON_REQUEST",
];

/// Every deployment group of `template`, intrinsics resolved.
pub fn deployment_groups_from_template(
    template: &Template<'_>,
    resolver: &mut Resolver<'_, '_>,
    problems: &mut Vec<Problem>,
) -> Vec<DeploymentGroup> {
    let mut out = Vec::new();
    for id in template.resources_of_type(DEPLOYMENT_GROUP_TYPE) {
        let path = DocPath::root().key("Resources").key(id).key("Properties");
        let raw = template.doc.value["Resources"][id]
            .get("Properties")
            .cloned()
            .unwrap_or(Value::Null);
        let props = resolver.resolve(&raw, &path).unwrap_or(Value::Null);
        let name = |key: &str| {
            props
                .get(key)
                .filter(|v| v.is_string() || v.is_number())
                .map(stringify)
        };
        // What no deployment of this run may use must not stop the run:
        // problems here are warnings, and the group is left out.
        let Some(application_name) = name("ApplicationName") else {
            problems.push(template.doc.warning(
                &path,
                format!("deployment group {id}: ApplicationName is required; it is left out"),
            ));
            continue;
        };
        let rollback = props.get("AutoRollbackConfiguration");
        let events: Vec<String> = rollback
            .and_then(|r| r.get("Events"))
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .map(stringify)
            .collect();
        for e in events.iter().filter(|e| !EVENTS.contains(&e.as_str())) {
            problems.push(template.doc.warning(
                &path.key("AutoRollbackConfiguration").key("Events"),
                format!(
                    "deployment group {id}: unknown rollback event {e} (events: {})",
                    EVENTS.join(", ")
                ),
            ));
        }
        out.push(DeploymentGroup {
            logical_id: id.to_string(),
            application_name,
            deployment_group_name: name("DeploymentGroupName").unwrap_or_else(|| id.to_string()),
            auto_rollback: AutoRollback {
                enabled: rollback
                    .and_then(|r| r.get("Enabled"))
                    .and_then(as_bool)
                    .unwrap_or(false),
                events,
            },
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::document::Document;
    use std::path::Path;

    #[test]
    fn groups_resolve_names_and_read_rollback() {
        let doc = Document::parse(
            Path::new("t.yml"),
            "Parameters:\n  Env: {Type: String, Default: dev}\nResources:\n  App:\n    Type: AWS::CodeDeploy::Application\n    Properties: {ApplicationName: !Sub 'web-${Env}'}\n  Group:\n    Type: AWS::CodeDeploy::DeploymentGroup\n    Properties:\n      ApplicationName: !Ref App\n      DeploymentGroupName: fleet\n      AutoRollbackConfiguration:\n        Enabled: true\n        Events: [DEPLOYMENT_FAILURE]\n  Bare:\n    Type: AWS::CodeDeploy::DeploymentGroup\n    Properties: {ApplicationName: other}\n  Typo:\n    Type: AWS::CodeDeploy::DeploymentGroup\n    Properties: {ApplicationName: other, AutoRollbackConfiguration: {Enabled: true, Events: [DEPLOYMENT_FAILED]}}\n".into(),
        )
        .unwrap();
        let template = Template::from_document(&doc).unwrap();
        let mut resolver = Resolver::new(&template);
        let mut problems = Vec::new();
        let groups = deployment_groups_from_template(&template, &mut resolver, &mut problems);
        // A misspelt event warns (the run goes on) and rolls nothing back.
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(!problems[0].is_error());
        assert!(problems[0]
            .message
            .contains("unknown rollback event DEPLOYMENT_FAILED"));
        let typo = groups.iter().find(|g| g.logical_id == "Typo").unwrap();
        assert!(!typo.auto_rollback.on_failure());
        let g = groups.iter().find(|g| g.logical_id == "Group").unwrap();
        assert_eq!(g.application_name, "web-dev");
        assert_eq!(g.deployment_group_name, "fleet");
        assert!(g.auto_rollback.on_failure());
        let bare = groups.iter().find(|g| g.logical_id == "Bare").unwrap();
        assert_eq!(bare.deployment_group_name, "Bare");
        assert!(!bare.auto_rollback.on_failure());
    }
}
