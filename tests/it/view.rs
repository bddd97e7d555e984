//! `pipelocal view`: the HTML page of a failed, a retried and a succeeded
//! execution (structure read from the HTML; drawn by a real headless
//! Chromium without a console error), the page of a `build --record` file,
//! and `--serve` over real HTTP.


use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::common::{docker_available, fixture, git_repo, repo};

/// One state folder holding the three executions, made once.
struct History {
    state: tempfile::TempDir,
    config: tempfile::TempDir,
    _src: tempfile::TempDir,
    failed: String,
    retried: String,
    succeeded: String,
}

fn pipelocal(state: &Path, config: &Path, args: &[&str]) -> (i32, String, String) {
    let env = [
        ("PIPELOCAL_CONFIG", config.as_os_str()),
        ("PIPELOCAL_STATE_DIR", state.as_os_str()),
    ];
    let out = crate::common::pipelocal_env(args, &env);
    (out.code, out.stdout, out.stderr)
}

/// The id the run's first line names (`Pipeline <name>: execution <id>`).
fn execution_id(stdout: &str) -> String {
    stdout
        .lines()
        .find_map(|l| {
            l.split_once(": execution ")
                .map(|(_, id)| id.trim().to_string())
        })
        .unwrap_or_else(|| panic!("no execution id in {stdout}"))
}

impl History {
    fn make() -> History {
        let src = git_repo(&[("app.txt", "hello world\n")]);
        let state = tempfile::tempdir().unwrap();
        let config = tempfile::tempdir().unwrap();
        let marker = config.path().join("fixed");
        // retry.json's Check fails until the marker exists: the "fix".
        let retry_config = config.path().join("retry.yml");
        std::fs::write(
            &retry_config,
            format!(
                "actions:\n  Test/Check:\n    command: 'test -f {}'\n",
                marker.display()
            ),
        )
        .unwrap();
        // The failing build prints a secret first: the page must show it masked.
        let secret_config = config.path().join("secret.yml");
        let secrets = config.path().join("secrets.yml");
        std::fs::write(&secrets, format!("parameters:\n  /app/token: {SECRET}\n")).unwrap();
        std::fs::write(
            &secret_config,
            format!("secrets-file: {}\n", secrets.display()),
        )
        .unwrap();
        let mut projects: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(fixture("runs/projects.json")).unwrap())
                .unwrap();
        for project in projects["projects"].as_array_mut().unwrap() {
            if project["name"] == "flow-break" {
                project["source"]["buildspec"] = "version: 0.2\nenv:\n  parameter-store:\n    TOKEN: /app/token\nphases:\n  build:\n    commands:\n      - echo \"token is $TOKEN\"\n      - exit 3\n".into();
            }
        }
        let projects_file = config.path().join("projects.json");
        std::fs::write(&projects_file, projects.to_string()).unwrap();
        let source = format!("Code={}", src.path().display());
        let projects = projects_file.display().to_string();
        let run = |pipeline: &str, config: &Path| {
            let file = fixture(&format!("runs/{pipeline}")).display().to_string();
            pipelocal(
                state.path(),
                config,
                &["run", &file, "--projects", &projects, "--source", &source],
            )
        };
        let none = Path::new("/dev/null");
        let (code, out, err) = run("failing.json", &secret_config);
        assert_eq!(code, 1, "{out}{err}");
        let failed = execution_id(&out);
        let (code, out, err) = run("retry.json", &retry_config);
        assert_eq!(code, 1, "{out}{err}");
        let retried = execution_id(&out);
        std::fs::write(&marker, "").unwrap();
        let (code, out, err) = pipelocal(state.path(), &retry_config, &["retry", &retried]);
        assert_eq!(code, 0, "{out}{err}");
        let (code, out, err) = run("flow.json", none);
        assert_eq!(code, 0, "{out}{err}");
        let succeeded = execution_id(&out);
        History {
            state,
            config,
            _src: src,
            failed,
            retried,
            succeeded,
        }
    }

    fn view(&self, args: &[&str]) -> (i32, String, String) {
        let mut all = vec!["view"];
        all.extend_from_slice(args);
        pipelocal(self.state.path(), Path::new("/dev/null"), &all)
    }

    /// The page of an execution, written with -o.
    fn page(&self, id: &str) -> (PathBuf, String) {
        let file = self.config.path().join(format!("{id}.html"));
        let (code, out, err) = self.view(&[id, "-o", file.to_str().unwrap()]);
        assert_eq!(code, 0, "{out}{err}");
        assert_eq!(out.trim(), file.display().to_string());
        let html = std::fs::read_to_string(&file).unwrap();
        (file, html)
    }
}

