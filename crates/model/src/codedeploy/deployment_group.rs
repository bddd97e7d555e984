//! `AWS::CodeDeploy::DeploymentGroup` resources of a template: what a local
//! deployment honours of them (CloudFormation Template Reference,
//! `AWS::CodeDeploy::DeploymentGroup`, its `AutoRollbackConfiguration` and
//! `ECSService`). The one reader of deployment groups, for in-place and
//! ECS blue/green deployments alike.

use serde_json::Value;

use crate::cfn::{Resolver, Template};
use crate::locate::DocPath;
use crate::problem::{Problem, Severity};
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
    /// `(cluster, service)` of its first `ECSServices` entry: the service a
    /// blue/green deployment replaces the task of.
    pub ecs_service: Option<(String, String)>,
}

/// `AutoRollbackConfiguration`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AutoRollback {
    pub enabled: bool,
    pub events: Vec<RollbackEvent>,
}

/// What rolls a deployment back (`AutoRollbackConfiguration.Events`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RollbackEvent {
    DeploymentFailure,
    DeploymentStopOnAlarm,
    DeploymentStopOnRequest,
}

impl RollbackEvent {
    pub const ALL: [RollbackEvent; 3] = [
        RollbackEvent::DeploymentFailure,
        RollbackEvent::DeploymentStopOnAlarm,
        RollbackEvent::DeploymentStopOnRequest,
    ];

    /// The name CloudFormation and the API use.
    pub fn name(self) -> &'static str {
        match self {
            RollbackEvent::DeploymentFailure => "DEPLOYMENT_FAILURE",
            RollbackEvent::DeploymentStopOnAlarm => "DEPLOYMENT_STOP_ON_ALARM",
            RollbackEvent::DeploymentStopOnRequest => "DEPLOYMENT_STOP_ON_REQUEST",
        }
    }

    pub fn from_name(name: &str) -> Option<RollbackEvent> {
        RollbackEvent::ALL.into_iter().find(|e| e.name() == name)
    }
}

impl AutoRollback {
    /// Whether a failed deployment rolls back.
    pub fn on_failure(&self) -> bool {
        self.enabled && self.events.contains(&RollbackEvent::DeploymentFailure)
    }
}

/// The group CodeDeploy's `application`/`group` names.
pub fn find<'g>(
    groups: &'g [DeploymentGroup],
    application: &str,
    group: &str,
) -> Option<&'g DeploymentGroup> {
    groups
        .iter()
        .find(|g| g.application_name == application && g.deployment_group_name == group)
}

/// Every deployment group of `template`, intrinsics resolved.
///
/// Only what a local deployment reads is resolved, each with a resolver of
/// the group's own: the group's other properties (roles, alarms, load
/// balancers, tag filters) mean nothing locally and must not fail or warn
/// on a run. What no deployment of a run may use must not stop the run
/// either, so the group's problems are warnings and the group is left out.
pub fn deployment_groups_from_template(
    template: &Template<'_>,
    problems: &mut Vec<Problem>,
) -> Vec<DeploymentGroup> {
    let mut out = Vec::new();
    for id in template.resources_of_type(DEPLOYMENT_GROUP_TYPE) {
        let mut found = Vec::new();
        if let Some(group) = read_group(template, id, &mut found) {
            out.push(group);
        }
        problems.extend(found.into_iter().map(|p| Problem {
            severity: Severity::Warning,
            ..p
        }));
    }
    out
}

