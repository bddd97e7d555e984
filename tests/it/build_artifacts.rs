//! `-a DIR`: artifact selection, zips and the record (CodeBuild User Guide, buildspec reference, `artifacts`), on
//! every executor available here.


use std::collections::BTreeMap;
use std::path::Path;

use crate::common::{executors, Project};

/// Entry name -> (unix mode, contents or link target).
fn zip_entries(path: &Path) -> BTreeMap<String, (u32, String)> {
    let mut zip = zip::ZipArchive::new(std::fs::File::open(path).unwrap()).unwrap();
    let mut out = BTreeMap::new();
    for i in 0..zip.len() {
        let mut e = zip.by_index(i).unwrap();
        let mode = e.unix_mode().unwrap_or(0);
        let mut text = String::new();
        std::io::Read::read_to_string(&mut e, &mut text).unwrap();
        out.insert(e.name().to_string(), (mode, text));
    }
    out
}

fn sha256(path: &Path) -> String {
    let out = std::process::Command::new("sha256sum")
        .arg(path)
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .next()
        .unwrap()
        .to_string()
}

const SPEC: &str = r#"version: 0.2
env:
  variables:
    OUT: dist
phases:
  build:
    commands:
      - mkdir -p dist/lib logs && printf '#!/bin/sh\necho tool\n' > dist/tool && chmod 755 dist/tool
      - echo lib > dist/lib/a.txt && echo map > dist/app.js.map && echo log > logs/build.log
      - ln -s tool dist/tool-link && ln -s /etc/hostname dist/outside-link
      - cd /
artifacts:
  files:
    - '**/*'
    - not-there.txt
  base-directory: $OUT
  exclude-paths:
    - '**/*.map'
  enable-symlinks: yes
  secondary-artifacts:
    build_logs:
      files:
        - logs/*.log
      discard-paths: yes
"#;

#[test]
fn artifacts_follow_codebuild_selection_and_keep_modes_and_links() {
    for exec in executors() {
        let p = Project::new(SPEC);
        let out = tempfile::tempdir().unwrap();
        let b = p.build(exec, &["-a", out.path().to_str().unwrap()]);
        assert_eq!(b.code, 0, "{exec:?}: {}{}", b.log, b.stderr);
        let primary = out.path().join("artifacts.zip");
        let entries = zip_entries(&primary);
        assert_eq!(
            entries.keys().collect::<Vec<_>>(),
            vec!["lib/a.txt", "tool", "tool-link"],
            "{exec:?}"
        );
        assert_eq!(
            entries["tool"].0 & 0o777,
            0o755,
            "the executable bit survives"
        );
        assert_eq!(entries["lib/a.txt"].0 & 0o777, 0o644);
        assert_eq!(
            entries["tool-link"].0 & 0o170000,
            0o120000,
            "an internal symlink is stored as a link"
        );
        assert_eq!(entries["tool-link"].1, "tool");
        assert!(
            b.log.contains("Skipping invalid file path not-there.txt"),
            "{}",
            b.log
        );
        assert!(
            b.log
                .contains("Skipping symlink outside-link: its target is outside the artifact"),
            "{}",
            b.log
        );
        let logs = zip_entries(&out.path().join("build_logs.zip"));
        assert_eq!(logs.keys().collect::<Vec<_>>(), vec!["build.log"]);
        let record = &b.record;
        assert_eq!(record["artifacts"]["location"], primary.to_str().unwrap());
        assert_eq!(record["artifacts"]["sha256sum"], sha256(&primary));
        assert_eq!(record["artifacts"]["md5sum"].as_str().unwrap().len(), 32);
        assert_eq!(
            record["secondaryArtifacts"][0]["artifactIdentifier"],
            "build_logs"
        );
    }
}

#[test]
fn without_enable_symlinks_links_are_followed() {
    for exec in executors() {
        let p = Project::new(&SPEC.replace("  enable-symlinks: yes\n", ""));
        let out = tempfile::tempdir().unwrap();
        let b = p.build(exec, &["-a", out.path().to_str().unwrap()]);
        assert_eq!(b.code, 0, "{exec:?}: {}", b.log);
        let entries = zip_entries(&out.path().join("artifacts.zip"));
        assert_eq!(
            entries["tool-link"].1, "#!/bin/sh\necho tool\n",
            "{exec:?}: the link's target is stored"
        );
    }
}

#[test]
fn an_empty_selection_fails_upload_artifacts_even_without_a_folder() {
    for exec in executors() {
        let p = Project::new("version: 0.2\nphases:\n  build:\n    commands:\n      - echo no output\nartifacts:\n  files:\n    - imagedefinitions.json\n");
        for extra in [
            vec![],
            vec![
                "-a".to_string(),
                tempfile::tempdir().unwrap().path().display().to_string(),
            ],
        ] {
            let args: Vec<&str> = extra.iter().map(String::as_str).collect();
            let b = p.build(exec, &args);
            assert_eq!(b.code, 1, "{exec:?}");
            assert_eq!(
                b.phase_status("UPLOAD_ARTIFACTS").as_deref(),
                Some("FAILED")
            );
            assert_eq!(
                b.context("UPLOAD_ARTIFACTS"),
                (
                    "CLIENT_ERROR".into(),
                    "no matching artifact paths found".into()
                )
            );
            assert!(b
                .log
                .contains("Skipping invalid file path imagedefinitions.json"));
        }
    }
}

#[test]
fn a_base_directory_glob_merges_folders() {
    for exec in executors() {
        let p = Project::new(
            "version: 0.2\nphases:\n  build:\n    commands:\n      - mkdir -p my-build-1 my-build-2/sub other && echo 1 > my-build-1/one.txt && echo 3 > my-build-2/sub/three.txt && echo x > other/x.txt\nartifacts:\n  files:\n    - '**/*'\n  base-directory: 'my-build*'\n",
        );
        let out = tempfile::tempdir().unwrap();
        let b = p.build(exec, &["-a", out.path().to_str().unwrap()]);
        assert_eq!(b.code, 0, "{exec:?}: {}", b.log);
        let entries = zip_entries(&out.path().join("artifacts.zip"));
        assert_eq!(
            entries.keys().collect::<Vec<_>>(),
            vec!["one.txt", "sub/three.txt"],
            "{exec:?}"
        );
    }
}

#[test]
fn paths_are_relative_to_the_source_folder_not_the_shells() {
    for exec in executors() {
        let p = Project::new("version: 0.2\nphases:\n  build:\n    commands:\n      - echo a > a.txt && mkdir -p deep && cd deep\nartifacts:\n  files:\n    - a.txt\n");
        let out = tempfile::tempdir().unwrap();
        let b = p.build(exec, &["-a", out.path().to_str().unwrap()]);
        assert_eq!(b.code, 0, "{exec:?}: {}", b.log);
        assert!(zip_entries(&out.path().join("artifacts.zip")).contains_key("a.txt"));
    }
}
