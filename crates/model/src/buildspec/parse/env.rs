//! The `env` section (and 0.1's top-level variables) and `proxy`.

use serde_json::{Map, Value};

use super::super::*;
use super::*;
use crate::locate::DocPath;

impl Reader<'_> {
    pub(super) fn env(&mut self, v: Option<&Value>, path: &DocPath) -> Env {
        let Some(env) = self.map(v, path, "env") else {
            return Env::default();
        };
        self.known_keys(env, path, ENV_KEYS, "env");
        let shell = self.opt_string(env.get("shell"), &path.key("shell"));
        if let Some(s) = &shell {
            if !SHELLS.contains(&s.as_str()) {
                self.warn(&path.key("shell"), format!("env/shell `{s}` is not one CodeBuild documents (bash, /bin/sh, powershell.exe, cmd.exe)"));
            }
        }
        let variables = self.string_pairs(
            env.get("variables"),
            &path.key("variables"),
            "env/variables",
        );
        for (name, _) in &variables {
            if name.starts_with("CODEBUILD_") {
                self.warn(
                    &path.key("variables").key(name),
                    format!("`{name}`: names starting with CODEBUILD_ are reserved for CodeBuild"),
                );
            }
        }
        let parameter_store = self.string_pairs(
            env.get("parameter-store"),
            &path.key("parameter-store"),
            "env/parameter-store",
        );
        let secrets_manager: Vec<(String, SecretRef)> = self
            .string_pairs(
                env.get("secrets-manager"),
                &path.key("secrets-manager"),
                "env/secrets-manager",
            )
            .into_iter()
            .map(|(k, v)| (k, SecretRef::parse(&v)))
            .collect();
        let exported_variables = self.strings(
            env.get("exported-variables"),
            &path.key("exported-variables"),
        );
        for name in &exported_variables {
            if name.starts_with("AWS_") {
                self.warn(&path.key("exported-variables"), format!("`{name}` cannot be exported: names starting with AWS_ are not exported by CodeBuild"));
            }
        }
        let git_credential_helper = self
            .opt_bool(
                env.get("git-credential-helper"),
                &path.key("git-credential-helper"),
            )
            .unwrap_or(false);
        let names = [
            (
                "variables",
                variables.iter().map(|(n, _)| n).collect::<Vec<_>>(),
            ),
            (
                "parameter-store",
                parameter_store.iter().map(|(n, _)| n).collect(),
            ),
            (
                "secrets-manager",
                secrets_manager.iter().map(|(n, _)| n).collect(),
            ),
            ("exported-variables", exported_variables.iter().collect()),
        ];
        for (key, list) in names {
            for name in list.into_iter().filter(|n| !is_shell_name(n)) {
                self.warn(
                    &path.key(key).key(name),
                    format!("`{name}` is not a shell variable name (letters, digits and _, not starting with a digit): commands cannot see it"),
                );
            }
        }
        Env {
            shell,
            variables,
            parameter_store,
            secrets_manager,
            exported_variables,
            git_credential_helper,
        }
    }

    pub(super) fn env_0_1(&mut self, top: &Map<String, Value>, root: &DocPath) -> Env {
        if top.contains_key("env") {
            self.warn(
                &root.key("env"),
                "`env` is a version 0.2 key; version 0.1 uses `environment_variables`",
            );
        }
        let path = root.key("environment_variables");
        let Some(env) = self.map(
            top.get("environment_variables"),
            &path,
            "environment_variables",
        ) else {
            return Env::default();
        };
        self.known_keys(env, &path, &["plaintext"], "environment_variables");
        let variables = self.string_pairs(
            env.get("plaintext"),
            &path.key("plaintext"),
            "environment_variables/plaintext",
        );
        Env {
            variables,
            ..Env::default()
        }
    }

    pub(super) fn proxy(&mut self, v: Option<&Value>, path: &DocPath) -> Proxy {
        let Some(m) = self.map(v, path, "proxy") else {
            return Proxy::default();
        };
        self.known_keys(m, path, &["upload-artifacts", "logs"], "proxy");
        Proxy {
            upload_artifacts: self
                .opt_bool(m.get("upload-artifacts"), &path.key("upload-artifacts"))
                .unwrap_or(false),
            logs: self
                .opt_bool(m.get("logs"), &path.key("logs"))
                .unwrap_or(false),
        }
    }
}