/// One group; `None` (with a reason in `problems`) when it is left out.
fn read_group(
    template: &Template<'_>,
    id: &str,
    problems: &mut Vec<Problem>,
) -> Option<DeploymentGroup> {
    let (raw, path) = template.properties(id);
    let mut resolver = Resolver::new(template);
    let mut field = |value: Option<&Value>, at: &DocPath| resolver.resolve(value?, at);
    let name = |v: Option<Value>| {
        v.filter(|v| v.is_string() || v.is_number())
            .map(|v| stringify(&v))
    };
    let application = name(field(
        raw.get("ApplicationName"),
        &path.key("ApplicationName"),
    ));
    let group_name = name(field(
        raw.get("DeploymentGroupName"),
        &path.key("DeploymentGroupName"),
    ));
    let rollback_at = path.key("AutoRollbackConfiguration");
    let rollback = field(raw.get("AutoRollbackConfiguration"), &rollback_at);
    let ecs_at = path.key("ECSServices").index(0);
    let ecs = field(raw.get("ECSServices").and_then(|s| s.get(0)), &ecs_at);
    let left_out = |problems: &mut Vec<Problem>, at: &DocPath, why: &str| {
        problems.push(
            template
                .doc
                .warning(at, format!("deployment group {id}: {why}; it is left out")),
        );
    };
    // The resolver's placeholders are not warned about: a stand-in names the
    // group the same way it names the action that deploys to it, and the
    // pipeline's own warnings say what the action's stands for.
    if !resolver.problems.is_empty() {
        problems.append(&mut resolver.problems);
        left_out(problems, &path, "its properties do not resolve");
        return None;
    }
    let Some(application_name) = application else {
        left_out(problems, &path, "ApplicationName is required");
        return None;
    };
    let ecs_service = match ecs {
        None => None,
        Some(entry) => {
            let part = |key: &str| name(entry.get(key).cloned());
            match (part("ClusterName"), part("ServiceName")) {
                (Some(cluster), Some(service)) => Some((cluster, service)),
                _ => {
                    left_out(
                        problems,
                        &ecs_at,
                        "an ECSServices entry needs ClusterName and ServiceName",
                    );
                    return None;
                }
            }
        }
    };
    let mut events = Vec::new();
    let listed = rollback.as_ref().and_then(|r| r.get("Events"));
    for e in listed.and_then(Value::as_array).into_iter().flatten() {
        let e = stringify(e);
        match RollbackEvent::from_name(&e) {
            Some(event) => events.push(event),
            None => problems.push(template.doc.warning(
                &rollback_at.key("Events"),
                format!(
                    "deployment group {id}: unknown rollback event {e} (events: {})",
                    RollbackEvent::ALL.map(RollbackEvent::name).join(", ")
                ),
            )),
        }
    }
    Some(DeploymentGroup {
        logical_id: id.to_string(),
        application_name,
        deployment_group_name: group_name.unwrap_or_else(|| id.to_string()),
        auto_rollback: AutoRollback {
            enabled: rollback
                .as_ref()
                .and_then(|r| r.get("Enabled"))
                .and_then(as_bool)
                .unwrap_or(false),
            events,
        },
        ecs_service,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::document::Document;
    use std::path::Path;

    /// The groups of the template `text`, and the problems found reading them.
    fn groups_of(text: &str) -> (Vec<DeploymentGroup>, Vec<Problem>) {
        let doc = Document::parse(Path::new("t.yml"), text.into()).unwrap();
        let template = Template::from_document(&doc).unwrap();
        let mut problems = Vec::new();
        let groups = deployment_groups_from_template(&template, &mut problems);
        (groups, problems)
    }

    #[test]
    fn groups_resolve_names_and_read_rollback() {
        let (groups, problems) = groups_of(
            "Parameters:\n  Env: {Type: String, Default: dev}\nResources:\n  App:\n    Type: AWS::CodeDeploy::Application\n    Properties: {ApplicationName: !Sub 'web-${Env}'}\n  Group:\n    Type: AWS::CodeDeploy::DeploymentGroup\n    Properties:\n      ApplicationName: !Ref App\n      DeploymentGroupName: fleet\n      AutoRollbackConfiguration:\n        Enabled: true\n        Events: [DEPLOYMENT_FAILURE]\n  Bare:\n    Type: AWS::CodeDeploy::DeploymentGroup\n    Properties: {ApplicationName: other}\n  Typo:\n    Type: AWS::CodeDeploy::DeploymentGroup\n    Properties: {ApplicationName: other, AutoRollbackConfiguration: {Enabled: true, Events: [DEPLOYMENT_FAILED]}}\n",
        );
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

    #[test]
    fn only_what_a_local_deployment_reads_is_resolved() {
        let (groups, problems) = groups_of(
            "Parameters:\n  Role: {Type: String}\nResources:\n  Web:\n    Type: AWS::ECS::Service\n    Properties: {Cluster: prod, ServiceName: !Sub '${AWS::StackName}-web'}\n  Group:\n    Type: AWS::CodeDeploy::DeploymentGroup\n    Properties:\n      ApplicationName: 7\n      DeploymentGroupName: blue-green\n      ServiceRoleArn: !Ref Role\n      AlarmConfiguration: {Alarms: [{Name: !GetAtt Missing.Arn}]}\n      ECSServices: [{ClusterName: prod, ServiceName: !GetAtt Web.Name}]\n  Broken:\n    Type: AWS::CodeDeploy::DeploymentGroup\n    Properties: {ApplicationName: !GetAtt Nowhere.Name}\n",
        );
        // The alarm and the role mean nothing locally: no word of them.
        assert!(problems.iter().all(|p| !p.is_error()), "{problems:?}");
        assert!(
            problems
                .iter()
                .all(|p| p.message.contains("Broken") || p.message.contains("Nowhere")),
            "{problems:?}"
        );
        let g = find(&groups, "7", "blue-green").expect("a number names it too");
        assert_eq!(
            g.ecs_service,
            Some(("prod".to_string(), "t-web".to_string()))
        );
        // A group whose names do not resolve is left out, with a warning.
        assert!(groups.iter().all(|g| g.logical_id != "Broken"));
        assert!(problems
            .iter()
            .any(|p| p.message.contains("deployment group Broken")));
    }
}
