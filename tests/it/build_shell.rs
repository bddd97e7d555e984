//! The 0.2 shell model, 0.1 isolation, variables and their precedence
//! (CodeBuild User Guide, buildspec reference; "Environment variables in build environments"), on every executor available here.


use crate::common::{executors, Exec, Project};

#[test]
fn variables_and_directory_carry_across_commands_and_phases() {
    for exec in executors() {
        let b = Project::new(
            "version: 0.2\nphases:\n  install:\n    commands:\n      - PLAIN=not-exported\n      - export EXPORTED=yes\n      - mkdir -p sub/dir && cd sub\n  pre_build:\n    commands:\n      - echo \"$PLAIN $EXPORTED $(basename $(pwd))\"\n      - cd dir\n  build:\n    commands:\n      - echo \"$(pwd | sed \"s|$CODEBUILD_SRC_DIR|SRC|\")\"\n      - sh -c 'echo child sees $PLAIN'\n",
        )
        .build(exec, &[]);
        assert_eq!(b.code, 0, "{exec:?}: {}{}", b.log, b.stderr);
        assert_eq!(
            b.output(),
            vec![
                "not-exported yes sub",
                "SRC/sub/dir",
                "child sees not-exported"
            ],
            "{exec:?}"
        );
    }
}

#[test]
fn the_first_command_starts_in_the_source_folder() {
    for exec in executors() {
        let p = Project::new("version: 0.2\nphases:\n  build:\n    commands:\n      - test \"$(pwd)\" = \"$CODEBUILD_SRC_DIR\" && ls\n");
        p.file("marker.txt", "x");
        let b = p.build(exec, &[]);
        assert_eq!(b.code, 0, "{exec:?}: {}", b.log);
        assert_eq!(b.output(), vec!["buildspec.yml", "marker.txt"]);
    }
}

#[test]
fn exit_zero_ends_only_its_own_command_and_loses_its_changes() {
    for exec in executors() {
        let b = Project::new(
            "version: 0.2\nphases:\n  build:\n    commands:\n      - A=kept\n      - A=lost; exit 0\n      - echo \"next command runs, A=$A\"\n",
        )
        .build(exec, &[]);
        assert_eq!(b.code, 0);
        assert_eq!(b.output(), vec!["next command runs, A=kept"], "{exec:?}");
    }
}

#[test]
fn a_multi_line_item_fails_only_on_its_final_status() {
    for exec in executors() {
        let b = Project::new(
            "version: 0.2\nphases:\n  build:\n    commands:\n      - |\n        false\n        echo masked failure\n      - |\n        echo second\n        false\n      - echo not reached\n",
        )
        .build(exec, &[]);
        // The log echoes a multi-line item whole, so its lines appear too.
        let out = b.output();
        assert!(
            out.contains(&"masked failure") && out.contains(&"second"),
            "{exec:?}: {out:?}"
        );
        assert!(!b.log.contains("not reached\n"), "{}", b.log);
        assert_eq!(b.status(), "FAILED");
        assert_eq!(
            b.context("BUILD").1,
            "Error while executing command: echo second\nfalse\n. Reason: exit status 1"
        );
    }
}

#[test]
fn version_0_1_runs_every_command_in_its_own_shell() {
    for exec in executors() {
        let b = Project::new(
            "version: 0.1\nenvironment_variables:\n  plaintext:\n    GREETING: hi\nphases:\n  build:\n    commands:\n      - export A=set; cd /\n      - echo \"A=$A in $(pwd | sed \"s|$CODEBUILD_SRC_DIR|SRC|\") $GREETING\"\n",
        )
        .build(exec, &[]);
        assert_eq!(b.code, 0, "{}", b.log);
        assert_eq!(b.output(), vec!["A= in SRC hi"], "{exec:?}");
    }
}

#[test]
fn buildspec_values_are_literal() {
    for exec in executors() {
        let b = Project::new(
            "version: 0.2\nenv:\n  variables:\n    B: \"$A\"\n    P: \"$PATH:/extra\"\n    Q: \"it's 'quoted'\"\nphases:\n  build:\n    commands:\n      - echo \"$B|$P|$Q\"\n",
        )
        .build(exec, &[]);
        assert_eq!(
            b.output(),
            vec!["$A|$PATH:/extra|it's 'quoted'"],
            "{exec:?}"
        );
    }
}

