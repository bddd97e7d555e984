//! The S3 cache form (CodeBuild User Guide, buildspec reference, `cache`) served from a folder of this machine:
//! each `key` names an entry holding the `cache.paths` folders as they were
//! saved. A keyed entry is immutable once made; `fallback-keys` match by
//! prefix, newest first; `action` limits a build to restore or save. Without
//! a `key` the project has one entry, replaced by every build.

use std::path::{Path, PathBuf};

use pipelocal_model::buildspec::{Buildspec, Cache, CacheAction};

use crate::events::EventSink;
use crate::executor::{copy_tree, Executor};
use crate::probe::shell_values;
use crate::shell::{quote, StateFiles};

use super::{cache_folder, store_name};

/// The entry a build without `key` restores and replaces.
const UNKEYED: &str = "default";

/// The folders to cache, each with its path inside the build environment.
fn folders(cache: &Cache, src_dir: &str, events: &EventSink) -> Vec<(String, String)> {
    cache
        .paths
        .iter()
        .filter_map(|path| match cache_folder(path) {
            Some(folder) if folder.starts_with('/') => Some((folder.clone(), folder)),
            Some(folder) => Some((folder.clone(), format!("{src_dir}/{folder}"))),
            None => {
                events.info(format!(
                    "Skipping cache path {path}: only folders are cached locally"
                ));
                None
            }
        })
        .collect()
}

/// Evaluates `key` and `fallback-keys` in the build's shell, so `$VAR` and
/// `$(codebuild-hash-files ...)` mean what they mean in CodeBuild.
async fn evaluated_keys(
    executor: &Executor,
    spec: &Buildspec,
    state: &StateFiles,
    cache: &Cache,
) -> Result<(String, Vec<String>), String> {
    let Some(key) = &cache.key else {
        return Ok((UNKEYED.to_string(), Vec::new()));
    };
    let body: String = std::iter::once(key)
        .chain(&cache.fallback_keys)
        .map(|k| {
            format!(
                "__pipelocal_key={}; eval \"printf '%s\\0' \\\"$__pipelocal_key\\\"\"\n",
                quote(k)
            )
        })
        .collect();
    let cwd = executor.workspace().src_dir.clone();
    let mut values = shell_values(executor, spec, state, &cwd, &body)
        .await
        .map_err(|e| e.to_string())?;
    if values.len() != 1 + cache.fallback_keys.len() {
        return Err(format!("the cache key {key} could not be evaluated"));
    }
    let first = values.remove(0);
    Ok((first, values))
}