/// The value behind the failing build's parameter-store variable.
const SECRET: &str = "tok-VIEW-secret-42";

/// Nothing the page needs comes from elsewhere.
fn assert_self_contained(html: &str) {
    for outside in [
        "<link", "<script", "src=", "@import", "url(", "http://", "https://",
    ] {
        assert!(
            !html.contains(outside),
            "the page refers to something outside: {outside}"
        );
    }
}

/// The HTML of one stage's column.
fn stage<'a>(html: &'a str, name: &str) -> &'a str {
    let start = html
        .find(&format!("data-stage=\"{name}\""))
        .unwrap_or_else(|| panic!("no stage {name}"));
    let rest = &html[start..];
    let end = rest[1..].find("data-stage=").map_or(rest.len(), |e| e + 1);
    &rest[..end]
}

#[test]
fn pages_of_a_failed_a_retried_and_a_succeeded_execution() {
    if !docker_available() {
        return;
    }
    let h = History::make();

    // Failed: the failing build, its sibling, the group and stage never reached.
    let (failed_file, html) = h.page(&h.failed);
    assert_self_contained(&html);
    assert!(html.contains(&format!("<code id=\"execution-id\">{}</code>", h.failed)));
    assert!(stage(&html, "Source").starts_with(
        "data-stage=\"Source\"><h2>Source <span class=\"badge s-Succeeded\">Succeeded"
    ));
    let build = stage(&html, "Build");
    assert!(
        html.contains("class=\"stage s-Failed\" data-stage=\"Build\""),
        "{build}"
    );
    assert!(
        build.contains("run order 1") && build.contains("run order 2"),
        "{build}"
    );
    assert!(
        build.contains(
            "class=\"action s-Failed\" href=\"#a-Build-Breaks-1\" data-action=\"Breaks\""
        ),
        "{build}"
    );
    assert!(
        build.contains("class=\"action s-Succeeded\" href=\"#a-Build-Sibling-1\""),
        "{build}"
    );
    assert!(
        build.contains("class=\"action s-NotRun\" data-action=\"Later\""),
        "{build}"
    );
    // Each badge has its own status's colour, whatever its stage's.
    assert!(
        build.contains("data-action=\"Sibling\"><h3>Sibling <span class=\"badge s-Succeeded\">"),
        "{build}"
    );
    assert!(html.contains("class=\"stage s-NotRun\" data-stage=\"Test\""));
    // The failing build's details: its phases, and its log open with the failing command marked.
    let details = &html[html.find("<article id=\"a-Build-Breaks-1\"").unwrap()..];
    let details = &details[..details.find("</article>").unwrap()];
    assert!(
        details.contains("<td>BUILD</td><td>FAILED</td>"),
        "{details}"
    );
    assert!(
        details.contains("COMMAND_EXECUTION_ERROR: exit 3: exit status 3"),
        "{details}"
    );
    assert!(
        details.contains("<details class=\"log\" open>"),
        "{details}"
    );
    assert!(
        details.contains("<span class=\"c fail\">[Container] "),
        "{details}"
    );
    assert!(
        details.contains("Running command exit 3</span>"),
        "{details}"
    );
    // The log is the stored one, masked: the secret never reaches the page.
    assert!(details.contains("token is ***"), "{details}");
    assert!(!html.contains(SECRET), "the secret is on the page");
    // Every action execution has a bar on the timeline.
    let timeline = &html[html.find("<section class=\"timeline\">").unwrap()..];
    assert_eq!(
        timeline.matches("class=\"row\"").count(),
        3,
        "Code, Breaks, Sibling"
    );

    // Retried: both attempts, the retry marked on its stage.
    let (retried_file, html) = h.page(&h.retried);
    assert_self_contained(&html);
    let test = stage(&html, "Test");
    assert!(
        test.contains("<li class=\"retry\">retried (FAILED_ACTIONS, ManualStageRetry)"),
        "{test}"
    );
    assert!(
        test.contains("class=\"action s-Succeeded\" href=\"#a-Test-Check-2\""),
        "{test}"
    );
    assert!(test.contains("attempt 2"), "{test}");
    assert!(html.contains("<article id=\"a-Test-Check-1\" class=\"s-Failed\">"));
    assert!(
        html.contains("Test/Check (attempt 2)"),
        "the second attempt is on the timeline"
    );

    // Succeeded: groups side by side, variables, artifacts with sizes and files.
    let (succeeded_file, html) = h.page(&h.succeeded);
    assert_self_contained(&html);
    let build = stage(&html, "Build");
    let first_group =
        &build[build.find("run order 1").unwrap()..build.find("run order 2").unwrap()];
    for action in ["Compile", "Lint", "Docs"] {
        assert!(
            first_group.contains(&format!("data-action=\"{action}\"")),
            "{first_group}"
        );
    }
    let code = &html[html.find("<article id=\"a-Source-Code-1\"").unwrap()..];
    let code = &code[..code.find("</article>").unwrap()];
    assert!(code.contains("<th>CommitId</th>"), "{code}");
    assert!(code.contains("<summary>Src — "), "{code}");
    assert!(
        code.contains("<td><code>app.txt</code></td><td>12 B</td>"),
        "{code}"
    );
    let package = &html[html.find("<article id=\"a-Build-Package-1\"").unwrap()..];
    assert!(package.contains("<h4>Phases</h4>"), "a build's phase table");

    // With no id: the newest execution, into the state folder.
    let (code, out, err) = h.view(&[]);
    assert_eq!(code, 0, "{out}{err}");
    let newest = h
        .state
        .path()
        .join("views")
        .join(format!("{}.html", h.succeeded));
    assert_eq!(out.trim(), newest.display().to_string());
    assert!(newest.is_file());
    let (code, _, err) = h.view(&["no-such-execution"]);
    assert_eq!(code, 2);
    assert!(err.contains("no execution no-such-execution"), "{err}");

    render_in_chromium(&[&failed_file, &retried_file, &succeeded_file]);
    serve(&h);
}

