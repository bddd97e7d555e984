//! CodeDeploy with `run --deploy local`: the in-place lifecycle in a real
//! instance container: hooks in order with CodeDeploy's variables, `files`
//! and `permissions` as the instance sees them, `runas`, a hook timeout, a
//! failing ValidateService, the previous revision's ApplicationStop, the
//! cleanup of the last install, automatic rollback, and nothing started
//! without `--deploy local`. Each test deploys to a deployment group of its
//! own and removes its instance when it ends, passed or not.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common::{container_names, docker_available, fixture, git_repo, unique_project};

/// The deployment group `App`/`Group` with automatic rollback `ROLLBACK`,
/// and a pipeline deploying the `Code` source to it.
const TEMPLATE: &str = "Resources:
  Group:
    Type: AWS::CodeDeploy::DeploymentGroup
    Properties:
      ApplicationName: APP
      DeploymentGroupName: GROUP
      ServiceRoleArn: arn:aws:iam::123456789012:role/codedeploy
      AutoRollbackConfiguration: {Enabled: ROLLBACK, Events: [DEPLOYMENT_FAILURE]}
  Pipeline:
    Type: AWS::CodePipeline::Pipeline
    Properties:
      Name: codedeploy-test
      RoleArn: arn:aws:iam::123456789012:role/pipeline
      ArtifactStore: {Type: S3, Location: artifacts}
      Stages:
        - Name: Source
          Actions:
            - Name: Code
              ActionTypeId: {Category: Source, Owner: AWS, Provider: CodeStarSourceConnection, Version: '1'}
              Configuration:
                ConnectionArn: arn:aws:codeconnections:us-east-1:123456789012:connection/test
                FullRepositoryId: example/app
                BranchName: main
              OutputArtifacts: [{Name: Src}]
        - Name: Deploy
          Actions:
            - Name: Instance
              ActionTypeId: {Category: Deploy, Owner: AWS, Provider: CodeDeploy, Version: '1'}
              Configuration: {ApplicationName: APP, DeploymentGroupName: !Ref Group}
              InputArtifacts: [{Name: Src}]
";

/// A deployment group of one test: its names, its state folder, and its
/// instance removed when it is dropped.
struct Group {
    app: String,
    group: String,
    dir: tempfile::TempDir,
}

struct Run {
    code: i32,
    log: String,
}

impl Group {
    fn new(test: &str, rollback: bool) -> Group {
        let dir = tempfile::tempdir().unwrap();
        let app = unique_project(&format!("cd-{test}"));
        let group = "fleet".to_string();
        let template = TEMPLATE
            .replace("APP", &app)
            .replace("GROUP", &group)
            .replace("ROLLBACK", if rollback { "true" } else { "false" });
        std::fs::write(dir.path().join("pipeline.yaml"), template).unwrap();
        std::fs::write(
            dir.path().join("config.yml"),
            format!("instances:\n  {app}:\n    image: pipelocal/busybox\n"),
        )
        .unwrap();
        std::fs::create_dir(dir.path().join("state")).unwrap();
        Group { app, group, dir }
    }

    /// Publishes the instance's port 8080 on a free port of 127.0.0.1
    /// (which it returns), the instance's image named through `image-map`.
    fn publish_8080(&self) -> u16 {
        let free = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = free.local_addr().unwrap().port();
        std::fs::write(
            self.dir.path().join("config.yml"),
            format!(
                "image-map:\n  example/instance: pipelocal/busybox\ninstances:\n  {}/{}:\n    image: example/instance\n    ports: ['{port}:8080']\n",
                self.app, self.group
            ),
        )
        .unwrap();
        port
    }

    fn state(&self) -> PathBuf {
        self.dir.path().join("state").canonicalize().unwrap()
    }

