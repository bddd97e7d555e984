//! How a build caches `cache.paths` (CodeBuild User Guide, "Build caching in
//! AWS CodeBuild"): the plan chosen from the project's cache type and modes
//! and the buildspec's `cache`, and the volumes a build container mounts for
//! it.

use pipelocal_model::buildspec::Buildspec;
use pipelocal_model::project::Project;

use pipelocal_model::config::ExecutorKind;

use super::{LocalBuild, PrepareError};
use crate::cache::{CachePlan, CONTAINER_CACHE_ROOT, DOCKER_LAYER_ROOT};

/// How this build caches: from the project's cache type and modes, or, with
/// no project, the S3 form when the buildspec's cache has a `key` and
/// LOCAL_CUSTOM_CACHE otherwise. `--no-cache` turns every form off.
pub(super) fn cache_plan(
    input: &LocalBuild,
    project: Option<&Project>,
    spec: Option<&Buildspec>,
    name: &str,
) -> Result<CachePlan, PrepareError> {
    let cache = spec.and_then(|s| s.cache.as_ref());
    if input.no_cache || cache.is_none_or(|c| c.paths.is_empty()) {
        return Ok(CachePlan::Off);
    }
    let keyed = cache.is_some_and(|c| c.key.is_some());
    let (linked, store) = match project.and_then(|p| p.cache.as_ref()) {
        Some(c) if c.cache_type == "S3" => {
            // `bucket/prefix`, as the project's cache location is written.
            let location = c.location.as_deref().unwrap_or("pipelocal-cache");
            let namespace = c.cache_namespace.as_deref().unwrap_or(name);
            let mut store = input.state_dir.join("s3");
            for part in location.split('/').chain([namespace]) {
                if !part.is_empty() && part != "." && part != ".." {
                    store.push(part);
                }
            }
            (false, Some(store))
        }
        Some(c) if c.cache_type == "LOCAL" => {
            (c.modes.iter().any(|m| m == "LOCAL_CUSTOM_CACHE"), None)
        }
        Some(_) => return Ok(CachePlan::Off),
        None if keyed => (
            false,
            Some(
                input
                    .state_dir
                    .join("s3")
                    .join("pipelocal-cache")
                    .join(name),
            ),
        ),
        None => (true, None),
    };
    if let Some(store) = store {
        std::fs::create_dir_all(&store).map_err(|e| PrepareError::State {
            path: store.clone(),
            reason: e.to_string(),
        })?;
        return Ok(CachePlan::Keyed { store });
    }
    if !linked {
        return Ok(CachePlan::Off);
    }
    Ok(CachePlan::Linked {
        root: match input.executor {
            ExecutorKind::Docker => CONTAINER_CACHE_ROOT.to_string(),
            ExecutorKind::Host => {
                let dir = input.state_dir.join("cache").join(name);
                std::fs::create_dir_all(&dir).map_err(|e| PrepareError::State {
                    path: dir.clone(),
                    reason: e.to_string(),
                })?;
                std::fs::canonicalize(&dir)
                    .map_err(|e| PrepareError::State {
                        path: dir.clone(),
                        reason: e.to_string(),
                    })?
                    .display()
                    .to_string()
            }
        },
    })
}

/// Named volumes the build container mounts: the LOCAL_CUSTOM_CACHE store,
/// and with LOCAL_DOCKER_LAYER_CACHE in privileged mode the inner engine's
/// data. Problems with the layer cache come back as warnings for the log.
pub(super) fn cache_volumes(
    input: &LocalBuild,
    project: Option<&Project>,
    plan: &CachePlan,
    name: &str,
    privileged: bool,
) -> (Vec<(String, String)>, Vec<String>) {
    let mut volumes = Vec::new();
    let mut warnings = Vec::new();
    if input.executor != ExecutorKind::Docker {
        if project_modes(project).any(|m| m == "LOCAL_DOCKER_LAYER_CACHE") {
            warnings.push("LOCAL_DOCKER_LAYER_CACHE is ignored by the host executor".into());
        }
        return (volumes, warnings);
    }
    if matches!(plan, CachePlan::Linked { .. }) {
        volumes.push((
            format!("pipelocal-cache-{name}"),
            CONTAINER_CACHE_ROOT.to_string(),
        ));
    }
    if !input.no_cache && project_modes(project).any(|m| m == "LOCAL_DOCKER_LAYER_CACHE") {
        if privileged {
            volumes.push((
                format!("pipelocal-docker-layers-{name}"),
                DOCKER_LAYER_ROOT.to_string(),
            ));
        } else {
            warnings.push(
                "LOCAL_DOCKER_LAYER_CACHE needs privileged mode (the project's privilegedMode, or -d); no layers are cached"
                    .into(),
            );
        }
    }
    (volumes, warnings)
}

/// The LOCAL cache modes of the project, if its cache is LOCAL.
fn project_modes(project: Option<&Project>) -> impl Iterator<Item = &String> {
    project
        .and_then(|p| p.cache.as_ref())
        .filter(|c| c.cache_type == "LOCAL")
        .into_iter()
        .flat_map(|c| c.modes.iter())
}
