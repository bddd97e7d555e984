//! Finding the container engine, as act and the Docker CLI do: `DOCKER_HOST`,
//! else the Docker CLI's current context, else the first local socket that
//! answers (Docker's, Docker Desktop's, Colima's, then Podman's
//! Docker-compatible API socket). Podman answers the same API, so it is one
//! more socket here; what it cannot do is explained by `engine_fix`.

use std::path::{Path, PathBuf};
use std::time::Duration;

use bollard::{Docker, API_DEFAULT_VERSION};

use super::ExecError;

/// How the engine in use was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FoundBy {
    DockerHost,
    /// A Docker CLI context, by name.
    Context(String),
    /// The first of the usual sockets that answered.
    Socket,
}

impl std::fmt::Display for FoundBy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FoundBy::DockerHost => write!(f, "DOCKER_HOST"),
            FoundBy::Context(name) => write!(f, "Docker context {name}"),
            FoundBy::Socket => write!(f, "the first socket that answered"),
        }
    }
}

/// The engine's address and how it was found.
#[derive(Debug, Clone)]
pub struct Endpoint {
    pub address: String,
    pub found_by: FoundBy,
}

/// Sockets tried after `DOCKER_HOST` and the context, in act's order of
/// kinds: Docker, Docker Desktop, Colima, then Podman (rootful, rootless).
pub fn candidate_sockets() -> Vec<PathBuf> {
    let home = std::env::var_os("HOME").map(PathBuf::from);
    let runtime = std::env::var_os("XDG_RUNTIME_DIR").map(PathBuf::from);
    let mut out = vec![PathBuf::from("/var/run/docker.sock")];
    if let Some(r) = &runtime {
        out.push(r.join("docker.sock"));
    }
    if let Some(h) = &home {
        out.push(h.join(".docker/run/docker.sock"));
        out.push(h.join(".docker/desktop/docker.sock"));
        out.push(h.join(".colima/default/docker.sock"));
        out.push(h.join(".colima/docker.sock"));
    }
    out.push(PathBuf::from("/run/podman/podman.sock"));
    if let Some(r) = &runtime {
        out.push(r.join("podman/podman.sock"));
    }
    out
}

/// The endpoint of the Docker CLI's current context (`DOCKER_CONTEXT`, else
/// `currentContext` in `~/.docker/config.json`): its name and `Host`. The
/// `default` context means the usual sockets.
fn context_endpoint(home: &Path, chosen: Option<String>) -> Option<(String, String)> {
    let name = chosen.or_else(|| {
        let text = std::fs::read_to_string(home.join(".docker/config.json")).ok()?;
        let config: DockerConfig = serde_json::from_str(&text).ok()?;
        config.current_context
    })?;
    if name.is_empty() || name == "default" {
        return None;
    }
    use sha2::Digest;
    let digest = sha2::Sha256::digest(name.as_bytes());
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    let meta = home
        .join(".docker/contexts/meta")
        .join(hex)
        .join("meta.json");
    let text = std::fs::read_to_string(meta).ok()?;
    let meta: ContextMeta = serde_json::from_str(&text).ok()?;
    Some((name, meta.endpoints.docker.host))
}

/// The part of `~/.docker/config.json` read here.
#[derive(serde::Deserialize)]
struct DockerConfig {
    #[serde(rename = "currentContext")]
    current_context: Option<String>,
}

/// The part of a context's `meta.json` read here.
#[derive(serde::Deserialize)]
struct ContextMeta {
    #[serde(rename = "Endpoints")]
    endpoints: ContextEndpoints,
}

#[derive(serde::Deserialize)]
struct ContextEndpoints {
    docker: ContextDocker,
}

#[derive(serde::Deserialize)]
struct ContextDocker {
    #[serde(rename = "Host")]
    host: String,
}

/// Connects to the engine (see the module's order); the error lists
/// everything tried.
pub async fn connect() -> Result<Docker, ExecError> {
    connect_found().await.map(|(docker, _)| docker)
}

