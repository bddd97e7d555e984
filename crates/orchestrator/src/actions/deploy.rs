//! Deploy and invoke actions, emulated honestly (CodePipeline User Guide, the deploy and invoke
//! action references): each checks its inputs the way the service would, so the mistakes
//! that break real deploys show here first, and says what it would have done.
//! Only the S3 deploy really writes: into the local bucket folder.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use pipelocal_model::cfn::{Resolver, Template};
use pipelocal_model::locate::DocPath;
use pipelocal_model::pipeline::{Action, Provider};
use pipelocal_model::Document;
use pipelocal_runner::artifacts::extract::unzip;
use serde_json::Value;

use crate::actions::build::InputArtifact;
use crate::store::s3_path;

/// What an emulated action did.
#[derive(Debug, Default)]
pub struct Done {
    pub summary: String,
    /// Lines for the action's log.
    pub lines: Vec<String>,
    pub outputs: Vec<(String, PathBuf)>,
    pub variables: BTreeMap<String, String>,
    /// Images the deploy would run: each must be local or pullable.
    pub images: Vec<String>,
}

/// Everything an emulated action may read.
pub struct Context<'a> {
    pub action: &'a Action,
    pub config: &'a BTreeMap<String, String>,
    pub inputs: &'a [InputArtifact],
    /// The zip of each input in the store, by name.
    pub input_zips: &'a BTreeMap<String, PathBuf>,
    pub state_dir: &'a Path,
    /// Where outputs are written.
    pub out_dir: &'a Path,
}

impl Context<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.config
            .get(key)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }

    fn required(&self, key: &str) -> Result<&str, String> {
        self.get(key)
            .ok_or_else(|| format!("configuration {key} is required"))
    }

    fn input(&self, name: &str) -> Result<&InputArtifact, String> {
        self.inputs.iter().find(|i| i.name == name).ok_or_else(|| {
            let names: Vec<&str> = self.inputs.iter().map(|i| i.name.as_str()).collect();
            format!(
                "artifact {name} is not an input artifact of the action (its inputs: {})",
                if names.is_empty() {
                    "none".into()
                } else {
                    names.join(", ")
                }
            )
        })
    }

    /// The only input, for providers that take one.
    fn sole_input(&self) -> Result<&InputArtifact, String> {
        match self.inputs {
            [one] => Ok(one),
            _ => Err(format!(
                "this action takes exactly one input artifact, it has {}",
                self.inputs.len()
            )),
        }
    }
}

/// An emulation: checks and does (or records) what the service would.
pub type Emulation = fn(&Context) -> Result<Done, String>;

/// Which emulation an action gets, if any.
pub fn emulated(action: &Action) -> Option<Emulation> {
    Some(match action.action_type_id.kind() {
        Provider::S3Deploy => s3_deploy,
        Provider::Ecs => ecs_deploy,
        Provider::CodeDeployToEcs => codedeploy_to_ecs,
        Provider::CloudFormation => cloudformation,
        Provider::CodeDeploy => codedeploy,
        Provider::StepFunctions => step_functions,
        Provider::ElasticBeanstalk => elastic_beanstalk,
        _ => return None,
    })
}

fn s3_deploy(cx: &Context) -> Result<Done, String> {
    let bucket = cx.required("BucketName")?;
    let extract = match cx.required("Extract")? {
        "true" => true,
        "false" => false,
        other => {
            return Err(format!(
                "Extract must be \"true\" or \"false\", not \"{other}\""
            ))
        }
    };
    const ACLS: &[&str] = &[
        "private",
        "public-read",
        "public-read-write",
        "authenticated-read",
        "aws-exec-read",
        "bucket-owner-read",
        "bucket-owner-full-control",
        "log-delivery-write",
    ];
    if let Some(acl) = cx.get("CannedACL") {
        if !ACLS.contains(&acl) {
            return Err(format!("CannedACL {acl} is not one of {}", ACLS.join(", ")));
        }
    }
    let input = cx.sole_input()?;
    let s3 = cx.state_dir.join("s3");
    let mut done = Done::default();
    if extract {
        let prefix = cx.get("ObjectKey").unwrap_or("");
        let target = s3_path(&s3, bucket, prefix)?;
        std::fs::create_dir_all(&target).map_err(|e| format!("{}: {e}", target.display()))?;
        let zip = &cx.input_zips[&input.name];
        let count = unzip(zip, &target).map_err(|e| e.to_string())?;
        done.lines.push(format!(
            "Extracted {count} entries of {} to {}",
            input.name,
            target.display()
        ));
        done.summary = format!("Deployed {} to s3://{bucket}/{prefix}", input.name);
    } else {
        let key = cx
            .get("ObjectKey")
            .ok_or("ObjectKey is required when Extract is false")?;
        let target = s3_path(&s3, bucket, key)?;
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent).map_err(|e| format!("{}: {e}", parent.display()))?;
        }
        std::fs::copy(&cx.input_zips[&input.name], &target)
            .map_err(|e| format!("{}: {e}", target.display()))?;
        done.lines
            .push(format!("Wrote {} to {}", input.name, target.display()));
        done.summary = format!("Deployed {} to s3://{bucket}/{key}", input.name);
    }
    Ok(done)
}

