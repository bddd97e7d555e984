//! pipelocal's own configuration: `.pipelocal.yml` in a repository and one
//! file per user, so a team writes its mappings once. Every key has a flag of
//! the same name, and flags win. Relative paths are relative to the file.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::document::Document;
use crate::image_map::ImageMap;
use crate::locate::DocPath;
use crate::problem::LoadError;

/// One configuration file, its paths made relative to where it lies.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Config {
    /// The image of builds whose project names none, and of Commands actions.
    pub default_image: Option<String>,
    /// Images used in place of the ones projects name (`--image-map FROM=TO`);
    /// FROM may be a glob (`aws/codebuild/*`, see `image_map`).
    #[serde(default)]
    pub image_map: BTreeMap<String, String>,
    /// CodeBuild project definition files (`--projects`).
    #[serde(default)]
    pub projects: Vec<PathBuf>,
    /// Source action (or artifact) name to local folder or file (`--source`).
    #[serde(default)]
    pub sources: BTreeMap<String, PathBuf>,
    /// Values for Parameter Store and Secrets Manager (`--secrets-file`).
    pub secrets_file: Option<PathBuf>,
    /// `docker` or `host` (`--executor`).
    pub executor: Option<ExecutorKind>,
    /// Where executions, logs and the artifact store live (`--state-dir`).
    pub state_dir: Option<PathBuf>,
    /// Pipeline variables (`--variable NAME=VALUE`).
    #[serde(default)]
    pub variables: BTreeMap<String, String>,
    /// Template parameter values (`--parameter KEY=VALUE`), over their defaults.
    #[serde(default, deserialize_with = "crate::scalar::string_map")]
    pub parameters: BTreeMap<String, String>,
    /// Git sources with their uncommitted changes (`--uncommitted`).
    pub uncommitted: Option<bool>,
    /// Git sources as their folders are, also ignored files (`--all-files`).
    pub all_files: Option<bool>,
    /// Run a CodeBuild action whose project no definition gives, with the
    /// default image and its input's `buildspec.yml`, instead of stopping
    /// (`--assume-undefined-projects`).
    pub assume_undefined_projects: Option<bool>,
    /// Actions run by a local command instead of their service, by action
    /// name or `Stage/Action`: the escape hatch for anything not emulated.
    #[serde(default)]
    pub actions: BTreeMap<String, LocalCommand>,
    /// Lambda functions run by a local command, by `FunctionName`.
    #[serde(default)]
    pub functions: BTreeMap<String, LocalCommand>,
    /// What `run` does with CodeDeploy and ECS deploy actions (`--deploy`):
    /// `check` their inputs (the default), or deploy `local`ly.
    pub deploy: Option<DeployMode>,
    /// CodeDeploy instances of `--deploy local`, by `Application` or
    /// `Application/DeploymentGroup` (the longer key wins).
    #[serde(default)]
    pub instances: BTreeMap<String, InstanceConfig>,
    /// ECS services of `--deploy local`, by `service` or `cluster/service`
    /// (the longer key wins).
    #[serde(default)]
    pub services: BTreeMap<String, ServiceConfig>,
}

/// What deploy actions do in a run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DeployMode {
    /// Check the inputs as the service would and say what it would do.
    #[default]
    Check,
    /// Deploy into local instance and task containers.
    Local,
}

impl DeployMode {
    pub const NAMES: [&'static str; 2] = ["check", "local"];
}

impl std::str::FromStr for DeployMode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "check" => Ok(DeployMode::Check),
            "local" => Ok(DeployMode::Local),
            _ => Err(format!("unknown deploy mode '{s}': use check or local")),
        }
    }
}

/// A CodeDeploy instance's container.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct InstanceConfig {
    /// Its image; default: `default-image`, else the default build image.
    pub image: Option<String>,
    /// Ports published on 127.0.0.1, `HOST:CONTAINER` or one number for both.
    #[serde(default)]
    pub ports: Vec<PortMapping>,
}

/// An ECS service run locally.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct ServiceConfig {
    /// The task definition (register-task-definition JSON) when the template
    /// does not define the service's; relative to the configuration file.
    pub task_definition: Option<PathBuf>,
    /// Container ports published on 127.0.0.1, `HOST:CONTAINER` or one number.
    #[serde(default)]
    pub ports: Vec<PortMapping>,
}

/// `HOST:CONTAINER` (or `PORT` for both): a port published on 127.0.0.1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "serde_json::Value", into = "String")]
pub struct PortMapping {
    pub host: u16,
    pub container: u16,
}

