//! `pipelocal shell` and `pipelocal clean` reach the containers local
//! deploys keep (instances, tasks, their networks): by name or target, only
//! those of their own state folder, through a real pseudo-terminal.

use std::process::Command;

use crate::common::{docker_available, pipelocal, unique_project, BUSYBOX};
use rexpect::session::spawn_command;

/// A container labelled as a local deploy's, as `run --deploy local` makes
/// them (runner::executor::deploy_containers), removed when dropped.
struct Labelled {
    names: Vec<String>,
    networks: Vec<String>,
}

impl Labelled {
    fn container(&mut self, name: &str, kind: &str, target: &str, state: &str) {
        let status = Command::new("docker")
            .args(["run", "-d", "--init", "--name", name])
            .args(["--label", &format!("dev.pipelocal.deploy={kind}")])
            .args(["--label", &format!("dev.pipelocal.deploy-target={target}")])
            .args(["--label", &format!("dev.pipelocal.state-dir={state}")])
            .args([BUSYBOX, "sh", "-c", "echo deployed > /srv-marker; sleep 600"])
            .output()
            .expect("docker run");
        assert!(status.status.success(), "{status:?}");
        self.names.push(name.to_string());
    }

    fn network(&mut self, name: &str, state: &str) {
        let status = Command::new("docker")
            .args(["network", "create", "--label", "dev.pipelocal.deploy=task"])
            .args(["--label", &format!("dev.pipelocal.state-dir={state}"), name])
            .output()
            .expect("docker network create");
        assert!(status.status.success(), "{status:?}");
        self.networks.push(name.to_string());
    }
}

impl Drop for Labelled {
    fn drop(&mut self) {
        for name in &self.names {
            let _ = Command::new("docker").args(["rm", "-f", name]).output();
        }
        for name in &self.networks {
            let _ = Command::new("docker").args(["network", "rm", name]).output();
        }
    }
}

fn exists(kind: &str, name: &str) -> bool {
    Command::new("docker")
        .args([kind, "inspect", name])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false)
}

#[test]
fn shell_lists_and_enters_deploy_containers_and_clean_removes_only_its_state_folders() {
    if !docker_available() {
        return;
    }
    let state = tempfile::tempdir().unwrap();
    let other = tempfile::tempdir().unwrap();
    let label = std::fs::canonicalize(state.path()).unwrap();
    let label = label.to_str().unwrap();
    let other_label = std::fs::canonicalize(other.path()).unwrap();
    let id = unique_project("shell-clean");
    let (instance, task, foreign, network) = (
        format!("pipelocal-{id}-instance"),
        format!("pipelocal-{id}-task"),
        format!("pipelocal-{id}-foreign"),
        format!("pipelocal-{id}-net"),
    );
    let mut made = Labelled {
        names: Vec::new(),
        networks: Vec::new(),
    };
    made.container(&instance, "instance", &format!("App-{id}/Blue"), label);
    made.container(&task, "task", &format!("prod/web-{id}"), label);
    made.container(&foreign, "instance", "App/Other", other_label.to_str().unwrap());
    made.network(&network, label);
    let state_arg = state.path().to_str().unwrap();

    let listed = pipelocal(&["shell", "--state-dir", state_arg]);
    assert_eq!(listed.code, 0, "{}", listed.stderr);
    assert!(
        listed.stdout.contains(&format!("{instance}  instance  running  App-{id}/Blue"))
            && listed.stdout.contains(&format!("{task}  task  running  prod/web-{id}")),
        "{}",
        listed.stdout
    );
    assert!(!listed.stdout.contains(&foreign), "{}", listed.stdout);

    // By target: the instance's shell on a real terminal.
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_pipelocal"));
    cmd.args(["shell", &format!("App-{id}/Blue"), "--state-dir", state_arg])
        .env("TERM", "dumb");
    let mut s = spawn_command(cmd, Some(60_000)).expect("spawn in a pseudo-terminal");
    s.exp_string(&format!("pipelocal: {instance} of App-{id}/Blue"))
        .expect("the greeting");
    s.send_line("cat /srv-marker; echo sum=$((40+2))").unwrap();
    s.exp_string("deployed").expect("the instance's own file");
    s.exp_string("sum=42").expect("a command runs in it");
    s.send_line("exit").unwrap();
    s.exp_eof().expect("leaving ends pipelocal shell");
    assert!(exists("container", &instance), "the instance stays after exit");

    let unknown = pipelocal(&["shell", "nothing-of-that-name", "--state-dir", state_arg]);
    assert_ne!(unknown.code, 0);
    assert!(
        unknown.stderr.contains("no paused or kept build, and no instance or task, nothing-of-that-name"),
        "{}",
        unknown.stderr
    );

    let cleaned = pipelocal(&["clean", "--state-dir", state_arg]);
    assert_eq!(cleaned.code, 0, "{}", cleaned.stderr);
    assert!(
        cleaned.stdout.contains(&format!("Removed deploy container {instance}"))
            && cleaned.stdout.contains(&format!("Removed deploy container {task}"))
            && cleaned.stdout.contains(&format!("Removed deploy network {network}")),
        "{}",
        cleaned.stdout
    );
    assert!(!exists("container", &instance) && !exists("container", &task));
    assert!(!exists("network", &network));
    assert!(exists("container", &foreign), "another state folder's instance is not touched");
}
