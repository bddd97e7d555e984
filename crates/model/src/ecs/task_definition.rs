//! ECS task definitions, as `register-task-definition` takes them (Amazon ECS
//! API Reference, "RegisterTaskDefinition", "ContainerDefinition",
//! "HealthCheck"): the fields that shape a task run locally. Other fields
//! (cpu, memory, logging, IAM roles, ...) are read past: they change nothing
//! on this machine.

use serde::Deserialize;
use serde_json::Value;

use crate::document::Document;
use crate::locate::{DocPath, Seg};
use crate::problem::{LoadError, Place, Problem};
use crate::scalar;

/// A task definition: its family and its containers.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TaskDefinition {
    #[serde(default, deserialize_with = "scalar::opt_string")]
    pub family: Option<String>,
    pub container_definitions: Vec<ContainerDefinition>,
}

/// One container of a task.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContainerDefinition {
    #[serde(deserialize_with = "scalar::string")]
    pub name: String,
    #[serde(deserialize_with = "scalar::string")]
    pub image: String,
    /// ECS's default: a container is essential unless it says otherwise.
    #[serde(default, deserialize_with = "scalar::opt_bool")]
    pub essential: Option<bool>,
    pub command: Option<Vec<String>>,
    pub entry_point: Option<Vec<String>>,
    #[serde(default)]
    pub environment: Vec<KeyValuePair>,
    #[serde(default)]
    pub port_mappings: Vec<PortMapping>,
    pub health_check: Option<HealthCheck>,
    #[serde(default, deserialize_with = "scalar::opt_string")]
    pub working_directory: Option<String>,
    #[serde(default, deserialize_with = "scalar::opt_string")]
    pub user: Option<String>,
}

impl ContainerDefinition {
    pub fn is_essential(&self) -> bool {
        self.essential.unwrap_or(true)
    }
}

/// An environment variable (`{"name", "value"}`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct KeyValuePair {
    #[serde(deserialize_with = "scalar::string")]
    pub name: String,
    #[serde(default, deserialize_with = "scalar::string")]
    pub value: String,
}

/// A port the container listens on.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PortMapping {
    #[serde(deserialize_with = "port")]
    pub container_port: u16,
    #[serde(default, deserialize_with = "opt_port")]
    pub host_port: Option<u16>,
    #[serde(default, deserialize_with = "scalar::opt_string")]
    pub protocol: Option<String>,
}

/// A container's health check, with ECS's defaults filled in.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HealthCheck {
    /// `["CMD", ...]` or `["CMD-SHELL", "..."]`.
    pub command: Vec<String>,
    /// Seconds between checks, 5-300 (30).
    #[serde(default = "thirty", deserialize_with = "seconds")]
    pub interval: u32,
    /// Seconds a check may take, 2-60 (5).
    #[serde(default = "five", deserialize_with = "seconds")]
    pub timeout: u32,
    /// Failures in a row that make it unhealthy, 1-10 (3).
    #[serde(default = "three", deserialize_with = "seconds")]
    pub retries: u32,
    /// Seconds during which failures do not count, 0-300 (none).
    #[serde(default, deserialize_with = "opt_seconds")]
    pub start_period: Option<u32>,
}

fn thirty() -> u32 {
    30
}
fn five() -> u32 {
    5
}
fn three() -> u32 {
    3
}

fn bounded<'de, D: serde::Deserializer<'de>, T: TryFrom<i64>>(
    d: D,
    what: &str,
) -> Result<Option<T>, D::Error> {
    match scalar::opt_int(d)? {
        None => Ok(None),
        Some(n) => T::try_from(n)
            .map(Some)
            .map_err(|_| serde::de::Error::custom(format!("{n} is not a valid {what}"))),
    }
}

fn port<'de, D: serde::Deserializer<'de>>(d: D) -> Result<u16, D::Error> {
    opt_port(d)?.ok_or_else(|| serde::de::Error::custom("a port number is required"))
}

fn opt_port<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<u16>, D::Error> {
    bounded(d, "port number")
}

fn seconds<'de, D: serde::Deserializer<'de>>(d: D) -> Result<u32, D::Error> {
    opt_seconds(d)?.ok_or_else(|| serde::de::Error::custom("a number is required"))
}

fn opt_seconds<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<u32>, D::Error> {
    bounded(d, "count of seconds")
}

impl TaskDefinition {
    /// Reads `register-task-definition` JSON (or `describe-task-definition`
    /// output, `{"taskDefinition": {...}}`) from a parsed file.
    pub fn from_document(doc: &Document) -> Result<TaskDefinition, LoadError> {
        let (value, base) = match doc.value.get("taskDefinition") {
            Some(inner) => (inner.clone(), DocPath::root().key("taskDefinition")),
            None => (doc.value.clone(), DocPath::root()),
        };
        let at = |api: &DocPath| doc.place(&under(&base, api, false));
        let td = read(value, &at)?;
        let problems = td.check(&at);
        if problems.is_empty() {
            Ok(td)
        } else {
            Err(LoadError::Invalid { problems })
        }
    }