/// Reads `path` inside an unpacked artifact, refusing paths that leave it.
fn read_in(artifact: &InputArtifact, path: &str) -> Result<String, String> {
    let rel = Path::new(path.trim_start_matches("./"));
    if rel.is_absolute()
        || rel
            .components()
            .any(|c| c == std::path::Component::ParentDir)
    {
        return Err(format!("{path}: a path inside the artifact is needed"));
    }
    std::fs::read_to_string(artifact.dir.join(rel))
        .map_err(|_| format!("{path} does not exist in input artifact {}", artifact.name))
}

/// Checks `imagedefinitions.json` (CodePipeline User Guide, "Image definitions file reference"): UTF-8, at most 100 KB,
/// a non-empty list of `{"name", "imageUri"}`.
pub fn check_image_definitions(text: &str, file: &str) -> Result<Vec<(String, String)>, String> {
    if text.len() > 100 * 1024 {
        return Err(format!("{file} is larger than 100 KB"));
    }
    let value: Value =
        serde_json::from_str(text).map_err(|e| format!("{file} is not valid JSON: {e}"))?;
    let list = value.as_array().filter(|l| !l.is_empty()).ok_or_else(|| {
        format!("{file} must be a non-empty JSON list of {{\"name\": ..., \"imageUri\": ...}}")
    })?;
    list.iter()
        .enumerate()
        .map(|(i, item)| {
            let field = |key: &str| {
                item.get(key)
                    .and_then(Value::as_str)
                    .filter(|s| !s.is_empty())
                    .map(String::from)
                    .ok_or_else(|| format!("{file}: entry {} has no \"{key}\" string", i + 1))
            };
            Ok((field("name")?, field("imageUri")?))
        })
        .collect()
}

