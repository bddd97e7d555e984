//! Evaluates CloudFormation intrinsic functions over a template's values.
//!
//! Resources never exist locally, so `Ref` and `Fn::GetAtt` give deterministic
//! stand-ins shaped like the real values (names, ARNs). What cannot be known
//! without deploying (custom resource attributes, imports) is "unresolved": an
//! error where the value shapes the pipeline (names, artifacts, action types)
//! and a warning with a visible placeholder elsewhere (configuration values).
//!
//! Values that simply have not been given, or exist only once deployed (a
//! parameter without value, `Fn::ImportValue`, a custom resource's attribute),
//! are not unresolved: a deterministic placeholder stands in for each, with
//! one warning per value, so names built from them still wire up.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use super::parameters::{deployed_placeholder, Placeholder};
use super::{Template, LOCAL_REGION};
use crate::locate::{DocPath, Seg};
use crate::problem::Problem;

/// Keys whose values decide the pipeline's structure; they must resolve.
const STRUCTURAL_KEYS: &[&str] = &[
    "Name",
    "Category",
    "Owner",
    "Provider",
    "Version",
    "RunOrder",
    "Namespace",
    "PipelineType",
    "ExecutionMode",
    "Image",
    "BuildSpec",
    "Type",
];

pub struct Resolver<'t, 'd> {
    template: &'t Template<'d>,
    pub problems: Vec<Problem>,
    depth: usize,
    /// Each placeholder used, by what it stands for, with where to point.
    placeholders: BTreeMap<String, (Placeholder, DocPath)>,
    /// Resources' values are CloudFormation's to compute, not stand-ins:
    /// how a stack's outputs are read (see [`Resolver::stack_output`]).
    deployed_only: bool,
}

mod stand_ins;

type Eval = Result<Option<Value>, String>;

impl<'t, 'd> Resolver<'t, 'd> {
    pub fn new(template: &'t Template<'d>) -> Self {
        Resolver {
            template,
            problems: Vec::new(),
            depth: 0,
            placeholders: BTreeMap::new(),
            deployed_only: false,
        }
    }

    /// A stack output's value when it follows from parameters, pseudo
    /// parameters, mappings and conditions; `Ok(None)` when the output's
    /// `Condition` is false (it does not exist); `Err` when it needs a
    /// resource's value, which only CloudFormation knows.
    pub fn stack_output(
        &mut self,
        output: &Value,
        path: &DocPath,
    ) -> Result<Option<String>, String> {
        self.deployed_only = true;
        let result = self.stack_output_inner(output, path);
        self.deployed_only = false;
        result
    }

    fn stack_output_inner(
        &mut self,
        output: &Value,
        path: &DocPath,
    ) -> Result<Option<String>, String> {
        if let Some(name) = output.get("Condition").and_then(Value::as_str) {
            if !self.condition(name)? {
                return Ok(None);
            }
        }
        let value = output.get("Value").ok_or("the output has no Value")?;
        match self.arg(value, &path.key("Value"))? {
            Some(Value::Array(items)) => Ok(Some(
                items
                    .iter()
                    .map(|v| scalar_string(v).unwrap_or_else(|| v.to_string()))
                    .collect::<Vec<_>>()
                    .join(","),
            )),
            Some(v) => Ok(Some(scalar_string(&v).unwrap_or_else(|| v.to_string()))),
            None => Err("the value is AWS::NoValue".into()),
        }
    }

    /// The placeholders used so far.
    pub fn placeholders(&self) -> Vec<Placeholder> {
        self.placeholders.values().map(|(p, _)| p.clone()).collect()
    }

    /// One warning per placeholder used, at the parameter's declaration (or
    /// the first use of an import).
    pub fn placeholder_warnings(&self) -> Vec<Problem> {
        self.placeholders
            .values()
            .map(|(p, at)| {
                let remedy = if p.remedy.is_empty() {
                    String::new()
                } else {
                    format!("; give one with {}", p.remedy)
                };
                self.template.doc.warning(
                    at,
                    format!(
                        "{} has no value: '{}' stands in for it{remedy}",
                        p.what, p.value
                    ),
                )
            })
            .collect()
    }

