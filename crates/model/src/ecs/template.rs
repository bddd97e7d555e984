//! What a template says about ECS services a local deploy runs: each
//! `AWS::ECS::Service` with its cluster, name and the `AWS::ECS::TaskDefinition`
//! behind it, and the `ECSServices` of blue/green `AWS::CodeDeploy::DeploymentGroup`s
//! (AWS CloudFormation Template Reference, "AWS::ECS::Service",
//! "AWS::ECS::TaskDefinition", "AWS::CodeDeploy::DeploymentGroup ECSService").

use std::path::Path;

use serde_json::Value;

use super::task_definition::{read, under, TaskDefinition};
use crate::cfn::{ParameterValues, Resolver, Template};
use crate::codedeploy::deployment_group::DEPLOYMENT_GROUP_TYPE;
use crate::document::Document;
use crate::locate::DocPath;
use crate::pipeline::api_case;
use crate::problem::{LoadError, Problem};

pub const SERVICE_TYPE: &str = "AWS::ECS::Service";
pub const TASK_DEFINITION_TYPE: &str = "AWS::ECS::TaskDefinition";

/// An ECS service a template defines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateService {
    pub logical_id: String,
    /// `Cluster` resolved; ECS's `default` when absent.
    pub cluster: String,
    /// `ServiceName`; the logical id when absent.
    pub name: String,
    /// The task definition its `TaskDefinition` refers to, when the template defines it.
    pub task_definition: Option<TaskDefinition>,
}

/// A CodeDeploy deployment group's ECS service (blue/green).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlueGreenGroup {
    pub application: String,
    pub group: String,
    /// `(cluster, service)` of its first `ECSServices` entry.
    pub service: (String, String),
}

/// The ECS services and blue/green deployment groups of a template; empty
/// for a pipeline file that is no template.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EcsServices {
    pub services: Vec<TemplateService>,
    pub blue_green: Vec<BlueGreenGroup>,
}

impl EcsServices {
    /// Reads `path` (the pipeline's file) with these parameter values.
    pub fn load(path: &Path, parameters: &ParameterValues) -> Result<EcsServices, LoadError> {
        let doc = Document::read(path)?;
        let Some(template) = Template::from_document(&doc) else {
            return Ok(EcsServices::default());
        };
        let template = template.with_parameters(parameters);
        let mut resolver = Resolver::new(&template);
        let mut problems = Vec::new();
        let found = EcsServices {
            services: services(&template, &mut resolver, &mut problems),
            blue_green: blue_green(&template, &mut resolver),
        };
        problems.extend(resolver.problems.into_iter().filter(Problem::is_error));
        if problems.is_empty() {
            Ok(found)
        } else {
            Err(LoadError::Invalid { problems })
        }
    }

    /// The service `name` in `cluster`.
    pub fn service(&self, cluster: &str, name: &str) -> Option<&TemplateService> {
        self.services
            .iter()
            .find(|s| s.cluster == cluster && s.name == name)
    }

    /// The `(cluster, service)` CodeDeploy's `application`/`group` deploys to.
    pub fn blue_green_service(&self, application: &str, group: &str) -> Option<&(String, String)> {
        self.blue_green
            .iter()
            .find(|g| g.application == application && g.group == group)
            .map(|g| &g.service)
    }
}

fn properties(template: &Template<'_>, id: &str) -> (Value, DocPath) {
    let path = DocPath::root().key("Resources").key(id).key("Properties");
    let raw = template.doc.value["Resources"][id]
        .get("Properties")
        .cloned()
        .unwrap_or(Value::Null);
    (raw, path)
}

/// A resolved property as a string.
fn text(resolver: &mut Resolver<'_, '_>, value: Option<&Value>, at: &DocPath) -> Option<String> {
    let v = resolver.resolve(value?, at)?;
    v.as_str().map(String::from)
}

fn services(
    template: &Template<'_>,
    resolver: &mut Resolver<'_, '_>,
    problems: &mut Vec<Problem>,
) -> Vec<TemplateService> {
    let mut out = Vec::new();
    for id in template.resources_of_type(SERVICE_TYPE) {
        let (raw, path) = properties(template, id);
        let cluster = text(resolver, raw.get("Cluster"), &path.key("Cluster"))
            .unwrap_or_else(|| "default".into());
        let name = text(resolver, raw.get("ServiceName"), &path.key("ServiceName"))
            .unwrap_or_else(|| id.to_string());
        // The task definition is the resource `Ref` names; an ARN or a
        // parameter names one the template does not hold.
        let task_definition = raw
            .get("TaskDefinition")
            .and_then(|t| t.get("Ref"))
            .and_then(Value::as_str)
            .filter(|r| template.resource_type(r) == Some(TASK_DEFINITION_TYPE))
            .and_then(|r| match task_definition(template, resolver, r) {
                Ok(td) => Some(td),
                Err(e) => {
                    problems.extend(e.problems());
                    None
                }
            });
        out.push(TemplateService {
            logical_id: id.to_string(),
            cluster,
            name,
            task_definition,
        });
    }
    out
}