#[test]
fn precedence_overrides_then_project_then_buildspec() {
    for exec in executors() {
        let p = Project::new(
            "version: 0.2\nenv:\n  variables:\n    ONLY_SPEC: spec\n    SPEC_AND_PROJECT: spec\n    ALL_THREE: spec\nphases:\n  build:\n    commands:\n      - echo \"$ONLY_SPEC $SPEC_AND_PROJECT $ALL_THREE\"\n",
        );
        p.file(
            "project.json",
            r#"{"name": "prec", "source": {"type": "NO_SOURCE"}, "environment": {"image": "ignored", "environmentVariables": [
                {"name": "SPEC_AND_PROJECT", "value": "project"}, {"name": "ALL_THREE", "value": "project", "type": "PLAINTEXT"}]}}"#,
        );
        p.file(
            "override.env",
            "# start-build overrides\nALL_THREE=override\n",
        );
        let project = format!("{}/project.json", p.path());
        let env = format!("{}/override.env", p.path());
        let b = p.build(exec, &["--project", &project, "-e", &env]);
        assert_eq!(
            b.output(),
            vec!["spec project override"],
            "{exec:?}: {}{}",
            b.log,
            b.stderr
        );
        assert_eq!(b.record["projectName"], "prec");
    }
}

#[test]
fn codebuild_variables_have_codebuild_shapes() {
    for exec in executors() {
        let p = Project::new(
            "version: 0.2\nphases:\n  build:\n    commands:\n      - env | grep -E '^(CODEBUILD_|AWS_|HOME=)' | sort\n",
        );
        let first = p.build(exec, &["--project-name", "shapes"]);
        let second = p.build(exec, &["--project-name", "shapes"]);
        assert_eq!(second.code, 0, "{}", second.log);
        let vars: std::collections::BTreeMap<&str, &str> = second
            .output()
            .iter()
            .filter_map(|l| l.split_once('='))
            .collect();
        let id = vars["CODEBUILD_BUILD_ID"];
        let (project, uuid) = id.split_once(':').unwrap();
        assert_eq!(project, "shapes");
        assert_eq!(uuid.len(), 36);
        assert_eq!(second.record["id"], id);
        assert_eq!(
            vars["CODEBUILD_BUILD_ARN"],
            format!("arn:aws:codebuild:us-east-1:123456789012:build/{id}")
        );
        assert_eq!(
            vars["CODEBUILD_PROJECT_ARN"],
            "arn:aws:codebuild:us-east-1:123456789012:project/shapes"
        );
        assert_eq!(first.record["buildNumber"], 1);
        assert_eq!(vars["CODEBUILD_BUILD_NUMBER"], "2");
        assert_eq!(second.record["buildNumber"], 2);
        assert_eq!(vars["CODEBUILD_BUILD_IMAGE"], crate::common::BUSYBOX);
        assert_eq!(vars["CODEBUILD_BUILD_SUCCEEDING"], "1");
        assert_eq!(vars["CODEBUILD_CI"], "true");
        assert_eq!(vars["AWS_REGION"], "us-east-1");
        assert_eq!(vars["AWS_DEFAULT_REGION"], "us-east-1");
        assert!(!vars["CODEBUILD_INITIATOR"].is_empty());
        assert_eq!(vars["CODEBUILD_LOG_PATH"], uuid);
        let start: u128 = vars["CODEBUILD_START_TIME"].parse().unwrap();
        let record_start = (second.record["startTime"].as_f64().unwrap() * 1000.0).round() as u128;
        assert!(
            start.abs_diff(record_start) < 1000,
            "{start} vs {record_start}"
        );
        assert!(vars["CODEBUILD_SRC_DIR"].ends_with("/src"));
        if exec == Exec::Docker {
            assert_eq!(vars["HOME"], "/root");
            let digits = vars["CODEBUILD_SRC_DIR"]
                .strip_prefix("/codebuild/output/src")
                .unwrap()
                .strip_suffix("/src")
                .unwrap();
            assert!(
                digits.len() == 9 && digits.chars().all(|c| c.is_ascii_digit()),
                "{digits}"
            );
        }
    }
}

#[test]
fn secondary_sources_get_their_own_folders() {
    for exec in executors() {
        let p = Project::new("version: 0.2\nphases:\n  build:\n    commands:\n      - cat $CODEBUILD_SRC_DIR_config/settings.txt\n      - echo $CODEBUILD_SRC_DIR | sed 's|.*/src/|src/|'\n");
        let other = tempfile::tempdir().unwrap();
        std::fs::write(other.path().join("settings.txt"), "from secondary\n").unwrap();
        let source = format!("config:{}", other.path().display());
        let b = p.build(exec, &["-s", &source]);
        assert_eq!(b.code, 0, "{exec:?}: {}{}", b.log, b.stderr);
        assert_eq!(b.output(), vec!["from secondary", "src/s3/00"]);
    }
}