    fn stand_in(&mut self, placeholder: Placeholder, at: DocPath) -> String {
        let value = placeholder.value.clone();
        self.placeholders
            .entry(placeholder.what.clone())
            .or_insert((placeholder, at));
        value
    }

    /// Resolves every intrinsic in `value`. `None` means `AWS::NoValue`.
    pub fn resolve(&mut self, value: &Value, path: &DocPath) -> Option<Value> {
        match value {
            Value::Object(map) => {
                if let Some((name, args)) = single_intrinsic(map) {
                    return match self.eval(name, args, path) {
                        Ok(v) => v,
                        Err(reason) => Some(self.unresolved(path, name, &reason)),
                    };
                }
                let mut out = Map::new();
                for (k, v) in map {
                    if let Some(r) = self.resolve(v, &path.key(k)) {
                        out.insert(k.clone(), r);
                    }
                }
                Some(Value::Object(out))
            }
            Value::Array(items) => Some(Value::Array(
                items
                    .iter()
                    .enumerate()
                    .filter_map(|(i, v)| self.resolve(v, &path.index(i)))
                    .collect(),
            )),
            other => Some(other.clone()),
        }
    }

    fn unresolved(&mut self, path: &DocPath, function: &str, reason: &str) -> Value {
        let under_configuration = path
            .0
            .iter()
            .any(|s| *s == Seg::Key("Configuration".into()));
        let last_key = path.0.iter().rev().find_map(|s| match s {
            Seg::Key(k) => Some(k.as_str()),
            Seg::Index(_) => None,
        });
        let structural =
            !under_configuration && last_key.is_some_and(|k| STRUCTURAL_KEYS.contains(&k));
        let message = format!("cannot resolve {function} at {path} locally: {reason}");
        if structural {
            self.problems.push(self.template.doc.error(path, message));
        } else {
            self.problems.push(
                self.template
                    .doc
                    .warning(path, format!("{message}; using a placeholder value")),
            );
        }
        Value::String(format!("<unresolved {function} at {path}>"))
    }

    fn eval(&mut self, name: &str, args: &Value, path: &DocPath) -> Eval {
        self.depth += 1;
        if self.depth > 64 {
            self.depth -= 1;
            return Err("intrinsics nested too deeply".into());
        }
        let out = self.eval_inner(name, args, path);
        self.depth -= 1;
        out
    }

    /// Resolves an argument, failing rather than substituting placeholders.
    fn arg(&mut self, value: &Value, path: &DocPath) -> Eval {
        match value {
            Value::Object(map) => {
                if let Some((name, args)) = single_intrinsic(map) {
                    return self.eval(name, args, path);
                }
                let mut out = Map::new();
                for (k, v) in map {
                    if let Some(r) = self.arg(v, &path.key(k))? {
                        out.insert(k.clone(), r);
                    }
                }
                Ok(Some(Value::Object(out)))
            }
            Value::Array(items) => {
                let mut out = Vec::new();
                for (i, v) in items.iter().enumerate() {
                    if let Some(r) = self.arg(v, &path.index(i))? {
                        out.push(r);
                    }
                }
                Ok(Some(Value::Array(out)))
            }
            other => Ok(Some(other.clone())),
        }
    }

    fn arg_string(&mut self, value: &Value, path: &DocPath) -> Result<String, String> {
        match self.arg(value, path)? {
            Some(v) => scalar_string(&v).ok_or_else(|| format!("expected a string, found {v}")),
            None => Err("AWS::NoValue where a string is needed".into()),
        }
    }

    fn arg_list(&mut self, value: &Value, path: &DocPath) -> Result<Vec<Value>, String> {
        match self.arg(value, path)? {
            Some(Value::Array(items)) => Ok(items),
            Some(other) => Err(format!("expected a list, found {other}")),
            None => Err("AWS::NoValue where a list is needed".into()),
        }
    }

