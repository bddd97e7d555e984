//! Template parameter values the user gives (`--parameter`, `--parameters
//! FILE`, `parameters:` in `.pipelocal.yml`), and the placeholders that stand
//! in for values nobody gave.
//!
//! A parameter file is read in any of CloudFormation's own formats:
//! `aws cloudformation create-stack --parameters file://…`'s list of
//! `{"ParameterKey", "ParameterValue"}`, `aws cloudformation deploy
//! --parameter-overrides file://…`'s list of `"Key=Value"` strings, and a
//! CodePipeline template configuration file (`{"Parameters": {…}}`).

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;
use serde_json::Value;

use crate::document::Document;
use crate::locate::DocPath;
use crate::problem::{LoadError, Place, Problem};
use crate::scalar;

/// Values for template parameters, by parameter name.
pub type ParameterValues = BTreeMap<String, String>;

/// One entry of create-stack's `--parameters` list. `UsePreviousValue` and
/// `ResolvedValue` are read past: without a deployed stack there is no
/// previous value, so such an entry gives none.
#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct StackParameter {
    parameter_key: String,
    #[serde(default, deserialize_with = "scalar::opt_string")]
    parameter_value: Option<String>,
}

/// A CodePipeline template configuration file; only `Parameters` matters here.
#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct TemplateConfiguration {
    #[serde(default, deserialize_with = "scalar::string_map")]
    parameters: BTreeMap<String, String>,
}

/// Reads a parameter file in any of the three formats.
pub fn read_parameter_file(path: &Path) -> Result<ParameterValues, LoadError> {
    let doc = Document::read(path)?;
    let not_parameters = || {
        LoadError::Syntax {
        place: Place::file(path).into(),
        message: "not a parameter file: expected create-stack's [{\"ParameterKey\": …, \"ParameterValue\": …}], \
                  a list of \"Key=Value\" strings (aws cloudformation deploy), \
                  or a template configuration {\"Parameters\": {…}}"
            .into(),
    }
    };
    let invalid = |at: DocPath, message: String| LoadError::invalid(doc.error(&at, message));
    match &doc.value {
        Value::Array(items) if items.iter().all(Value::is_string) => {
            let mut out = ParameterValues::new();
            for (i, item) in items.iter().enumerate() {
                let text = item.as_str().unwrap_or_default();
                match text.split_once('=') {
                    Some((k, v)) if !k.is_empty() => {
                        out.insert(k.to_string(), v.to_string());
                    }
                    _ => {
                        return Err(invalid(
                            DocPath::root().index(i),
                            format!("entry {}: expected Key=Value, found \"{text}\"", i + 1),
                        ))
                    }
                }
            }
            Ok(out)
        }
        Value::Array(_) => {
            let list: Vec<StackParameter> = serde_path_to_error::deserialize(doc.value.clone())
                .map_err(|e| {
                    invalid(DocPath::root().join_serde(e.path()), e.inner().to_string())
                })?;
            Ok(list
                .into_iter()
                .filter_map(|p| p.parameter_value.map(|v| (p.parameter_key, v)))
                .collect())
        }
        Value::Object(map) if map.contains_key("Parameters") => {
            let conf: TemplateConfiguration = serde_path_to_error::deserialize(doc.value.clone())
                .map_err(|e| {
                invalid(DocPath::root().join_serde(e.path()), e.inner().to_string())
            })?;
            Ok(conf.parameters)
        }
        _ => Err(not_parameters()),
    }
}

/// A value that stands in for one nobody gave: what it replaces, and how to
/// give the real one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Placeholder {
    /// The string used in its place.
    pub value: String,
    /// What has no value, as a user names it: `parameter 'AppName'`.
    pub what: String,
    /// How to give it a value, when one can be given.
    pub remedy: String,
}

/// The placeholder of a parameter without a value: derived from its name
/// alone, so the same expression gives the same string wherever it is used,
/// and made of letters, digits and `-` only, starting with a letter, so it is
/// valid in every name it may land in (pipeline, stage, action, artifact,
/// namespace, project and stack names).
pub fn parameter_placeholder(name: &str) -> String {
    format!("param-{}", name_safe(name))
}

/// The placeholder of a value known only once deployed (an import, a custom
/// resource's attribute), by the same rule.
pub fn deployed_placeholder(kind: &str, name: &str) -> String {
    format!("{kind}-{}", name_safe(name))
}

fn name_safe(name: &str) -> String {
    let cleaned: String = name
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    let trimmed = cleaned.trim_matches('-');
    if trimmed.is_empty() {
        "value".into()
    } else {
        trimmed.to_string()
    }
}

/// Problems with the values given for a template: names it does not declare
/// (a warning: a shared file may serve several templates) and values outside
/// a parameter's `AllowedValues` (an error, as CloudFormation makes it).
pub fn check_given(
    doc: &Document,
    declared: &serde_json::Map<String, Value>,
    given: &ParameterValues,
) -> Vec<Problem> {
    let mut problems = Vec::new();
    for (name, value) in given {
        let Some(param) = declared.get(name) else {
            problems.push(Problem::warning(
                Place::file(&doc.path),
                format!(
                    "a value is given for parameter '{name}', which this template does not declare"
                ),
            ));
            continue;
        };
        let allowed: Vec<String> = param
            .get("AllowedValues")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(super::intrinsics::scalar_string)
            .collect();
        if !allowed.is_empty() && !allowed.contains(value) {
            problems.push(doc.error(
                &DocPath::root().key("Parameters").key(name),
                format!(
                    "parameter '{name}' is given '{value}', which is not one of its AllowedValues ({})",
                    allowed.join(", ")
                ),
            ));
        }
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str) -> Result<ParameterValues, LoadError> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("params.json");
        std::fs::write(&path, text).unwrap();
        read_parameter_file(&path)
    }

    #[test]
    fn the_three_formats_read_the_same() {
        let want = ParameterValues::from([
            ("AppName".to_string(), "shop".to_string()),
            ("Count".to_string(), "3".to_string()),
        ]);
        assert_eq!(
            read(r#"[{"ParameterKey": "AppName", "ParameterValue": "shop"}, {"ParameterKey": "Count", "ParameterValue": 3}, {"ParameterKey": "Old", "UsePreviousValue": true}]"#).unwrap(),
            want
        );
        assert_eq!(read(r#"["AppName=shop", "Count=3"]"#).unwrap(), want);
        assert_eq!(
            read(r#"{"Parameters": {"AppName": "shop", "Count": 3}, "Tags": {"team": "a"}}"#)
                .unwrap(),
            want
        );
    }

    #[test]
    fn a_bad_file_names_its_line() {
        let e = read("[\n  \"AppName=shop\",\n  \"Count\"\n]\n")
            .unwrap_err()
            .summary();
        assert!(
            e.contains("params.json") && e.contains("entry 2: expected Key=Value"),
            "{e}"
        );
        let e = read("{\"Stack\": 1}").unwrap_err().summary();
        assert!(e.contains("not a parameter file"), "{e}");
    }

    #[test]
    fn placeholders_are_names() {
        assert_eq!(parameter_placeholder("AppName"), "param-AppName");
        assert_eq!(
            deployed_placeholder("import", "shared:VpcId"),
            "import-shared-VpcId"
        );
    }
}
