//! `cache.paths` between builds, in CodeBuild's modes (CodeBuild User Guide, "Build caching in AWS CodeBuild"):
//! LOCAL_CUSTOM_CACHE as linked folders ([`local`]), the S3 form with `key`,
//! `fallback-keys` and `action` as immutable entries in a local folder ([`keyed`]).

pub mod keyed;
pub mod local;

use std::path::PathBuf;

/// Where the LOCAL_CUSTOM_CACHE store is mounted inside a container.
pub const CONTAINER_CACHE_ROOT: &str = "/codebuild/local-cache";

/// Where LOCAL_DOCKER_LAYER_CACHE keeps the inner Docker engine's data.
pub const DOCKER_LAYER_ROOT: &str = "/var/lib/docker";

/// How a build caches `cache.paths`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CachePlan {
    /// NO_CACHE, `--no-cache`, or nothing to cache.
    Off,
    /// LOCAL_CUSTOM_CACHE: folders linked into the store at this path inside
    /// the build environment.
    Linked { root: String },
    /// The S3 form: entries named by key in this folder of the machine.
    Keyed { store: PathBuf },
}

/// The folder a cache path names: `node_modules/**/*` -> `node_modules`.
/// `None` for a pattern that is not a folder (CodeBuild caches folders only).
pub fn cache_folder(path: &str) -> Option<String> {
    let mut p = path.trim().trim_start_matches("./").to_string();
    for suffix in ["/**/*", "/**", "/*"] {
        if let Some(stripped) = p.strip_suffix(suffix) {
            p = stripped.to_string();
            break;
        }
    }
    let p = p.trim_end_matches('/').to_string();
    (!p.is_empty() && !p.contains(['*', '?', '['])).then_some(p)
}

/// A stable name for a folder inside a store.
fn store_name(folder: &str) -> String {
    pipelocal_model::file_name::path_component(folder)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folders_of_cache_paths() {
        assert_eq!(
            cache_folder("node_modules/**/*").as_deref(),
            Some("node_modules")
        );
        assert_eq!(cache_folder("/root/.m2/**/*").as_deref(), Some("/root/.m2"));
        assert_eq!(cache_folder("./vendor/").as_deref(), Some("vendor"));
        assert_eq!(cache_folder("**/*.jar"), None);
        assert_eq!(store_name("/root/.m2"), "_root_.m2");
    }
}
