//! `run --deploy local` with ECS deploy actions, through real containers:
//! the standard deploy's rolling update (a new image that serves, one whose
//! container exits, a health check that never passes) and CodeDeployToECS
//! blue/green (green beside blue, blue replaced only once green is healthy
//! and the hooks passed). Each test's services have names of their own and
//! its containers, networks and images go when it ends, failing or not.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common::{docker_available, git_repo, pipelocal_env, unique_project, Output, BUSYBOX};

/// Removes what a test made in Docker, when it ends however it ends.
struct Cleanup {
    /// `cluster/service` of the tasks deployed.
    targets: Vec<String>,
    images: Vec<String>,
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        for target in &self.targets {
            let label = format!("label=dev.pipelocal.deploy-target={target}");
            for id in docker_lines(&["ps", "-aq", "--filter", &label]) {
                docker_lines(&["rm", "-f", &id]);
            }
            for id in docker_lines(&["network", "ls", "-q", "--filter", &label]) {
                docker_lines(&["network", "rm", &id]);
            }
        }
        for image in &self.images {
            docker_lines(&["rmi", "-f", image]);
        }
    }
}

/// A test's service: a name no other test run uses, its `cluster/service`,
/// and the images built for it, all removed at the end.
struct Fixture {
    name: String,
    target: String,
    cleanup: Cleanup,
}

impl Fixture {
    /// `target` makes the service's `cluster/service` from its unique name.
    fn new(prefix: &str, target: impl Fn(&str) -> String) -> Fixture {
        let name = unique_project(prefix);
        let target = target(&name);
        Fixture {
            cleanup: Cleanup {
                targets: vec![target.clone()],
                images: Vec::new(),
            },
            name,
            target,
        }
    }

    /// Builds the image `version` (see [`build_image`]) and gives its tag.
    fn image(&mut self, version: &str, page: Option<&str>) -> String {
        let tag = format!("pipelocal-test/{}:{version}", self.name);
        self.cleanup.images.push(tag.clone());
        build_image(&tag, page);
        tag
    }
}

fn docker_lines(args: &[&str]) -> Vec<String> {
    let out = Command::new("docker").args(args).output().expect("docker");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(String::from)
        .collect()
}

/// A busybox image serving `page` at / on port 80 (`httpd`), or, with
/// `page` `None`, one whose command prints two lines and exits 3.
fn build_image(tag: &str, page: Option<&str>) {
    let dir = tempfile::tempdir().unwrap();
    let command = match page {
        Some(text) => {
            std::fs::create_dir_all(dir.path().join("www")).unwrap();
            std::fs::write(dir.path().join("www/index.html"), text).unwrap();
            r#"COPY www /www
CMD ["httpd", "-f", "-p", "80", "-h", "/www"]"#
        }
        None => r#"CMD ["sh", "-c", "echo starting; echo 'fatal: DATABASE_URL is not set' >&2; exit 3"]"#,
    };
    std::fs::write(
        dir.path().join("Dockerfile"),
        format!("FROM {BUSYBOX}\n{command}\n"),
    )
    .unwrap();
    let out = Command::new("docker")
        .args(["build", "-q", "-t", tag])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}

/// The task definition of a service with one container `web`.
fn task_definition(health: &str) -> String {
    format!(
        r#"{{
  "family": "web",
  "containerDefinitions": [
    {{
      "name": "web",
      "image": "{BUSYBOX}",
      "essential": true,
      "portMappings": [
        {{
          "containerPort": 80
        }}
      ],
      "environment": [
        {{
          "name": "GREETING",
          "value": "hello"
        }}
      ]{health}
    }}
  ]
}}
"#
    )
}

/// A health check that passes once httpd serves.
const SERVING: &str = r#",
      "healthCheck": {
        "command": ["CMD-SHELL", "wget -q -O- http://127.0.0.1/ >/dev/null"],
        "interval": 5,
        "retries": 2
      }"#;