    /// Problems ECS's RegisterTaskDefinition would reject, each at the field
    /// `at` places by its API path.
    pub(crate) fn check(&self, at: &dyn Fn(&DocPath) -> Place) -> Vec<Problem> {
        let mut out = Vec::new();
        let list = DocPath::root().key("containerDefinitions");
        if self.container_definitions.is_empty() {
            out.push(Problem::error(
                at(&list),
                "containerDefinitions must hold at least one container",
            ));
        }
        for (i, c) in self.container_definitions.iter().enumerate() {
            let here = |field: &str| at(&list.index(i).key(field));
            if c.name.trim().is_empty() {
                out.push(Problem::error(here("name"), "a container needs a name"));
            } else if self
                .container_definitions
                .iter()
                .filter(|o| o.name == c.name)
                .count()
                > 1
            {
                out.push(Problem::error(
                    here("name"),
                    format!("two containers are named {}", c.name),
                ));
            }
            if c.image.trim().is_empty() {
                out.push(Problem::error(
                    here("image"),
                    format!("container {} has no image", c.name),
                ));
            }
            if let Some(h) = &c.health_check {
                out.extend(h.check(&c.name, &here("healthCheck")));
            }
        }
        if !self.container_definitions.iter().any(|c| c.is_essential()) {
            out.push(Problem::error(
                at(&list),
                "a task definition needs at least one essential container",
            ));
        }
        out
    }

    pub fn container(&self, name: &str) -> Option<&ContainerDefinition> {
        self.container_definitions.iter().find(|c| c.name == name)
    }
}

impl HealthCheck {
    /// The bounds of the Amazon ECS API Reference, "HealthCheck".
    fn check(&self, container: &str, place: &Place) -> Vec<Problem> {
        let mut out = Vec::new();
        let mut say = |m: String| {
            out.push(Problem::error(
                place.clone(),
                format!("container {container}: healthCheck {m}"),
            ))
        };
        match self.command.first().map(String::as_str) {
            Some("CMD") | Some("CMD-SHELL") if self.command.len() > 1 => {}
            _ => say("command must be [\"CMD\", ...] or [\"CMD-SHELL\", \"...\"]".into()),
        }
        for (name, value, range) in [
            ("interval", self.interval, 5..=300),
            ("timeout", self.timeout, 2..=60),
            ("retries", self.retries, 1..=10),
            ("startPeriod", self.start_period.unwrap_or(0), 0..=300),
        ] {
            if !range.contains(&value) {
                say(format!(
                    "{name} {value} is out of range {}-{}",
                    range.start(),
                    range.end()
                ));
            }
        }
        out
    }
}

/// Deserializes a task definition, the error at the field that broke.
pub(crate) fn read(
    value: Value,
    at: &dyn Fn(&DocPath) -> Place,
) -> Result<TaskDefinition, LoadError> {
    serde_path_to_error::deserialize::<_, TaskDefinition>(value).map_err(|e| {
        let field = DocPath::root().join_serde(e.path());
        LoadError::invalid(Problem::error(
            at(&field),
            format!("task definition: {}", field.prefix(e.inner())),
        ))
    })
}

/// The API path `field` below `base`: camelCase keys as they are, or as
/// CloudFormation's PascalCase ones (`pascal`).
pub(crate) fn under(base: &DocPath, field: &DocPath, pascal: bool) -> DocPath {
    let mut out = base.clone();
    for seg in &field.0 {
        out = match seg {
            Seg::Index(i) => out.index(*i),
            Seg::Key(k) if pascal => out.key(&crate::pipeline::pascal(k)),
            Seg::Key(k) => out.key(k),
        };
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn parse(text: &str) -> Result<TaskDefinition, String> {
        let doc = Document::parse(Path::new("td.json"), text.into()).map_err(|e| e.to_string())?;
        TaskDefinition::from_document(&doc).map_err(|e| e.summary())
    }

    #[test]
    fn defaults_are_ecs_defaults() {
        let td = parse(
            r#"{"family": "web", "containerDefinitions": [
  {"name": "web", "image": "x", "portMappings": [{"containerPort": 80}],
   "environment": [{"name": "A", "value": 1}],
   "healthCheck": {"command": ["CMD-SHELL", "true"]}},
  {"name": "side", "image": "y", "essential": false}
]}"#,
        )
        .unwrap();
        let web = td.container("web").unwrap();
        assert!(web.is_essential());
        assert!(!td.container("side").unwrap().is_essential());
        let h = web.health_check.as_ref().unwrap();
        assert_eq!(
            (h.interval, h.timeout, h.retries, h.start_period),
            (30, 5, 3, None)
        );
        assert_eq!(web.environment[0].value, "1");
        assert_eq!(web.port_mappings[0].container_port, 80);
    }

    #[test]
    fn errors_name_the_file_and_line() {
        let td = |container: &str| {
            format!("{{\n  \"containerDefinitions\": [\n    {{\n      \"name\": \"web\",\n{container}\n    }}\n  ]\n}}\n")
        };
        let e = parse(&td(
            "      \"image\": \"x\",\n      \"healthCheck\": {\"command\": [\"true\"], \"interval\": 1}",
        ))
        .unwrap_err();
        assert!(
            e.starts_with("td.json:6:") && e.contains("CMD-SHELL"),
            "{e}"
        );
        assert!(e.contains("and 1 more problem"), "{e}");
        let e = parse(&td("      \"essential\": true")).unwrap_err();
        assert!(e.starts_with("td.json:3:") && e.contains("image"), "{e}");
        let e = parse(&td(
            "      \"image\": \"x\",\n      \"portMappings\": [\n        {\n          \"containerPort\": 70000\n        }\n      ]",
        ))
        .unwrap_err();
        assert!(e.starts_with("td.json:8:") && e.contains("70000"), "{e}");
    }
}