/// The `AWS::ECS::TaskDefinition` `id`, intrinsics resolved.
fn task_definition(
    template: &Template<'_>,
    resolver: &mut Resolver<'_, '_>,
    id: &str,
) -> Result<TaskDefinition, LoadError> {
    let (raw, path) = properties(template, id);
    let resolved = resolver.resolve(&raw, &path).unwrap_or(Value::Null);
    let at = |api: &DocPath| template.doc.place(&under(&path, api, true));
    let td = read(api_case(resolved), &at)?;
    let problems = td.check(&at);
    if problems.is_empty() {
        Ok(td)
    } else {
        Err(LoadError::Invalid { problems })
    }
}

fn blue_green(template: &Template<'_>, resolver: &mut Resolver<'_, '_>) -> Vec<BlueGreenGroup> {
    let mut out = Vec::new();
    for id in template.resources_of_type(DEPLOYMENT_GROUP_TYPE) {
        let (raw, path) = properties(template, id);
        let Some(first) = raw.get("ECSServices").and_then(|s| s.get(0)) else {
            continue;
        };
        let at = path.key("ECSServices").index(0);
        let (Some(cluster), Some(service)) = (
            text(resolver, first.get("ClusterName"), &at.key("ClusterName")),
            text(resolver, first.get("ServiceName"), &at.key("ServiceName")),
        ) else {
            continue;
        };
        let application = text(
            resolver,
            raw.get("ApplicationName"),
            &path.key("ApplicationName"),
        );
        let group = text(
            resolver,
            raw.get("DeploymentGroupName"),
            &path.key("DeploymentGroupName"),
        )
        .unwrap_or_else(|| id.to_string());
        if let Some(application) = application {
            out.push(BlueGreenGroup {
                application,
                group,
                service: (cluster, service),
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_service_finds_its_cluster_and_task_definition() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("t.yml");
        std::fs::write(
            &file,
            "Resources:
  Cluster:
    Type: AWS::ECS::Cluster
    Properties: {ClusterName: prod}
  Task:
    Type: AWS::ECS::TaskDefinition
    Properties:
      ContainerDefinitions:
        - Name: web
          Image: !Sub '${AWS::AccountId}.dkr.ecr.example/web'
          PortMappings: [{ContainerPort: 80}]
          HealthCheck: {Command: [CMD-SHELL, 'true'], Interval: 10}
  Web:
    Type: AWS::ECS::Service
    Properties:
      Cluster: !Ref Cluster
      TaskDefinition: !Ref Task
  App:
    Type: AWS::CodeDeploy::Application
    Properties: {ApplicationName: shop}
  Group:
    Type: AWS::CodeDeploy::DeploymentGroup
    Properties:
      ApplicationName: !Ref App
      DeploymentGroupName: blue-green
      ECSServices: [{ClusterName: !Ref Cluster, ServiceName: !GetAtt Web.Name}]
",
        )
        .unwrap();
        let found = EcsServices::load(&file, &ParameterValues::new()).unwrap();
        let web = found
            .service("prod", "Web")
            .expect("the service by logical id");
        let td = web.task_definition.as_ref().unwrap();
        let c = td.container("web").unwrap();
        assert_eq!(c.image, "123456789012.dkr.ecr.example/web");
        assert_eq!(c.health_check.as_ref().unwrap().interval, 10);
        assert_eq!(
            found.blue_green_service("shop", "blue-green"),
            Some(&("prod".to_string(), "Web".to_string()))
        );
    }

    #[test]
    fn a_broken_task_definition_names_its_line() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("t.yml");
        std::fs::write(
            &file,
            "Resources:
  Task:
    Type: AWS::ECS::TaskDefinition
    Properties:
      ContainerDefinitions:
        - Name: web
          Image: x
          HealthCheck: {Command: [CMD, x], Retries: 11}
  Web:
    Type: AWS::ECS::Service
    Properties: {TaskDefinition: !Ref Task}
",
        )
        .unwrap();
        let e = EcsServices::load(&file, &ParameterValues::new())
            .unwrap_err()
            .summary();
        assert!(e.starts_with(&format!("{}:8:", file.display())), "{e}");
        assert!(e.contains("retries 11"), "{e}");
    }
}
