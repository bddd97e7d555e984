//! `pipelocal validate` on every fixture: valid ones pass, each invalid one
//! fails with the message fixtures/invalid/EXPECTED.tsv gives for it.


use crate::common::{files_under, fixture, pipelocal};

#[test]
fn every_valid_fixture_validates() {
    let mut files = files_under(&fixture("pipelines"));
    files.extend(files_under(&fixture("buildspecs")));
    files.extend(files_under(&fixture("projects")));
    files.extend(
        [
            "example/pipeline.json",
            "example/pipeline.yaml",
            "example/projects.json",
            "example/app/buildspec.yml",
            "example/pipeline-deploy.json",
            "example/app/appspec.yml",
        ]
        .iter()
        .map(|f| fixture(f)),
    );
    assert!(files.len() >= 12, "fixtures are missing: {files:?}");
    for file in files {
        let out = pipelocal(&["validate", file.to_str().unwrap()]);
        assert_eq!(
            out.code,
            0,
            "{}:\n{}{}",
            file.display(),
            out.stdout,
            out.stderr
        );
        assert!(out.stdout.contains(": valid "), "{}", out.stdout);
        assert!(!out.stdout.contains("error:"), "{}", out.stdout);
    }
}

#[test]
fn every_invalid_fixture_fails_with_its_message() {
    let manifest = std::fs::read_to_string(fixture("invalid/EXPECTED.tsv")).unwrap();
    let mut checked = 0;
    for line in manifest
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
    {
        let (rel, expected) = line.split_once('\t').expect("file<TAB>message");
        let path = fixture(&format!("invalid/{rel}"));
        let out = pipelocal(&["validate", path.to_str().unwrap()]);
        assert_eq!(
            out.code, 1,
            "{rel} should be invalid:\n{}{}",
            out.stdout, out.stderr
        );
        let hit = out.stdout.lines().find(|l| l.contains(expected));
        let hit = hit.unwrap_or_else(|| panic!("{rel}: expected `{expected}` in:\n{}", out.stdout));
        // Each problem names its file first.
        assert!(hit.starts_with(path.to_str().unwrap()), "{hit}");
        assert!(hit.contains("error: "), "{hit}");
        checked += 1;
    }
    let on_disk = files_under(&fixture("invalid")).len() - 1;
    assert_eq!(
        checked, on_disk,
        "every invalid fixture needs a line in EXPECTED.tsv"
    );
}

#[test]
fn all_problems_are_reported_at_once_with_lines() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("p.json");
    std::fs::write(
        &path,
        r#"{
  "name": "two-problems",
  "roleArn": "arn:aws:iam::111122223333:role/r",
  "artifactStore": { "type": "S3", "location": "bucket" },
  "stages": [
    {
      "name": "Source",
      "actions": [
        {
          "name": "App",
          "actionTypeId": { "category": "Source", "owner": "AWS", "provider": "S3", "version": "1" },
          "configuration": { "S3Bucket": "b", "S3ObjectKey": "k.zip" },
          "outputArtifacts": [ { "name": "Src" } ]
        }
      ]
    },
    {
      "name": "Deploy",
      "actions": [
        {
          "name": "Upload",
          "runOrder": 0,
          "actionTypeId": { "category": "Deploy", "owner": "AWS", "provider": "S3", "version": "1" },
          "configuration": { "BucketName": "site", "Extract": "true" },
          "inputArtifacts": [ { "name": "Scr" } ]
        }
      ]
    }
  ]
}
"#,
    )
    .unwrap();
    let out = pipelocal(&["validate", path.to_str().unwrap()]);
    assert_eq!(out.code, 1);
    let p = path.to_str().unwrap();
    assert!(
        out.stdout.contains(&format!(
            "{p}:22: stage 'Deploy', action 'Upload': error: runOrder 0 is out of range"
        )),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains(&format!("{p}:25: stage 'Deploy', action 'Upload': error: 'Scr' is not previously defined as an 'OutputArtifact': no action produces it; did you mean 'Src'?")), "{}", out.stdout);
    assert!(
        out.stdout
            .contains("invalid pipeline definition: 2 errors, 0 warnings"),
        "{}",
        out.stdout
    );
}

