//! The curated images' `/codebuild/image/config/runtimes.yml`: the commands
//! that select each runtime version for `install.runtime-versions`
//! (CodeBuild User Guide, "Available runtimes").

use std::path::Path;

use serde_json::Value;

use crate::document::Document;
use crate::problem::LoadError;
use crate::scalar::stringify;

/// Where CodeBuild's curated images keep their runtime table.
pub const RUNTIMES_FILE: &str = "/codebuild/image/config/runtimes.yml";

/// A version's name and the commands that select it.
type Version = (String, Vec<String>);

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Runtimes {
    /// Runtime name -> its versions, in file order.
    runtimes: Vec<(String, Vec<Version>)>,
}

impl Runtimes {
    pub fn parse(text: &str) -> Result<Self, LoadError> {
        let doc = Document::parse(Path::new(RUNTIMES_FILE), text.to_string())?;
        let mut out = Runtimes::default();
        let Some(runtimes) = doc.value.get("runtimes").and_then(Value::as_object) else {
            return Ok(out);
        };
        for (name, runtime) in runtimes {
            let mut versions = Vec::new();
            if let Some(vs) = runtime.get("versions").and_then(Value::as_object) {
                for (version, body) in vs {
                    let commands = body
                        .get("commands")
                        .and_then(Value::as_array)
                        .map(|c| c.iter().filter(|v| !v.is_null()).map(stringify).collect())
                        .unwrap_or_default();
                    versions.push((version.clone(), commands));
                }
            }
            out.runtimes.push((name.clone(), versions));
        }
        Ok(out)
    }

    /// The commands for `runtime` at `requested` (`N.x`, `latest` or a
    /// version name), or CodeBuild's message for why there are none.
    pub fn select(&self, runtime: &str, requested: &str) -> Result<(&str, &[String]), String> {
        let Some((_, versions)) = self.runtimes.iter().find(|(n, _)| n == runtime) else {
            return Err(format!("Unknown runtime named '{runtime}'. This build image has the following runtimes: {}", self.names()));
        };
        let named: Vec<&Version> = versions.iter().filter(|(v, _)| v != "default").collect();
        let requested = requested.trim();
        let chosen = if requested == "latest" {
            named
                .iter()
                .max_by(|a, b| version_order(&a.0, &b.0))
                .copied()
        } else if let Some(major) = requested.strip_suffix(".x") {
            named
                .iter()
                .filter(|(v, _)| {
                    v == major
                        || v.strip_prefix(major)
                            .is_some_and(|rest| rest.starts_with('.'))
                })
                .max_by(|a, b| version_order(&a.0, &b.0))
                .copied()
        } else {
            named.iter().find(|(v, _)| v == requested).copied()
        };
        match chosen {
            Some((v, commands)) => Ok((v.as_str(), commands.as_slice())),
            None => Err(format!("Unknown runtime version named '{requested}' of {runtime}. This build image has the following versions: {}", named.iter().map(|(v, _)| v.as_str()).collect::<Vec<_>>().join(", "))),
        }
    }

    fn names(&self) -> String {
        self.runtimes
            .iter()
            .map(|(n, _)| n.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// Orders versions by their numbers (`corretto17` < `corretto21`, `3.9` < `3.12`).
fn version_order(a: &str, b: &str) -> std::cmp::Ordering {
    let numbers = |s: &str| -> Vec<u64> {
        s.split(|c: char| !c.is_ascii_digit())
            .filter(|p| !p.is_empty())
            .filter_map(|p| p.parse().ok())
            .collect()
    };
    numbers(a).cmp(&numbers(b)).then_with(|| a.cmp(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = "version: 0.1\nruntimes:\n  python:\n    versions:\n      \"3.9\":\n        commands:\n          - echo py39\n      \"3.12\":\n        commands:\n          - echo py312\n      default:\n        commands:\n          - echo custom\n  java:\n    versions:\n      corretto17:\n        commands: [echo j17]\n      corretto21:\n        commands: [echo j21]\n";

    #[test]
    fn selects_like_codebuild() {
        let r = Runtimes::parse(FILE).unwrap();
        assert_eq!(r.select("python", "3.9").unwrap().1, ["echo py39"]);
        assert_eq!(r.select("python", "3.x").unwrap().0, "3.12");
        assert_eq!(r.select("python", "latest").unwrap().0, "3.12");
        assert_eq!(r.select("java", "latest").unwrap().0, "corretto21");
        assert!(r
            .select("python", "2.x")
            .unwrap_err()
            .starts_with("Unknown runtime version named '2.x' of python"));
        assert!(r
            .select("ruby", "3")
            .unwrap_err()
            .starts_with("Unknown runtime named 'ruby'"));
    }
}