/// An entry's folder name: the key with every byte outside `[A-Za-z0-9._-]`
/// written `%XX`, so any key is one path component and prefixes still compare.
fn entry_name(key: &str) -> String {
    let mut out = String::new();
    for b in key.bytes() {
        if b.is_ascii_alphanumeric() || b"._-".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The entry to restore: the exact key, else the newest entry whose key
/// starts with each fallback key in turn.
fn find_entry(store: &Path, key: &str, fallbacks: &[String]) -> Option<(PathBuf, String)> {
    let exact = store.join(entry_name(key));
    if exact.is_dir() {
        return Some((exact, key.to_string()));
    }
    let entries: Vec<(String, PathBuf, std::time::SystemTime)> = std::fs::read_dir(store)
        .ok()?
        .flatten()
        .filter(|e| e.path().is_dir() && !e.file_name().to_string_lossy().starts_with('.'))
        .map(|e| {
            let modified = e
                .metadata()
                .and_then(|m| m.modified())
                .unwrap_or(std::time::UNIX_EPOCH);
            (
                e.file_name().to_string_lossy().into_owned(),
                e.path(),
                modified,
            )
        })
        .collect();
    fallbacks.iter().find_map(|prefix| {
        let wanted = entry_name(prefix);
        entries
            .iter()
            .filter(|(name, _, _)| name.starts_with(&wanted))
            .max_by_key(|(_, _, modified)| *modified)
            .map(|(_, path, _)| (path.clone(), prefix.clone()))
    })
}

/// The cache section and its evaluated keys, unless the section's `action`
/// says this step (`skip`) is not wanted.
async fn wanted<'s>(
    executor: &Executor,
    spec: &'s Buildspec,
    state: &StateFiles,
    skip: CacheAction,
    events: &EventSink,
) -> Option<(&'s Cache, String, Vec<String>)> {
    let cache = spec.cache.as_ref()?;
    if cache.action == Some(skip) {
        return None;
    }
    match evaluated_keys(executor, spec, state, cache).await {
        Ok((key, fallbacks)) => Some((cache, key, fallbacks)),
        Err(e) => {
            let doing = match skip {
                CacheAction::Save => "restore",
                CacheAction::Restore => "save",
            };
            events.info(format!("Unable to {doing} cache: {e}"));
            None
        }
    }
}

/// Restores the entry for this build's key, before INSTALL.
pub(crate) async fn restore(
    executor: &Executor,
    spec: &Buildspec,
    state: &StateFiles,
    store: &Path,
    events: &EventSink,
) {
    let Some((cache, key, fallbacks)) =
        wanted(executor, spec, state, CacheAction::Save, events).await
    else {
        return;
    };
    let Some((entry, matched)) = find_entry(store, &key, &fallbacks) else {
        return events.info(format!("Cache miss for key {key}"));
    };
    if matched == key {
        events.info(format!("Cache hit for key {key}"));
    } else {
        events.info(format!("Cache hit for fallback key {matched}"));
    }
    for (folder, inside) in folders(cache, &executor.workspace().src_dir, events) {
        let saved = entry.join(store_name(&folder));
        if saved.is_dir() {
            if let Err(e) = executor.upload_dir(&saved, &inside).await {
                events.info(format!("Unable to restore cache folder {folder}: {e}"));
            }
        }
    }
}

/// Saves `cache.paths` under this build's key, in UPLOAD_ARTIFACTS. A keyed
/// entry that exists already is kept as it is.
pub(crate) async fn save(
    executor: &Executor,
    spec: &Buildspec,
    state: &StateFiles,
    store: &Path,
    events: &EventSink,
) {
    let Some((cache, key, _)) = wanted(executor, spec, state, CacheAction::Restore, events).await
    else {
        return;
    };
    let target = store.join(entry_name(&key));
    if cache.key.is_some() && target.is_dir() {
        return events.info(format!(
            "Cache entry for key {key} exists already and is not replaced"
        ));
    }
    let staging = store.join(format!(".saving-{}", uuid::Uuid::new_v4()));
    let result: Result<(), String> = async {
        std::fs::create_dir_all(&staging).map_err(|e| e.to_string())?;
        for (folder, inside) in folders(cache, &executor.workspace().src_dir, events) {
            let tree = match executor.fetch_dir(&inside).await {
                Ok(tree) if tree.path.is_dir() => tree,
                _ => {
                    events.info(format!("Skipping cache folder {folder}: not found"));
                    continue;
                }
            };
            let to = staging.join(store_name(&folder));
            let from = tree.path.clone();
            tokio::task::spawn_blocking(move || copy_tree(&from, &to))
                .await
                .map_err(|e| e.to_string())?
                .map_err(|e| format!("copying {folder}: {e}"))?;
        }
        // A keyed entry appears whole or not at all; the unkeyed one is
        // swapped: the old moves aside first, so a reader sees one or the other.
        if cache.key.is_none() && target.exists() {
            let old = store.join(format!(".replaced-{}", uuid::Uuid::new_v4()));
            std::fs::rename(&target, &old).map_err(|e| e.to_string())?;
            std::fs::rename(&staging, &target).map_err(|e| e.to_string())?;
            let _ = std::fs::remove_dir_all(&old);
            return Ok(());
        }
        std::fs::rename(&staging, &target).map_err(|e| e.to_string())
    }
    .await;
    match result {
        Ok(()) => events.info(format!("Saved cache for key {key}")),
        Err(e) => {
            let _ = std::fs::remove_dir_all(&staging);
            events.info(format!("Unable to save cache for key {key}: {e}"));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entry_names_keep_prefixes() {
        assert_eq!(entry_name("npm-key-ab12"), "npm-key-ab12");
        assert_eq!(entry_name("a/b c"), "a%2Fb%20c");
        assert!(entry_name("npm/linux-123").starts_with(&entry_name("npm/linux-")));
    }

    #[test]
    fn fallback_keys_take_the_newest_match() {
        let store = tempfile::tempdir().unwrap();
        for name in ["npm-old", "npm-new", "other"] {
            std::fs::create_dir(store.path().join(name)).unwrap();
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        let (entry, matched) =
            find_entry(store.path(), "npm-none", &["pip-".into(), "npm-".into()]).unwrap();
        assert_eq!(entry, store.path().join("npm-new"));
        assert_eq!(matched, "npm-");
        let (entry, _) = find_entry(store.path(), "other", &[]).unwrap();
        assert_eq!(entry, store.path().join("other"));
        assert!(find_entry(store.path(), "x", &["y".into()]).is_none());
    }
}