#[test]
fn the_build_cannot_change_the_users_tree_unless_mounted() {
    for exec in executors() {
        let p = Project::new("version: 0.2\nphases:\n  build:\n    commands:\n      - echo changed > marker.txt\n      - rm buildspec.yml\n");
        p.file("marker.txt", "original");
        let b = p.build(exec, &[]);
        assert_eq!(b.code, 0, "{}", b.log);
        assert_eq!(
            std::fs::read_to_string(p.dir.path().join("marker.txt")).unwrap(),
            "original"
        );
        assert!(p.dir.path().join("buildspec.yml").exists());
        let b = p.build(exec, &["-m"]);
        assert_eq!(b.code, 0, "{exec:?}: {}{}", b.log, b.stderr);
        assert_eq!(
            std::fs::read_to_string(p.dir.path().join("marker.txt")).unwrap(),
            "changed\n"
        );
    }
}

#[test]
fn a_timeout_ends_the_running_phase_timed_out() {
    for exec in executors() {
        let started = std::time::Instant::now();
        let b = Project::new("version: 0.2\nphases:\n  build:\n    commands:\n      - echo start\n      - sleep 60\n  post_build:\n    commands:\n      - echo post\n").build(exec, &["--timeout", "8s"]);
        assert_eq!(b.code, 1);
        assert_eq!(b.status(), "TIMED_OUT", "{exec:?}: {}", b.log);
        assert_eq!(b.phase_status("BUILD").as_deref(), Some("TIMED_OUT"));
        assert_eq!(b.phase_status("POST_BUILD"), None);
        assert_eq!(b.context("BUILD").0, "BUILD_TIMED_OUT");
        assert!(
            started.elapsed() < std::time::Duration::from_secs(50),
            "the sleep was not cut short"
        );
    }
}

#[test]
fn output_without_a_final_newline_keeps_log_lines_whole() {
    for exec in executors() {
        let b = Project::new("version: 0.2\nphases:\n  build:\n    commands:\n      - printf done\n      - echo next\n").build(exec, &[]);
        assert!(
            b.log.contains("\ndone\n[Container] "),
            "{exec:?}: {}",
            b.log
        );
        assert!(b
            .log
            .lines()
            .filter(|l| l.contains("[Container]"))
            .all(|l| l.starts_with("[Container] ")));
    }
}

#[test]
fn multi_byte_output_survives_chunking() {
    for exec in executors() {
        // 200 KB of two- and three-byte characters crosses many read boundaries.
        let b = Project::new("version: 0.2\nphases:\n  build:\n    commands:\n      - i=0; while [ $i -lt 20000 ]; do printf 'é€ü'; i=$((i+1)); done; echo\n").build(exec, &[]);
        assert_eq!(b.code, 0, "{exec:?}: {}", b.stderr);
        let line = b
            .output()
            .into_iter()
            .find(|l| l.starts_with("é"))
            .expect("output");
        assert!(
            !line.contains('\u{fffd}'),
            "{exec:?}: a character was split"
        );
        assert_eq!(line.chars().count(), 60_000);
    }
}

#[test]
fn background_processes_neither_block_nor_die_with_their_command() {
    for exec in executors() {
        let started = std::time::Instant::now();
        let b = Project::new(
            "version: 0.2\nphases:\n  build:\n    commands:\n      - sleep 30 &\n      - (sleep 1; echo from-background > bg.txt) &\n      - sleep 2; cat bg.txt\n",
        )
        .build(exec, &[]);
        assert_eq!(b.code, 0, "{exec:?}: {}", b.log);
        assert_eq!(b.output(), vec!["from-background"], "{exec:?}");
        assert!(
            started.elapsed() < std::time::Duration::from_secs(25),
            "{exec:?}: waited for the background sleep"
        );
    }
}

