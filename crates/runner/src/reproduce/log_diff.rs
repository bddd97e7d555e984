//! The cloud build's log and the local one aligned command by command: the
//! first command whose exit status or output differs, with a few lines of
//! each side. Paths below `CODEBUILD_SRC_DIR` are compared as
//! `$CODEBUILD_SRC_DIR/...`: the folder differs between any two builds.

use pipelocal_model::cloud::container_log::{ContainerLog, LoggedCommand};
use serde::{Deserialize, Serialize};

/// How many lines of each side a difference shows.
const EXCERPT: usize = 5;

/// One side of a differing command.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CommandSide {
    pub phase: String,
    pub command: String,
    /// 0 when the command did not fail.
    pub exit_status: i64,
    /// The line of its `Running command` line in that log.
    pub line: usize,
    /// A few lines of its output, around where the two sides part.
    pub excerpt: Vec<String>,
}

/// The first command where the two logs part.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LogDifference {
    /// What differs, in one line: `sh check.sh (BUILD): exit status 1 in the cloud, 0 here`.
    pub summary: String,
    pub cloud: Option<CommandSide>,
    pub local: Option<CommandSide>,
}

/// The first command whose exit status or output differs; `None` when the
/// logs ran the same commands with the same results.
pub fn first_difference(cloud: &ContainerLog, local: &ContainerLog) -> Option<LogDifference> {
    let count = cloud.commands.len().max(local.commands.len());
    for i in 0..count {
        let (c, l) = (cloud.commands.get(i), local.commands.get(i));
        match (c, l) {
            (Some(c), Some(l)) if c.phase != l.phase || c.command != l.command => {
                return Some(LogDifference {
                    summary: format!(
                        "the cloud build ran `{}` ({}) where this one ran `{}` ({})",
                        c.command, c.phase, l.command, l.phase
                    ),
                    cloud: Some(side(c, &normalised(cloud, c), 0)),
                    local: Some(side(l, &normalised(local, l), 0)),
                });
            }
            (Some(c), Some(l)) => {
                let (co, lo) = (normalised(cloud, c), normalised(local, l));
                let (ce, le) = (c.exit_status.unwrap_or(0), l.exit_status.unwrap_or(0));
                if ce != le {
                    let tail = |o: &[String]| o.len().saturating_sub(EXCERPT);
                    return Some(LogDifference {
                        summary: format!(
                            "`{}` ({}): exit status {ce} in the cloud, {le} here",
                            c.command, c.phase
                        ),
                        cloud: Some(side(c, &co, tail(&co))),
                        local: Some(side(l, &lo, tail(&lo))),
                    });
                }
                if let Some(at) = (0..co.len().max(lo.len())).find(|&k| co.get(k) != lo.get(k)) {
                    let from = at.saturating_sub(1);
                    return Some(LogDifference {
                        summary: format!(
                            "`{}` ({}): its output differs at its line {}",
                            c.command,
                            c.phase,
                            at + 1
                        ),
                        cloud: Some(side(c, &co, from)),
                        local: Some(side(l, &lo, from)),
                    });
                }
            }
            (Some(c), None) => {
                return Some(LogDifference {
                    summary: format!("`{}` ({}) ran in the cloud, not here", c.command, c.phase),
                    cloud: Some(side(c, &normalised(cloud, c), 0)),
                    local: None,
                })
            }
            (None, Some(l)) => {
                return Some(LogDifference {
                    summary: format!("`{}` ({}) ran here, not in the cloud", l.command, l.phase),
                    cloud: None,
                    local: Some(side(l, &normalised(local, l), 0)),
                })
            }
            (None, None) => {}
        }
    }
    None
}

/// A command's output with its log's source folder written as
/// `$CODEBUILD_SRC_DIR`, without trailing spaces and blank lines (which
/// exports and downloads do not keep alike).
fn normalised(log: &ContainerLog, command: &LoggedCommand) -> Vec<String> {
    command
        .output
        .iter()
        .filter(|line| !line.trim().is_empty())
        .map(|line| {
            let line = line.trim_end();
            match log.src_dir.as_deref().filter(|d| !d.is_empty()) {
                Some(dir) => line.replace(dir, "$CODEBUILD_SRC_DIR"),
                None => line.to_string(),
            }
        })
        .collect()
}

fn side(command: &LoggedCommand, output: &[String], from: usize) -> CommandSide {
    CommandSide {
        phase: command.phase.clone(),
        command: command.command.clone(),
        exit_status: command.exit_status.unwrap_or(0),
        line: command.line,
        excerpt: output.iter().skip(from).take(EXCERPT).cloned().collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn log(src: &str, body: &str) -> ContainerLog {
        ContainerLog::from_text(&format!(
            "[Container] 2024/01/01 00:00:00.1 CODEBUILD_SRC_DIR={src}\n[Container] 2024/01/01 00:00:00.1 Entering phase BUILD\n{body}"
        ))
    }

    #[test]
    fn the_first_differing_exit_status_or_output_is_found() {
        let run = |c: &str| format!("[Container] 2024/01/01 00:00:00.1 Running command {c}\n");
        let fail = |c: &str, n: i64| {
            format!("[Container] 2024/01/01 00:00:00.1 Command did not exit successfully {c} exit status {n}\n")
        };
        let cloud = log(
            "/codebuild/output/src1/src",
            &format!(
                "{}/codebuild/output/src1/src/a\n{}boom\n{}",
                run("ls"),
                run("sh check.sh"),
                fail("sh check.sh", 1)
            ),
        );
        let same_paths = log(
            "/tmp/x/src",
            &format!("{}/tmp/x/src/a\n{}boom\n", run("ls"), run("sh check.sh")),
        );
        let d = first_difference(&cloud, &same_paths).unwrap();
        assert_eq!(
            d.summary,
            "`sh check.sh` (BUILD): exit status 1 in the cloud, 0 here"
        );
        assert_eq!(d.cloud.unwrap().excerpt, vec!["boom"]);
        let other_output = log("/tmp/x/src", &format!("{}/tmp/x/src/b\n", run("ls")));
        let d = first_difference(&cloud, &other_output).unwrap();
        assert_eq!(d.summary, "`ls` (BUILD): its output differs at its line 1");
        assert_eq!(d.cloud.unwrap().excerpt, vec!["$CODEBUILD_SRC_DIR/a"]);
        assert_eq!(d.local.unwrap().excerpt, vec!["$CODEBUILD_SRC_DIR/b"]);
        assert_eq!(first_difference(&cloud, &cloud), None);
    }
}
