//! Reads a definition file (JSON or YAML) into one value tree, keeping the text
//! so that problems can be located. This is the only place serde_yaml is used.

use std::path::{Path, PathBuf};

use serde_json::{Map, Number, Value};

use crate::locate::{line_of, DocPath};
use crate::problem::{LoadError, Place, Problem};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Json,
    Yaml,
}

/// A parsed file: its text (for line lookups) and its content as JSON values.
/// YAML short-form CloudFormation tags (`!Ref x`) become their long JSON forms
/// (`{"Ref": "x"}`), so later stages see one shape.
#[derive(Debug, Clone)]
pub struct Document {
    pub path: PathBuf,
    pub text: String,
    pub format: Format,
    pub value: Value,
}

impl Document {
    pub fn read(path: &Path) -> Result<Self, LoadError> {
        let bytes = std::fs::read(path).map_err(|source| LoadError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let text = String::from_utf8(bytes).map_err(|e| LoadError::Syntax {
            place: Place::file(path).into(),
            message: format!(
                "file is not UTF-8 text (byte {})",
                e.utf8_error().valid_up_to()
            ),
        })?;
        Self::parse(path, text)
    }

    /// Parses text as JSON when it looks like JSON, else as YAML.
    pub fn parse(path: &Path, text: String) -> Result<Self, LoadError> {
        let looks_json = text.trim_start().starts_with('{') || text.trim_start().starts_with('[');
        let is_json_name = path.extension().is_some_and(|e| e == "json");
        if looks_json || is_json_name {
            match serde_json::from_str::<Value>(&text) {
                Ok(value) => {
                    return Ok(Document {
                        path: path.to_path_buf(),
                        text,
                        format: Format::Json,
                        value,
                    })
                }
                Err(e) if is_json_name || !looks_yaml_flow(&text) => {
                    return Err(LoadError::Syntax {
                        place: Place::file(path).at_line(Some(e.line())).into(),
                        message: format!("invalid JSON: {}", strip_location(&e.to_string())),
                    })
                }
                Err(_) => {}
            }
        }
        let yaml: serde_yaml::Value =
            serde_yaml::from_str(&text).map_err(|e| LoadError::Syntax {
                place: Place::file(path)
                    .at_line(e.location().map(|l| l.line()))
                    .into(),
                message: format!("invalid YAML: {}", strip_location(&e.to_string())),
            })?;
        let value = yaml_to_json(yaml).map_err(|message| LoadError::Syntax {
            place: Place::file(path).into(),
            message,
        })?;
        Ok(Document {
            path: path.to_path_buf(),
            text,
            format: Format::Yaml,
            value,
        })
    }

    pub fn line(&self, path: &DocPath) -> Option<usize> {
        line_of(&self.text, path)
    }

    pub fn place(&self, path: &DocPath) -> Place {
        Place::file(&self.path).at_line(self.line(path))
    }

    pub fn error(&self, path: &DocPath, message: impl Into<String>) -> Problem {
        Problem::error(self.place(path), message)
    }

    pub fn warning(&self, path: &DocPath, message: impl Into<String>) -> Problem {
        Problem::warning(self.place(path), message)
    }

    /// A warning for each key of `map` (at `path`) that is not in
    /// `allowed`: the tools ignore unknown keys, so a typo silently does
    /// nothing; the closest allowed key is suggested.
    pub(crate) fn unknown_keys(
        &self,
        map: &Map<String, Value>,
        path: &DocPath,
        allowed: &[&str],
        what: &str,
    ) -> Vec<Problem> {
        map.keys()
            .filter(|key| !allowed.contains(&key.as_str()))
            .map(|key| {
                let hint = crate::similar::closest(key, allowed.iter().copied())
                    .map(|s| format!("; did you mean `{s}`?"))
                    .unwrap_or_default();
                self.warning(
                    &path.key(key),
                    format!("unknown key `{key}` in {what} is ignored{hint}"),
                )
            })
            .collect()
    }
}

/// YAML flow mappings (`{a: b}`) also start with a brace; let YAML try them.
fn looks_yaml_flow(text: &str) -> bool {
    let t = text.trim_start();
    t.starts_with('{')
        && !t[1..].trim_start().starts_with('"')
        && !t[1..].trim_start().starts_with('}')
}

/// Parser messages end with "at line X column Y"; the line is reported separately.
fn strip_location(message: &str) -> String {
    match message.find(" at line ") {
        Some(i) => message[..i].to_string(),
        None => message.to_string(),
    }
}

/// Converts a YAML tree to JSON values, turning CloudFormation short tags into
/// their long forms.
fn yaml_to_json(value: serde_yaml::Value) -> Result<Value, String> {
    use serde_yaml::Value as Y;
    Ok(match value {
        Y::Null => Value::Null,
        Y::Bool(b) => Value::Bool(b),
        Y::Number(n) => {
            if let Some(i) = n.as_i64() {
                Value::Number(i.into())
            } else if let Some(u) = n.as_u64() {
                Value::Number(u.into())
            } else {
                let f = n.as_f64().unwrap_or(f64::NAN);
                Number::from_f64(f).map_or_else(|| Value::String(n.to_string()), Value::Number)
            }
        }
        Y::String(s) => Value::String(s),
        Y::Sequence(items) => Value::Array(
            items
                .into_iter()
                .map(yaml_to_json)
                .collect::<Result<_, _>>()?,
        ),
        Y::Mapping(map) => {
            let mut out = Map::new();
            for (k, v) in map {
                let key = match k {
                    Y::String(s) => s,
                    Y::Bool(b) => b.to_string(),
                    Y::Number(n) => n.to_string(),
                    Y::Null => "null".to_string(),
                    other => return Err(format!("unsupported mapping key {other:?}")),
                };
                out.insert(key, yaml_to_json(v)?);
            }
            Value::Object(out)
        }
        Y::Tagged(tagged) => {
            let tag = tagged.tag.to_string();
            let tag = tag.trim_start_matches('!');
            let inner = yaml_to_json(tagged.value)?;
            let long = match tag {
                "Ref" => "Ref".to_string(),
                "Condition" => "Condition".to_string(),
                "GetAtt" => {
                    // `!GetAtt Res.Attr` is the string form of `[Res, Attr]`.
                    let inner = match inner {
                        Value::String(s) => match s.split_once('.') {
                            Some((r, a)) => Value::Array(vec![r.into(), a.into()]),
                            None => Value::String(s),
                        },
                        other => other,
                    };
                    return Ok(single("Fn::GetAtt", inner));
                }
                "Sub" | "Join" | "If" | "Select" | "Split" | "FindInMap" | "Base64"
                | "ImportValue" | "Equals" | "Not" | "And" | "Or" | "GetAZs" | "Cidr"
                | "Length" | "ToJsonString" => {
                    format!("Fn::{tag}")
                }
                other => return Err(format!("unknown YAML tag !{other}")),
            };
            single(&long, inner)
        }
    })
}

fn single(key: &str, value: Value) -> Value {
    let mut m = Map::new();
    m.insert(key.to_string(), value);
    Value::Object(m)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_tags_become_long_forms() {
        let doc = Document::parse(
            Path::new("t.yml"),
            "a: !Ref X\nb: !GetAtt R.Arn\nc: !Sub '${A}-x'\nd: !Join ['-', [a, b]]\n".into(),
        )
        .unwrap();
        assert_eq!(doc.value["a"], serde_json::json!({"Ref": "X"}));
        assert_eq!(
            doc.value["b"],
            serde_json::json!({"Fn::GetAtt": ["R", "Arn"]})
        );
        assert_eq!(doc.value["c"], serde_json::json!({"Fn::Sub": "${A}-x"}));
        assert_eq!(
            doc.value["d"],
            serde_json::json!({"Fn::Join": ["-", ["a", "b"]]})
        );
    }

    #[test]
    fn syntax_errors_carry_the_line() {
        let err = Document::parse(Path::new("b.yml"), "a: 1\nb:\n\t- x\n".into()).unwrap_err();
        let text = err.to_string();
        assert!(text.starts_with("b.yml:3: invalid YAML"), "{text}");
        let err = Document::parse(Path::new("p.json"), "{\n \"a\": 1,\n}\n".into()).unwrap_err();
        assert!(
            err.to_string().starts_with("p.json:3: invalid JSON"),
            "{err}"
        );
    }
}