    /// `pipelocal run` of a revision holding `files`.
    fn deploy(&self, files: &[(&str, &str)], extra: &[&str]) -> Run {
        let (mut run, _src) = self.command(files, extra);
        let out = run.output().unwrap();
        Run {
            code: out.status.code().unwrap_or(-1),
            log: format!(
                "{}\n{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ),
        }
    }

    /// The `pipelocal run` command of a revision holding `files`, and the
    /// revision's repository (kept while it runs).
    fn command(&self, files: &[(&str, &str)], extra: &[&str]) -> (Command, tempfile::TempDir) {
        let src = git_repo(files);
        let mut run = Command::new(env!("CARGO_BIN_EXE_pipelocal"));
        run.arg("run")
            .arg(self.dir.path().join("pipeline.yaml"))
            .arg("--source")
            .arg(format!("Code={}", src.path().display()))
            .arg("--state-dir")
            .arg(self.state())
            .args(extra)
            .current_dir(self.dir.path())
            .env("PIPELOCAL_CONFIG", self.dir.path().join("config.yml"));
        (run, src)
    }

    /// The instance containers of this group (none or one).
    fn instances(&self) -> Vec<String> {
        instances(&format!("{}/{}", self.app, self.group), &self.state())
    }

    /// `sh -c script` in the instance, as root: its output.
    fn exec(&self, script: &str) -> String {
        let instance = self.instances().pop().expect("an instance");
        let out = Command::new("docker")
            .args(["exec", &instance, "sh", "-c", script])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

impl Drop for Group {
    fn drop(&mut self) {
        remove_instances(&format!("{}/{}", self.app, self.group), &self.state());
    }
}

/// The instance containers of deployment group `target` (`App/Group`)
/// deployed from the state folder `state`.
fn instances(target: &str, state: &Path) -> Vec<String> {
    container_names(&[
        format!("label=dev.pipelocal.deploy-target={target}"),
        format!("label=dev.pipelocal.state-dir={}", state.display()),
    ])
}

fn remove_instances(target: &str, state: &Path) {
    for name in instances(target, state) {
        let _ = Command::new("docker").args(["rm", "-f", &name]).output();
    }
}

/// The action's own lines, without the `[Deploy/Instance] ` prefix.
fn lines(log: &str) -> Vec<&str> {
    log.lines()
        .filter_map(|l| l.strip_prefix("[Deploy/Instance] "))
        .collect()
}

/// A script printing `what`, with the hook's variables.
fn hook(what: &str) -> String {
    format!("echo \"{what} $LIFECYCLE_EVENT $DEPLOYMENT_ID $APPLICATION_NAME $DEPLOYMENT_GROUP_NAME $DEPLOYMENT_GROUP_ID\"\n")
}

fn appspec(body: &str) -> String {
    format!("version: 0.0\nos: linux\n{body}")
}

#[test]
fn hooks_run_in_order_with_codedeploys_variables_files_permissions_and_runas() {
    if !docker_available() {
        return;
    }
    let g = Group::new("order", false);
    let port = g.publish_8080();
    let dest = format!("/srv/{}", g.app);
    let spec = appspec(&format!(
        "files:\n  - source: web\n    destination: {dest}\npermissions:\n  - object: {dest}\n    pattern: \"*.html\"\n    owner: codebuild-user\n    mode: \"640\"\n    type: [file]\n  - object: {dest}\n    mode: \"750\"\n    type: [directory]\nhooks:\n  BeforeInstall:\n    - location: hooks/before.sh\n  AfterInstall:\n    - location: hooks/after.sh\n  ApplicationStart:\n    - location: hooks/start.sh\n  ValidateService:\n    - location: hooks/validate.sh\n      runas: codebuild-user\n"
    ));
    let before = hook("hook");
    let validate = format!(
        "{}echo \"validated by $(id -un)\"\necho \"bundle $BUNDLE_BUCKET $BUNDLE_ETAG\"\n",
        hook("hook")
    );
    let files = [
        ("appspec.yml", spec.as_str()),
        ("web/index.html", "<h1>hi</h1>\n"),
        ("web/css/site.css", "h1 {}\n"),
        ("hooks/before.sh", before.as_str()),
        ("hooks/after.sh", before.as_str()),
        ("hooks/start.sh", before.as_str()),
        ("hooks/validate.sh", validate.as_str()),
    ];
    let r = g.deploy(&files, &["--deploy", "local"]);
    assert_eq!(r.code, 0, "{}", r.log);
    let said = lines(&r.log);
    let hooks: Vec<&str> = said
        .iter()
        .filter_map(|l| l.strip_prefix("[stdout]hook "))
        .collect();
    let events: Vec<&str> = hooks.iter().map(|h| h.split(' ').next().unwrap()).collect();
    assert_eq!(
        events,
        ["BeforeInstall", "AfterInstall", "ApplicationStart", "ValidateService"],
        "{}",
        r.log
    );
    // DEPLOYMENT_ID APPLICATION_NAME DEPLOYMENT_GROUP_NAME DEPLOYMENT_GROUP_ID
    let vars: Vec<&str> = hooks[0].split(' ').skip(1).collect();
    assert!(vars[0].starts_with("d-") && vars[0].len() == 11, "{vars:?}");
    assert_eq!(vars[1], g.app);
    assert_eq!(vars[2], g.group);
    assert_eq!(vars[3].len(), 36, "{vars:?}");
    assert!(hooks.iter().all(|h| h.split(' ').nth(1) == Some(vars[0])));
    assert!(said.contains(&"[stdout]validated by codebuild-user"), "{}", r.log);
    let etag = said
        .iter()
        .find_map(|l| l.strip_prefix("[stdout]bundle artifacts "))
        .unwrap_or_else(|| panic!("BUNDLE_BUCKET: {}", r.log));
    assert!(etag.len() == 32 && etag.chars().all(|c| c.is_ascii_hexdigit()), "{etag}");
    assert!(
        said.contains(&"ApplicationStop: Skipped (no earlier install on this instance)"),
        "{}",
        r.log
    );
    let heading = said.iter().position(|l| *l == "LifecycleEvent - AfterInstall");
    let script = said.iter().position(|l| *l == "Script - hooks/after.sh");
    assert!(heading.is_some() && script == heading.map(|h| h + 1), "{}", r.log);

    let stat = g.exec(&format!(
        "stat -c '%n %a %U' {dest} {dest}/css {dest}/index.html {dest}/css/site.css"
    ));
    assert_eq!(
        stat,
        // The object itself is not one of its matches (AppSpec 'permissions' section).
        format!("{dest} 755 root\n{dest}/css 750 root\n{dest}/index.html 640 codebuild-user\n{dest}/css/site.css 644 root\n"),
    );
    let instance = g.instances().pop().unwrap();
    let ports = Command::new("docker")
        .args(["port", &instance])
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&ports.stdout),
        format!("8080/tcp -> 127.0.0.1:{port}\n")
    );
    let log = g.exec(
        "cat /opt/codedeploy-agent/deployment-root/*/d-*/logs/scripts.log | cut -d' ' -f3-",
    );
    assert!(
        log.starts_with("LifecycleEvent - BeforeInstall\nScript - hooks/before.sh\n[stdout]hook BeforeInstall"),
        "{log}"
    );
}

#[test]
fn a_second_deployment_stops_with_the_first_revision_and_replaces_its_files() {
    if !docker_available() {
        return;
    }
    let g = Group::new("second", false);
    let dest = format!("/srv/{}", g.app);
    let spec = appspec(&format!(
        "files:\n  - source: app\n    destination: {dest}\nhooks:\n  ApplicationStop:\n    - location: stop.sh\n"
    ));
    let first = [
        ("appspec.yml", spec.as_str()),
        ("app/old.txt", "1\n"),
        ("app/kept.txt", "1\n"),
        ("stop.sh", "echo stopping revision one\n"),
    ];
    let r = g.deploy(&first, &["--deploy", "local"]);
    assert_eq!(r.code, 0, "{}", r.log);
    assert!(!r.log.contains("stopping revision"), "{}", r.log);
    // An instance that was stopped (the engine restarted) is started again.
    let instance = g.instances().pop().unwrap();
    let stopped = Command::new("docker")
        .args(["stop", "-t", "1", &instance])
        .output()
        .unwrap();
    assert!(stopped.status.success(), "{stopped:?}");

    let second = [
        ("appspec.yml", spec.as_str()),
        ("app/kept.txt", "2\n"),
        ("stop.sh", "echo stopping revision two\n"),
    ];
    let r = g.deploy(&second, &["--deploy", "local"]);
    assert_eq!(r.code, 0, "{}", r.log);
    assert!(lines(&r.log).contains(&"[stdout]stopping revision one"), "{}", r.log);
    assert!(
        lines(&r.log).contains(&format!("Instance {instance} started again").as_str()),
        "{}",
        r.log
    );
    assert!(!r.log.contains("stopping revision two"), "{}", r.log);
    // The first install's files went with its cleanup list; its kept.txt
    // was no obstacle to the second (DISALLOW spares what it installed).
    assert_eq!(g.exec(&format!("ls {dest}; cat {dest}/kept.txt")), "kept.txt\n2\n");

    // A file no deployment installed is in the way.
    g.exec(&format!("echo mine > {dest}/stray.txt"));
    let third = [
        ("appspec.yml", spec.as_str()),
        ("app/stray.txt", "3\n"),
        ("stop.sh", "echo stopping revision three\n"),
    ];
    let r = g.deploy(&third, &["--deploy", "local"]);
    assert_ne!(r.code, 0, "{}", r.log);
    assert!(
        r.log.contains(&format!("failed at Install: UnknownError: The deployment failed because a specified file already exists at this location: {dest}/stray.txt")),
        "{}",
        r.log
    );
    assert!(lines(&r.log).contains(&"[stdout]stopping revision two"), "{}", r.log);

    // What the agent knew lived in the instance: `clean` forgets it.
    let state = g.state();
    let cleaned = Command::new(env!("CARGO_BIN_EXE_pipelocal"))
        .args(["clean", "--state-dir"])
        .arg(&state)
        .output()
        .unwrap();
    assert!(cleaned.status.success(), "{cleaned:?}");
    assert!(g.instances().is_empty());
    let r = g.deploy(&second, &["--deploy", "local"]);
    assert_eq!(r.code, 0, "{}", r.log);
    assert!(
        lines(&r.log).contains(&"ApplicationStop: Skipped (no earlier install on this instance)"),
        "{}",
        r.log
    );
}

#[test]
fn an_install_that_fails_part_way_leaves_its_files_listed_for_the_next_install() {
    if !docker_available() {
        return;
    }
    let g = Group::new("partial", false);
    let dest = format!("/srv/{}", g.app);
    let files = format!("files:\n  - source: app\n    destination: {dest}\n");
    // The owner does not exist in the image: chown fails after every copy.
    let broken = appspec(&format!(
        "{files}permissions:\n  - object: {dest}\n    owner: no-such-user\n"
    ));
    let app = [("app/a.txt", "a\n"), ("app/sub/b.txt", "b\n")];
    let r = g.deploy(
        &[("appspec.yml", broken.as_str()), app[0], app[1]],
        &["--deploy", "local"],
    );
    assert_ne!(r.code, 0, "{}", r.log);
    assert!(r.log.contains("failed at Install: UnknownError"), "{}", r.log);
    // The copies were made, and listed as they were.
    assert_eq!(g.exec(&format!("cat {dest}/sub/b.txt")), "b\n");

    // The same files again: the failed install's are removed first, so
    // DISALLOW finds nothing in the way.
    let good = appspec(&files);
    let r = g.deploy(
        &[("appspec.yml", good.as_str()), app[0], app[1]],
        &["--deploy", "local"],
    );
    assert_eq!(r.code, 0, "{}", r.log);
    assert_eq!(
        g.exec(&format!("cd {dest} && find . | sort")),
        ".\n./a.txt\n./sub\n./sub/b.txt\n"
    );
}

#[test]
fn changed_ports_are_said_and_another_targets_container_is_refused() {
    if !docker_available() {
        return;
    }
    let g = Group::new("ports", false);
    let first = g.publish_8080();
    let spec = appspec("");
    let files = [("appspec.yml", spec.as_str())];
    let r = g.deploy(&files, &["--deploy", "local"]);
    assert_eq!(r.code, 0, "{}", r.log);
    let mut second = g.publish_8080();
    while second == first {
        second = g.publish_8080();
    }
    let r = g.deploy(&files, &["--deploy", "local"]);
    assert_eq!(r.code, 0, "{}", r.log);
    let instance = g.instances().pop().unwrap();
    assert!(
        r.log.contains(&format!("Instance {instance} publishes 127.0.0.1:{first}->8080 (made before); the configuration now gives 127.0.0.1:{second}->8080: `pipelocal clean` or `docker rm -f {instance}` starts a new one with them")),
        "{}",
        r.log
    );

    // A container of that name that is not this group's instance.
    let removed = Command::new("docker").args(["rm", "-f", &instance]).output().unwrap();
    assert!(removed.status.success(), "{removed:?}");
    struct Foreign(String);
    impl Drop for Foreign {
        fn drop(&mut self) {
            let _ = Command::new("docker").args(["rm", "-f", &self.0]).output();
        }
    }
    let _foreign = Foreign(instance.clone());
    let made = Command::new("docker")
        .args(["run", "-d", "--name", &instance, "--label"])
        .arg("dev.pipelocal.deploy-target=Other/group")
        .args(["pipelocal/busybox", "sleep", "3600"])
        .output()
        .unwrap();
    assert!(made.status.success(), "{made:?}");
    let r = g.deploy(&files, &["--deploy", "local"]);
    assert_ne!(r.code, 0, "{}", r.log);
    assert!(
        r.log.contains(&format!("container {instance} exists but is Other/group's (label dev.pipelocal.deploy-target), not the instance of {}/{}: remove it with `docker rm -f {instance}`", g.app, g.group)),
        "{}",
        r.log
    );
}

#[test]
fn a_hook_past_its_timeout_is_ended_and_a_missing_script_is_named() {
    if !docker_available() {
        return;
    }
    let g = Group::new("timeout", false);
    let spec = appspec(
        "hooks:\n  AfterInstall:\n    - location: slow.sh\n      timeout: 2\n  ApplicationStart:\n    - location: never.sh\n",
    );
    let files = [
        ("appspec.yml", spec.as_str()),
        (
            "slow.sh",
            "trap 'echo ended by TERM; exit 143' TERM\necho started\nsleep 300 &\nwait\necho never\n",
        ),
        ("never.sh", "echo never\n"),
    ];
    let r = g.deploy(&files, &["--deploy", "local"]);
    assert_ne!(r.code, 0, "{}", r.log);
    assert!(
        r.log.contains("failed at AfterInstall: ScriptTimedOut: Script at specified location: slow.sh failed to complete in 2 seconds"),
        "{}",
        r.log
    );
    assert!(r.log.contains("(Error code: HEALTH_CONSTRAINTS)"), "{}", r.log);
    let said = lines(&r.log);
    assert!(said.contains(&"[stdout]started"), "{}", r.log);
    // What it prints once signalled is still its output.
    assert!(said.contains(&"[stdout]ended by TERM"), "{}", r.log);
    assert!(!r.log.contains("never"), "{}", r.log);
    // The script's process group was ended with it, and its marker removed.
    assert!(!g.exec("ps").contains("sleep 300"), "{}", g.exec("ps"));
    assert!(!g.exec("ls -a /tmp").contains(".pipelocal-exec-"), "{}", g.exec("ls -a /tmp"));

    let spec = appspec("hooks:\n  BeforeInstall:\n    - location: scripts/gone.sh\n");
    let r = g.deploy(&[("appspec.yml", spec.as_str())], &["--deploy", "local"]);
    assert!(
        r.log.contains("ScriptMissing: Script does not exist at specified location: /opt/codedeploy-agent/deployment-root/"),
        "{}",
        r.log
    );
    assert!(r.log.contains("/deployment-archive/scripts/gone.sh"), "{}", r.log);
}

#[test]
fn a_failing_validate_service_rolls_back_to_the_last_good_revision() {
    if !docker_available() {
        return;
    }
    let g = Group::new("rollback", true);
    let dest = format!("/srv/{}", g.app);
    let spec = appspec(&format!(
        "files:\n  - source: version.txt\n    destination: {dest}\nhooks:\n  ValidateService:\n    - location: validate.sh\n"
    ));
    let good = [
        ("appspec.yml", spec.as_str()),
        ("version.txt", "good\n"),
        ("validate.sh", "echo validating $(cat /srv/*/version.txt) $BUNDLE_KEY\n"),
    ];
    let r = g.deploy(&good, &["--deploy", "local"]);
    assert_eq!(r.code, 0, "{}", r.log);
    let first_id = lines(&r.log)
        .iter()
        .find_map(|l| l.strip_prefix("Deployment "))
        .and_then(|l| l.split(' ').next())
        .unwrap()
        .to_string();
    let good_key = lines(&r.log)
        .iter()
        .find_map(|l| l.strip_prefix("[stdout]validating "))
        .unwrap()
        .to_string();
    assert!(good_key.starts_with("good codedeploy-test/Src/"), "{good_key}");

    let bad = [
        ("appspec.yml", spec.as_str()),
        ("version.txt", "bad\n"),
        (
            "validate.sh",
            "echo validating $(cat /srv/*/version.txt) $BUNDLE_KEY\nexit 3\n",
        ),
    ];
    let r = g.deploy(&bad, &["--deploy", "local"]);
    assert_ne!(r.code, 0, "{}", r.log);
    assert!(
        r.log.contains("failed at ValidateService: ScriptFailed: Script at specified location: validate.sh failed with exit code 3."),
        "{}",
        r.log
    );
    assert!(
        r.log.contains(&format!("redeployed the revision of {first_id} and succeeded")),
        "{}",
        r.log
    );
    let said = lines(&r.log);
    let validated: Vec<&str> = said
        .iter()
        .filter_map(|l| l.strip_prefix("[stdout]validating "))
        .collect();
    // The rollback redeploys the first revision: its files, its scripts,
    // its bundle.
    assert_eq!(validated.len(), 2, "{}", r.log);
    let key = |v: &str| v.split(' ').nth(1).map(String::from);
    assert!(validated[0].starts_with("bad "), "{validated:?}");
    assert_ne!(key(validated[0]), key(&good_key));
    assert_eq!(validated[1], good_key, "{}", r.log);
    assert!(said.iter().any(|l| l.starts_with("Automatic rollback of d-")), "{}", r.log);
    assert_eq!(g.exec(&format!("cat {dest}/version.txt")), "good\n");
    // The failed action's externalExecutionId is the failed deployment's id.
    let record = crate::common::newest_record(&g.state());
    let failed = crate::common::action(&record, "Instance");
    let id = failed["output"]["executionResult"]["externalExecutionId"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(
        id.starts_with("d-") && id != first_id && r.log.contains(&format!("Deployment {id} failed at ValidateService")),
        "{id}: {}",
        r.log
    );
}

#[test]
fn without_deploy_local_no_instance_is_started() {
    if !docker_available() {
        return;
    }
    let g = Group::new("check", false);
    let spec = appspec("hooks:\n  ApplicationStart:\n    - location: start.sh\n");
    let r = g.deploy(&[("appspec.yml", spec.as_str()), ("start.sh", "echo started\n")], &[]);
    assert_eq!(r.code, 0, "{}", r.log);
    assert!(r.log.contains(&format!("Would deploy Src to {}/fleet", g.app)), "{}", r.log);
    assert!(!r.log.contains("[stdout]started"), "{}", r.log);
    assert!(g.instances().is_empty());

    // The check reads the AppSpec file as the agent does, with its line.
    let spec = appspec("hooks:\n  AfterInstal:\n    - location: start.sh\n");
    let r = g.deploy(&[("appspec.yml", spec.as_str()), ("start.sh", "true\n")], &[]);
    assert_eq!(r.code, 1, "{}", r.log);
    assert!(
        r.log.contains("appspec.yml:4: unknown lifecycle event `AfterInstal`; did you mean `AfterInstall`?"),
        "{}",
        r.log
    );

    // Errors found after parsing name the file as it is called, and the line.
    let spec = appspec("hooks:\n  AfterInstall:\n    - location: start.sh\n    - location: gone.sh\n");
    let r = g.deploy(&[("appspec.yaml", spec.as_str()), ("start.sh", "true\n")], &[]);
    assert_eq!(r.code, 1, "{}", r.log);
    assert!(
        r.log.contains("appspec.yaml:6: the AfterInstall hook script gone.sh is not in the bundle"),
        "{}",
        r.log
    );
}

#[test]
fn stopping_the_run_ends_the_running_hook_and_abandons_the_action() {
    if !docker_available() {
        return;
    }
    use std::io::BufRead;
    // Rollback on: a stopped deployment must not roll back.
    let g = Group::new("stop", true);
    let spec = appspec("hooks:\n  ApplicationStart:\n    - location: slow.sh\n");
    let files = [
        ("appspec.yml", spec.as_str()),
        ("slow.sh", "echo started\nsleep 300\n"),
    ];
    let (mut run, _src) = g.command(&files, &["--deploy", "local"]);
    let mut child = run
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut seen = String::new();
    for line in std::io::BufReader::new(child.stdout.take().unwrap())
        .lines()
        .map_while(Result::ok)
    {
        if line == "[Deploy/Instance] [stdout]started" {
            // SAFETY: signals the child this test started, by its id.
            unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
        }
        seen.push_str(&line);
        seen.push('\n');
    }
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(1), "{seen}");
    assert!(seen.contains("<- Deploy/Instance Abandoned"), "{seen}");
    assert!(seen.contains("slow.sh was stopped with the run"), "{seen}");
    assert!(!seen.contains("Automatic rollback"), "{seen}");
    assert!(!g.exec("ps").contains("sleep 300"), "{}", g.exec("ps"));
    assert!(!g.exec("ls -a /tmp").contains(".pipelocal-exec-"), "{}", g.exec("ls -a /tmp"));
}

/// A deployment group takes one deployment at a time, across runs: a second
/// run's deployment to it fails as CodeDeploy's CreateDeployment does while
/// the first is active, and the first goes on untouched.
#[test]
fn a_second_deployment_to_a_group_with_one_active_is_refused() {
    if !docker_available() {
        return;
    }
    use std::io::BufRead;
    let g = Group::new("busy", false);
    // PARALLEL: otherwise the second execution waits at the Deploy stage's
    // boundary and never reaches the deployment group.
    let template = g.dir.path().join("pipeline.yaml");
    let text = std::fs::read_to_string(&template).unwrap().replace(
        "Name: codedeploy-test\n",
        "Name: codedeploy-test\n      PipelineType: V2\n      ExecutionMode: PARALLEL\n",
    );
    std::fs::write(&template, text).unwrap();
    let spec = appspec("hooks:\n  ApplicationStart:\n    - location: wait.sh\n");
    let files = [
        ("appspec.yml", spec.as_str()),
        (
            "wait.sh",
            "echo waiting\nwhile [ ! -e /tmp/go ]; do sleep 0.2; done\necho went on\n",
        ),
    ];
    let (mut run, _src) = g.command(&files, &["--deploy", "local"]);
    let mut first = run
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut out = std::io::BufReader::new(first.stdout.take().unwrap()).lines();
    let mut seen = String::new();
    for line in out.by_ref().map_while(Result::ok) {
        seen.push_str(&line);
        seen.push('\n');
        if line == "[Deploy/Instance] [stdout]waiting" {
            break;
        }
    }
    let second = g.deploy(&files, &["--deploy", "local"]);
    // Let the first go on before asserting, so a failure never leaves it waiting.
    g.exec("touch /tmp/go");
    assert_ne!(second.code, 0, "{}", second.log);
    assert!(
        second.log.contains(&format!(
            "DeploymentLimitExceeded: The Deployment Group '{}' already has an active Deployment (of execution ",
            g.group
        )),
        "{}",
        second.log
    );
    for line in out.map_while(Result::ok) {
        seen.push_str(&line);
        seen.push('\n');
    }
    assert_eq!(first.wait().unwrap().code(), Some(0), "{seen}");
    assert!(seen.contains("[Deploy/Instance] [stdout]went on"), "{seen}");
}

/// The README's example with its CodeDeploy stage deploys from its folder.
#[test]
fn the_example_pipeline_deploys_to_its_instance() {
    if !docker_available() {
        return;
    }
    struct Cleanup(PathBuf);
    impl Drop for Cleanup {
        fn drop(&mut self) {
            remove_instances("greeter/local", &self.0);
        }
    }
    let state = tempfile::tempdir().unwrap();
    let state_dir = state.path().canonicalize().unwrap();
    let _cleanup = Cleanup(state_dir.clone());
    let out = Command::new(env!("CARGO_BIN_EXE_pipelocal"))
        .args(["run", "pipeline-deploy.json", "--deploy", "local", "--state-dir"])
        .arg(&state_dir)
        .current_dir(fixture("example"))
        .output()
        .unwrap();
    let log = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{log}{}", String::from_utf8_lossy(&out.stderr));
    let said = lines(&log);
    assert!(said.contains(&"[stdout]Hello, instance!"), "{log}");
    assert!(said.contains(&"[stdout]validating as codebuild-user"), "{log}");
    assert!(said.contains(&"ValidateService: Succeeded"), "{log}");
    assert_eq!(instances("greeter/local", &state_dir).len(), 1);
    // The action execution's externalExecutionId is the deployment's id.
    let record = crate::common::newest_record(&state_dir);
    let deploy = crate::common::action(&record, "Instance");
    let id = deploy["output"]["executionResult"]["externalExecutionId"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(
        id.starts_with("d-") && id.len() == 11 && log.contains(&format!("Deployment {id} of BuildOutput")),
        "{id}: {log}"
    );
}
