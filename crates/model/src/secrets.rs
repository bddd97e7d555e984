//! The local stand-in for SSM Parameter Store and Secrets Manager:
//! `{parameters: {<name>: <value>}, secrets: {<secret-id>: <secret-string>}}`
//! in YAML or JSON (docs/configuration.md, `--secrets-file`). A secret string that is a JSON object serves
//! `secret-id:json-key`.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::Value;

use crate::buildspec::SecretRef;
use crate::document::Document;
use crate::locate::DocPath;
use crate::problem::{LoadError, Problem};
use crate::scalar::stringify;

#[derive(Debug, Clone, Default)]
pub struct SecretsFile {
    parameters: BTreeMap<String, String>,
    secrets: BTreeMap<String, String>,
}

impl SecretsFile {
    pub fn load(path: &Path) -> Result<Self, LoadError> {
        let doc = Document::read(path)?;
        let mut out = SecretsFile::default();
        let mut problems = Vec::new();
        let Some(top) = doc.value.as_object() else {
            return Err(LoadError::invalid(doc.error(
                &DocPath::root(),
                "a secrets file is a mapping with `parameters` and `secrets`",
            )));
        };
        for key in top.keys() {
            if key != "parameters" && key != "secrets" {
                problems.push(doc.error(
                    &DocPath::root().key(key),
                    format!("unknown key `{key}`: a secrets file has `parameters` and `secrets`"),
                ));
            }
        }
        for (section, target) in [
            ("parameters", &mut out.parameters),
            ("secrets", &mut out.secrets),
        ] {
            match top.get(section) {
                None | Some(Value::Null) => {}
                Some(Value::Object(map)) => {
                    for (name, value) in map {
                        let text = match value {
                            // A secret given as a mapping is its JSON object.
                            Value::Object(_) if section == "secrets" => value.to_string(),
                            Value::Object(_) | Value::Array(_) => {
                                problems.push(doc.error(
                                    &DocPath::root().key(section).key(name),
                                    format!("`{name}` must be a string"),
                                ));
                                continue;
                            }
                            other => stringify(other),
                        };
                        target.insert(name.clone(), text);
                    }
                }
                Some(_) => problems.push(doc.error(
                    &DocPath::root().key(section),
                    format!("`{section}` must be a mapping of names to values"),
                )),
            }
        }
        if problems.iter().any(Problem::is_error) {
            return Err(LoadError::Invalid { problems });
        }
        Ok(out)
    }

    /// A Parameter Store value, by name with or without its leading `/`.
    pub fn parameter(&self, name: &str) -> Option<&str> {
        let alt = match name.strip_prefix('/') {
            Some(bare) => bare.to_string(),
            None => format!("/{name}"),
        };
        self.parameters
            .get(name)
            .or_else(|| self.parameters.get(&alt))
            .map(String::as_str)
    }

    /// A Secrets Manager value for a reference, or why it cannot be had.
    /// A full ARN also finds the secret by its name (with or without the
    /// random suffix AWS adds). Local secrets have one version, so a
    /// version stage or id is accepted as that version.
    pub fn secret(&self, reference: &SecretRef) -> Result<String, String> {
        let id = &reference.secret_id;
        let mut candidates = vec![id.clone()];
        if let Some((_, name)) = id.split_once(":secret:") {
            candidates.push(name.to_string());
            if let Some((base, suffix)) = name.rsplit_once('-') {
                if suffix.len() == 6 {
                    candidates.push(base.to_string());
                }
            }
        }
        let Some(text) = candidates.iter().find_map(|c| self.secrets.get(c)) else {
            return Err(format!("secret '{id}' is not in the secrets file"));
        };
        match &reference.json_key {
            None => Ok(text.clone()),
            Some(key) => {
                let json: Value = serde_json::from_str(text).map_err(|_| {
                    format!("secret '{id}' is not a JSON object, so it has no key '{key}'")
                })?;
                match json.get(key) {
                    Some(v) => Ok(stringify(v)),
                    None => Err(format!("secret '{id}' has no JSON key '{key}'")),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameters_and_secrets_resolve() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.yml");
        std::fs::write(&path, "parameters:\n  /app/db: hunter2\n  plain: 1\nsecrets:\n  app/token: tok\n  app/json: '{\"user\": \"u\", \"port\": 5432}'\n  app/map:\n    key: from-map\n").unwrap();
        let s = SecretsFile::load(&path).unwrap();
        assert_eq!(s.parameter("/app/db"), Some("hunter2"));
        assert_eq!(s.parameter("app/db"), Some("hunter2"));
        assert_eq!(s.parameter("plain"), Some("1"));
        assert_eq!(s.secret(&SecretRef::parse("app/token")), Ok("tok".into()));
        assert_eq!(
            s.secret(&SecretRef::parse("app/json:port")),
            Ok("5432".into())
        );
        assert_eq!(
            s.secret(&SecretRef::parse("app/map:key")),
            Ok("from-map".into())
        );
        assert_eq!(
            s.secret(&SecretRef::parse(
                "arn:aws:secretsmanager:us-east-1:1:secret:app/token-AbCdEf"
            )),
            Ok("tok".into())
        );
        assert!(s
            .secret(&SecretRef::parse("app/json:nope"))
            .unwrap_err()
            .contains("has no JSON key 'nope'"));
        assert!(s
            .secret(&SecretRef::parse("missing"))
            .unwrap_err()
            .contains("not in the secrets file"));
    }
}