/// `connect`, also saying where the engine is and how it was found.
pub async fn connect_found() -> Result<(Docker, Endpoint), ExecError> {
    let mut tried = Vec::new();
    if let Ok(host) = std::env::var("DOCKER_HOST") {
        let found = Endpoint {
            address: host.clone(),
            found_by: FoundBy::DockerHost,
        };
        match Docker::connect_with_defaults() {
            Ok(d) => match answer(d).await {
                Ok(d) => return Ok((d, found)),
                Err(e) => tried.push(format!("DOCKER_HOST={host} ({e})")),
            },
            Err(e) => tried.push(format!("DOCKER_HOST={host} ({e})")),
        }
        return Err(ExecError::Unreachable(format!(
            "tried {}; start the engine, fix DOCKER_HOST, or use --executor host",
            tried.join(", ")
        )));
    }
    let home = std::env::var_os("HOME").map(PathBuf::from);
    let context = home
        .as_deref()
        .and_then(|h| context_endpoint(h, std::env::var("DOCKER_CONTEXT").ok()));
    if let Some((name, host)) = context {
        let connected = if let Some(path) = host.strip_prefix("unix://") {
            Docker::connect_with_socket(path, 120, API_DEFAULT_VERSION)
        } else if host.starts_with("tcp://") || host.starts_with("http://") {
            Docker::connect_with_http(&host, 120, API_DEFAULT_VERSION)
        } else {
            return Err(ExecError::Unreachable(format!(
                "Docker context {name} points at {host}, which pipelocal cannot reach (unix:// and tcp:// only); set DOCKER_HOST, or use --executor host"
            )));
        };
        let found = Endpoint {
            address: host.clone(),
            found_by: FoundBy::Context(name.clone()),
        };
        match connected {
            Ok(d) => match answer(d).await {
                Ok(d) => return Ok((d, found)),
                Err(e) => tried.push(format!("Docker context {name} at {host} ({e})")),
            },
            Err(e) => tried.push(format!("Docker context {name} at {host} ({e})")),
        }
    }
    for socket in candidate_sockets() {
        if !socket.exists() {
            continue;
        }
        let shown = socket.display().to_string();
        let found = Endpoint {
            address: format!("unix://{shown}"),
            found_by: FoundBy::Socket,
        };
        match Docker::connect_with_socket(&shown, 120, API_DEFAULT_VERSION) {
            Ok(d) => match answer(d).await {
                Ok(d) => return Ok((d, found)),
                Err(e) => tried.push(format!("{shown} ({e})")),
            },
            Err(e) => tried.push(format!("{shown} ({e})")),
        }
    }
    let detail = if tried.is_empty() {
        "no Docker or Podman socket found (looked for /var/run/docker.sock, ~/.docker/run/docker.sock, Colima and Podman sockets) and DOCKER_HOST is not set".to_string()
    } else {
        format!("tried {}", tried.join(", "))
    };
    Err(ExecError::Unreachable(format!(
        "{detail}; start Docker (or `podman system service`), set DOCKER_HOST, or use --executor host"
    )))
}

async fn answer(d: Docker) -> Result<Docker, bollard::errors::Error> {
    let d = d
        .with_timeout(Duration::from_secs(10))
        .negotiate_version()
        .await?;
    d.ping().await?;
    // Uploads of large sources only get a reply once extracted: allow time.
    Ok(d.with_timeout(Duration::from_secs(3600)))
}

/// What the engine says it is.
#[derive(Debug, Clone)]
pub struct EngineVersion {
    /// `Docker Engine 27.1.1`, `Podman Engine 4.3.1`, ...
    pub name: String,
    pub version: String,
    pub api_version: String,
    pub podman: bool,
}

