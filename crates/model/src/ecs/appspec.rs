//! The AppSpec file of an Amazon ECS blue/green deployment (CodeDeploy User
//! Guide, "AppSpec 'resources' section" and "AppSpec 'hooks' section" for
//! Amazon ECS): the target service's container and port, and the Lambda
//! functions its lifecycle hooks invoke.

use serde_json::Value;

use crate::document::Document;
use crate::locate::DocPath;
use crate::problem::LoadError;
use crate::scalar;

/// The lifecycle events of an ECS deployment, in the order they run. Only
/// those [`EcsEvent::is_hook`] says can invoke a function.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum EcsEvent {
    BeforeInstall,
    Install,
    AfterInstall,
    AllowTestTraffic,
    AfterAllowTestTraffic,
    BeforeAllowTraffic,
    AllowTraffic,
    AfterAllowTraffic,
}

impl EcsEvent {
    pub const ALL: [EcsEvent; 8] = [
        EcsEvent::BeforeInstall,
        EcsEvent::Install,
        EcsEvent::AfterInstall,
        EcsEvent::AllowTestTraffic,
        EcsEvent::AfterAllowTestTraffic,
        EcsEvent::BeforeAllowTraffic,
        EcsEvent::AllowTraffic,
        EcsEvent::AfterAllowTraffic,
    ];

    pub fn name(self) -> &'static str {
        match self {
            EcsEvent::BeforeInstall => "BeforeInstall",
            EcsEvent::Install => "Install",
            EcsEvent::AfterInstall => "AfterInstall",
            EcsEvent::AllowTestTraffic => "AllowTestTraffic",
            EcsEvent::AfterAllowTestTraffic => "AfterAllowTestTraffic",
            EcsEvent::BeforeAllowTraffic => "BeforeAllowTraffic",
            EcsEvent::AllowTraffic => "AllowTraffic",
            EcsEvent::AfterAllowTraffic => "AfterAllowTraffic",
        }
    }

    /// Whether the AppSpec may hook a Lambda function to it.
    pub fn is_hook(self) -> bool {
        !matches!(
            self,
            EcsEvent::Install | EcsEvent::AllowTestTraffic | EcsEvent::AllowTraffic
        )
    }
}

/// An ECS AppSpec.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EcsAppSpec {
    /// `LoadBalancerInfo.ContainerName`: the container taking the traffic.
    pub container_name: Option<String>,
    pub container_port: Option<u16>,
    /// Each hook's function, in the file's order.
    pub hooks: Vec<(EcsEvent, String)>,
}

impl EcsAppSpec {
    /// The function hooked to `event`, if any.
    pub fn hook(&self, event: EcsEvent) -> Option<&str> {
        self.hooks
            .iter()
            .find(|(e, _)| *e == event)
            .map(|(_, f)| f.as_str())
    }

    pub fn from_document(doc: &Document) -> Result<EcsAppSpec, LoadError> {
        let root = DocPath::root();
        let fail = |path: &DocPath, m: String| LoadError::invalid(doc.error(path, m));
        let resources = doc.value.get("Resources").and_then(Value::as_array);
        let Some(first) = resources.and_then(|r| r.first()) else {
            return Err(fail(
                &root.key("Resources"),
                "Resources must list the target service (TargetService: {Type: AWS::ECS::Service, ...})".into(),
            ));
        };
        let (name, service) = first
            .as_object()
            .and_then(|m| m.iter().next())
            .ok_or_else(|| {
                fail(
                    &root.key("Resources"),
                    "Resources[0] must name the target service".into(),
                )
            })?;
        let at = root.key("Resources").index(0).key(name);
        let ty = service.get("Type").and_then(Value::as_str);
        if ty != Some("AWS::ECS::Service") {
            return Err(fail(
                &at.key("Type"),
                format!(
                    "{name}: Type must be AWS::ECS::Service, not {}",
                    ty.unwrap_or("missing")
                ),
            ));
        }
        let info = service
            .get("Properties")
            .and_then(|p| p.get("LoadBalancerInfo"));
        let container_name = info
            .and_then(|i| i.get("ContainerName"))
            .map(scalar::stringify);
        let container_port = match info.and_then(|i| i.get("ContainerPort")) {
            None => None,
            Some(v) => Some(
                scalar::as_int(v)
                    .and_then(|n| u16::try_from(n).ok())
                    .ok_or_else(|| {
                        fail(
                            &at.key("Properties")
                                .key("LoadBalancerInfo")
                                .key("ContainerPort"),
                            format!(
                                "ContainerPort {} is not a port number",
                                scalar::stringify(v)
                            ),
                        )
                    })?,
            ),
        };
        let mut hooks = Vec::new();
        let mut problems = Vec::new();
        if let Some(list) = doc.value.get("Hooks") {
            let Some(list) = list.as_array() else {
                return Err(fail(
                    &root.key("Hooks"),
                    "Hooks must be a list of `- Event: FunctionName`".into(),
                ));
            };
            for (i, item) in list.iter().enumerate() {
                let Some((key, function)) = item.as_object().and_then(|m| m.iter().next()) else {
                    problems.push(doc.error(
                        &root.key("Hooks").index(i),
                        "a hook is `- Event: FunctionName`",
                    ));
                    continue;
                };
                let here = root.key("Hooks").index(i).key(key);
                match EcsEvent::ALL.iter().find(|e| e.name() == key && e.is_hook()) {
                    Some(event) => hooks.push((*event, scalar::stringify(function))),
                    None => problems.push(doc.error(&here, format!(
                        "{key} is not a hook of an ECS deployment: use BeforeInstall, AfterInstall, AfterAllowTestTraffic, BeforeAllowTraffic or AfterAllowTraffic"
                    ))),
                }
            }
        }
        if !problems.is_empty() {
            return Err(LoadError::Invalid { problems });
        }
        Ok(EcsAppSpec {
            container_name,
            container_port,
            hooks,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn parse(text: &str) -> Result<EcsAppSpec, String> {
        let doc =
            Document::parse(Path::new("appspec.yaml"), text.into()).map_err(|e| e.to_string())?;
        EcsAppSpec::from_document(&doc).map_err(|e| e.summary())
    }

    #[test]
    fn hooks_and_the_target_container_are_read() {
        let spec = parse(
            "version: 0.0
Resources:
  - TargetService:
      Type: AWS::ECS::Service
      Properties:
        TaskDefinition: <TASK_DEFINITION>
        LoadBalancerInfo: {ContainerName: web, ContainerPort: 80}
Hooks:
  - AfterAllowTestTraffic: check
  - BeforeInstall: prepare
",
        )
        .unwrap();
        assert_eq!(spec.container_name.as_deref(), Some("web"));
        assert_eq!(spec.container_port, Some(80));
        assert_eq!(spec.hook(EcsEvent::BeforeInstall), Some("prepare"));
        assert_eq!(spec.hook(EcsEvent::AfterInstall), None);
        let e = parse(
            "Resources:\n  - TargetService:\n      Type: AWS::ECS::Service\nHooks:\n  - AllowTraffic: x\n",
        )
        .unwrap_err();
        assert!(
            e.starts_with("appspec.yaml:5:") && e.contains("not a hook"),
            "{e}"
        );
    }
}
