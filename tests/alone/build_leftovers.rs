//! What a pipelocal process that died left in the engine is removed by the
//! next build; kept builds and live owners' builds are not.

use std::process::Command;

use crate::common::{docker_available, Exec, Project, BUSYBOX};

/// `host/pid/start` of a process that has ended.
fn dead_owner() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .unwrap()
        .trim()
        .to_string();
    let mut child = Command::new("true").spawn().unwrap();
    let pid = child.id();
    child.wait().unwrap();
    format!("{host}/{pid}/1")
}

fn docker(args: &[&str]) -> String {
    let out = Command::new("docker").args(args).output().unwrap();
    assert!(
        out.status.success(),
        "docker {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

fn exists(kind: &str, name: &str) -> bool {
    Command::new("docker")
        .args([kind, "inspect", name])
        .output()
        .unwrap()
        .status
        .success()
}

#[test]
fn leftovers_of_a_dead_pipelocal_are_removed_by_the_next_build() {
    if !docker_available() {
        return;
    }
    let dead = format!("dev.pipelocal.owner={}", dead_owner());
    let alive = format!(
        "dev.pipelocal.owner={}/{}/{}",
        std::fs::read_to_string("/proc/sys/kernel/hostname")
            .unwrap()
            .trim(),
        std::process::id(),
        std::fs::read_to_string(format!("/proc/{}/stat", std::process::id()))
            .unwrap()
            .rsplit(')')
            .next()
            .unwrap()
            .split_whitespace()
            .nth(19)
            .unwrap()
    );
    let tag = std::process::id();
    let stale = format!("pipelocal-stale-{tag}");
    let kept = format!("pipelocal-kept-{tag}");
    let live = format!("pipelocal-live-{tag}");
    for (name, labels) in [
        (&stale, vec![dead.as_str()]),
        (&kept, vec![dead.as_str(), "dev.pipelocal.kept=true"]),
        (&live, vec![alive.as_str()]),
    ] {
        let mut args = vec!["create", "--name", name.as_str()];
        for l in &labels {
            args.extend(["--label", l]);
        }
        args.extend([BUSYBOX, "sleep", "600"]);
        docker(&args);
    }
    let volume = format!("pipelocal-stale-volume-{tag}");
    docker(&["volume", "create", "--label", &dead, &volume]);
    let network = format!("pipelocal-stale-network-{tag}");
    docker(&["network", "create", "--label", &dead, &network]);

    let b = Project::new("version: 0.2\nphases:\n  build:\n    commands:\n      - echo ok\n")
        .build(Exec::Docker, &[]);
    assert_eq!(b.code, 0, "{}{}", b.log, b.stderr);
    let line = b
        .stderr
        .lines()
        .find(|l| l.contains("Removed what pipelocal processes that died left behind"))
        .unwrap_or_else(|| panic!("no line about the leftovers: {}", b.stderr));
    assert!(
        line.contains(&stale) && line.contains(&volume) && line.contains(&network),
        "{line}"
    );
    assert!(
        !exists("container", &stale),
        "the stale container is still there"
    );
    assert!(!exists("volume", &volume));
    assert!(!exists("network", &network));
    assert!(exists("container", &kept), "a kept build was removed");
    assert!(
        exists("container", &live),
        "a live owner's container was removed"
    );
    docker(&["rm", "-f", &kept, &live]);
}
