//! Deploy, invoke and approval actions in `pipelocal run`: what each checks,
//! what it writes or records, local commands standing in for functions and
//! custom actions, and approvals by flag and on a terminal.


use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common::{docker_available, fixture, git_repo, repo};
use serde_json::Value;

const TEMPLATE: &str = "AWSTemplateFormatVersion: '2010-09-09'
Parameters:
  Env: {Type: String}
  Bucket: {Type: String}
  Size: {Type: String}
  Region: {Type: String, Default: us-east-1}
Conditions:
  IsProd: !Equals [!Ref Env, prod]
Resources:
  Topic:
    Type: AWS::SNS::Topic
Outputs:
  Endpoint:
    Value: https://app.example.com
  TopicArn:
    Value: !Ref Topic
  ChosenSize:
    Value: !Ref Size
  Where:
    Value: !Sub '${Env}-${Bucket}-${Region}-${AWS::AccountId}'
  ProdOnly:
    Condition: IsProd
    Value: only-in-prod
";

const APPSPEC: &str = "version: 0.0
os: linux
files:
  - source: /
    destination: /srv/app
hooks:
  AfterInstall:
    - location: scripts/restart.sh
      timeout: 60
";

fn good_files() -> Vec<(&'static str, &'static str)> {
    vec![
        ("index.html", "<h1>hello</h1>\n"),
        (
            "imagedefinitions.json",
            r#"[{"name": "web", "imageUri": "pipelocal/busybox"}]"#,
        ),
        ("template.yaml", TEMPLATE),
        ("params.json", r#"{"size": "large"}"#),
        ("appspec.yml", APPSPEC),
        ("scripts/restart.sh", "echo restarted\n"),
    ]
}

const LOCAL_COMMANDS: &str = r#"functions:
  notify:
    command: 'echo "notified $USER_PARAMETERS"; echo "{\"outputVariables\": {\"Sent\": \"yes\"}}"'
actions:
  Deploy/Custom:
    command: 'mkdir -p outputs/CustomOut && cp index.html outputs/CustomOut/page.html && echo "config $PIPELOCAL_ACTION_CONFIGURATION"'
"#;

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
    state: tempfile::TempDir,
    _src: tempfile::TempDir,
    _config: tempfile::TempDir,
}

impl Run {
    fn record(&self) -> Value {
        crate::common::newest_record(self.state.path())
    }

    fn action(&self, name: &str) -> Value {
        crate::common::action(&self.record(), name)
    }

