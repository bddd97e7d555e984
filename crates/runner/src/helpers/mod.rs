//! The helper commands CodeBuild images carry (`codebuild-glob-search`,
//! `codebuild-hash-files`, `codebuild-tests-run`) and the debug session's
//! (`codebuild-breakpoint`, `codebuild-resume`), as POSIX shell scripts so
//! they run in any image, busybox included, and on the host.

use crate::shell::quote;

const HELPERS: &[(&str, &str)] = &[
    (
        "codebuild-glob-search",
        include_str!("codebuild-glob-search"),
    ),
    ("codebuild-hash-files", include_str!("codebuild-hash-files")),
    ("codebuild-tests-run", include_str!("codebuild-tests-run")),
    ("codebuild-breakpoint", include_str!("codebuild-breakpoint")),
    ("codebuild-resume", include_str!("codebuild-resume")),
];

/// Variables telling `codebuild-tests-run` which shard a build-fanout build is.
pub const SHARD_INDEX: &str = "PIPELOCAL_SHARD_INDEX";
pub const SHARD_COUNT: &str = "PIPELOCAL_SHARD_COUNT";

/// The helpers as files of `bin` inside the build environment: (path, script).
pub fn files(bin: &str) -> Vec<(String, &'static str)> {
    HELPERS
        .iter()
        .map(|(name, script)| (format!("{bin}/{name}"), *script))
        .collect()
}

/// The env-file line putting `bin` in front of the image's PATH. It runs once:
/// the first command saves the PATH it made.
pub fn path_line(bin: &str) -> String {
    format!("export PATH={}\"${{PATH:+:$PATH}}\"\n", quote(bin))
}
