//! Ctrl-C with the host executor: the build ends STOPPED and every process
//! it started, background ones included, is gone.

use std::time::Duration;

use crate::common::{start_build_until, Exec, Project};

#[test]
fn ctrl_c_stops_a_host_build_and_kills_its_processes() {
    let p = Project::new("");
    let pid_file = p.state.path().join("bg.pid");
    std::fs::write(
        p.dir.path().join("buildspec.yml"),
        format!(
            "version: 0.2\nphases:\n  build:\n    commands:\n      - sleep 300 & echo $! > {}\n      - echo waiting && sleep 120\n",
            pid_file.display()
        ),
    )
    .unwrap();
    let record = p.state.path().join("record.json");
    let mut child = start_build_until(&p, Exec::Host, "host-stop", |line| line == "waiting");
    let background: i32 = std::fs::read_to_string(&pid_file)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert_eq!(
        unsafe { libc::kill(background, 0) },
        0,
        "the background process runs"
    );
    assert_eq!(unsafe { libc::kill(child.id() as i32, libc::SIGINT) }, 0);
    assert_eq!(child.wait().unwrap().code(), Some(1));
    let record: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&record).unwrap()).unwrap();
    assert_eq!(record["buildStatus"], "STOPPED");
    // Killed with its process group; reaped by init, so give it a moment to vanish.
    let gone = (0..50).any(|_| {
        std::thread::sleep(Duration::from_millis(100));
        (unsafe { libc::kill(background, 0) }) != 0
    });
    assert!(
        gone,
        "background process {background} outlived the stopped build"
    );
}
