//! `cache.paths` between builds of a project: LOCAL_CUSTOM_CACHE folders, the
//! S3 form with `key`, `fallback-keys` and `action`, LOCAL_DOCKER_LAYER_CACHE.


use crate::common::{executors, Exec, Project};

const SPEC: &str = "version: 0.2\nphases:\n  install:\n    commands:\n      - 'if [ -f deps/lib.txt ]; then echo \"deps from cache: $(cat deps/lib.txt)\"; else mkdir -p deps && echo \"$CODEBUILD_BUILD_NUMBER\" > deps/lib.txt && echo deps built; fi'\ncache:\n  paths:\n    - 'deps/**/*'\n";

fn unique(name: &str) -> String {
    format!("{name}-{}", std::process::id())
}

fn remove_volume(project: &str) {
    let _ = std::process::Command::new("docker")
        .args(["volume", "rm", "-f", &format!("pipelocal-cache-{project}")])
        .output();
}

#[test]
fn the_second_build_finds_the_first_builds_folders() {
    for exec in executors() {
        let project = unique(&format!("cache-{exec:?}").to_lowercase());
        remove_volume(&project);
        let p = Project::new(SPEC);
        let first = p.build(exec, &["--project-name", &project]);
        assert_eq!(first.code, 0, "{exec:?}: {}", first.log);
        assert!(first.log.contains("Cache miss for deps"), "{}", first.log);
        assert_eq!(first.output(), vec!["deps built"]);
        let second = p.build(exec, &["--project-name", &project]);
        assert!(second.log.contains("Cache hit for deps"), "{}", second.log);
        assert_eq!(second.output(), vec!["deps from cache: 1"], "{exec:?}");
        let off = p.build(exec, &["--project-name", &project, "--no-cache"]);
        assert_eq!(off.output(), vec!["deps built"], "{exec:?}: --no-cache");
        if exec == Exec::Docker {
            remove_volume(&project);
        }
    }
}

