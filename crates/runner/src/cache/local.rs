//! LOCAL_CUSTOM_CACHE (CodeBuild User Guide, "Build caching in AWS CodeBuild", local caching): each `cache.paths` folder becomes
//! a symlink into a store that outlives the build, so the next build of the
//! same project finds it filled.

use pipelocal_model::buildspec::Buildspec;

use crate::events::EventSink;
use crate::executor::Executor;
use crate::probe::shell_values;
use crate::shell::{quote, StateFiles};

use super::{cache_folder, store_name};

/// Links every `cache.paths` folder to the store at `root`, keeping what a
/// previous build left there (cached items win over same-named source items).
pub(crate) async fn link_local_cache(
    executor: &Executor,
    spec: &Buildspec,
    state: &StateFiles,
    root: &str,
    events: &EventSink,
) {
    let Some(cache) = &spec.cache else { return };
    let mut script = String::from("set -u\n");
    for path in &cache.paths {
        let Some(folder) = cache_folder(path) else {
            events.info(format!(
                "Skipping cache path {path}: only folders can be cached locally"
            ));
            continue;
        };
        let store = quote(&format!("{root}/{}", store_name(&folder)));
        let dir = quote(&folder);
        script.push_str(&format!(
            "d={dir}; c={store}\n\
             if [ -e \"$d\" ] && [ ! -d \"$d\" ]; then\n\
               printf 'Unable to initialize cache download: only directories can be cached locally: %s\\0' \"$d\"\n\
             else\n\
               if [ -n \"$(ls -A \"$c\" 2>/dev/null)\" ]; then printf 'Cache hit for %s\\0' \"$d\"; else printf 'Cache miss for %s\\0' \"$d\"; fi\n\
               mkdir -p \"$c\"\n\
               if [ -d \"$d\" ] && [ ! -L \"$d\" ]; then cp -Rpn \"$d\"/. \"$c\"/ 2>/dev/null; rm -rf \"$d\"; fi\n\
               mkdir -p \"$(dirname \"$d\")\" && ln -sfn \"$c\" \"$d\"\n\
             fi\n"
        ));
    }
    let cwd = executor.workspace().src_dir.clone();
    match shell_values(executor, spec, state, &cwd, &script).await {
        Ok(lines) => lines.into_iter().for_each(|l| events.info(l)),
        Err(e) => events.info(format!("Cache could not be linked: {e}")),
    }
}
