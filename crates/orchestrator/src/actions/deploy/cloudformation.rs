//! AWS CloudFormation deploys: the action modes, change sets kept between
//! runs, parameters from the template configuration and
//! `ParameterOverrides`, and stack outputs computed where the template
//! allows (CodePipeline User Guide, "CloudFormation deploy action reference").

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use pipelocal_model::cfn::{Resolver, Template};
use pipelocal_model::locate::DocPath;
use pipelocal_model::Document;
use serde_json::Value;

use super::*;

const CFN_MODES: &[&str] = &[
    "CREATE_UPDATE",
    "REPLACE_ON_FAILURE",
    "DELETE_ONLY",
    "CHANGE_SET_REPLACE",
    "CHANGE_SET_EXECUTE",
];

/// `Artifact::path/in/zip` (CodePipeline User Guide, "CloudFormation deploy action reference").
fn artifact_path<'c>(
    cx: &'c Context,
    key: &str,
    value: &'c str,
) -> Result<(&'c InputArtifact, &'c str), String> {
    let (artifact, path) = value
        .split_once("::")
        .ok_or_else(|| format!("{key} must be ArtifactName::path/in/artifact, not {value}"))?;
    Ok((cx.input(artifact).map_err(|e| format!("{key}: {e}"))?, path))
}