#[test]
fn a_project_without_local_custom_cache_does_not_cache() {
    for exec in executors() {
        let project = unique("nocache");
        let p = Project::new(SPEC);
        p.file(
            "project.json",
            &format!(r#"{{"name": "{project}", "source": {{"type": "NO_SOURCE"}}, "environment": {{"image": "x"}}, "cache": {{"type": "NO_CACHE"}}}}"#),
        );
        let file = format!("{}/project.json", p.path());
        for _ in 0..2 {
            let b = p.build(exec, &["--project", &file]);
            assert_eq!(b.output(), vec!["deps built"], "{exec:?}: {}", b.log);
            assert!(!b.log.contains("Cache "));
        }
    }
}

#[test]
fn only_folders_can_be_cached() {
    for exec in executors() {
        let project = unique("cachefile");
        let p = Project::new("version: 0.2\nphases:\n  build:\n    commands:\n      - echo ok\ncache:\n  paths:\n    - notes.txt\n");
        p.file("notes.txt", "a file");
        let b = p.build(exec, &["--project-name", &project]);
        assert_eq!(b.code, 0, "{}", b.log);
        assert!(b.log.contains("Unable to initialize cache download: only directories can be cached locally: notes.txt"), "{exec:?}: {}", b.log);
        if exec == Exec::Docker {
            remove_volume(&project);
        }
    }
}

/// A buildspec with the S3 cache form: a key from the lock file's hash.
fn keyed_spec(extra: &str) -> String {
    format!("version: 0.2\nphases:\n  install:\n    commands:\n      - 'if [ -f deps/lib.txt ]; then echo \"deps from cache: $(cat deps/lib.txt)\"; else mkdir -p deps && echo \"$CODEBUILD_BUILD_NUMBER\" > deps/lib.txt && echo deps built; fi'\ncache:\n  key: deps-$(codebuild-hash-files lock.txt)\n  fallback-keys:\n    - deps-\n  paths:\n    - 'deps/**/*'\n{extra}")
}

fn entries(p: &Project, project: &str) -> Vec<String> {
    let store = p.state.path().join("s3/pipelocal-cache").join(project);
    let mut names: Vec<String> = std::fs::read_dir(store)
        .map(|d| {
            d.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

#[test]
fn a_cache_key_restores_exactly_then_by_fallback_prefix() {
    for exec in executors() {
        let project = unique("keyed");
        let p = Project::new(&keyed_spec(""));
        p.file("lock.txt", "v1");
        let first = p.build(exec, &["--project-name", &project]);
        assert_eq!(first.code, 0, "{exec:?}: {}", first.log);
        assert_eq!(first.output(), vec!["deps built"], "{exec:?}");
        let key_line = first
            .log
            .lines()
            .find(|l| l.contains("Cache miss for key deps-"))
            .unwrap_or_else(|| panic!("{}", first.log));
        let key = key_line.rsplit(' ').next().unwrap().to_string();
        assert_eq!(
            key.len(),
            "deps-".len() + 64,
            "a SHA-256 of lock.txt: {key}"
        );
        assert!(
            first.log.contains(&format!("Saved cache for key {key}")),
            "{}",
            first.log
        );
        assert_eq!(entries(&p, &project), vec![key.clone()]);

        let second = p.build(exec, &["--project-name", &project]);
        assert!(
            second.log.contains(&format!("Cache hit for key {key}")),
            "{}",
            second.log
        );
        assert_eq!(second.output(), vec!["deps from cache: 1"], "{exec:?}");
        assert!(
            second.log.contains("exists already and is not replaced"),
            "{}",
            second.log
        );

        // A new lock file: a new key, restored from the newest `deps-` entry.
        p.file("lock.txt", "v2");
        let third = p.build(exec, &["--project-name", &project]);
        assert!(
            third.log.contains("Cache hit for fallback key deps-"),
            "{}",
            third.log
        );
        assert_eq!(third.output(), vec!["deps from cache: 1"], "{exec:?}");
        assert_eq!(entries(&p, &project).len(), 2, "{exec:?}");
    }
}

#[test]
fn cache_action_restore_never_saves_and_save_never_restores() {
    for exec in executors() {
        let project = unique("restoreonly");
        let p = Project::new(&keyed_spec("  action: restore\n"));
        p.file("lock.txt", "v1");
        for _ in 0..2 {
            let b = p.build(exec, &["--project-name", &project]);
            assert_eq!(b.output(), vec!["deps built"], "{exec:?}: {}", b.log);
        }
        assert!(entries(&p, &project).is_empty());

        let project = unique("saveonly");
        let p = Project::new(&keyed_spec("  action: save\n"));
        p.file("lock.txt", "v1");
        for _ in 0..2 {
            let b = p.build(exec, &["--project-name", &project]);
            assert_eq!(b.output(), vec!["deps built"], "{exec:?}: {}", b.log);
        }
        assert_eq!(entries(&p, &project).len(), 1);
    }
}

#[test]
fn a_project_with_an_s3_cache_keeps_one_entry_in_its_local_bucket() {
    for exec in executors() {
        let project = unique("s3project");
        let p = Project::new(SPEC);
        p.file(
            "project.json",
            &format!(r#"{{"name": "{project}", "source": {{"type": "NO_SOURCE"}}, "environment": {{"image": "x"}}, "cache": {{"type": "S3", "location": "my-bucket/caches"}}}}"#),
        );
        let file = format!("{}/project.json", p.path());
        let first = p.build(exec, &["--project", &file]);
        assert_eq!(
            first.output(),
            vec!["deps built"],
            "{exec:?}: {}",
            first.log
        );
        let entry = p
            .state
            .path()
            .join("s3/my-bucket/caches")
            .join(&project)
            .join("default");
        assert_eq!(
            std::fs::read_to_string(entry.join("deps/lib.txt")).unwrap(),
            "1\n"
        );
        let second = p.build(exec, &["--project", &file]);
        assert_eq!(
            second.output(),
            vec!["deps from cache: 1"],
            "{exec:?}: {}",
            second.log
        );
    }
}

#[test]
fn docker_layer_cache_needs_privileged_mode() {
    let project = unique("layers");
    let p = Project::new("version: 0.2\nphases:\n  build:\n    commands:\n      - echo ok\n");
    p.file(
        "project.json",
        &format!(r#"{{"name": "{project}", "source": {{"type": "NO_SOURCE"}}, "environment": {{"image": "x"}}, "cache": {{"type": "LOCAL", "modes": ["LOCAL_DOCKER_LAYER_CACHE", "LOCAL_SOURCE_CACHE"]}}}}"#),
    );
    let file = format!("{}/project.json", p.path());
    for exec in executors() {
        let b = p.build(exec, &["--project", &file]);
        assert_eq!(b.code, 0, "{exec:?}: {}", b.log);
        let warning = match exec {
            Exec::Docker => "LOCAL_DOCKER_LAYER_CACHE needs privileged mode",
            Exec::Host => "LOCAL_DOCKER_LAYER_CACHE is ignored by the host executor",
        };
        assert!(b.log.contains(warning), "{exec:?}: {}", b.log);
    }
    if !executors().contains(&Exec::Docker) {
        return;
    }
    // Privileged: the inner engine's data lives in a volume of the project.
    // (Whether the container can start depends on the machine.)
    let volume = format!("pipelocal-docker-layers-{project}");
    let _ = p.build(Exec::Docker, &["--project", &file, "-d"]);
    let inspect = std::process::Command::new("docker")
        .args(["volume", "inspect", &volume])
        .output()
        .unwrap();
    assert!(inspect.status.success(), "no volume {volume}");
    let _ = std::process::Command::new("docker")
        .args(["volume", "rm", "-f", &volume])
        .output();
}
