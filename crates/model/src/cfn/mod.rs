//! CloudFormation and CDK-synthesized templates: finding resources and
//! resolving the intrinsic functions that can be resolved without AWS.

mod intrinsics;
pub mod parameters;

pub use intrinsics::Resolver;
pub use parameters::{ParameterValues, Placeholder};

use serde_json::{Map, Value};

use crate::document::Document;
use crate::locate::DocPath;

/// The values pseudo parameters take locally. Documented in docs/compatibility.md.
pub const LOCAL_REGION: &str = "us-east-1";
pub const LOCAL_ACCOUNT: &str = "123456789012";

/// A view of a template document's sections.
pub struct Template<'d> {
    pub doc: &'d Document,
    /// Parameter values the user gave; over each parameter's `Default`.
    pub given: ParameterValues,
    empty: Map<String, Value>,
}

pub const PIPELINE_TYPE: &str = "AWS::CodePipeline::Pipeline";
pub const PROJECT_TYPE: &str = "AWS::CodeBuild::Project";

impl<'d> Template<'d> {
    /// A document is a template when it has a `Resources` map.
    pub fn from_document(doc: &'d Document) -> Option<Self> {
        doc.value.get("Resources")?.as_object()?;
        Some(Template {
            doc,
            given: ParameterValues::new(),
            empty: Map::new(),
        })
    }

    /// The same template with these parameter values given.
    pub fn with_parameters(mut self, given: &ParameterValues) -> Self {
        self.given = given.clone();
        self
    }

    fn section(&self, name: &str) -> &Map<String, Value> {
        self.doc
            .value
            .get(name)
            .and_then(Value::as_object)
            .unwrap_or(&self.empty)
    }

    pub fn resources(&self) -> &Map<String, Value> {
        self.section("Resources")
    }

    pub fn parameters(&self) -> &Map<String, Value> {
        self.section("Parameters")
    }

    pub fn conditions(&self) -> &Map<String, Value> {
        self.section("Conditions")
    }

    pub fn mappings(&self) -> &Map<String, Value> {
        self.section("Mappings")
    }

    pub fn resource_type(&self, logical_id: &str) -> Option<&str> {
        self.resources().get(logical_id)?.get("Type")?.as_str()
    }

    /// The raw (unresolved) `Properties` of resource `logical_id`, `Null`
    /// when it has none, and where they are in the document.
    pub fn properties(&self, logical_id: &str) -> (Value, DocPath) {
        let path = DocPath::root()
            .key("Resources")
            .key(logical_id)
            .key("Properties");
        let raw = self
            .resources()
            .get(logical_id)
            .and_then(|r| r.get("Properties"))
            .cloned()
            .unwrap_or(Value::Null);
        (raw, path)
    }

    /// Logical ids of the resources of one type, in template order.
    pub fn resources_of_type(&self, ty: &str) -> Vec<&str> {
        self.resources()
            .iter()
            .filter(|(_, r)| r.get("Type").and_then(Value::as_str) == Some(ty))
            .map(|(id, _)| id.as_str())
            .collect()
    }

    /// The stack name used for `AWS::StackName`: the file's stem.
    pub fn stack_name(&self) -> String {
        let stem = self
            .doc
            .path
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or("stack");
        let stem = stem.strip_suffix(".template").unwrap_or(stem);
        let cleaned: String = stem
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' {
                    c
                } else {
                    '-'
                }
            })
            .collect();
        if cleaned.is_empty() {
            "stack".into()
        } else {
            cleaned
        }
    }
}