    fn summary(&self, name: &str) -> String {
        self.action(name)["output"]["executionResult"]["externalExecutionSummary"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    fn artifact_text(&self, action: &str, output: &str, file: &str) -> String {
        let mut zip = crate::common::artifact(self.state.path(), &self.action(action), output);
        crate::common::zip_text(&mut zip, file)
    }

    fn log(&self) -> String {
        format!("{}\n{}", self.stdout, self.stderr)
    }
}

/// Runs `pipeline` with a repository of `files` as its source; `wrap` may put
/// the command line inside another (a pseudo-terminal).
fn run_deploy(pipeline: &Path, files: &[(&str, &str)], extra: &[&str], stdin: Option<&str>) -> Run {
    run_configured(LOCAL_COMMANDS, pipeline, files, extra, stdin)
}

/// As `run_deploy`, with this user configuration.
fn run_configured(
    config_text: &str,
    pipeline: &Path,
    files: &[(&str, &str)],
    extra: &[&str],
    stdin: Option<&str>,
) -> Run {
    let src = git_repo(files);
    let state = tempfile::tempdir().unwrap();
    let config = tempfile::tempdir().unwrap();
    let config_file = config.path().join("config.yml");
    std::fs::write(&config_file, config_text).unwrap();
    let source = format!("Code={}", src.path().display());
    let mut args: Vec<String> = vec![
        env!("CARGO_BIN_EXE_pipelocal").into(),
        "run".into(),
        pipeline.display().to_string(),
        "--source".into(),
        source,
    ];
    args.extend(extra.iter().map(|s| s.to_string()));
    let mut cmd = match stdin {
        // `script` gives the run a terminal: stdin and stdout are a pseudo-terminal.
        Some(_) => {
            let line = args
                .iter()
                .map(|a| format!("'{}'", a.replace('\'', "'\\''")))
                .collect::<Vec<_>>()
                .join(" ");
            let mut c = Command::new("script");
            c.args(["-q", "-e", "-c", &line, "/dev/null"]);
            c
        }
        None => {
            let mut c = Command::new(&args[0]);
            c.args(&args[1..]);
            c
        }
    };
    cmd.current_dir(repo())
        .env("PIPELOCAL_CONFIG", &config_file)
        .env("PIPELOCAL_STATE_DIR", state.path())
        .env("PIPELOCAL_EXECUTOR", "docker")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    {
        use std::io::Write;
        let mut input = child.stdin.take().unwrap();
        if let Some(text) = stdin {
            // Give the prompt time to appear before answering it.
            std::thread::sleep(std::time::Duration::from_secs(3));
            input.write_all(text.as_bytes()).unwrap();
        }
    }
    let out = child.wait_with_output().unwrap();
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        state,
        _src: src,
        _config: config,
    }
}

fn deploy_pipeline() -> PathBuf {
    fixture("runs/deploy.json")
}

#[test]
fn every_deploy_and_invoke_action_does_what_it_can_locally() {
    if !docker_available() {
        return;
    }
    let r = run_deploy(&deploy_pipeline(), &good_files(), &["--approve"], None);
    assert_eq!(r.code, 0, "{}", r.log());
    assert_eq!(r.summary("Gate"), "Approved: --approve");

    // S3: extracted into the local bucket, or the zip as one object.
    let bucket = r.state.path().join("s3/site-bucket");
    assert_eq!(
        std::fs::read_to_string(bucket.join("v1/index.html")).unwrap(),
        "<h1>hello</h1>\n"
    );
    let bundle = std::fs::File::open(bucket.join("bundles/app.zip")).unwrap();
    assert!(zip::ZipArchive::new(bundle)
        .unwrap()
        .by_name("appspec.yml")
        .is_ok());

    assert_eq!(
        r.summary("Service"),
        "Would update service web in cluster main: web=pipelocal/busybox"
    );

    // CloudFormation: parameters from overrides, Fn::GetParam and Fn::GetArtifactAtt.
    assert!(
        r.summary("Stack")
            .starts_with("Would create or update stack app from template.yaml"),
        "{}",
        r.summary("Stack")
    );
    assert!(
        r.stdout.contains("[Deploy/Stack] parameter Size = large"),
        "{}",
        r.stdout
    );
    assert!(r
        .stdout
        .contains("[Deploy/Stack] parameter Bucket = flow-artifacts"));
    let outputs: Value =
        serde_json::from_str(&r.artifact_text("Stack", "StackOut", "outputs.json")).unwrap();
    assert_eq!(outputs["Endpoint"], "https://app.example.com");
    assert_eq!(
        r.action("Stack")["output"]["outputVariables"]["Endpoint"],
        "https://app.example.com"
    );
    // Outputs computable from parameters (Fn::GetParam, Fn::GetArtifactAtt,
    // defaults) and pseudo parameters are computed; a resource's value is
    // CloudFormation's; an output whose Condition is false does not exist.
    let vars = &r.action("Stack")["output"]["outputVariables"];
    assert_eq!(vars["ChosenSize"], "large", "{vars}");
    assert_eq!(
        vars["Where"], "dev-flow-artifacts-us-east-1-123456789012",
        "{vars}"
    );
    assert_eq!(
        vars["TopicArn"], "(computed by CloudFormation: {\"Ref\":\"Topic\"})",
        "{vars}"
    );
    assert!(vars.get("ProdOnly").is_none(), "{vars}");
    assert_eq!(outputs["ChosenSize"], "large");

    assert_eq!(r.summary("Hosts"), "Would deploy Src to app/hosts");
    assert!(r
        .stdout
        .contains("[Deploy/Hosts] AfterInstall: scripts/restart.sh"));
    assert!(
        r.summary("Flow")
            .starts_with("Recorded a start of arn:aws:states"),
        "{}",
        r.summary("Flow")
    );

    // A Lambda mapped to a local command gets its UserParameters (a variable
    // of an earlier action) and gives output variables.
    assert!(
        r.stdout
            .contains("[Deploy/Notify] notified https://app.example.com"),
        "{}",
        r.stdout
    );
    assert_eq!(
        r.action("Notify")["output"]["outputVariables"]["Sent"],
        "yes"
    );
    assert!(r
        .summary("Record")
        .starts_with("Recorded an invocation of unmapped-function"));

    // The escape hatch: a custom action run by a local command, its output collected.
    assert_eq!(
        r.artifact_text("Custom", "CustomOut", "page.html"),
        "<h1>hello</h1>\n"
    );
    assert!(
        r.stdout
            .contains("config {\"ProjectName\":\"legacy-deploy\"}"),
        "{}",
        r.stdout
    );
}

#[test]
fn broken_deploy_inputs_fail_the_way_aws_would() {
    if !docker_available() {
        return;
    }
    let mut files = good_files();
    files.retain(|(n, _)| {
        *n != "template.yaml" && *n != "imagedefinitions.json" && *n != "scripts/restart.sh"
    });
    files.push((
        "imagedefinitions.json",
        r#"[{"name": "web", "imageURI": "pipelocal/busybox"}]"#,
    ));
    let r = run_deploy(&deploy_pipeline(), &files, &["--approve"], None);
    assert_eq!(r.code, 1, "{}", r.log());
    let failed = |name: &str| {
        let a = r.action(name);
        assert_eq!(a["status"], "Failed", "{name}: {a}");
        a["output"]["executionResult"]["errorDetails"]["message"]
            .as_str()
            .unwrap()
            .to_string()
    };
    assert_eq!(
        failed("Service"),
        "imagedefinitions.json: entry 1 has no \"imageUri\" string"
    );
    assert_eq!(
        failed("Stack"),
        "template.yaml does not exist in input artifact Src"
    );
    assert_eq!(
        failed("Hosts"),
        "appspec.yml:8: the AfterInstall hook script scripts/restart.sh is not in the bundle"
    );
    // Siblings finish; the next run-order group never starts.
    assert_eq!(r.action("Site")["status"], "Succeeded");
    assert!(r.action("Notify").is_null());
}

#[test]
fn an_image_that_is_neither_local_nor_pullable_fails_the_ecs_deploy() {
    if !docker_available() {
        return;
    }
    let mut files = good_files();
    files.retain(|(n, _)| *n != "imagedefinitions.json");
    files.push((
        "imagedefinitions.json",
        r#"[{"name": "web", "imageUri": "pipelocal-test/no-such-image:1"}]"#,
    ));
    let r = run_deploy(&deploy_pipeline(), &files, &["--approve"], None);
    assert_eq!(r.code, 1, "{}", r.log());
    let service = r.action("Service");
    assert_eq!(service["status"], "Failed");
    let message = service["output"]["executionResult"]["errorDetails"]["message"]
        .as_str()
        .unwrap();
    assert!(
        message.contains("pipelocal-test/no-such-image:1") && message.contains("cannot be pulled"),
        "{message}"
    );
}

#[test]
fn a_template_path_naming_an_artifact_that_is_not_an_input_stops_before_running() {
    let text = std::fs::read_to_string(deploy_pipeline()).unwrap();
    let broken = text.replace("Src::template.yaml", "BuildOutput::template.yaml");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("pipeline.json");
    std::fs::write(&file, broken).unwrap();
    let r = run_deploy(&file, &good_files(), &["--approve"], None);
    assert_eq!(r.code, 2, "{}", r.log());
    assert!(r.stderr.contains("BuildOutput"), "{}", r.stderr);
    assert!(!r.state.path().join("pipelines").exists());
}

#[test]
fn approvals_by_flag_without_a_terminal_and_on_a_terminal() {
    if !docker_available() {
        return;
    }
    let r = run_deploy(&deploy_pipeline(), &good_files(), &["--reject"], None);
    assert_eq!(r.code, 1, "{}", r.log());
    assert_eq!(r.summary("Gate"), "Rejected: --reject");
    assert!(
        r.action("Site").is_null(),
        "the Deploy stage started after a rejection"
    );

    let r = run_deploy(&deploy_pipeline(), &good_files(), &[], None);
    assert_eq!(r.code, 1);
    assert_eq!(
        r.summary("Gate"),
        "a manual approval needs an answer: run on a terminal, or pass --approve or --reject"
    );

    // On a terminal a rejection with a comment fails the action.
    let r = run_deploy(&deploy_pipeline(), &good_files(), &[], Some("n\nnot yet\n"));
    assert_eq!(r.code, 1, "{}", r.log());
    assert_eq!(r.summary("Gate"), "Rejected: not yet");
    assert!(r.action("Site").is_null());

    // On a terminal the approval shows CustomData (with its variable resolved)
    // and the link, and takes an answer and a comment.
    let r = run_deploy(
        &deploy_pipeline(),
        &good_files(),
        &[],
        Some("y\nlooks good\n"),
    );
    assert_eq!(r.code, 0, "{}", r.log());
    assert!(
        r.stdout.contains("Approval needed: Approve/Gate"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout.contains("CustomData: Ship commit "),
        "{}",
        r.stdout
    );
    assert!(r
        .stdout
        .contains("ExternalEntityLink: https://example.com/review"));
    let gate = r.action("Gate");
    assert_eq!(gate["status"], "Succeeded");
    assert_eq!(r.summary("Gate"), "Approved: looks good");
    assert!(gate["lastUpdateTime"].as_f64().unwrap() >= gate["startTime"].as_f64().unwrap());
}

const TASKDEF: &str =
    r#"{"family": "app", "containerDefinitions": [{"name": "web", "image": "<IMAGE1_NAME>"}]}"#;
const ECS_APPSPEC: &str = "version: 0.0
Resources:
  - TargetService:
      Type: AWS::ECS::Service
      Properties:
        TaskDefinition: <TASK_DEFINITION>
        LoadBalancerInfo:
          ContainerName: web
          ContainerPort: 80
";

fn more_files() -> Vec<(&'static str, &'static str)> {
    vec![
        ("taskdef.json", TASKDEF),
        ("appspec.yaml", ECS_APPSPEC),
        ("imageDetail.json", r#"{"ImageURI": "pipelocal/busybox"}"#),
        ("template.yaml", TEMPLATE),
        (
            "config.json",
            r#"{"Parameters": {"Env": "dev", "Bucket": "b", "Size": "s"}}"#,
        ),
        ("sfn-input.json", r#"{"release": "v1"}"#),
    ]
}

#[test]
fn blue_green_beanstalk_change_sets_and_step_functions() {
    if !docker_available() {
        return;
    }
    let r = run_deploy(&fixture("runs/deploy-more.json"), &more_files(), &[], None);
    assert_eq!(r.code, 0, "{}", r.log());
    assert_eq!(
        r.summary("BlueGreen"),
        "Would start a blue/green deployment of app to bg"
    );
    assert!(
        r.stdout
            .contains("[Deploy/BlueGreen] <IMAGE1_NAME> -> pipelocal/busybox"),
        "{}",
        r.stdout
    );
    assert!(r
        .summary("Beanstalk")
        .starts_with("Recorded a deployment of Src to app/prod"));
    assert!(
        r.summary("ChangeSet")
            .starts_with("Would create a change set for stack app"),
        "{}",
        r.summary("ChangeSet")
    );
    assert!(
        r.action("ChangeSet")["output"]["outputVariables"]
            .as_object()
            .unwrap()
            .is_empty(),
        "no outputs before the change set runs"
    );
    assert_eq!(
        r.summary("Execute"),
        "Would execute change set cs1 of stack app"
    );
    // Its outputs, computed from the template configuration's parameters.
    assert_eq!(
        r.action("Execute")["output"]["outputVariables"]["Where"],
        "dev-b-us-east-1-123456789012"
    );
    assert_eq!(r.summary("Delete"), "Would delete stack old-app");
    assert!(
        r.stdout
            .contains("[Deploy/Flow] input: {\"release\": \"v1\"}"),
        "{}",
        r.stdout
    );

    // A task definition without the image placeholder, and a state machine input that is not JSON.
    let mut files = more_files();
    files.retain(|(n, _)| *n != "taskdef.json" && *n != "sfn-input.json");
    files.push((
        "taskdef.json",
        r#"{"family": "app", "containerDefinitions": [{"name": "web", "image": "nginx"}]}"#,
    ));
    files.push(("sfn-input.json", "release=v1"));
    let r = run_deploy(&fixture("runs/deploy-more.json"), &files, &[], None);
    assert_eq!(r.code, 1, "{}", r.log());
    let message = |name: &str| {
        r.action(name)["output"]["executionResult"]["errorDetails"]["message"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    };
    assert_eq!(
        message("BlueGreen"),
        "taskdef.json has no placeholder <IMAGE1_NAME> for Image1ArtifactName Src"
    );
    assert!(
        message("Flow").starts_with("Input is not valid JSON"),
        "{}",
        message("Flow")
    );
    assert!(
        r.action("Execute").is_null(),
        "the next group never started"
    );
}

#[test]
fn an_action_nothing_emulates_says_how_to_map_it() {
    if !docker_available() {
        return;
    }
    let functions_only = LOCAL_COMMANDS.split("actions:").next().unwrap();
    let r = run_configured(
        functions_only,
        &deploy_pipeline(),
        &good_files(),
        &["--approve"],
        None,
    );
    assert_eq!(r.code, 1, "{}", r.log());
    let custom = r.action("Custom");
    assert_eq!(custom["status"], "Failed");
    assert_eq!(
        custom["output"]["executionResult"]["errorDetails"]["message"],
        "Deploy/Custom/Jenkins actions are not emulated: map this one to a local command in .pipelocal.yml (actions: {Deploy/Custom: {command: ..., image: ...}})"
    );
}