/// Headless Chromium draws each page to a PNG with nothing in its console.
/// `PIPELOCAL_WRITE_PICTURE=1` keeps the failed one as docs/view.png.
fn render_in_chromium(pages: &[&Path]) {
    let Some(chromium) = ["chromium", "chromium-browser", "google-chrome"]
        .into_iter()
        .find(|c| {
            Command::new(c)
                .arg("--version")
                .output()
                .is_ok_and(|o| o.status.success())
        })
    else {
        if std::env::var("PIPELOCAL_REQUIRE_DOCKER").as_deref() == Ok("1") {
            panic!("PIPELOCAL_REQUIRE_DOCKER=1 but no chromium is installed (.ci/run installs Debian's)");
        }
        eprintln!("skipping render_in_chromium of pages_of_a_failed_a_retried_and_a_succeeded_execution: chromium is not installed");
        return;
    };
    let profile = tempfile::tempdir().unwrap();
    for page in pages {
        let png = page.with_extension("png");
        let out = Command::new(chromium)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--hide-scrollbars",
            ])
            .arg("--window-size=1400,1000")
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .args(["--enable-logging=stderr", "--v=0"])
            .arg(format!("--screenshot={}", png.display()))
            .arg(format!("file://{}", page.display()))
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{stderr}");
        let console: Vec<&str> = stderr.lines().filter(|l| l.contains(":CONSOLE")).collect();
        assert!(
            console.is_empty(),
            "console of {}: {console:?}",
            page.display()
        );
        let bytes = std::fs::read(&png).unwrap();
        assert!(bytes.starts_with(b"\x89PNG"), "{} is no PNG", png.display());
        assert!(bytes.len() > 10_000, "{} is nearly empty", png.display());
    }
    if std::env::var("PIPELOCAL_WRITE_PICTURE").as_deref() == Ok("1") {
        std::fs::copy(pages[0].with_extension("png"), repo().join("docs/view.png")).unwrap();
    }
}

/// GET `path` from the server, the whole reply.
fn get(address: &str, path: &str) -> String {
    let mut stream = std::net::TcpStream::connect(address).unwrap();
    write!(stream, "GET {path} HTTP/1.1\r\nHost: {address}\r\n\r\n").unwrap();
    let mut reply = String::new();
    stream.read_to_string(&mut reply).unwrap();
    reply
}

/// `pipelocal view --serve` on a state folder, stopped on drop.
struct Server {
    child: std::process::Child,
    address: String,
}