impl std::str::FromStr for PortMapping {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let port = |p: &str| {
            p.trim()
                .parse::<u16>()
                .ok()
                .filter(|n| *n > 0)
                .ok_or_else(|| {
                    format!("'{s}' is not a port mapping: use HOST:CONTAINER, e.g. 8080:80")
                })
        };
        match s.split_once(':') {
            Some((host, container)) => Ok(PortMapping {
                host: port(host)?,
                container: port(container)?,
            }),
            None => port(s).map(|p| PortMapping {
                host: p,
                container: p,
            }),
        }
    }
}

impl TryFrom<serde_json::Value> for PortMapping {
    type Error = String;
    fn try_from(value: serde_json::Value) -> Result<Self, String> {
        crate::scalar::stringify(&value).parse()
    }
}

impl From<PortMapping> for String {
    fn from(p: PortMapping) -> String {
        format!("{}:{}", p.host, p.container)
    }
}

/// The entry of `map` for `outer/inner` if there is one, else for
/// `shorter`, else the default.
fn longest_key<V: Clone + Default>(
    map: &BTreeMap<String, V>,
    outer: &str,
    inner: &str,
    shorter: &str,
) -> V {
    map.get(&format!("{outer}/{inner}"))
        .or_else(|| map.get(shorter))
        .cloned()
        .unwrap_or_default()
}

/// A local command standing in for an action or a function.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct LocalCommand {
    /// Shell command line; the action's inputs are folders beside it.
    pub command: String,
    /// Run it in a container of this image; without one, on the host.
    pub image: Option<String>,
}

/// Where a build's commands run: the one vocabulary of `--executor`,
/// `PIPELOCAL_EXECUTOR` and `executor:` in configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ExecutorKind {
    /// A container of the build image (the default).
    Docker,
    /// This machine's shell.
    Host,
}

impl ExecutorKind {
    pub const NAMES: [&'static str; 2] = ["docker", "host"];
}

impl std::str::FromStr for ExecutorKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "docker" => Ok(ExecutorKind::Docker),
            "host" => Ok(ExecutorKind::Host),
            _ => Err(format!("unknown executor '{s}': use docker or host")),
        }
    }
}

impl Config {
    /// The same settings with every path absolute (against `base`), so they
    /// still mean the same files from another folder.
    pub fn absolute(mut self, base: &Path) -> Config {
        let home = std::env::var_os("HOME").map(PathBuf::from);
        let fix = |p: &mut PathBuf| {
            if let (Ok(rest), Some(home)) = (p.strip_prefix("~"), &home) {
                *p = home.join(rest);
            } else if p.is_relative() {
                *p = base.join(&*p);
            }
        };
        self.projects.iter_mut().for_each(fix);
        self.sources.values_mut().for_each(fix);
        self.secrets_file.iter_mut().for_each(fix);
        self.state_dir.iter_mut().for_each(fix);
        self.services
            .values_mut()
            .filter_map(|s| s.task_definition.as_mut())
            .for_each(fix);
        self
    }

    /// Reads a configuration file; an empty file is an empty configuration.
    pub fn load(path: &Path) -> Result<Config, LoadError> {
        let doc = Document::read(path)?;
        let value = match &doc.value {
            serde_json::Value::Null => return Ok(Config::default()),
            v => v.clone(),
        };
        let config: Config = serde_path_to_error::deserialize(value).map_err(|e| {
            let at = DocPath::root().join_serde(e.path());
            LoadError::invalid(doc.error(&at, e.inner().to_string()))
        })?;
        for from in config.image_map.keys() {
            if let Err(e) = ImageMap::check_from(from) {
                let at = DocPath::root().key("image-map").key(from);
                return Err(LoadError::invalid(doc.error(&at, e.to_string())));
            }
        }
        Ok(config.absolute(path.parent().unwrap_or(Path::new("."))))
    }

    /// `self` over `lower`: scalars from `self` when set, maps merged with
    /// `self`'s entries winning, lists joined (`lower`'s first).
    pub fn over(self, lower: Config) -> Config {
        Config {
            default_image: self.default_image.or(lower.default_image),
            image_map: merge(lower.image_map, self.image_map),
            projects: lower.projects.into_iter().chain(self.projects).collect(),
            sources: merge(lower.sources, self.sources),
            secrets_file: self.secrets_file.or(lower.secrets_file),
            executor: self.executor.or(lower.executor),
            state_dir: self.state_dir.or(lower.state_dir),
            variables: merge(lower.variables, self.variables),
            parameters: merge(lower.parameters, self.parameters),
            uncommitted: self.uncommitted.or(lower.uncommitted),
            all_files: self.all_files.or(lower.all_files),
            assume_undefined_projects: self
                .assume_undefined_projects
                .or(lower.assume_undefined_projects),
            actions: merge(lower.actions, self.actions),
            functions: merge(lower.functions, self.functions),
            deploy: self.deploy.or(lower.deploy),
            instances: merge(lower.instances, self.instances),
            services: merge(lower.services, self.services),
        }
    }