/// A pipeline taking `Src` from a folder and deploying it with `deploy`.
fn pipeline(dir: &Path, name: &str, deploy: &str) -> PathBuf {
    let text = format!(
        r#"{{
  "pipeline": {{
    "name": "{name}",
    "roleArn": "arn:aws:iam::123456789012:role/p",
    "artifactStore": {{"type": "S3", "location": "artifacts"}},
    "stages": [
      {{
        "name": "Source",
        "actions": [
          {{
            "name": "Code",
            "actionTypeId": {{"category": "Source", "owner": "AWS", "provider": "CodeStarSourceConnection", "version": "1"}},
            "configuration": {{"ConnectionArn": "arn:aws:codeconnections:us-east-1:123456789012:connection/x", "FullRepositoryId": "example/app", "BranchName": "main"}},
            "outputArtifacts": [{{"name": "Src"}}]
          }}
        ]
      }},
      {{
        "name": "Deploy",
        "actions": [
          {{
            "name": "Release",
            {deploy},
            "inputArtifacts": [{{"name": "Src"}}]
          }}
        ]
      }}
    ]
  }}
}}
"#
    );
    let path = dir.join("pipeline.json");
    std::fs::write(&path, text).unwrap();
    path
}

/// A template of `resources` and a pipeline taking `Src` from a folder and
/// deploying it with `deploy` (YAML at the action's indentation).
fn template_pipeline(dir: &Path, name: &str, resources: &str, deploy: &str) -> PathBuf {
    let text = format!(
        "Resources:
{resources}  Pipeline:
    Type: AWS::CodePipeline::Pipeline
    Properties:
      Name: {name}
      RoleArn: arn:aws:iam::123456789012:role/p
      ArtifactStore: {{Type: S3, Location: artifacts}}
      Stages:
        - Name: Source
          Actions:
            - Name: Code
              ActionTypeId: {{Category: Source, Owner: AWS, Provider: CodeStarSourceConnection, Version: '1'}}
              Configuration: {{ConnectionArn: 'arn:aws:codeconnections:us-east-1:123456789012:connection/x', FullRepositoryId: example/app, BranchName: main}}
              OutputArtifacts: [{{Name: Src}}]
        - Name: Deploy
          Actions:
            - Name: Release
              {deploy}
              InputArtifacts: [{{Name: Src}}]
"
    );
    let path = dir.join("template.yml");
    std::fs::write(&path, text).unwrap();
    path
}

fn ecs_action(cluster: &str, service: &str, extra: &str) -> String {
    format!(
        r#""actionTypeId": {{"category": "Deploy", "owner": "AWS", "provider": "ECS", "version": "1"}},
            "configuration": {{"ClusterName": "{cluster}", "ServiceName": "{service}"{extra}}}"#
    )
}

/// Runs `pipeline` with a git repository of `files` as its source, the
/// configuration `config` and the state folder `state`.
fn run(pipeline: &Path, files: &[(&str, &str)], config: &Path, state: &Path, flags: &[&str]) -> Output {
    let src = git_repo(files);
    let source = format!("Code={}", src.path().display());
    let mut args = vec!["run", pipeline.to_str().unwrap(), "--source", &source];
    args.extend(flags);
    let out = pipelocal_env(
        &args,
        &[
            ("PIPELOCAL_CONFIG", config.as_os_str()),
            ("PIPELOCAL_STATE_DIR", state.as_os_str()),
        ],
    );
    out
}

fn log(out: &Output) -> String {
    format!("{}\n{}", out.stdout, out.stderr)
}

