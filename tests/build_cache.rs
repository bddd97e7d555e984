//! `cache.paths` with LOCAL_CUSTOM_CACHE: folders kept between builds of a project.

mod common;

use common::{executors, Exec, Project};

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
