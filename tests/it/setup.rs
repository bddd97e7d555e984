//! Setting pipelocal up: shell completions and man pages generated from the
//! parser, checked through a real bash and the roff they are.


use std::process::Command;

use crate::common::pipelocal;

#[test]
fn bash_completes_commands_and_their_flags() {
    let out = pipelocal(&["completions", "bash"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("pipelocal.bash");
    std::fs::write(&script, &out.stdout).unwrap();
    // What bash offers for the last of these words.
    let complete = |words: &[&str]| {
        let quoted: Vec<String> = words.iter().map(|w| format!("'{w}'")).collect();
        let line = words.join(" ");
        let program = format!(
            "source {}; COMP_LINE='{line}'; COMP_POINT={}; COMP_WORDS=({}); COMP_CWORD={}; _pipelocal pipelocal '{}' '{}'; printf '%s\\n' \"${{COMPREPLY[@]}}\"",
            script.display(),
            line.len(),
            quoted.join(" "),
            words.len() - 1,
            words[words.len() - 1],
            words[words.len() - 2],
        );
        let out = Command::new("bash")
            .args(["-c", &program])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    assert_eq!(complete(&["pipelocal", "ret"]).trim(), "retry");
    let flags = complete(&["pipelocal", "completions", ""]);
    for shell in ["bash", "zsh", "fish", "powershell", "elvish"] {
        assert!(
            flags.lines().any(|l| l == shell),
            "{shell} not offered: {flags}"
        );
    }
}

#[test]
fn every_shell_gets_a_script() {
    for shell in ["zsh", "fish", "powershell", "elvish"] {
        let out = pipelocal(&["completions", shell]);
        assert_eq!(out.code, 0, "{shell}: {}", out.stderr);
        assert!(out.stdout.contains("retry"), "{shell}: {}", out.stdout);
    }
    let out = pipelocal(&["completions", "tcsh"]);
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("bash"), "{}", out.stderr);
}

#[test]
fn man_pages_for_the_program_and_each_command() {
    let out = pipelocal(&["man"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stdout.starts_with(".ie"),
        "{}",
        &out.stdout[..80.min(out.stdout.len())]
    );
    assert!(out.stdout.contains(".TH pipelocal 1"), "not a roff page");
    let dir = tempfile::tempdir().unwrap();
    let out = pipelocal(&["man", "--out", dir.path().to_str().unwrap()]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    for page in [
        "pipelocal.1",
        "pipelocal-run.1",
        "pipelocal-retry.1",
        "pipelocal-completions.1",
    ] {
        let text = std::fs::read_to_string(dir.path().join(page)).unwrap_or_default();
        assert!(text.contains(".TH"), "{page} missing or not roff");
    }
    let run = std::fs::read_to_string(dir.path().join("pipelocal-run.1")).unwrap();
    assert!(
        run.contains("break\\-on\\-failure"),
        "run's flags are on its page"
    );
}

/// `pipelocal doctor` with a configuration file and environment of its own.
fn doctor(config: &std::path::Path, env: &[(&str, &str)]) -> crate::common::Output {
    let state = tempfile::tempdir().unwrap();
    let mut all: Vec<(&str, &std::ffi::OsStr)> = vec![
        ("PIPELOCAL_CONFIG", config.as_os_str()),
        ("PIPELOCAL_STATE_DIR", state.path().as_os_str()),
    ];
    all.extend(env.iter().map(|(k, v)| (*k, std::ffi::OsStr::new(v))));
    crate::common::pipelocal_env(&["doctor"], &all)
}

#[test]
fn doctor_says_a_build_can_run_and_with_what() {
    if !crate::common::docker_available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.yml");
    std::fs::write(
        &config,
        format!(
            "image-map:\n  aws/codebuild/standard:7.0: {}\n",
            crate::common::BUSYBOX
        ),
    )
    .unwrap();
    let out = doctor(&config, &[]);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    for line in [
        format!("OK   user configuration: {}", config.display()),
        "OK   container engine at ".to_string(),
        format!("OK   a build container starts ({})", crate::common::BUSYBOX),
        format!("OK   image {} is here", crate::common::BUSYBOX),
        "OK   git version".to_string(),
        "A build can run here.".to_string(),
    ] {
        assert!(out.stdout.contains(&line), "{line} not in:\n{}", out.stdout);
    }
    // Every line is a verdict; every non-OK line has its fix.
    let lines: Vec<&str> = out.stdout.lines().collect();
    for (i, line) in lines.iter().enumerate() {
        if line.starts_with("WARN") || line.starts_with("FAIL") {
            assert!(lines[i + 1].trim_start().starts_with("fix: "), "{line}");
        }
    }
}

#[test]
fn doctor_fails_naming_what_to_fix() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.yml");
    std::fs::write(&config, "image-map: [not, a, map]\n").unwrap();
    let out = doctor(
        &config,
        &[("DOCKER_HOST", "unix:///nonexistent/docker.sock")],
    );
    assert_eq!(out.code, 1, "{}", out.stdout);
    assert!(
        out.stdout.contains("FAIL user configuration: "),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains(&config.display().to_string()),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains(
            "FAIL cannot reach a Docker engine: tried DOCKER_HOST=unix:///nonexistent/docker.sock"
        ),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("A build cannot run here"),
        "{}",
        out.stdout
    );
}

/// Podman's Docker-compatible API on a socket of its own, stopped on drop.
struct PodmanService {
    child: std::process::Child,
    socket: std::path::PathBuf,
    _dir: tempfile::TempDir,
}

impl PodmanService {
    /// `None` (with a note saying why) where Podman is not installed, unless
    /// CI requires it.
    /// `containers_conf`: the service's configuration file (CONTAINERS_CONF).
    fn start(containers_conf: Option<&std::path::Path>) -> Option<PodmanService> {
        let installed = Command::new("podman")
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success());
        if !installed {
            if std::env::var("PIPELOCAL_REQUIRE_DOCKER").as_deref() == Ok("1") {
                panic!(
                    "PIPELOCAL_REQUIRE_DOCKER=1 but podman is not installed (.ci/run installs it)"
                );
            }
            eprintln!("skipping doctor_finds_podman_and_names_why_it_cannot_start_containers: podman is not installed");
            return None;
        }
        let dir = tempfile::tempdir().unwrap();
        let socket = dir.path().join("podman.sock");
        let mut command = Command::new("podman");
        if let Some(conf) = containers_conf {
            command.env("CONTAINERS_CONF", conf);
        }
        let child = command
            .args(["system", "service", "--time=0"])
            .arg(format!("unix://{}", socket.display()))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let service = PodmanService {
            child,
            socket,
            _dir: dir,
        };
        for _ in 0..100 {
            if service.socket.exists() {
                return Some(service);
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        panic!("podman system service made no socket in 10 s");
    }
}

impl Drop for PodmanService {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A Docker CLI context named `podman`, current, pointing at `host`.
fn podman_context(home: &std::path::Path, host: &str) {
    use sha2::Digest;
    let docker = home.join(".docker");
    let hex: String = sha2::Sha256::digest(b"podman")
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let meta = docker.join("contexts/meta").join(hex);
    std::fs::create_dir_all(&meta).unwrap();
    std::fs::write(
        docker.join("config.json"),
        r#"{"currentContext": "podman"}"#,
    )
    .unwrap();
    std::fs::write(
        meta.join("meta.json"),
        format!(r#"{{"Name": "podman", "Metadata": {{}}, "Endpoints": {{"docker": {{"Host": "{host}", "SkipTLSVerify": false}}}}}}"#),
    )
    .unwrap();
}

#[test]
fn doctor_finds_podman_and_names_why_it_cannot_start_containers() {
    let Some(podman) = PodmanService::start(None) else {
        return;
    };
    // Podman's own store gets the test image from Docker's (no registry).
    if crate::common::docker_available() {
        let loaded = Command::new("sh")
            .args([
                "-c",
                &format!("docker save {} | podman load -q", crate::common::BUSYBOX),
            ])
            .status()
            .unwrap();
        assert!(loaded.success(), "podman load failed");
    }
    let host = format!("unix://{}", podman.socket.display());
    let out = doctor(std::path::Path::new("/dev/null"), &[("DOCKER_HOST", &host)]);
    assert!(
        out.stdout.contains(&format!(
            "OK   container engine at {host} (found by DOCKER_HOST)"
        )),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("OK   Podman Engine "), "{}", out.stdout);
    // Found through a Docker CLI context too, as `docker context create
    // podman --docker host=unix://...` would leave it.
    let home = tempfile::tempdir().unwrap();
    podman_context(home.path(), &host);
    let by_context = Command::new(env!("CARGO_BIN_EXE_pipelocal"))
        .arg("doctor")
        .current_dir(crate::common::repo())
        .env("HOME", home.path())
        .env("PIPELOCAL_CONFIG", "/dev/null")
        .env_remove("DOCKER_HOST")
        .env_remove("DOCKER_CONTEXT")
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&by_context.stdout);
    assert!(
        said.contains(&format!(
            "OK   container engine at {host} (found by Docker context podman)"
        )),
        "{said}"
    );
    assert!(said.contains("OK   Podman Engine "), "{said}");
    if out.stdout.contains("OK   a build container starts") {
        assert_eq!(out.code, 0, "{}", out.stdout);
        build_on_podman(&host);
        return;
    }
    // Where Podman cannot start containers (as on a machine without
    // catatonit, or with low hard limits), the line says why and the fix
    // names the cause, not only "see the error".
    assert_eq!(out.code, 1, "{}", out.stdout);
    let lines: Vec<&str> = out.stdout.lines().collect();
    let at = lines
        .iter()
        .position(|l| l.starts_with("FAIL a build container cannot start"))
        .unwrap_or_else(|| panic!("no container line in:\n{}", out.stdout));
    if lines[at].contains("catatonit") {
        assert!(
            lines[at + 1].contains("apt-get install catatonit"),
            "{}",
            lines[at + 1]
        );
        if std::env::var("PIPELOCAL_REQUIRE_DOCKER").as_deref() == Ok("1") {
            panic!("PIPELOCAL_REQUIRE_DOCKER=1 but Podman has no catatonit (.ci/run installs it)");
        }
        eprintln!("skipping the build on Podman of doctor_finds_podman_and_names_why_it_cannot_start_containers: Podman has no catatonit");
        return;
    }
    assert!(lines[at].contains("setting rlimit"), "{}", lines[at]);
    assert!(
        lines[at + 1].contains("default_ulimits"),
        "{}",
        lines[at + 1]
    );
    // The fix the line gives makes a whole build run on Podman.
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("containers.conf");
    std::fs::write(
        &conf,
        "[containers]\ndefault_ulimits = [\"nofile=1024:1024\", \"nproc=1024:1024\"]\n",
    )
    .unwrap();
    let fixed = PodmanService::start(Some(&conf)).unwrap();
    build_on_podman(&format!("unix://{}", fixed.socket.display()));
}

/// A whole `pipelocal build` on the Podman at `host`: phases, a variable
/// carried between commands, an artifact.
fn build_on_podman(host: &str) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("buildspec.yml"),
        "version: 0.2\nphases:\n  build:\n    commands:\n      - V=carried\n      - 'echo \"on podman: $V\" > out.txt'\nartifacts:\n  files:\n    - out.txt\n",
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_pipelocal"))
        .current_dir(dir.path())
        .env("DOCKER_HOST", host)
        .env("PIPELOCAL_CONFIG", "/dev/null")
        .env("PIPELOCAL_STATE_DIR", dir.path().join("state"))
        .args([
            "build",
            "-i",
            "localhost/pipelocal/busybox",
            "-a",
            "artifacts",
        ])
        .output()
        .unwrap();
    let log = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{log}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        log.contains("Phase complete: BUILD State: SUCCEEDED"),
        "{log}"
    );
    let zip = std::fs::File::open(dir.path().join("artifacts/artifacts.zip")).unwrap();
    let mut zip = zip::ZipArchive::new(zip).unwrap();
    assert_eq!(
        crate::common::zip_text(&mut zip, "out.txt"),
        "on podman: carried\n"
    );
}
