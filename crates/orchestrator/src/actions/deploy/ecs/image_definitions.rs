//! `imagedefinitions.json` (CodePipeline User Guide, "Image definitions file
//! reference"): checked as the ECS action reads it, and applied to a task
//! definition as ECS applies it, replacing images by container name.

use std::collections::BTreeMap;

use pipelocal_model::ecs::TaskDefinition;
use serde_json::Value;

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

/// `td` with each named container's image replaced; a container the file
/// does not name keeps `kept`'s image for it (the image the running task
/// has), else the task definition's.
pub(super) fn apply_image_definitions(
    mut td: TaskDefinition,
    images: &[(String, String)],
    kept: &BTreeMap<String, String>,
) -> Result<TaskDefinition, String> {
    for (name, _) in images {
        if td.container(name).is_none() {
            // The ECS action's own words (its "Invalid action configuration" failure).
            return Err(format!("The AWS ECS container {name} does not exist"));
        }
    }
    for c in &mut td.container_definitions {
        match images.iter().find(|(n, _)| *n == c.name) {
            Some((_, uri)) => c.image = uri.clone(),
            None => {
                if let Some(image) = kept.get(&c.name) {
                    c.image = image.clone();
                }
            }
        }
    }
    Ok(td)
}