    fn eval_inner(&mut self, name: &str, args: &Value, path: &DocPath) -> Eval {
        let here = path.key(name);
        match name {
            "Ref" => {
                let target = self.arg_string(args, &here)?;
                self.reference(&target)
            }
            "Fn::GetAtt" => {
                let (res, attr) = match args {
                    Value::Array(a) if a.len() == 2 => (
                        self.arg_string(&a[0], &here)?,
                        self.arg_string(&a[1], &here)?,
                    ),
                    Value::String(s) => match s.split_once('.') {
                        Some((r, a)) => (r.to_string(), a.to_string()),
                        None => {
                            return Err(format!("Fn::GetAtt needs Resource.Attribute, got '{s}'"))
                        }
                    },
                    _ => return Err("Fn::GetAtt takes [LogicalId, Attribute]".into()),
                };
                self.get_att(&res, &attr).map(Some)
            }
            "Fn::Join" => {
                let parts = match args {
                    Value::Array(a) if a.len() == 2 => a,
                    _ => return Err("Fn::Join takes [delimiter, [values]]".into()),
                };
                let delim = self.arg_string(&parts[0], &here)?;
                let items = self.arg_list(&parts[1], &here)?;
                let strings = items
                    .iter()
                    .map(|v| scalar_string(v).ok_or_else(|| format!("Fn::Join cannot join {v}")))
                    .collect::<Result<Vec<_>, _>>()?;
                Ok(Some(Value::String(strings.join(&delim))))
            }
            "Fn::Sub" => {
                let (template, vars) = match args {
                    Value::String(s) => (s.clone(), Map::new()),
                    Value::Array(a) if a.len() == 2 => {
                        let t = self.arg_string(&a[0], &here)?;
                        let vars = match self.arg(&a[1], &here)? {
                            Some(Value::Object(m)) => m,
                            _ => return Err("Fn::Sub variables must be a map".into()),
                        };
                        (t, vars)
                    }
                    _ => return Err("Fn::Sub takes a string or [string, {vars}]".into()),
                };
                self.sub(&template, &vars).map(|s| Some(Value::String(s)))
            }
            "Fn::Select" => {
                let parts = match args {
                    Value::Array(a) if a.len() == 2 => a,
                    _ => return Err("Fn::Select takes [index, [values]]".into()),
                };
                let index: usize = self
                    .arg_string(&parts[0], &here)?
                    .parse()
                    .map_err(|_| "Fn::Select index must be a whole number".to_string())?;
                let items = self.arg_list(&parts[1], &here)?;
                items.get(index).cloned().map(Some).ok_or_else(|| {
                    format!(
                        "Fn::Select index {index} is out of range ({} values)",
                        items.len()
                    )
                })
            }
            "Fn::Split" => {
                let parts = match args {
                    Value::Array(a) if a.len() == 2 => a,
                    _ => return Err("Fn::Split takes [delimiter, string]".into()),
                };
                let delim = self.arg_string(&parts[0], &here)?;
                let text = self.arg_string(&parts[1], &here)?;
                if delim.is_empty() {
                    return Err("Fn::Split delimiter is empty".into());
                }
                Ok(Some(Value::Array(
                    text.split(delim.as_str())
                        .map(|s| Value::String(s.into()))
                        .collect(),
                )))
            }
            "Fn::If" => {
                let parts = match args {
                    Value::Array(a) if a.len() == 3 => a,
                    _ => return Err("Fn::If takes [condition, then, else]".into()),
                };
                let cond = self.arg_string(&parts[0], &here)?;
                let branch = if self.condition(&cond)? {
                    &parts[1]
                } else {
                    &parts[2]
                };
                self.arg(branch, &here)
            }
            "Fn::Equals" | "Fn::Not" | "Fn::And" | "Fn::Or" | "Condition" => self
                .boolean(name, args, &here)
                .map(|b| Some(Value::Bool(b))),
            "Fn::FindInMap" => {
                let parts = match args {
                    Value::Array(a) if a.len() >= 3 => a,
                    _ => return Err("Fn::FindInMap takes [map, key, key]".into()),
                };
                let map = self.arg_string(&parts[0], &here)?;
                let k1 = self.arg_string(&parts[1], &here)?;
                let k2 = self.arg_string(&parts[2], &here)?;
                self.template
                    .mappings()
                    .get(&map)
                    .and_then(|m| m.get(&k1))
                    .and_then(|m| m.get(&k2))
                    .cloned()
                    .map(Some)
                    .ok_or_else(|| format!("mapping {map}.{k1}.{k2} does not exist"))
            }
            "Fn::Base64" => {
                let text = self.arg_string(args, &here)?;
                Ok(Some(Value::String(base64(text.as_bytes()))))
            }
            "Fn::GetAZs" => Ok(Some(Value::Array(
                ["a", "b", "c"]
                    .iter()
                    .map(|z| Value::String(format!("{LOCAL_REGION}{z}")))
                    .collect(),
            ))),
            "Fn::ToJsonString" => {
                let v = self.arg(args, &here)?.unwrap_or(Value::Null);
                Ok(Some(Value::String(v.to_string())))
            }
            "Fn::Length" => Ok(Some(Value::from(self.arg_list(args, &here)?.len()))),
            "Fn::ImportValue" => {
                let export = self.arg_string(args, &here)?;
                if self.deployed_only {
                    return Err(format!("'{export}' is exported by another stack"));
                }
                let value = self.stand_in(
                    Placeholder {
                        value: deployed_placeholder("import", &export),
                        what: format!(
                            "Fn::ImportValue '{export}' (exported by another stack once deployed)"
                        ),
                        remedy: String::new(),
                    },
                    path.clone(),
                );
                Ok(Some(Value::String(value)))
            }
            other => Err(format!("{other} is not supported")),
        }
    }

