//! What a template says about ECS services a local deploy runs: each
//! `AWS::ECS::Service` with its cluster, name and the `AWS::ECS::TaskDefinition`
//! behind it (AWS CloudFormation Template Reference, "AWS::ECS::Service",
//! "AWS::ECS::TaskDefinition"). Which service a blue/green deployment group
//! deploys to is [`crate::codedeploy::deployment_group`]'s to read.

use serde_json::Value;

use super::task_definition::{read, under, TaskDefinition};
use crate::cfn::{Resolver, Template};
use crate::locate::DocPath;
use crate::pipeline::api_case;
use crate::problem::LoadError;

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
    /// The task definition its `TaskDefinition` refers to, when the template
    /// defines it; or why it cannot be read (one line naming file and line),
    /// which fails only a deploy of this service: a broken service no action
    /// deploys must not stop a run.
    pub task_definition: Option<Result<TaskDefinition, String>>,
}

/// The ECS services of a template; empty for a pipeline file that is no
/// template.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EcsServices {
    pub services: Vec<TemplateService>,
}

impl EcsServices {
    /// Every `AWS::ECS::Service` of `template`. Reading them never fails:
    /// each service keeps its own problem.
    pub fn from_template(template: &Template<'_>) -> EcsServices {
        EcsServices {
            services: template
                .resources_of_type(SERVICE_TYPE)
                .into_iter()
                .map(|id| service(template, id))
                .collect(),
        }
    }

    /// The service `name` in `cluster`.
    pub fn service(&self, cluster: &str, name: &str) -> Option<&TemplateService> {
        self.services
            .iter()
            .find(|s| s.cluster == cluster && s.name == name)
    }
}

/// A resolved property as a string.
fn text(resolver: &mut Resolver<'_, '_>, value: Option<&Value>, at: &DocPath) -> Option<String> {
    let v = resolver.resolve(value?, at)?;
    v.as_str().map(String::from)
}

fn service(template: &Template<'_>, id: &str) -> TemplateService {
    let (raw, path) = template.properties(id);
    // Names that do not resolve get the resolver's visible placeholder: the
    // service is then not found by its name, which says what to fix.
    let mut resolver = Resolver::new(template);
    let cluster = text(&mut resolver, raw.get("Cluster"), &path.key("Cluster"))
        .unwrap_or_else(|| "default".into());
    let name = text(
        &mut resolver,
        raw.get("ServiceName"),
        &path.key("ServiceName"),
    )
    .unwrap_or_else(|| id.to_string());
    // The task definition is the resource `Ref` names; an ARN or a
    // parameter names one the template does not hold.
    let task_definition = raw
        .get("TaskDefinition")
        .and_then(|t| t.get("Ref"))
        .and_then(Value::as_str)
        .filter(|r| template.resource_type(r) == Some(TASK_DEFINITION_TYPE))
        .map(|r| task_definition(template, r).map_err(|e| e.summary()));
    TemplateService {
        logical_id: id.to_string(),
        cluster,
        name,
        task_definition,
    }
}

/// The `AWS::ECS::TaskDefinition` `id`, intrinsics resolved.
fn task_definition(template: &Template<'_>, id: &str) -> Result<TaskDefinition, LoadError> {
    let (raw, path) = template.properties(id);
    let mut resolver = Resolver::new(template);
    let resolved = resolver.resolve(&raw, &path).unwrap_or(Value::Null);
    let invalid = |problems| Err(LoadError::Invalid { problems });
    let unresolved: Vec<_> = resolver
        .problems
        .into_iter()
        .filter(|p| p.is_error())
        .collect();
    if !unresolved.is_empty() {
        return invalid(unresolved);
    }
    let at = |api: &DocPath| template.doc.place(&under(&path, api, true));
    let td = read(api_case(resolved), &at)?;
    let problems = td.check(&at);
    if problems.is_empty() {
        Ok(td)
    } else {
        invalid(problems)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::document::Document;
    use std::path::Path;

    fn services_of(text: &str) -> EcsServices {
        let doc = Document::parse(Path::new("t.yml"), text.into()).unwrap();
        EcsServices::from_template(&Template::from_document(&doc).unwrap())
    }

    #[test]
    fn a_service_finds_its_cluster_and_task_definition() {
        let found = services_of(
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
",
        );
        let web = found
            .service("prod", "Web")
            .expect("the service by logical id");
        let td = web.task_definition.as_ref().unwrap().as_ref().unwrap();
        let c = td.container("web").unwrap();
        assert_eq!(c.image, "123456789012.dkr.ecr.example/web");
        assert_eq!(c.health_check.as_ref().unwrap().interval, 10);
    }

    #[test]
    fn a_broken_task_definition_names_its_line() {
        let found = services_of(
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
        );
        // The service keeps its problem: only deploying it fails.
        let web = found.service("default", "Web").unwrap();
        let e = web.task_definition.clone().unwrap().unwrap_err();
        assert!(e.starts_with("t.yml:8:"), "{e}");
        assert!(e.contains("retries 11"), "{e}");
    }
}
