//! What goes into a build from a source folder (docs/user-guide.md, "What goes
//! into a build"): inside git, what a push would carry; `--all-files` and
//! folders outside git, everything. And how it goes in: modes, links, empty
//! folders, long and non-UTF-8 names and owners come out as they are, over a
//! local socket and a TCP endpoint, through the image's GNU tar (Debian) and
//! through the archive API (busybox, and an image with no `tar`).


use std::io::{Read, Write};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::process::Command;

use crate::common::{docker_available, executors, git, Exec, Project, BUSYBOX, DEBIAN};

/// Lists the source folder (without `.git`'s contents) between markers.
const LIST: &str = "version: 0.2\nphases:\n  build:\n    commands:\n      - echo BEGIN; find . -path ./.git -prune -o -print | sort; ls -d .git 2>/dev/null; echo END\n";

/// The lines the build printed between `BEGIN` and `END`.
fn listed(log: &str) -> Vec<String> {
    log.lines()
        .skip_while(|l| *l != "BEGIN")
        .skip(1)
        .take_while(|l| *l != "END")
        .map(String::from)
        .collect()
}

/// A committed repository with ignored files, an untracked file, and a
/// tracked file deleted from disk.
fn repository(p: &Project) {
    p.file(".gitignore", "node_modules/\n*.log\n")
        .file("app/main.sh", "echo main\n")
        .file("app/gone.txt", "deleted later\n")
        .file("node_modules/dep/index.js", "module.exports = 1;\n");
    git(p.dir.path(), &["init", "-q", "-b", "main"]);
    git(p.dir.path(), &["add", "-A"]);
    git(p.dir.path(), &["commit", "-q", "-m", "first"]);
    std::fs::remove_file(p.dir.path().join("app/gone.txt")).unwrap();
    p.file("app/new.txt", "untracked\n")
        .file("debug.log", "ignored\n");
}

/// What the build sees of the repository `repository` makes:
/// tracked and untracked files git does not ignore, and `.git`.
const PUSHED: [&str; 7] = [
    ".",
    "./.gitignore",
    "./app",
    "./app/main.sh",
    "./app/new.txt",
    "./buildspec.yml",
    ".git",
];

#[test]
fn inside_git_a_build_gets_what_a_push_carries_and_all_files_brings_the_rest() {
    for exec in executors() {
        let p = Project::new(LIST);
        repository(&p);
        let b = p.build(exec, &[]);
        assert_eq!(b.status(), "SUCCEEDED", "{exec:?}: {}{}", b.log, b.stderr);
        assert_eq!(listed(&b.log), PUSHED, "{exec:?}: {}", b.log);
        assert!(
            b.log.contains("2 files (28 bytes) that git ignores") && b.log.contains("--all-files"),
            "{exec:?}: {}",
            b.log
        );

        let b = p.build(exec, &["--all-files"]);
        assert_eq!(b.status(), "SUCCEEDED", "{exec:?}: {}{}", b.log, b.stderr);
        let all = listed(&b.log);
        for name in [
            "./debug.log",
            "./node_modules/dep/index.js",
            "./app/new.txt",
        ] {
            assert!(
                all.contains(&name.to_string()),
                "{exec:?}: {name} in {all:?}"
            );
        }
        assert!(!b.log.contains("Left out"), "{exec:?}: {}", b.log);
    }
}

#[test]
fn a_subfolder_of_a_work_tree_gets_its_files_relative_to_it() {
    for exec in executors() {
        let p = Project::new("");
        repository(&p);
        p.file("app/buildspec.yml", LIST)
            .file("app/build/out.log", "ignored\n");
        let app = p.dir.path().join("app");
        let record = p.state.path().join("record.json");
        let executor = if exec == Exec::Docker {
            "docker"
        } else {
            "host"
        };
        let out = crate::common::pipelocal(&[
            "build",
            "-s",
            app.to_str().unwrap(),
            "-i",
            BUSYBOX,
            "--executor",
            executor,
            "--state-dir",
            p.state.path().to_str().unwrap(),
            "--record",
            record.to_str().unwrap(),
        ]);
        assert_eq!(out.code, 0, "{exec:?}: {}{}", out.stdout, out.stderr);
        // No `.git` in a subfolder: `ls -d .git` fails and prints nothing.
        assert_eq!(
            listed(&out.stdout),
            [".", "./buildspec.yml", "./main.sh", "./new.txt"],
            "{exec:?}: {}",
            out.stdout
        );
        assert!(
            out.stdout.contains("1 file (8 bytes) that git ignores"),
            "{exec:?}: {}",
            out.stdout
        );
    }
}

#[test]
fn a_folder_outside_git_is_copied_whole() {
    for exec in executors() {
        let p = Project::new(LIST);
        p.file(".gitignore", "*.log\n")
            .file("debug.log", "kept\n")
            .file("node_modules/dep/index.js", "1\n");
        let b = p.build(exec, &[]);
        assert_eq!(b.status(), "SUCCEEDED", "{exec:?}: {}{}", b.log, b.stderr);
        let all = listed(&b.log);
        for name in ["./debug.log", "./node_modules/dep/index.js", "./.gitignore"] {
            assert!(
                all.contains(&name.to_string()),
                "{exec:?}: {name} in {all:?}"
            );
        }
        assert!(!b.log.contains("Left out"), "{exec:?}: {}", b.log);
    }
}

/// A name over 100 bytes (GNU long-name entries) in a folder over 100 bytes.
fn long_name() -> String {
    format!("{}/{}.txt", "d".repeat(120), "f".repeat(130))
}

const ODD: &[u8] = b"caf\xe9.txt";