fn image_definitions(image: &str) -> String {
    format!(r#"[{{"name": "web", "imageUri": "{image}"}}]"#)
}

/// `run --deploy local` of a source whose `imagedefinitions.json` gives
/// container `web` the image `image`.
fn deploy_images(pipeline: &Path, image: &str, config: &Path, state: &Path) -> Output {
    let files = [("imagedefinitions.json", image_definitions(image))];
    let files: Vec<(&str, &str)> = files.iter().map(|(n, t)| (*n, t.as_str())).collect();
    run(pipeline, &files, config, state, &["--deploy", "local"])
}

/// A port no one listens on now.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The body of `GET /` on 127.0.0.1:`port`.
fn fetch(port: u16) -> String {
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect");
    stream
        .write_all(b"GET / HTTP/1.0\r\nHost: localhost\r\n\r\n")
        .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    response
        .split_once("\r\n\r\n")
        .map(|(_, body)| body.to_string())
        .unwrap_or(response)
}

/// The task containers of `target`: name, revision and whether it runs.
fn task_containers(target: &str) -> Vec<(String, String, bool)> {
    let label = format!("label=dev.pipelocal.deploy-target={target}");
    docker_lines(&[
        "ps",
        "-a",
        "--filter",
        &label,
        "--format",
        "{{.Names}} {{.Label \"dev.pipelocal.ecs-revision\"}} {{.State}}",
    ])
    .into_iter()
    .map(|l| {
        let mut parts = l.split_whitespace();
        let name = parts.next().unwrap_or_default().to_string();
        let revision = parts.next().unwrap_or_default().to_string();
        (name, revision, parts.next() == Some("running"))
    })
    .collect()
}

/// The output of `script` run in the running container of `revision`.
fn inside(target: &str, revision: &str, script: &str) -> String {
    let running: Vec<_> = task_containers(target)
        .into_iter()
        .filter(|(_, r, up)| r == revision && *up)
        .collect();
    assert_eq!(running.len(), 1, "one running container of revision {revision}: {running:?}");
    docker_lines(&["exec", &running[0].0, "sh", "-c", script]).join("\n")
}

/// What `GET /` gives inside the running container of `revision`.
fn served_inside(target: &str, revision: &str) -> String {
    inside(target, revision, "wget -q -O- http://127.0.0.1/")
}

#[test]
fn a_new_image_replaces_the_running_task_and_serves_on_the_published_port() {
    if !docker_available() {
        return;
    }
    let mut f = Fixture::new("ecs-web", |name| format!("shop/{name}"));
    let (v1, v2, crash) = (
        f.image("v1", Some("version one\n")),
        f.image("v2", Some("version two\n")),
        f.image("crash", None),
    );
    let (service, target) = (f.name.clone(), f.target.clone());
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    std::fs::write(dir.path().join("web-task.json"), task_definition(SERVING)).unwrap();
    let config = dir.path().join("config.yml");
    std::fs::write(
        &config,
        format!("services:\n  shop/{service}:\n    task-definition: web-task.json\n    ports: ['{port}:80']\n"),
    )
    .unwrap();
    let p = pipeline(dir.path(), &service, &ecs_action("shop", &service, ""));
    let state = dir.path().join("state");

    let first = deploy_images(&p, &v1, &config, &state);
    assert_eq!(first.code, 0, "{}", log(&first));
    assert_eq!(fetch(port), "version one\n");
    // The container has its environment, and its name on the task's network.
    assert_eq!(
        inside(&target, "1", "echo $GREETING; wget -q -O- http://web/"),
        "hello\nversion one"
    );

    let second = deploy_images(&p, &v2, &config, &state);
    assert_eq!(second.code, 0, "{}", log(&second));
    assert!(log(&second).contains("runs task definition web:2"), "{}", log(&second));
    assert_eq!(fetch(port), "version two\n");
    let left = task_containers(&target);
    assert!(
        left.len() == 1 && left[0].1 == "2" && left[0].2,
        "only revision 2 is left: {left:?}"
    );

    // A task a stopped run left behind (revision 3, no port) beside
    // revision 2, which holds the port: both stop before the new one starts.
    leave_task(&left[0].0, "3");
    let third = deploy_images(&p, &v1, &config, &state);
    let text = log(&third);
    assert_eq!(third.code, 0, "{text}");
    assert!(text.contains("the running tasks (revisions 2, 3) stop"), "{text}");
    assert_eq!(fetch(port), "version one\n");
    let left = task_containers(&target);
    assert!(
        left.len() == 1 && left[0].1 == "4" && left[0].2,
        "only revision 4 is left: {left:?}"
    );

    // The published port is the old task's until the new one fails: then
    // the old one is started again and serves on it.
    let fourth = deploy_images(&p, &crash, &config, &state);
    assert_ne!(fourth.code, 0, "{}", log(&fourth));
    let text = log(&fourth);
    assert!(text.contains("essential container web exited with code 3"), "{text}");
    assert!(text.contains("fatal: DATABASE_URL is not set"), "{text}");
    assert!(text.contains("starting the previous task (revision 4) again"), "{text}");
    assert_eq!(fetch(port), "version one\n");
}

/// A task container of `revision` beside the task container `like` (its
/// labels, so the service finds it), publishing no port: what a run
/// stopped in the middle of a deploy may leave.
fn leave_task(like: &str, revision: &str) {
    let labels = docker_lines(&[
        "inspect",
        "-f",
        "{{range $k, $v := .Config.Labels}}{{$k}}={{$v}}\n{{end}}",
        like,
    ]);
    let mut args = vec!["run".to_string(), "-d".to_string()];
    for label in labels.into_iter().filter(|l| !l.is_empty()) {
        let label = match label.split_once('=') {
            Some(("dev.pipelocal.ecs-revision", _)) => {
                format!("dev.pipelocal.ecs-revision={revision}")
            }
            _ => label,
        };
        args.extend(["--label".to_string(), label]);
    }
    args.extend(
        [BUSYBOX, "sh", "-c", "trap 'exit 0' TERM; while :; do sleep 1; done"].map(String::from),
    );
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    assert_eq!(docker_lines(&args).len(), 1, "the container's id");
}

#[test]
fn a_container_that_exits_fails_the_deploy_and_the_template_service_keeps_its_task() {
    if !docker_available() {
        return;
    }
    let mut f = Fixture::new("ecs-tpl", |name| format!("tpl-cluster/{name}"));
    let (v1, crash) = (f.image("v1", Some("from the template\n")), f.image("crash", None));
    let (service, target) = (f.name.clone(), f.target.clone());
    let dir = tempfile::tempdir().unwrap();
    // The service and its task definition come from the template.
    let resources = format!(
        "  Cluster:
    Type: AWS::ECS::Cluster
    Properties: {{ClusterName: tpl-cluster}}
  Task:
    Type: AWS::ECS::TaskDefinition
    Properties:
      Family: web
      ContainerDefinitions:
        - Name: web
          Image: {BUSYBOX}
          PortMappings: [{{ContainerPort: 80}}]
  Service:
    Type: AWS::ECS::Service
    Properties:
      ServiceName: {service}
      Cluster: !Ref Cluster
      TaskDefinition: !Ref Task
"
    );
    let action = format!(
        "ActionTypeId: {{Category: Deploy, Owner: AWS, Provider: ECS, Version: '1'}}
              Configuration: {{ClusterName: !Ref Cluster, ServiceName: {service}}}"
    );
    let p = template_pipeline(dir.path(), &service, &resources, &action);
    let config = dir.path().join("config.yml");
    std::fs::write(&config, "{}\n").unwrap();
    let state = dir.path().join("state");

    let first = deploy_images(&p, &v1, &config, &state);
    assert_eq!(first.code, 0, "{}", log(&first));
    assert_eq!(served_inside(&target, "1"), "from the template");

    let second = deploy_images(&p, &crash, &config, &state);
    assert_ne!(second.code, 0, "{}", log(&second));
    let text = log(&second);
    assert!(text.contains("essential container web exited with code 3"), "{text}");
    assert!(text.contains("fatal: DATABASE_URL is not set"), "{text}");
    let left = task_containers(&target);
    assert!(
        left.len() == 1 && left[0].1 == "1" && left[0].2,
        "revision 1 still runs, alone: {left:?}"
    );
    assert_eq!(served_inside(&target, "1"), "from the template");

    // A container name the task definition does not have: ECS's words.
    let unknown = [("imagedefinitions.json", r#"[{"name": "api", "imageUri": "x"}]"#)];
    let third = run(&p, &unknown, &config, &state, &["--deploy", "local"]);
    let text = log(&third);
    assert_ne!(third.code, 0, "{text}");
    assert!(text.contains("The AWS ECS container api does not exist"), "{text}");
}

#[test]
fn a_failing_health_check_fails_at_once_and_one_that_never_passes_at_the_deployment_timeout() {
    if !docker_available() {
        return;
    }
    let mut f = Fixture::new("ecs-sick", |name| format!("shop/{name}"));
    let tag = f.image("v1", Some("never healthy\n"));
    let (service, target) = (f.name.clone(), f.target.clone());
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.yml");
    std::fs::write(
        &config,
        format!("services:\n  {service}:\n    task-definition: web-task.json\n"),
    )
    .unwrap();
    let p = pipeline(
        dir.path(),
        &service,
        &ecs_action("shop", &service, r#", "DeploymentTimeout": "1""#),
    );
    let state = dir.path().join("state");

    // A check that fails its retries turns the container unhealthy: at once a failure.
    let failing = r#",
      "healthCheck": {
        "command": ["CMD-SHELL", "echo not ready; exit 1"],
        "interval": 5,
        "retries": 1
      }"#;
    std::fs::write(dir.path().join("web-task.json"), task_definition(failing)).unwrap();
    let out = deploy_images(&p, &tag, &config, &state);
    let text = log(&out);
    assert_ne!(out.code, 0, "{text}");
    assert!(
        text.contains("container web failed its health check (exit status 1: not ready)"),
        "{text}"
    );
    assert_eq!(task_containers(&target), Vec::new(), "the failed task is removed");

    // Failures in the start period do not count: the check stays "starting".
    let never = r#",
      "healthCheck": {
        "command": ["CMD-SHELL", "echo not ready; exit 1"],
        "interval": 5,
        "startPeriod": 300
      }"#;
    std::fs::write(dir.path().join("web-task.json"), task_definition(never)).unwrap();
    let out = deploy_images(&p, &tag, &config, &state);
    assert_ne!(out.code, 0, "{}", log(&out));
    assert!(
        log(&out).contains(
            "the task did not turn healthy within 1 minute(s): container web (exit status 1: not ready)"
        ),
        "{}",
        log(&out)
    );
    assert_eq!(task_containers(&target), Vec::new(), "the failed task is removed");
}

const APPSPEC: &str = "version: 0.0
Resources:
  - TargetService:
      Type: AWS::ECS::Service
      Properties:
        TaskDefinition: <TASK_DEFINITION>
        LoadBalancerInfo:
          ContainerName: web
          ContainerPort: 80
Hooks:
  - BeforeInstall: prepare
  - AfterAllowTestTraffic: look
  - BeforeAllowTraffic: gate
";

/// `run --deploy local` of a blue/green source: the serving task definition
/// with its image placeholder, `appspec`, `image` in `imageDetail.json`, and
/// the `extra` files.
fn deploy_blue_green(
    pipeline: &Path,
    appspec: &str,
    image: &str,
    extra: &[(&str, &str)],
    config: &Path,
    state: &Path,
) -> Output {
    let taskdef = task_definition(SERVING).replace(BUSYBOX, "<IMAGE1_NAME>");
    let detail = format!(r#"{{"ImageURI": "{image}"}}"#);
    let mut files = vec![
        ("taskdef.json", taskdef.as_str()),
        ("appspec.yaml", appspec),
        ("imageDetail.json", detail.as_str()),
    ];
    files.extend_from_slice(extra);
    run(pipeline, &files, config, state, &["--deploy", "local"])
}

#[test]
fn blue_green_replaces_blue_only_once_green_is_healthy_and_the_hooks_pass() {
    if !docker_available() {
        return;
    }
    let mut f = Fixture::new("ecs-bg", |name| format!("{name}/blue-green"));
    for v in ["v1", "v2", "v3"] {
        f.image(v, Some(&format!("{v}\n")));
    }
    let (app, target) = (f.name.clone(), f.target.clone());
    let tag = |v: &str| format!("pipelocal-test/{app}:{v}");
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.yml");
    // `look` lists the service's running containers while it runs; `gate`
    // fails when the revision's source says so; `prepare` is not mapped.
    std::fs::write(
        &config,
        format!(
            r#"functions:
  look:
    command: 'echo "running: $(docker ps --filter label=dev.pipelocal.deploy-target={target} --format "{{{{.Names}}}}" | sort | tr "\n" " ")"'
  gate:
    command: 'echo "gate for $LIFECYCLE_EVENT of $DEPLOYMENT_ID"; test ! -e "$CODEBUILD_SRC_DIR/fail-gate"'
"#
        ),
    )
    .unwrap();
    let action = format!(
        r#""actionTypeId": {{"category": "Deploy", "owner": "AWS", "provider": "CodeDeployToECS", "version": "1"}},
            "configuration": {{"ApplicationName": "{app}", "DeploymentGroupName": "blue-green", "TaskDefinitionTemplateArtifact": "Src", "AppSpecTemplateArtifact": "Src", "Image1ArtifactName": "Src", "Image1ContainerName": "IMAGE1_NAME"}}"#
    );
    let p = pipeline(dir.path(), &app, &action);
    let state = dir.path().join("state");
    let deploy =
        |v: &str, extra: &[(&str, &str)]| deploy_blue_green(&p, APPSPEC, &tag(v), extra, &config, &state);

    let first = deploy("v1", &[]);
    assert_eq!(first.code, 0, "{}", log(&first));
    assert_eq!(served_inside(&target, "1"), "v1");
    assert!(log(&first).contains("would invoke Lambda function prepare"), "{}", log(&first));

    let second = deploy("v2", &[]);
    let text = log(&second);
    assert_eq!(second.code, 0, "{text}");
    // While the hooks after Install ran, blue (r1) and green (r2) both ran.
    let during = text
        .lines()
        .find(|l| l.contains("running: pipelocal-"))
        .unwrap_or_else(|| panic!("the look hook's line: {text}"));
    assert!(during.contains("-r1-web-") && during.contains("-r2-web-"), "{during}");
    let order: Vec<usize> = [
        "BeforeInstall: Succeeded",
        "task of revision 2 is running and healthy",
        "] Install: Succeeded",
        "AfterAllowTestTraffic: Succeeded",
        "BeforeAllowTraffic: Succeeded",
        "AfterAllowTraffic: Succeeded",
        "stopped and removed the task of revision 1",
    ]
        .iter()
        .map(|s| text.find(s).unwrap_or_else(|| panic!("{s} in {text}")))
        .collect();
    assert!(order.windows(2).all(|w| w[0] < w[1]), "in CodeDeploy's order: {text}");
    assert!(text.contains("gate for BeforeAllowTraffic of d-"), "{text}");
    // The action execution's externalExecutionId is the deployment's id.
    let record = crate::common::newest_record(&state);
    let action = &record["actionExecutions"]
        .as_array()
        .and_then(|all| all.iter().rev().find(|a| a["stageName"] == "Deploy"))
        .cloned()
        .unwrap_or_default();
    let id = action["output"]["executionResult"]["externalExecutionId"]
        .as_str()
        .unwrap_or_default();
    assert!(
        id.starts_with("d-") && text.contains(&format!("Deployment {id} succeeded")),
        "{id}: {text}"
    );
    let left = task_containers(&target);
    assert!(left.len() == 1 && left[0].1 == "2", "green alone: {left:?}");
    assert_eq!(served_inside(&target, "2"), "v2");

    // A failing hook: green goes, blue keeps running.
    let third = deploy("v3", &[("fail-gate", "")]);
    let text = log(&third);
    assert_ne!(third.code, 0, "{text}");
    assert!(text.contains("failed at BeforeAllowTraffic"), "{text}");
    let left = task_containers(&target);
    assert!(left.len() == 1 && left[0].1 == "2" && left[0].2, "blue alone: {left:?}");
    assert_eq!(served_inside(&target, "2"), "v2");
}

#[test]
fn without_deploy_local_an_ecs_deploy_starts_nothing() {
    if !docker_available() {
        return;
    }
    let f = Fixture::new("ecs-dry", |name| format!("shop/{name}"));
    let (service, target) = (f.name.clone(), f.target.clone());
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.yml");
    std::fs::write(&config, "{}\n").unwrap();
    let p = pipeline(dir.path(), &service, &ecs_action("shop", &service, ""));
    let definitions = image_definitions(BUSYBOX);
    let files = [("imagedefinitions.json", definitions.as_str())];
    let out = run(&p, &files, &config, &dir.path().join("state"), &[]);
    let text = log(&out);
    assert_eq!(out.code, 0, "{text}");
    assert!(text.contains(&format!("Would update service {service}")), "{text}");
    assert_eq!(task_containers(&target), Vec::new());
}

#[test]
fn a_service_without_a_usable_task_definition_fails_saying_where_to_give_one() {
    if !docker_available() {
        return;
    }
    let f = Fixture::new("ecs-none", |name| format!("shop/{name}"));
    let service = f.name.clone();
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.yml");
    std::fs::write(&config, "{}\n").unwrap();
    let p = pipeline(dir.path(), &service, &ecs_action("shop", &service, ""));
    let state = dir.path().join("state");
    let out = deploy_images(&p, BUSYBOX, &config, &state);
    let text = log(&out);
    assert_ne!(out.code, 0, "{text}");
    assert!(
        text.contains(&format!("no task definition for service {service} in cluster shop"))
            && text.contains("AWS::ECS::Service")
            && text.contains(&format!("services: {{shop/{service}: {{task-definition: FILE}}}}")),
        "{text}"
    );

    // A task definition file ECS would refuse: its file and line.
    let broken = r#",
      "healthCheck": {
        "command": ["wget -q -O- http://127.0.0.1/"]
      }"#;
    std::fs::write(dir.path().join("web-task.json"), task_definition(broken)).unwrap();
    std::fs::write(
        &config,
        format!("services:\n  {service}:\n    task-definition: web-task.json\n"),
    )
    .unwrap();
    let out = deploy_images(&p, BUSYBOX, &config, &state);
    let text = log(&out);
    assert_ne!(out.code, 0, "{text}");
    assert!(text.contains("web-task.json:19:"), "{text}");
    assert!(text.contains("healthCheck command must be"), "{text}");
    assert_eq!(task_containers(&f.target), Vec::new());
}

#[test]
fn blue_green_to_the_templates_service_gives_its_published_port_back_to_blue_when_a_hook_fails() {
    if !docker_available() {
        return;
    }
    let mut f = Fixture::new("ecs-bgt", |name| format!("bg-cluster/{name}"));
    let (v1, v2) = (f.image("v1", Some("blue\n")), f.image("v2", Some("green\n")));
    let (name, target) = (f.name.clone(), f.target.clone());
    let dir = tempfile::tempdir().unwrap();
    // The deployment group deploys to the template's service; the
    // configuration publishes that service's port.
    let resources = format!(
        "  Cluster:
    Type: AWS::ECS::Cluster
    Properties: {{ClusterName: bg-cluster}}
  Service:
    Type: AWS::ECS::Service
    Properties:
      ServiceName: {name}
      Cluster: !Ref Cluster
      DeploymentController: {{Type: CODE_DEPLOY}}
  App:
    Type: AWS::CodeDeploy::Application
    Properties: {{ApplicationName: {name}, ComputePlatform: ECS}}
  Group:
    Type: AWS::CodeDeploy::DeploymentGroup
    Properties:
      ApplicationName: !Ref App
      DeploymentGroupName: release
      ECSServices: [{{ClusterName: !Ref Cluster, ServiceName: !GetAtt Service.Name}}]
"
    );
    let action = format!(
        "ActionTypeId: {{Category: Deploy, Owner: AWS, Provider: CodeDeployToECS, Version: '1'}}
              Configuration: {{ApplicationName: {name}, DeploymentGroupName: release, TaskDefinitionTemplateArtifact: Src, AppSpecTemplateArtifact: Src, Image1ArtifactName: Src}}"
    );
    let p = template_pipeline(dir.path(), &name, &resources, &action);
    let port = free_port();
    let config = dir.path().join("config.yml");
    std::fs::write(
        &config,
        format!(
            "services:\n  bg-cluster/{name}:\n    ports: ['{port}:80']\nfunctions:\n  gate:\n    command: 'test ! -e \"$CODEBUILD_SRC_DIR/fail-gate\"'\n"
        ),
    )
    .unwrap();
    let appspec = APPSPEC.replace("  - BeforeInstall: prepare\n  - AfterAllowTestTraffic: look\n  - BeforeAllowTraffic: gate\n", "  - AfterAllowTraffic: gate\n");
    let state = dir.path().join("state");
    let deploy = |image: &str, extra: &[(&str, &str)]| {
        deploy_blue_green(&p, &appspec, image, extra, &config, &state)
    };

    let first = deploy(&v1, &[]);
    assert_eq!(first.code, 0, "{}", log(&first));
    assert_eq!(fetch(port), "blue\n");

    let second = deploy(&v2, &[("fail-gate", "")]);
    let text = log(&second);
    assert_ne!(second.code, 0, "{text}");
    assert!(text.contains("failed at AfterAllowTraffic"), "{text}");
    assert!(text.contains("the running task (revision 1) stops before the new one starts"), "{text}");
    assert!(text.contains("starting the previous task (revision 1) again"), "{text}");
    let left = task_containers(&target);
    assert!(left.len() == 1 && left[0].1 == "1" && left[0].2, "blue alone: {left:?}");
    assert_eq!(fetch(port), "blue\n");
}

#[test]
fn what_no_action_deploys_stops_no_run_the_broken_service_fails_when_deployed() {
    if !docker_available() {
        return;
    }
    let mut f = Fixture::new("ecs-apart", |name| format!("apart/{name}"));
    let v1 = f.image("v1", Some("apart\n"));
    let (service, target) = (f.name.clone(), f.target.clone());
    let broken = format!("{service}-broken");
    f.cleanup.targets.push(format!("apart/{broken}"));
    let dir = tempfile::tempdir().unwrap();
    // Beside the deployed service: a service whose task definition ECS
    // would refuse, and a deployment group whose alarm's name does not
    // resolve locally and whose role is known only once deployed.
    let resources = format!(
        "  Task:
    Type: AWS::ECS::TaskDefinition
    Properties:
      ContainerDefinitions:
        - Name: web
          Image: {BUSYBOX}
          PortMappings: [{{ContainerPort: 80}}]
  Service:
    Type: AWS::ECS::Service
    Properties: {{ServiceName: {service}, Cluster: apart, TaskDefinition: !Ref Task}}
  BrokenTask:
    Type: AWS::ECS::TaskDefinition
    Properties:
      ContainerDefinitions:
        - Name: web
          Image: {BUSYBOX}
          HealthCheck: {{Command: [CMD, x], Retries: 11}}
  Broken:
    Type: AWS::ECS::Service
    Properties: {{ServiceName: {broken}, Cluster: apart, TaskDefinition: !Ref BrokenTask}}
  RoleMaker:
    Type: Custom::RoleMaker
    Properties: {{ServiceToken: 'arn:aws:lambda:us-east-1:123456789012:function:make'}}
  Group:
    Type: AWS::CodeDeploy::DeploymentGroup
    Properties:
      ApplicationName: {service}
      ServiceRoleArn: !GetAtt RoleMaker.Arn
      AlarmConfiguration:
        Enabled: true
        Alarms: [{{Name: !Select [0, !Cidr [10.0.0.0/16, 2, 8]]}}]
      ECSServices: [{{ClusterName: apart, ServiceName: !GetAtt Broken.Name}}]
"
    );
    let action = |name: &str| {
        format!(
            "ActionTypeId: {{Category: Deploy, Owner: AWS, Provider: ECS, Version: '1'}}
              Configuration: {{ClusterName: apart, ServiceName: {name}}}"
        )
    };
    let p = template_pipeline(dir.path(), &service, &resources, &action(&service));
    let config = dir.path().join("config.yml");
    std::fs::write(&config, "{}\n").unwrap();
    let state = dir.path().join("state");
    let unread = |text: &str| {
        !text.contains("AlarmConfiguration")
            && !text.contains("RoleMaker")
            && !text.contains("retries 11")
            && !text.contains("deployment group")
    };

    let checked = crate::common::pipelocal(&["validate", p.to_str().unwrap()]);
    let text = log(&checked);
    assert_eq!(checked.code, 0, "{text}");
    assert!(unread(&text), "{text}");

    let out = deploy_images(&p, &v1, &config, &state);
    let text = log(&out);
    assert_eq!(out.code, 0, "{text}");
    assert!(unread(&text), "{text}");
    assert_eq!(served_inside(&target, "1"), "apart");

    // Deploying the broken service fails, at its task definition's line.
    let p = template_pipeline(dir.path(), &service, &resources, &action(&broken));
    let out = deploy_images(&p, &v1, &config, &state);
    let text = log(&out);
    assert_ne!(out.code, 0, "{text}");
    assert!(text.contains("template.yml:18:"), "{text}");
    assert!(text.contains("retries 11"), "{text}");
}