impl Server {
    fn start(state: &Path) -> Server {
        let mut child = Command::new(env!("CARGO_BIN_EXE_pipelocal"))
            .args(["view", "--serve"])
            .env("PIPELOCAL_CONFIG", "/dev/null")
            .env("PIPELOCAL_STATE_DIR", state)
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut first = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut first)
            .unwrap();
        let url = first
            .split_whitespace()
            .find(|w| w.starts_with("http://127.0.0.1:"))
            .unwrap_or_else(|| panic!("no address in {first}"));
        let address = url
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .to_string();
        Server { child, address }
    }

    fn get(&self, path: &str) -> String {
        get(&self.address, path)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn serve(h: &History) {
    let server = Server::start(h.state.path());
    let address = server.address.clone();
    let list = get(&address, "/");
    assert!(list.starts_with("HTTP/1.1 200 OK"), "{list}");
    for id in [&h.failed, &h.retried, &h.succeeded] {
        assert!(
            list.contains(&format!("<a href=\"/execution/{id}\">")),
            "{list}"
        );
    }
    let page = get(&address, &format!("/execution/{}", h.failed));
    assert!(page.starts_with("HTTP/1.1 200 OK"), "{page}");
    assert!(page.contains(&format!("<code id=\"execution-id\">{}</code>", h.failed)));
    // A finished execution does not reload itself.
    assert!(!page.contains("http-equiv=\"refresh\""));
    assert!(server.get("/execution/nope").starts_with("HTTP/1.1 404"));
}

#[test]
fn a_running_execution_refreshes_itself_when_served() {
    if !docker_available() {
        return;
    }
    let src = git_repo(&[("app.txt", "hello\n")]);
    let state = tempfile::tempdir().unwrap();
    let mut run = Command::new(env!("CARGO_BIN_EXE_pipelocal"))
        .current_dir(repo())
        .env("PIPELOCAL_CONFIG", "/dev/null")
        .env("PIPELOCAL_STATE_DIR", state.path())
        .arg("run")
        .arg(fixture("runs/slow.json"))
        .arg("--projects")
        .arg(fixture("runs/projects.json"))
        .arg("--source")
        .arg(format!("Code={}", src.path().display()))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Until the slow build runs (it sleeps a minute), reading its lines.
    let mut lines = BufReader::new(run.stdout.take().unwrap()).lines();
    let mut seen = String::new();
    for line in lines.by_ref().map_while(Result::ok) {
        seen.push_str(&line);
        seen.push('\n');
        if line.contains("[Build/Slow] started slow work") {
            break;
        }
    }
    let id = execution_id(&seen);
    let server = Server::start(state.path());
    let list = server.get("/");
    assert!(list.contains("http-equiv=\"refresh\""), "{list}");
    let page = server.get(&format!("/execution/{id}"));
    assert!(page.contains("http-equiv=\"refresh\""), "{page}");
    assert!(
        page.contains("<span class=\"badge s-InProgress\">InProgress</span>"),
        "{page}"
    );
    assert!(
        page.contains("class=\"action s-InProgress\" href=\"#a-Build-Slow-1\""),
        "{page}"
    );
    // Stop the run as Ctrl-C does; its page then stays still.
    unsafe { libc::kill(run.id() as i32, libc::SIGINT) };
    let _ = lines.count();
    assert_eq!(run.wait().unwrap().code(), Some(1));
    let page = server.get(&format!("/execution/{id}"));
    assert!(!page.contains("http-equiv=\"refresh\""), "{page}");
}

#[test]
fn the_page_of_a_build_record_file_shows_that_build() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("buildspec.yml"),
        "version: 0.2\nphases:\n  build:\n    commands:\n      - echo building\n      - sh -c 'exit 4'\n",
    )
    .unwrap();
    let record = dir.path().join("build.json");
    let out = Command::new(env!("CARGO_BIN_EXE_pipelocal"))
        .current_dir(dir.path())
        .env("PIPELOCAL_CONFIG", "/dev/null")
        .env("PIPELOCAL_STATE_DIR", dir.path().join("state"))
        .args(["build", "--executor", "host", "--record", "build.json"])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let page = dir.path().join("build.html");
    let (code, stdout, stderr) = pipelocal(
        &dir.path().join("state"),
        Path::new("/dev/null"),
        &[
            "view",
            record.to_str().unwrap(),
            "-o",
            page.to_str().unwrap(),
        ],
    );
    assert_eq!(code, 0, "{stdout}{stderr}");
    let html = std::fs::read_to_string(&page).unwrap();
    assert_self_contained(&html);
    assert!(
        html.contains("<span class=\"badge s-Failed\">Failed</span>"),
        "{html}"
    );
    assert!(html.contains("<p class=\"summary\">BUILD: COMMAND_EXECUTION_ERROR: sh -c &#39;exit 4&#39;: exit status 4</p>"), "{html}");
    assert!(html.contains("<td>BUILD</td><td>FAILED</td>"), "{html}");
    // A file that is no build record is named as such.
    let (code, _, stderr) = pipelocal(
        &dir.path().join("state"),
        Path::new("/dev/null"),
        &["view", dir.path().join("buildspec.yml").to_str().unwrap()],
    );
    assert_eq!(code, 2);
    assert!(
        stderr.contains("buildspec.yml: not a build record"),
        "{stderr}"
    );
}
