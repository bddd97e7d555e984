//! `phases`: each phase's `run-as`, `on-failure`, `commands` and `finally`.

use serde_json::Value;

use super::*;
use crate::locate::DocPath;

impl Reader<'_> {
    pub(super) fn phases(&mut self, v: Option<&Value>, path: &DocPath) -> Vec<(PhaseName, Phase)> {
        let Some(m) = self.map(v, path, "phases") else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for (key, value) in m {
            let Some(name) = PhaseName::ALL.into_iter().find(|p| p.key() == key) else {
                let hint = closest(key, PhaseName::ALL.iter().map(|p| p.key()))
                    .map(|s| format!("; did you mean `{s}`?"))
                    .unwrap_or_default();
                self.error(&path.key(key), format!("unknown phase `{key}`: phases are install, pre_build, build and post_build{hint}"));
                continue;
            };
            let phase = self.phase(name, value, &path.key(key));
            out.push((name, phase));
        }
        out.sort_by_key(|(n, _)| *n);
        out
    }

    pub(super) fn phase(&mut self, name: PhaseName, v: &Value, path: &DocPath) -> Phase {
        let Some(m) = self.map(Some(v), path, "a phase") else {
            return Phase::default();
        };
        self.known_keys(m, path, PHASE_KEYS, &format!("phase {}", name.key()));
        let on_failure = match self.opt_string(m.get("on-failure"), &path.key("on-failure")) {
            Some(text) => match parse_on_failure(&text) {
                Ok(f) => Some(f),
                Err(msg) => {
                    self.error(&path.key("on-failure"), msg);
                    None
                }
            },
            None => None,
        };
        let runtime_versions = if m.contains_key("runtime-versions") {
            if name != PhaseName::Install {
                self.warn(
                    &path.key("runtime-versions"),
                    "runtime-versions is only read in the install phase",
                );
            }
            let rv = self.string_pairs(
                m.get("runtime-versions"),
                &path.key("runtime-versions"),
                "runtime-versions",
            );
            if rv.is_empty() {
                self.error(
                    &path.key("runtime-versions"),
                    "runtime-versions must list at least one runtime",
                );
            }
            rv
        } else {
            Vec::new()
        };
        Phase {
            run_as: self.opt_string(m.get("run-as"), &path.key("run-as")),
            on_failure,
            runtime_versions,
            commands: self.commands(m.get("commands"), &path.key("commands")),
            finally: self.commands(m.get("finally"), &path.key("finally")),
        }
    }

    pub(super) fn commands(&mut self, v: Option<&Value>, path: &DocPath) -> Vec<Command> {
        let items = match v {
            None | Some(Value::Null) => return Vec::new(),
            Some(Value::Array(items)) => items,
            Some(other) => {
                self.error(
                    path,
                    format!("commands must be a list of strings, found {}", kind(other)),
                );
                return Vec::new();
            }
        };
        let mut out = Vec::new();
        for (i, item) in items.iter().enumerate() {
            let item_path = path.index(i);
            let line = self.doc.line(&item_path);
            match item {
                Value::String(_) | Value::Number(_) | Value::Bool(_) => out.push(Command {
                    text: stringify(item),
                    line,
                }),
                Value::Null => {
                    self.warn(&item_path, format!("Commands[{i}] is empty and is skipped"))
                }
                Value::Object(_) => {
                    let at = line
                        .map(|l| {
                            format!(
                                " at line {l}, value of the key tag on line {} might be empty",
                                l.saturating_sub(1)
                            )
                        })
                        .unwrap_or_default();
                    self.error(&item_path, format!("Expected Commands[{i}] to be of string type: found subkeys instead{at} (quote a command that contains `: `)"));
                }
                Value::Array(_) => self.error(
                    &item_path,
                    format!("Expected Commands[{i}] to be of string type: found a list instead"),
                ),
            }
        }
        out
    }
}

/// `ABORT`, `CONTINUE`, `RETRY`, `RETRY-<count>`, `RETRY-<regex>`, `RETRY-<count>-<regex>`.
pub fn parse_on_failure(text: &str) -> Result<OnFailure, String> {
    const DEFAULT_RETRIES: u32 = 3;
    match text.trim() {
        "ABORT" => return Ok(OnFailure::Abort),
        "CONTINUE" => return Ok(OnFailure::Continue),
        "RETRY" => {
            return Ok(OnFailure::Retry {
                count: DEFAULT_RETRIES,
                pattern: None,
            })
        }
        _ => {}
    }
    let Some(rest) = text.trim().strip_prefix("RETRY-") else {
        return Err(format!("invalid on-failure value `{text}`: use ABORT, CONTINUE, RETRY, RETRY-<count>, RETRY-<regex> or RETRY-<count>-<regex>"));
    };
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    let after = &rest[digits.len()..];
    let (count, pattern) = if !digits.is_empty() && (after.is_empty() || after.starts_with('-')) {
        let count: u32 = digits
            .parse()
            .map_err(|_| format!("invalid retry count in `{text}`"))?;
        if count > 100 {
            return Err(format!(
                "retry count {count} in `{text}` is out of range 0-100"
            ));
        }
        let pattern = after
            .strip_prefix('-')
            .filter(|p| !p.is_empty())
            .map(String::from);
        (count, pattern)
    } else {
        (
            DEFAULT_RETRIES,
            Some(rest.to_string()).filter(|p| !p.is_empty()),
        )
    };
    if let Some(p) = &pattern {
        if let Err(e) = regex::Regex::new(&format!("^(?:{p})$")) {
            let reason = e
                .to_string()
                .lines()
                .last()
                .unwrap_or_default()
                .trim()
                .to_string();
            return Err(format!(
                "invalid regular expression `{p}` in on-failure `{text}`: {reason}"
            ));
        }
    }
    Ok(OnFailure::Retry { count, pattern })
}