fn ecs_deploy(cx: &Context) -> Result<Done, String> {
    let cluster = cx.required("ClusterName")?;
    let service = cx.required("ServiceName")?;
    if let Some(t) = cx.get("DeploymentTimeout") {
        match t.parse::<u32>() {
            Ok(m) if (1..=60).contains(&m) => {}
            _ => {
                return Err(format!(
                    "DeploymentTimeout must be 1 to 60 minutes, not {t}"
                ))
            }
        }
    }
    let file = cx.get("FileName").unwrap_or("imagedefinitions.json");
    let input = cx.sole_input()?;
    let text = read_in(input, file)?;
    let images = check_image_definitions(&text, file)?;
    let mut done = Done::default();
    for (name, uri) in &images {
        done.lines.push(format!("container {name}: image {uri}"));
        done.images.push(uri.clone());
    }
    done.summary = format!(
        "Would update service {service} in cluster {cluster}: {}",
        images
            .iter()
            .map(|(n, u)| format!("{n}={u}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    Ok(done)
}

fn codedeploy_to_ecs(cx: &Context) -> Result<Done, String> {
    cx.required("ApplicationName")?;
    cx.required("DeploymentGroupName")?;
    let taskdef_art = cx.input(cx.required("TaskDefinitionTemplateArtifact")?)?;
    let taskdef_path = cx
        .get("TaskDefinitionTemplatePath")
        .unwrap_or("taskdef.json");
    let appspec_art = cx.input(cx.required("AppSpecTemplateArtifact")?)?;
    let appspec_path = cx.get("AppSpecTemplatePath").unwrap_or("appspec.yaml");
    let taskdef_text = read_in(taskdef_art, taskdef_path)?;
    let taskdef: Value = serde_json::from_str(&taskdef_text)
        .map_err(|e| format!("{taskdef_path} is not valid JSON: {e}"))?;
    if !taskdef
        .get("containerDefinitions")
        .is_some_and(Value::is_array)
    {
        return Err(format!("{taskdef_path} has no containerDefinitions list"));
    }
    let appspec_text = read_in(appspec_art, appspec_path)?;
    if !appspec_text.contains("<TASK_DEFINITION>") {
        return Err(format!(
            "{appspec_path} must name the task definition as the placeholder <TASK_DEFINITION>"
        ));
    }
    let mut done = Done::default();
    for n in 1..=4 {
        let Some(artifact) = cx.get(&format!("Image{n}ArtifactName")) else {
            continue;
        };
        let placeholder = cx
            .get(&format!("Image{n}ContainerName"))
            .map(String::from)
            .unwrap_or_else(|| format!("IMAGE{n}_NAME"));
        if !taskdef_text.contains(&format!("<{placeholder}>")) {
            return Err(format!(
                "{taskdef_path} has no placeholder <{placeholder}> for Image{n}ArtifactName {artifact}"
            ));
        }
        let detail: Value =
            serde_json::from_str(&read_in(cx.input(artifact)?, "imageDetail.json")?)
                .map_err(|e| format!("imageDetail.json in {artifact} is not valid JSON: {e}"))?;
        let uri = detail
            .get("ImageURI")
            .and_then(Value::as_str)
            .ok_or_else(|| format!("imageDetail.json in {artifact} has no ImageURI"))?;
        done.lines.push(format!("<{placeholder}> -> {uri}"));
    }
    done.summary = format!(
        "Would start a blue/green deployment of {} to {}",
        cx.config["ApplicationName"], cx.config["DeploymentGroupName"]
    );
    Ok(done)
}

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

fn cloudformation(cx: &Context) -> Result<Done, String> {
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

fn codedeploy(cx: &Context) -> Result<Done, String> {
    let app = cx.required("ApplicationName")?;
    let group = cx.required("DeploymentGroupName")?;
    let input = cx.sole_input()?;
    let text = read_in(input, "appspec.yml")
        .or_else(|_| read_in(input, "appspec.yaml"))
        .map_err(|_| {
            format!(
                "appspec.yml does not exist at the root of input artifact {}",
                input.name
            )
        })?;
    let doc = Document::parse(Path::new("appspec.yml"), text).map_err(|e| e.summary())?;
    let mut done = Done::default();
    for file in doc
        .value
        .get("files")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        if let Some(source) = file.get("source").and_then(Value::as_str) {
            let path = input.dir.join(source.trim_start_matches('/'));
            if source != "/" && !path.exists() {
                return Err(format!(
                    "appspec.yml: files source {source} is not in the bundle"
                ));
            }
        }
    }
    for (hook, steps) in doc
        .value
        .get("hooks")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
    {
        for step in steps.as_array().into_iter().flatten() {
            let location = step
                .get("location")
                .and_then(Value::as_str)
                .ok_or_else(|| format!("appspec.yml: a {hook} hook has no location"))?;
            if !input.dir.join(location.trim_start_matches('/')).is_file() {
                return Err(format!(
                    "appspec.yml: the {hook} hook script {location} is not in the bundle"
                ));
            }
            done.lines.push(format!("{hook}: {location}"));
        }
    }
    done.summary = format!("Would deploy {} to {app}/{group}", input.name);
    Ok(done)
}

fn step_functions(cx: &Context) -> Result<Done, String> {
    let machine = cx.required("StateMachineArn")?;
    let input = match cx.get("InputType").unwrap_or("Literal") {
        "Literal" => cx.get("Input").unwrap_or("{}").to_string(),
        "FilePath" => {
            let path = cx.required("Input")?;
            read_in(cx.sole_input()?, path)?
        }
        other => {
            return Err(format!(
                "InputType must be Literal or FilePath, not {other}"
            ))
        }
    };
    serde_json::from_str::<Value>(&input).map_err(|e| format!("Input is not valid JSON: {e}"))?;
    Ok(Done {
        summary: format!("Recorded a start of {machine} (not run locally)"),
        lines: vec![format!("input: {input}")],
        ..Done::default()
    })
}

fn elastic_beanstalk(cx: &Context) -> Result<Done, String> {
    let app = cx.required("ApplicationName")?;
    let env = cx.required("EnvironmentName")?;
    let input = cx.sole_input()?;
    Ok(Done {
        summary: format!(
            "Recorded a deployment of {} to {app}/{env} (not run locally)",
            input.name
        ),
        ..Done::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_definitions_are_checked_as_ecs_reads_them() {
        assert_eq!(
            check_image_definitions(r#"[{"name":"web","imageUri":"repo/web:1"}]"#, "f").unwrap(),
            vec![("web".to_string(), "repo/web:1".to_string())]
        );
        assert!(check_image_definitions(r#"{"name":"web"}"#, "f")
            .unwrap_err()
            .contains("non-empty JSON list"));
        assert!(
            check_image_definitions(r#"[{"name":"web","imageURI":"x"}]"#, "f")
                .unwrap_err()
                .contains("entry 1 has no \"imageUri\"")
        );
        assert!(check_image_definitions("[", "f")
            .unwrap_err()
            .contains("not valid JSON"));
    }
}
