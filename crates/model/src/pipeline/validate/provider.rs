//! The rules particular to an action provider: the configuration each
//! requires and how its values must relate to the action's artifacts.

use std::collections::BTreeMap;

use super::super::{Action, Provider};
use super::*;

impl<'p> Checker<'p> {
    pub(super) fn provider_rules(&mut self, at: &Scope, a: &Action) {
        let t = &a.action_type_id;
        let cpath = |k: &str| at.key("configuration").key(k);
        let inputs: Vec<&str> = a.inputs().collect();
        if t.kind() == Provider::CodeBuild {
            match a.config("PrimarySource") {
                Some(primary) if !inputs.contains(&primary) => self.error(&cpath("PrimarySource"), format!(
                    "PrimarySource '{primary}' is not one of this action's input artifacts ({})", inputs.join(", "))),
                None if inputs.len() > 1 => self.error(&at.key("configuration"), format!(
                    "this CodeBuild action has {} input artifacts, so configuration must name one of them as PrimarySource", inputs.len())),
                _ => {}
            }
            if a.output_artifacts.len() > 1 {
                for (oi, out) in a.output_artifacts.iter().enumerate() {
                    if !is_identifier(&out.name) {
                        self.error(&at.key("outputArtifacts").index(oi), format!(
                            "output artifact '{}' becomes a CodeBuild secondary artifact identifier (the action has several outputs), which allows only letters, digits and _", out.name));
                    }
                }
            }
            if let Some(env) = a.config("EnvironmentVariables") {
                if let Err(e) =
                    serde_json::from_str::<Vec<BTreeMap<String, serde_json::Value>>>(env)
                {
                    self.error(&cpath("EnvironmentVariables"), format!("EnvironmentVariables is not a JSON list of {{name, value, type}} objects: {e}"));
                }
            }
        }
        if t.kind() == Provider::CloudFormation {
            let mode = a.config("ActionMode").unwrap_or_default();
            const MODES: &[&str] = &[
                "CREATE_UPDATE",
                "REPLACE_ON_FAILURE",
                "DELETE_ONLY",
                "CHANGE_SET_REPLACE",
                "CHANGE_SET_EXECUTE",
            ];
            if !mode.is_empty() && !MODES.contains(&mode) {
                self.error(
                    &cpath("ActionMode"),
                    format!("ActionMode '{mode}' is not one of {}", MODES.join(", ")),
                );
            }
            if mode.starts_with("CHANGE_SET") && a.config("ChangeSetName").is_none() {
                self.error(
                    &at.key("configuration"),
                    format!("ActionMode {mode} needs ChangeSetName"),
                );
            }
            if ["CREATE_UPDATE", "REPLACE_ON_FAILURE", "CHANGE_SET_REPLACE"].contains(&mode)
                && a.config("TemplatePath").is_none()
            {
                self.error(
                    &at.key("configuration"),
                    format!("ActionMode {mode} needs TemplatePath"),
                );
            }
            for key in ["TemplatePath", "TemplateConfiguration"] {
                if let Some(value) = a.config(key) {
                    match value.split_once("::") {
                        Some((artifact, file)) if !file.is_empty() => {
                            if !inputs.contains(&artifact) {
                                self.error(&cpath(key), format!("{key} '{value}' names artifact '{artifact}', which is not an input artifact of this action"));
                            }
                        }
                        _ => self.error(
                            &cpath(key),
                            format!(
                                "{key} '{value}' must have the form ArtifactName::path/in/artifact"
                            ),
                        ),
                    }
                }
            }
        }
        if t.kind() == Provider::S3Deploy {
            match a.config("Extract").map(str::to_ascii_lowercase).as_deref() {
                Some("true") | None => {}
                Some("false") => {
                    if a.config("ObjectKey").is_none() {
                        self.error(
                            &at.key("configuration"),
                            "Extract is false, so ObjectKey is required",
                        );
                    }
                }
                Some(other) => self.error(
                    &cpath("Extract"),
                    format!("Extract must be true or false, not '{other}'"),
                ),
            }
        }
        if t.kind() == Provider::CodeDeployToEcs {
            let keys = [
                "TaskDefinitionTemplateArtifact",
                "AppSpecTemplateArtifact",
                "Image1ArtifactName",
                "Image2ArtifactName",
                "Image3ArtifactName",
                "Image4ArtifactName",
            ];
            for key in keys {
                if let Some(artifact) = a.config(key) {
                    if !inputs.contains(&artifact) {
                        self.error(&cpath(key), format!("{key} names '{artifact}', which is not an input artifact of this action"));
                    }
                }
            }
        }
        if t.kind() == Provider::Manual {
            if let Some(link) = a.config("ExternalEntityLink") {
                if !(link.starts_with("http://")
                    || link.starts_with("https://")
                    || link.contains("#{"))
                {
                    self.warn(
                        &cpath("ExternalEntityLink"),
                        format!("ExternalEntityLink '{link}' is not an http(s) URL"),
                    );
                }
            }
        }
    }
}