    /// The configuration of CodeDeploy `application`'s `group` instance:
    /// `Application/DeploymentGroup`, else `Application`.
    pub fn instance(&self, application: &str, group: &str) -> InstanceConfig {
        longest_key(&self.instances, application, group, application)
    }

    /// The configuration of ECS `service` in `cluster`: `cluster/service`,
    /// else `service`.
    pub fn service(&self, cluster: &str, service: &str) -> ServiceConfig {
        longest_key(&self.services, cluster, service, service)
    }
}

fn merge<V>(mut low: BTreeMap<String, V>, high: BTreeMap<String, V>) -> BTreeMap<String, V> {
    low.extend(high);
    low
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_relative_to_the_file_and_unknown_keys_name_their_line() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join(".pipelocal.yml");
        std::fs::write(
            &file,
            "default-image: img\nimage-map:\n  aws/codebuild/standard:7.0: local/std\nprojects:\n  - ci/projects.json\nsources:\n  App: ../app\nexecutor: host\n",
        )
        .unwrap();
        let c = Config::load(&file).unwrap();
        assert_eq!(c.projects, vec![dir.path().join("ci/projects.json")]);
        assert_eq!(c.sources["App"], dir.path().join("../app"));
        assert_eq!(c.executor, Some(ExecutorKind::Host));
        std::fs::write(&file, "default-image: img\nimage_map: {}\n").unwrap();
        let e = Config::load(&file).unwrap_err().summary();
        assert!(
            e.contains(".pipelocal.yml:2") && e.contains("unknown field `image_map`"),
            "{e}"
        );
    }

    #[test]
    fn an_image_map_glob_that_cannot_be_used_names_its_line() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join(".pipelocal.yml");
        std::fs::write(
            &file,
            "image-map:\n  aws/codebuild/*: local/any\n  aws/codebuild/[: local/broken\n",
        )
        .unwrap();
        let e = Config::load(&file).unwrap_err().summary();
        assert!(
            e.contains(".pipelocal.yml:3") && e.contains("not a usable glob"),
            "{e}"
        );
    }

    #[test]
    fn deploy_settings_read_ports_and_the_longer_key_wins() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join(".pipelocal.yml");
        std::fs::write(
            &file,
            "deploy: local\ninstances:\n  App: {image: a}\n  App/Blue: {image: b, ports: ['8080:80', 9000]}\nservices:\n  web: {task-definition: td.json}\n",
        )
        .unwrap();
        let c = Config::load(&file).unwrap();
        assert_eq!(c.deploy, Some(DeployMode::Local));
        assert_eq!(c.instance("App", "Green").image.as_deref(), Some("a"));
        let blue = c.instance("App", "Blue");
        assert_eq!(blue.image.as_deref(), Some("b"));
        assert_eq!(
            blue.ports,
            vec![
                PortMapping {
                    host: 8080,
                    container: 80
                },
                PortMapping {
                    host: 9000,
                    container: 9000
                }
            ]
        );
        assert_eq!(
            c.service("default", "web").task_definition,
            Some(dir.path().join("td.json"))
        );
        assert_eq!(c.service("default", "other"), ServiceConfig::default());
        std::fs::write(&file, "instances:\n  App:\n    ports:\n      - '80:x'\n").unwrap();
        let e = Config::load(&file).unwrap_err().summary();
        assert!(
            e.contains(".pipelocal.yml:4") && e.contains("HOST:CONTAINER"),
            "{e}"
        );
    }

    #[test]
    fn the_higher_file_wins() {
        let repo = Config {
            default_image: Some("repo".into()),
            image_map: BTreeMap::from([("a".into(), "repo-a".into())]),
            ..Config::default()
        };
        let user = Config {
            default_image: Some("user".into()),
            image_map: BTreeMap::from([
                ("a".into(), "user-a".into()),
                ("b".into(), "user-b".into()),
            ]),
            secrets_file: Some("s.yml".into()),
            ..Config::default()
        };
        let c = repo.over(user);
        assert_eq!(c.default_image.as_deref(), Some("repo"));
        assert_eq!(c.image_map["a"], "repo-a");
        assert_eq!(c.image_map["b"], "user-b");
        assert_eq!(c.secrets_file, Some(PathBuf::from("s.yml")));
    }
}