#[test]
fn exported_variables_reach_the_record() {
    for exec in executors() {
        let b = Project::new(
            "version: 0.2\nenv:\n  variables:\n    FROM_SPEC: spec\n  exported-variables:\n    - VERSION\n    - FROM_SPEC\n    - AWS_NOT_EXPORTED\n    - NEVER_SET\n    - CODEBUILD_BUILD_NUMBER\nphases:\n  build:\n    commands:\n      - VERSION=\"1.$CODEBUILD_BUILD_NUMBER it's\"\n      - export AWS_NOT_EXPORTED=x\n  post_build:\n    commands:\n      - VERSION=\"$VERSION-final\"\n",
        )
        .build(exec, &[]);
        assert_eq!(b.code, 0, "{exec:?}: {}", b.log);
        assert_eq!(
            b.record["exportedEnvironmentVariables"],
            serde_json::json!([
                {"name": "VERSION", "value": "1.1 it's-final"},
                {"name": "FROM_SPEC", "value": "spec"},
                {"name": "CODEBUILD_BUILD_NUMBER", "value": "1"}
            ]),
            "{exec:?}"
        );
    }
}

#[test]
fn buildspec_warnings_are_shown_in_the_build_log() {
    for exec in executors() {
        let b =
            Project::new("version: 0.2\nphases:\n  build:\n    Commands:\n      - echo never\n")
                .build(exec, &[]);
        assert!(
            b.log.contains("Warning: ")
                && b.log.contains(
                    "unknown key `Commands` in phase build is ignored; did you mean `commands`?"
                ),
            "{}",
            b.log
        );
    }
}

#[test]
fn source_versions_come_from_the_git_work_tree() {
    for exec in executors() {
        let p = Project::new("version: 0.2\nphases:\n  build:\n    commands:\n      - echo \"$CODEBUILD_SOURCE_VERSION|$CODEBUILD_RESOLVED_SOURCE_VERSION|$CODEBUILD_SOURCE_REPO_URL\"\n");
        let git = |args: &[&str]| {
            let out = std::process::Command::new("git")
                .args(args)
                .current_dir(p.dir.path())
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "git {args:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            String::from_utf8_lossy(&out.stdout).trim().to_string()
        };
        git(&["init", "-q"]);
        git(&[
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@example.com",
            "add",
            ".",
        ]);
        git(&[
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@example.com",
            "commit",
            "-qm",
            "first",
        ]);
        git(&[
            "remote",
            "add",
            "origin",
            "https://example.com/acme/app.git",
        ]);
        let commit = git(&["rev-parse", "HEAD"]);
        let b = p.build(exec, &[]);
        assert_eq!(
            b.output(),
            vec![format!(
                "{commit}|{commit}|https://example.com/acme/app.git"
            )],
            "{exec:?}"
        );
        assert_eq!(b.record["resolvedSourceVersion"], commit.as_str());
    }
}

#[test]
fn the_host_executor_leaves_no_folder_behind() {
    let tmp = tempfile::tempdir().unwrap();
    let p = Project::new(
        "version: 0.2\nphases:\n  build:\n    commands:\n      - echo hi > file\n      - exit 1\n",
    );
    let record = p.state.path().join("r.json");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_pipelocal"))
        .args([
            "build",
            "-s",
            p.path(),
            "--executor",
            "host",
            "--record",
            record.to_str().unwrap(),
        ])
        .args(["--state-dir", p.state.path().to_str().unwrap()])
        .env("TMPDIR", tmp.path())
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let left: Vec<_> = std::fs::read_dir(tmp.path()).unwrap().collect();
    assert!(left.is_empty(), "left behind: {left:?}");
}

#[test]
fn long_lines_invalid_bytes_and_both_streams_arrive_whole_and_in_order() {
    for exec in executors() {
        // A 1.5 MB line on stdout, invalid UTF-8 on stderr, then more of each.
        let b = Project::new("version: 0.2\nphases:\n  build:\n    commands:\n      - head -c 1500000 /dev/zero | tr '\\0' a; echo\n      - printf 'bad \\377 byte\\n' >&2\n      - echo out-after; sleep 0.2; echo err-after >&2\n").build(exec, &[]);
        assert_eq!(b.code, 0, "{exec:?}: {}", b.stderr);
        let out = b.output();
        let long = out
            .iter()
            .find(|l| l.starts_with('a'))
            .expect("the long line");
        assert_eq!(long.len(), 1_500_000, "{exec:?}");
        assert!(long.bytes().all(|c| c == b'a'));
        assert!(out.contains(&"bad \u{fffd} byte"), "{exec:?}: {out:?}");
        let pos = |s: &str| out.iter().position(|l| *l == s);
        assert!(pos("out-after") < pos("err-after"), "{exec:?}: {out:?}");
        assert!(pos("err-after").is_some());
    }
}