    fn sub(&mut self, template: &str, vars: &Map<String, Value>) -> Result<String, String> {
        let mut out = String::new();
        let mut rest = template;
        while let Some(start) = rest.find("${") {
            out.push_str(&rest[..start]);
            let after = &rest[start + 2..];
            let end = after
                .find('}')
                .ok_or_else(|| format!("unclosed '${{' in Fn::Sub string '{template}'"))?;
            let var = &after[..end];
            if let Some(literal) = var.strip_prefix('!') {
                out.push_str("${");
                out.push_str(literal);
                out.push('}');
            } else if let Some(v) = vars.get(var) {
                out.push_str(
                    &scalar_string(v)
                        .ok_or_else(|| format!("Fn::Sub variable {var} is not a string"))?,
                );
            } else if let Some((res, attr)) =
                var.split_once('.').filter(|_| !var.starts_with("AWS::"))
            {
                out.push_str(&scalar_string(&self.get_att(res, attr)?).unwrap_or_default());
            } else {
                let v = self.reference(var)?.unwrap_or(Value::String(String::new()));
                out.push_str(&scalar_string(&v).ok_or_else(|| format!("${{{var}}} is a list"))?);
            }
            rest = &after[end + 1..];
        }
        out.push_str(rest);
        Ok(out)
    }

    fn condition(&mut self, name: &str) -> Result<bool, String> {
        let Some(def) = self.template.conditions().get(name).cloned() else {
            return Err(format!("condition '{name}' is not defined"));
        };
        let path = DocPath::root().key("Conditions").key(name);
        match self.arg(&def, &path)? {
            Some(Value::Bool(b)) => Ok(b),
            _ => Err(format!(
                "condition '{name}' does not evaluate to true or false"
            )),
        }
    }

    fn boolean(&mut self, name: &str, args: &Value, path: &DocPath) -> Result<bool, String> {
        match name {
            "Condition" => {
                let c = self.arg_string(args, path)?;
                self.condition(&c)
            }
            "Fn::Equals" => {
                let items = self.arg_list(args, path)?;
                if items.len() != 2 {
                    return Err("Fn::Equals takes two values".into());
                }
                Ok(scalar_string(&items[0]) == scalar_string(&items[1]))
            }
            _ => {
                let items = self.arg_list(args, path)?;
                let bools = items
                    .iter()
                    .map(|v| {
                        v.as_bool()
                            .ok_or_else(|| format!("{name} takes conditions"))
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                Ok(match name {
                    "Fn::Not" => !bools.first().copied().unwrap_or(false),
                    "Fn::And" => bools.iter().all(|b| *b),
                    _ => bools.iter().any(|b| *b),
                })
            }
        }
    }
}

fn single_intrinsic(map: &Map<String, Value>) -> Option<(&str, &Value)> {
    if map.len() != 1 {
        return None;
    }
    let (k, v) = map.iter().next()?;
    (k == "Ref" || k == "Condition" || k.starts_with("Fn::")).then_some((k.as_str(), v))
}

/// Scalars as CloudFormation stringifies them.
pub(crate) fn scalar_string(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |acc, (i, b)| acc | (u32::from(*b) << (16 - 8 * i)));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests;