/// Asks the engine its name and version.
pub async fn engine_version(docker: &Docker) -> Result<EngineVersion, ExecError> {
    let v = docker.version().await.map_err(|source| ExecError::Docker {
        doing: "asking the engine's version",
        source,
    })?;
    // Podman names itself in the components; Docker's first is "Engine".
    let component = v
        .components
        .iter()
        .flatten()
        .find(|c| c.name.contains("Engine"));
    let name = component
        .map(|c| c.name.clone())
        .unwrap_or_else(|| "Docker Engine".to_string());
    let name = if name == "Engine" {
        "Docker Engine".to_string()
    } else {
        name
    };
    Ok(EngineVersion {
        podman: name.contains("Podman"),
        version: component
            .map(|c| c.version.clone())
            .or(v.version)
            .unwrap_or_default(),
        api_version: v.api_version.unwrap_or_default(),
        name,
    })
}

/// The fix for an engine's refusal to make or start a container, when the
/// cause is a known one of the engine's own (mostly Podman's), not the build's.
pub fn engine_fix(message: &str) -> Option<String> {
    if message.contains("catatonit") || message.contains("container-init binary") {
        // Builds run with an init process, as CodeBuild's containers do;
        // Podman looks for it at the path its error names.
        let wanted = message
            .split("stat ")
            .nth(1)
            .and_then(|rest| rest.split(':').next())
            .unwrap_or("/usr/libexec/podman/catatonit");
        return Some(format!(
            "the engine has no init binary (Podman's catatonit) at {wanted}: install catatonit (Debian's package links it there: `apt-get install catatonit`), or put the binary at that path"
        ));
    }
    if message.contains("setting rlimit") {
        return Some("the engine's runtime may not raise the container's resource limits above this machine's hard limits (`ulimit -Hn`, `ulimit -Hu`), as Podman running as root tries to: set default_ulimits = [\"nofile=1024:1024\", \"nproc=1024:1024\"] under [containers] in /etc/containers/containers.conf (or a file named by CONTAINERS_CONF for `podman system service`)".to_string());
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn podman_sockets_come_after_dockers() {
        let sockets = candidate_sockets();
        let docker = sockets
            .iter()
            .position(|s| s == Path::new("/var/run/docker.sock"));
        let podman = sockets
            .iter()
            .position(|s| s == Path::new("/run/podman/podman.sock"));
        assert!(docker < podman, "{sockets:?}");
    }

    #[test]
    fn the_current_context_names_its_endpoint() {
        use sha2::Digest;
        let home = tempfile::tempdir().unwrap();
        let docker = home.path().join(".docker");
        std::fs::create_dir_all(&docker).unwrap();
        std::fs::write(
            docker.join("config.json"),
            r#"{"currentContext": "colima"}"#,
        )
        .unwrap();
        let hex: String = sha2::Sha256::digest(b"colima")
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        let meta = docker.join("contexts/meta").join(hex);
        std::fs::create_dir_all(&meta).unwrap();
        std::fs::write(
            meta.join("meta.json"),
            r#"{"Name": "colima", "Endpoints": {"docker": {"Host": "unix:///home/me/.colima/default/docker.sock"}}}"#,
        )
        .unwrap();
        assert_eq!(
            context_endpoint(home.path(), None),
            Some((
                "colima".into(),
                "unix:///home/me/.colima/default/docker.sock".into()
            ))
        );
        assert_eq!(context_endpoint(home.path(), Some("default".into())), None);
        assert_eq!(context_endpoint(home.path(), Some("missing".into())), None);
    }

    #[test]
    fn podmans_own_refusals_name_their_fix() {
        let init = "container create: container-init binary not found on the host: stat /usr/libexec/podman/catatonit: no such file or directory";
        let fix = engine_fix(init).unwrap();
        assert!(
            fix.contains("at /usr/libexec/podman/catatonit: install catatonit"),
            "{fix}"
        );
        let limits = "runc: runc create failed: unable to start container process: error during container init: error setting rlimits for ready process: error setting rlimit type 7: operation not permitted: OCI permission denied";
        assert!(engine_fix(limits).unwrap().contains("default_ulimits"));
        assert_eq!(engine_fix("No such image: x"), None);
    }
}