#[test]
fn unusable_inputs_exit_2_with_one_line() {
    let out = pipelocal(&["validate", "no/such/file.json"]);
    assert_eq!(out.code, 2);
    assert_eq!(out.stderr.lines().count(), 1, "{}", out.stderr);
    assert!(
        out.stderr
            .starts_with("error: no/such/file.json: cannot read file"),
        "{}",
        out.stderr
    );

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("notes.yml");
    std::fs::write(&path, "shopping:\n  - milk\n").unwrap();
    let out = pipelocal(&["validate", path.to_str().unwrap()]);
    assert_eq!(out.code, 2);
    assert!(
        out.stderr
            .contains("not a pipeline, CloudFormation template, buildspec or CodeBuild project"),
        "{}",
        out.stderr
    );

    let out = pipelocal(&["validate", "--no-such-flag", "x"]);
    assert_eq!(out.code, 2);
    let out = pipelocal(&[
        "graph",
        "fixtures/pipelines/v2-variables.json",
        "--format",
        "png",
    ]);
    assert_eq!(out.code, 2);
}

#[test]
fn warnings_do_not_fail_validation() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("buildspec.yml");
    std::fs::write(
        &path,
        "version: 0.2\nphases:\n  build:\n    Commands:\n      - make\n",
    )
    .unwrap();
    let out = pipelocal(&["validate", path.to_str().unwrap()]);
    assert_eq!(out.code, 0, "{}", out.stdout);
    assert!(out.stdout.contains(":4: warning: unknown key `Commands` in phase build is ignored; did you mean `commands`?"), "{}", out.stdout);
    assert!(
        out.stdout.contains("valid buildspec (1 warning)"),
        "{}",
        out.stdout
    );
}

#[test]
fn every_misspelt_field_is_reported_with_the_other_problems() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("p.json");
    let text = std::fs::read_to_string(crate::common::fixture("pipelines/s3-deploy-bare.json"))
        .unwrap()
        .replace(
            "\"runOrder\": 1\n        },\n        {\n          \"name\": \"Archive\"",
            "\"runorder\": 1\n        },\n        {\n          \"name\": \"Archive\"",
        )
        .replace(
            "\"outputArtifacts\": [ { \"name\": \"SiteSource\" } ]",
            "\"outputArtifact\": [ { \"name\": \"SiteSource\" } ]",
        );
    std::fs::write(&path, text).unwrap();
    let out = pipelocal(&["validate", path.to_str().unwrap()]);
    assert_eq!(out.code, 1);
    assert!(
        out.stdout
            .contains("unknown field `runorder`; did you mean `runOrder`?"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout
            .contains("unknown field `outputArtifact`; did you mean `outputArtifacts`?"),
        "{}",
        out.stdout
    );
    // Validation still ran on the rest.
    assert!(
        out.stdout
            .contains("'SiteSource' is not previously defined as an 'OutputArtifact'"),
        "{}",
        out.stdout
    );
}

#[test]
fn a_template_without_pipeline_or_project_is_not_a_definition() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bucket.yaml");
    std::fs::write(&path, "Resources:\n  Bucket:\n    Type: AWS::S3::Bucket\n").unwrap();
    let out = pipelocal(&["validate", path.to_str().unwrap()]);
    assert_eq!(out.code, 2);
    assert!(
        out.stderr.contains(
            "the template holds no AWS::CodePipeline::Pipeline or AWS::CodeBuild::Project resource"
        ),
        "{}",
        out.stderr
    );
}