pub(super) fn cloudformation(cx: &Context) -> Result<Done, String> {
    let mode = cx.required("ActionMode")?;
    if !CFN_MODES.contains(&mode) {
        return Err(format!(
            "ActionMode {mode} is not one of {}",
            CFN_MODES.join(", ")
        ));
    }
    let stack = cx.required("StackName")?;
    if mode.starts_with("CHANGE_SET") {
        cx.required("ChangeSetName")?;
    }
    if mode != "CHANGE_SET_EXECUTE" {
        cx.required("RoleArn")?;
    }
    if let Some(caps) = cx.get("Capabilities") {
        for cap in caps.split(',').map(str::trim) {
            if ![
                "CAPABILITY_IAM",
                "CAPABILITY_NAMED_IAM",
                "CAPABILITY_AUTO_EXPAND",
            ]
            .contains(&cap)
            {
                return Err(format!("Capabilities: {cap} is not a capability"));
            }
        }
    }
    let mut done = Done::default();
    let needs_template =
        ["CREATE_UPDATE", "REPLACE_ON_FAILURE", "CHANGE_SET_REPLACE"].contains(&mode);
    if mode == "DELETE_ONLY" {
        done.summary = format!("Would delete stack {stack}");
        write_outputs(cx, &mut done, &BTreeMap::new())?;
        return Ok(done);
    }
    let change_set = cx.get("ChangeSetName").unwrap_or_default();
    let saved = change_set_file(cx.state_dir, stack, change_set);
    if !needs_template {
        // CHANGE_SET_EXECUTE: the outputs of the change set an earlier action made.
        let text = std::fs::read_to_string(&saved).map_err(|_| {
            format!("ChangeSet [{change_set}] does not exist for stack {stack}: a CHANGE_SET_REPLACE action makes it")
        })?;
        let outputs: BTreeMap<String, String> =
            serde_json::from_str(&text).map_err(|e| format!("{}: {e}", saved.display()))?;
        done.summary = format!("Would execute change set {change_set} of stack {stack}");
        done.variables = outputs.clone();
        write_outputs(cx, &mut done, &outputs)?;
        return Ok(done);
    }
    let (artifact, path) = artifact_path(cx, "TemplatePath", cx.required("TemplatePath")?)?;
    let text = read_in(artifact, path)?;
    let doc = Document::parse(Path::new(path), text).map_err(|e| e.summary())?;
    let template = Template::from_document(&doc).ok_or_else(|| {
        format!(
            "{path} in {} is not a CloudFormation template (no Resources)",
            artifact.name
        )
    })?;
    // Parameters: the configuration file's, then the overrides.
    let mut given: BTreeMap<String, String> = BTreeMap::new();
    if let Some(conf) = cx.get("TemplateConfiguration") {
        let (art, p) = artifact_path(cx, "TemplateConfiguration", conf)?;
        let value: Value = serde_json::from_str(&read_in(art, p)?)
            .map_err(|e| format!("{p} is not valid JSON: {e}"))?;
        for (k, v) in value
            .get("Parameters")
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
        {
            given.insert(k.clone(), scalar(v));
        }
    }
    if let Some(text) = cx.get("ParameterOverrides") {
        if text.len() > 1024 {
            return Err("ParameterOverrides is longer than 1 KB".into());
        }
        let value: Value = serde_json::from_str(text)
            .map_err(|e| format!("ParameterOverrides is not a JSON object: {e}"))?;
        let map = value
            .as_object()
            .ok_or("ParameterOverrides is not a JSON object")?;
        for (k, v) in map {
            given.insert(k.clone(), parameter_value(cx, v)?);
        }
    }
    let declared = template.parameters();
    let unknown: Vec<&String> = given
        .keys()
        .filter(|k| !declared.contains_key(*k))
        .collect();
    if !unknown.is_empty() {
        return Err(format!(
            "Parameters: [{}] do not exist in the template",
            unknown
                .iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    let missing: Vec<&String> = declared
        .iter()
        .filter(|(k, v)| !given.contains_key(*k) && v.get("Default").is_none())
        .map(|(k, _)| k)
        .collect();
    if !missing.is_empty() {
        return Err(format!(
            "Parameters: [{}] must have values",
            missing
                .iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    for (k, v) in &given {
        done.lines.push(format!("parameter {k} = {v}"));
    }
    let resources = template.resources().len();
    done.summary = format!(
        "Would {} stack {stack} from {path} ({resources} resources, {} parameters)",
        if mode == "CHANGE_SET_REPLACE" {
            "create a change set for"
        } else {
            "create or update"
        },
        given.len()
    );
    // Stack outputs: computed from the parameters (the configuration's, the
    // overrides', the defaults), pseudo parameters, mappings and conditions;
    // only a resource's value is left to CloudFormation, shown as such.
    let template = template.with_parameters(&given);
    let mut resolver = Resolver::new(&template);
    let mut outputs: BTreeMap<String, String> = BTreeMap::new();
    for (k, v) in doc
        .value
        .get("Outputs")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
    {
        let at = DocPath::root().key("Outputs").key(k);
        match resolver.stack_output(v, &at) {
            Ok(Some(value)) => {
                outputs.insert(k.clone(), value);
            }
            Ok(None) => {}
            Err(_) => {
                let raw = v.get("Value").cloned().unwrap_or(Value::Null);
                outputs.insert(k.clone(), format!("(computed by CloudFormation: {raw})"));
            }
        }
    }
    if mode == "CHANGE_SET_REPLACE" {
        // Kept for the CHANGE_SET_EXECUTE action that runs this change set.
        if let Some(dir) = saved.parent() {
            std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        }
        let text = serde_json::to_string_pretty(&outputs).expect("strings serialize");
        std::fs::write(&saved, text).map_err(|e| format!("{}: {e}", saved.display()))?;
    } else {
        done.variables = outputs.clone();
    }
    write_outputs(cx, &mut done, &outputs)?;
    Ok(done)
}

/// Where a change set's outputs wait for its CHANGE_SET_EXECUTE.
fn change_set_file(state_dir: &Path, stack: &str, change_set: &str) -> PathBuf {
    let clean = |s: &str| -> String {
        s.chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || "-_".contains(c) {
                    c
                } else {
                    '_'
                }
            })
            .collect()
    };
    state_dir
        .join("cloudformation")
        .join(clean(stack))
        .join(format!("{}.json", clean(change_set)))
}

/// `OutputFileName`: the stack's outputs as JSON in the action's output.
fn write_outputs(
    cx: &Context,
    done: &mut Done,
    outputs: &BTreeMap<String, String>,
) -> Result<(), String> {
    let Some(file) = cx.get("OutputFileName") else {
        return Ok(());
    };
    let name = cx
        .action
        .outputs()
        .next()
        .ok_or("OutputFileName needs an output artifact")?
        .to_string();
    let dir = cx.out_dir.join(&name);
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let text = serde_json::to_string_pretty(outputs).expect("strings serialize");
    std::fs::write(dir.join(file), text).map_err(|e| e.to_string())?;
    let zip = cx.out_dir.join(format!("{name}.zip"));
    crate::actions::source::zip_folder(&dir, &zip)?;
    done.outputs.push((name, zip));
    Ok(())
}

fn scalar(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// A parameter override: a plain value, `Fn::GetParam` or `Fn::GetArtifactAtt`.
fn parameter_value(cx: &Context, v: &Value) -> Result<String, String> {
    let Some(obj) = v.as_object() else {
        return Ok(scalar(v));
    };
    if let Some(args) = obj.get("Fn::GetParam").and_then(Value::as_array) {
        let [art, file, key] = args.as_slice() else {
            return Err("Fn::GetParam takes [artifact, file, key]".into());
        };
        let art = cx
            .input(&scalar(art))
            .map_err(|e| format!("Fn::GetParam: {e}"))?;
        let file = scalar(file);
        let value: Value = serde_json::from_str(&read_in(art, &file)?)
            .map_err(|e| format!("Fn::GetParam: {file} is not valid JSON: {e}"))?;
        let key = scalar(key);
        return value
            .get(&key)
            .map(scalar)
            .ok_or_else(|| format!("Fn::GetParam: {file} in {} has no key {key}", art.name));
    }
    if let Some(args) = obj.get("Fn::GetArtifactAtt").and_then(Value::as_array) {
        let [art, att] = args.as_slice() else {
            return Err("Fn::GetArtifactAtt takes [artifact, attribute]".into());
        };
        let art = cx
            .input(&scalar(art))
            .map_err(|e| format!("Fn::GetArtifactAtt: {e}"))?;
        let loc = &art.location;
        return match scalar(att).as_str() {
            "BucketName" => Ok(loc.bucket.clone()),
            "ObjectKey" => Ok(loc.key.clone()),
            "URL" => Ok(format!(
                "https://{}.s3.amazonaws.com/{}",
                loc.bucket, loc.key
            )),
            other => Err(format!(
                "Fn::GetArtifactAtt: {other} is not BucketName, ObjectKey or URL"
            )),
        };
    }
    Err(format!(
        "ParameterOverrides: {v} is not a value, Fn::GetParam or Fn::GetArtifactAtt"
    ))
}
