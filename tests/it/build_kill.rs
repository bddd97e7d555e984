//! `kill -9` of pipelocal in the middle of a command leaves no container of
//! its build: the command loop sees its input close and ends the container.
//! In a test binary of its own, so no other build's clean-up of leftovers can
//! be what removed it.


use std::time::{Duration, Instant};

use crate::common::{containers_of, docker_available, Exec, Project};

#[test]
fn kill_9_of_pipelocal_mid_command_leaves_no_container_of_its_build() {
    if !docker_available() {
        return;
    }
    let project = &crate::common::unique_project("killed-build");
    let p = Project::new(
        "version: 0.2\nphases:\n  build:\n    commands:\n      - sleep 300 &\n      - sleep 300\n",
    );
    let mut child = crate::common::start_build_until(&p, Exec::Docker, project, |line| {
        line.ends_with("Running command sleep 300")
    });
    assert_eq!(containers_of(project).len(), 1);
    child.kill().unwrap(); // SIGKILL: nothing of pipelocal runs after this
    child.wait().unwrap();
    let deadline = Instant::now() + Duration::from_secs(15);
    while !containers_of(project).is_empty() {
        assert!(
            Instant::now() < deadline,
            "still there 15 s after kill -9: {:?}",
            containers_of(project)
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}