/// A project's problem points at the field, not at the project's name.
#[test]
fn project_problems_name_the_line_of_their_field() {
    let out = crate::common::pipelocal(&[
        "validate",
        fixture("invalid/projects/timeout-out-of-range.json")
            .to_str()
            .unwrap(),
        fixture("invalid/projects/empty-image.json")
            .to_str()
            .unwrap(),
    ]);
    assert_eq!(out.code, 1);
    assert!(
        out.stdout
            .contains("timeout-out-of-range.json:15: error: project 'app': timeoutInMinutes"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout
            .contains("empty-image.json:11: error: project 'app' has an empty environment.image"),
        "{}",
        out.stdout
    );
}

#[test]
fn every_pipeline_of_a_template_is_checked_and_named() {
    let file = fixture("invalid/pipelines/several-pipelines.yaml");
    let out = pipelocal(&["validate", file.to_str().unwrap()]);
    assert_eq!(out.code, 1, "{}{}", out.stdout, out.stderr);
    // Two pipelines named `release`: each problem says which one.
    assert!(out.stdout.contains(":22: pipeline 'release' (Blue): stage 'Deploy', action 'Upload': error: 'Scr' is not previously defined"), "{}", out.stdout);
    assert!(out.stdout.contains(":39: pipeline 'release' (Green): stage 'Deploy', action 'Upload': error: actionTypeId version '1.0' must be 1-9 characters"), "{}", out.stdout);
    assert!(
        out.stdout.contains("2 errors, 0 warnings"),
        "{}",
        out.stdout
    );
    // --name still picks one; graph still needs it.
    let out = pipelocal(&["validate", file.to_str().unwrap(), "--name", "nightly"]);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    let out = pipelocal(&["graph", file.to_str().unwrap()]);
    assert_eq!(out.code, 2);
    assert!(
        out.stderr.contains(
            "the template holds 3 pipelines (release, release, nightly); choose one with --name"
        ),
        "{}",
        out.stderr
    );
}

/// `pipelocal validate` with a user configuration file of its own.
fn validate_with_config(config: &str, args: &[&str]) -> crate::common::Output {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.yml");
    std::fs::write(&path, config).unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_pipelocal"))
        .arg("validate")
        .args(args)
        .current_dir(dir.path())
        .env("PIPELOCAL_CONFIG", &path)
        .output()
        .unwrap();
    crate::common::Output {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

#[test]
fn parameters_without_values_get_placeholders_and_one_warning_each() {
    let file = fixture("runs/parameters.yaml");
    let file = file.to_str().unwrap();
    let out = validate_with_config("", &[file]);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    // Used four times, AppName is named once; the wiring through
    // `!Sub ${AppName}-SourceArtifact` still checks out.
    assert_eq!(
        out.stdout.matches("parameter 'AppName'").count(),
        1,
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains(&format!("{file}:7: warning: parameter 'AppName' has no value: 'param-AppName' stands in for it; give one with --parameter AppName=...")), "{}", out.stdout);
    assert!(
        out.stdout
            .contains("valid pipeline definition (3 warnings)"),
        "{}",
        out.stdout
    );
}

#[test]
fn parameters_come_from_flags_files_and_configuration() {
    let file = fixture("runs/parameters.yaml");
    let file = file.to_str().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, text: &str| {
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        path.to_str().unwrap().to_string()
    };
    let create_stack = write(
        "create-stack.json",
        r#"[{"ParameterKey": "AppName", "ParameterValue": "shop"}, {"ParameterKey": "ServiceName", "ParameterValue": "cart"}]"#,
    );
    let deploy = write("deploy.json", r#"["BuildImage=pipelocal/busybox"]"#);
    let configuration = write(
        "configuration.json",
        r#"{"Parameters": {"Stage": "prod"}, "Tags": {"team": "shop"}}"#,
    );
    let out = validate_with_config(
        "",
        &[
            file,
            "--parameters",
            &create_stack,
            "--parameters",
            &deploy,
            "--parameters",
            &configuration,
        ],
    );
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert!(
        out.stdout
            .contains("valid pipeline definition (0 warnings)"),
        "{}",
        out.stdout
    );
    // The configuration file's `parameters`, then --parameter over it.
    let out = validate_with_config(
        "parameters:\n  AppName: shop\n  ServiceName: cart\n  BuildImage: img\n  Stage: nope\n",
        &[file],
    );
    assert_eq!(out.code, 1, "{}{}", out.stdout, out.stderr);
    assert!(out.stdout.contains(&format!("{file}:13: error: parameter 'Stage' is given 'nope', which is not one of its AllowedValues (dev, prod)")), "{}", out.stdout);
    let out = validate_with_config(
        "parameters:\n  AppName: shop\n  ServiceName: cart\n  BuildImage: img\n  Stage: nope\n",
        &[file, "--parameter", "Stage=dev"],
    );
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    // A file that is none of the formats is one line, exit 2.
    let bad = write("bad.json", r#"{"Stack": "x"}"#);
    let out = validate_with_config("", &[file, "--parameters", &bad]);
    assert_eq!(out.code, 2);
    assert!(
        out.stderr.contains("bad.json: not a parameter file"),
        "{}",
        out.stderr
    );
}

#[test]
fn graph_draws_the_names_parameters_give() {
    let file = fixture("runs/parameters.yaml");
    let out = pipelocal(&[
        "graph",
        file.to_str().unwrap(),
        "--parameter",
        "AppName=shop",
    ]);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert!(out.stdout.contains("shop-pipeline"), "{}", out.stdout);
    assert!(out.stdout.contains("shop-SourceArtifact"), "{}", out.stdout);
    // Without a value the placeholder is drawn, and graph says so as validate does.
    let out = pipelocal(&["graph", file.to_str().unwrap()]);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert!(out.stdout.contains("param-AppName-pipeline"), "{}", out.stdout);
    assert!(
        out.stderr
            .contains("parameter 'AppName' has no value: 'param-AppName' stands in for it"),
        "{}",
        out.stderr
    );
}