/// A folder outside git with everything a tar stream must carry.
fn odd_tree() -> Project {
    let spec = format!(
        "version: 0.2\nphases:\n  build:\n    commands:\n      - \"stat -c '%a %u:%g %n' run.sh plain.txt\"\n      - readlink link\n      - \"[ -d empty ] && echo empty-ok || echo no-empty\"\n      - \"[ -f {} ] && echo long-ok\"\n      - \"[ -f \\\"$(printf 'caf\\\\351.txt')\\\" ] && echo odd-ok\"\n",
        long_name()
    );
    let p = Project::new(&spec);
    p.file("run.sh", "#!/bin/sh\n").file("plain.txt", "x\n");
    let dir = p.dir.path();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(dir.join("run.sh"), std::fs::Permissions::from_mode(0o755)).unwrap();
    std::os::unix::fs::symlink("run.sh", dir.join("link")).unwrap();
    std::fs::create_dir(dir.join("empty")).unwrap();
    p.file(&long_name(), "long\n");
    std::fs::write(dir.join(std::ffi::OsStr::from_bytes(ODD)), "odd\n").unwrap();
    p
}

fn assert_odd_tree_arrived(label: &str, b: &crate::common::Built, empty_folder: bool) {
    assert_eq!(b.status(), "SUCCEEDED", "{label}: {}{}", b.log, b.stderr);
    let mut lines = vec![
        "755 0:0 run.sh",
        "644 0:0 plain.txt",
        "run.sh",
        "long-ok",
        "odd-ok",
    ];
    if empty_folder {
        lines.push("empty-ok");
    }
    for line in lines {
        assert!(
            b.output().contains(&line),
            "{label}: `{line}` missing from\n{}",
            b.log
        );
    }
}

#[test]
fn modes_links_empty_folders_long_and_odd_names_and_owners_arrive_as_they_are() {
    if !docker_available() {
        return;
    }
    // A small tree goes in through the command loop, a large one (a file
    // past 1 MiB) through the image's GNU tar or the archive API.
    for image in [BUSYBOX, DEBIAN] {
        for large in [false, true] {
            let p = odd_tree();
            if large {
                let bytes: Vec<u8> = (0..1_500_000u32).map(|i| (i * 7 % 251) as u8).collect();
                std::fs::write(p.dir.path().join("large.bin"), bytes).unwrap();
            }
            let b = p.build_with_image(Exec::Docker, image, &[]);
            let label = format!("{image}, large: {large}");
            assert_odd_tree_arrived(&label, &b, true);
        }
    }
    // Inside git too, where files are listed one by one (and no empty
    // folder: a push cannot carry one).
    let p = odd_tree();
    git(p.dir.path(), &["init", "-q", "-b", "main"]);
    git(p.dir.path(), &["add", "-A"]);
    git(p.dir.path(), &["commit", "-q", "-m", "odd"]);
    let b = p.build(Exec::Docker, &[]);
    assert_odd_tree_arrived("inside git", &b, false);
}

#[test]
fn an_image_without_tar_gets_its_sources_through_the_archive_api() {
    if !docker_available() {
        return;
    }
    let image = "pipelocal/busybox-no-tar";
    let mut build = Command::new("docker")
        .args(["build", "-q", "-t", image, "-"])
        .env("DOCKER_BUILDKIT", "0")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    build
        .stdin
        .take()
        .unwrap()
        .write_all(
            format!("FROM {BUSYBOX}\nRUN [\"/bin/busybox\", \"rm\", \"/bin/tar\"]\n").as_bytes(),
        )
        .unwrap();
    assert!(build.wait().unwrap().success(), "building {image}");
    let p = odd_tree();
    let b = p.build_with_image(Exec::Docker, image, &[]);
    assert_odd_tree_arrived(image, &b, true);
}

/// Forwards TCP connections on 127.0.0.1 to the engine's unix socket, both
/// ways, passing each side's end of stream on (tar needs its stdin closed).
fn tcp_proxy(socket: &'static str) -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for client in listener.incoming().flatten() {
            let Ok(engine) = std::os::unix::net::UnixStream::connect(socket) else {
                continue;
            };
            let (mut c_in, mut e_out) = (client.try_clone().unwrap(), engine.try_clone().unwrap());
            std::thread::spawn(move || {
                let _ = std::io::copy(&mut c_in, &mut e_out);
                let _ = e_out.shutdown(std::net::Shutdown::Write);
            });
            let (mut e_in, mut c_out) = (engine, client);
            std::thread::spawn(move || {
                let mut buf = [0u8; 64 * 1024];
                loop {
                    match e_in.read(&mut buf) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => {
                            if c_out.write_all(&buf[..n]).is_err() {
                                break;
                            }
                        }
                    }
                }
                let _ = c_out.shutdown(std::net::Shutdown::Write);
            });
        }
    });
    port
}

#[test]
fn a_remote_engine_over_tcp_gets_the_same_files() {
    if !docker_available() {
        return;
    }
    let socket = "/var/run/docker.sock";
    if !Path::new(socket).exists() {
        crate::common::skipped(&format!("the engine is not at {socket}"));
        return;
    }
    let port = tcp_proxy(socket);
    // Debian's GNU tar takes the exec stream, busybox the archive API.
    for image in [DEBIAN, BUSYBOX] {
        let p = Project::new(LIST);
        repository(&p);
        let out = Command::new(env!("CARGO_BIN_EXE_pipelocal"))
            .args(["build", "-s", p.path(), "-i", image])
            .args(["--state-dir", p.state.path().to_str().unwrap()])
            .env("DOCKER_HOST", format!("tcp://127.0.0.1:{port}"))
            .output()
            .unwrap();
        let log = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{image}: {log}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(listed(&log), PUSHED, "{image}: {log}");
    }
}
