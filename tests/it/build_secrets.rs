//! `--secrets-file`: parameter-store and secrets-manager values, masked in
//! every log line and never written to any file pipelocal writes, but for
//! an exported variable's value, which AWS exports as it is.


use crate::common::{executors, files_under, Project};

const SECRETS: &str = "parameters:\n  /app/db: hunter2-secret\nsecrets:\n  app/token: tok-SECRET-value\n  app/json: '{\"pw\": \"json-SECRET-pw\"}'\n";

const SPEC: &str = r#"version: 0.2
env:
  parameter-store:
    DB: /app/db
  secrets-manager:
    TOKEN: app/token
    PW: app/json:pw
  exported-variables:
    - COPY
    - PROJECT_TOKEN
phases:
  build:
    commands:
      - echo "db=$DB"
      - echo "hunter2-secret"
      - printf 'json-SEC'; sleep 0.3; printf 'RET-pw\n'
      - echo "$TOKEN" | cut -c1-3
      - COPY="$TOKEN"
      - test "$PROJECT_TOKEN" = "$TOKEN" && echo project-secret-resolved
      - for f in /codebuild/output/tmp/env.sh "$(dirname "$CODEBUILD_SRC_DIR")/tmp/env.sh"; do if [ -f "$f" ]; then grep -c -e " DB=" -e " TOKEN=" -e " PW=" -e " PROJECT_TOKEN=" "$f" || true; fi; done
artifacts:
  files:
    - '**/*'
"#;

const PROJECT: &str = r#"{"name": "secrets", "source": {"type": "NO_SOURCE"}, "environment": {"image": "unused",
  "environmentVariables": [{"name": "PROJECT_TOKEN", "value": "app/token", "type": "SECRETS_MANAGER"}]}}"#;

#[test]
fn secrets_are_resolved_masked_and_never_written() {
    for exec in executors() {
        let p = Project::new(SPEC);
        let secrets = tempfile::tempdir().unwrap();
        let secrets_file = secrets.path().join("secrets.yml");
        std::fs::write(&secrets_file, SECRETS).unwrap();
        let project = secrets.path().join("project.json");
        std::fs::write(&project, PROJECT).unwrap();
        let out = tempfile::tempdir().unwrap();
        let b = p.build(
            exec,
            &[
                "--secrets-file",
                secrets_file.to_str().unwrap(),
                "--project",
                project.to_str().unwrap(),
                "-a",
                out.path().to_str().unwrap(),
            ],
        );
        assert_eq!(b.code, 0, "{exec:?}: {}{}", b.log, b.stderr);
        assert_eq!(
            b.output(),
            vec![
                "db=***",
                "***",
                "***",
                "tok",
                "project-secret-resolved",
                "0"
            ],
            "{exec:?}"
        );
        assert!(
            b.log.contains("Running command echo \"***\"\n"),
            "{}",
            b.log
        );
        // An exported variable holding a secret is exported with its value,
        // as AWS does (only the project's secrets are never exported).
        assert_eq!(
            b.record["exportedEnvironmentVariables"],
            serde_json::json!([{"name": "COPY", "value": "tok-SECRET-value"}])
        );
        // Nothing else pipelocal wrote holds a secret value: log, record, state folder, artifacts.
        let mut written = vec![
            ("log".to_string(), b.log.clone()),
            ("stderr".to_string(), b.stderr.clone()),
        ];
        for dir in [p.state.path(), out.path()] {
            for f in files_under(dir) {
                let bytes = std::fs::read(&f).unwrap();
                written.push((
                    f.display().to_string(),
                    String::from_utf8_lossy(&bytes).into_owned(),
                ));
            }
        }
        for (name, text) in written {
            let text = text
                .replace("\"value\": \"tok-SECRET-value\"", "")
                .replace("\"value\":\"tok-SECRET-value\"", "");
            for secret in ["hunter2-secret", "tok-SECRET-value", "json-SECRET-pw"] {
                assert!(!text.contains(secret), "{exec:?}: {name} holds {secret}");
            }
        }
    }
}

#[test]
fn an_unknown_secret_fails_download_source_naming_it() {
    for exec in executors() {
        let p = Project::new("version: 0.2\nenv:\n  parameter-store:\n    DB: /app/missing\nphases:\n  build:\n    commands:\n      - echo never\n");
        let b = p.build(exec, &[]);
        assert_eq!(
            b.phase_status("DOWNLOAD_SOURCE").as_deref(),
            Some("FAILED"),
            "{exec:?}"
        );
        let (code, message) = b.context("DOWNLOAD_SOURCE");
        assert_eq!(code, "Decrypted Variables Error");
        assert_eq!(message, "parameter-store variable DB: parameter '/app/missing' does not exist; give its value in a --secrets-file");
        assert!(!b.log.contains("Running command"));

        let secrets = tempfile::tempdir().unwrap();
        let file = secrets.path().join("s.json");
        std::fs::write(&file, r#"{"secrets": {"other": "x"}}"#).unwrap();
        let p = Project::new("version: 0.2\nenv:\n  secrets-manager:\n    T: app/token:key\nphases:\n  build:\n    commands:\n      - echo never\n");
        let b = p.build(exec, &["--secrets-file", file.to_str().unwrap()]);
        assert_eq!(b.context("DOWNLOAD_SOURCE").1, "secrets-manager variable T: secret 'app/token' is not in the secrets file; add it to the --secrets-file");
    }
}
