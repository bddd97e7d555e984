//! Reproducing a build that ran in the cloud (`pipelocal build --from-build`):
//! a local build set up from the cloud build's record (its project settings,
//! variables and exact source versions, `checkout`), and what tells the two
//! apart afterwards: the phases side by side with a verdict (`verdict`), and
//! the first command whose exit status or output differs in their logs
//! (`log_diff`).

pub mod checkout;
pub mod log_diff;
pub mod verdict;

use std::path::Path;

use pipelocal_model::cloud::batch_get_builds::CloudBuild;

use crate::prepare::{FromBuild, LocalBuild};
use checkout::{check_out, Checkout, CheckoutError};

/// A local build set up to reproduce a cloud build: keeps the checkouts it
/// builds from until it is dropped.
#[derive(Debug)]
pub struct Reproduction {
    pub cloud: CloudBuild,
    /// What the local build differs in, said before it runs: the record's
    /// settings it cannot honour, and sources used as they are.
    pub notes: Vec<String>,
    /// The commit of the primary source, when it was checked out.
    pub commit: Option<String>,
    _checkouts: Vec<Checkout>,
}

/// Why a cloud build cannot be reproduced here; nothing ran.
#[derive(Debug, thiserror::Error)]
pub enum ReproduceError {
    #[error(transparent)]
    Checkout(#[from] CheckoutError),
    #[error("the cloud build had the secondary source `{id}` at {version}: give the folder of its clone with -s {id}:DIR")]
    MissingSecondary { id: String, version: String },
}

/// Sets `input` up to build as `cloud` did: the record's project (flags
/// given on the command line still win, as they win over `--project`), and
/// each source checked out at the cloud build's version from the clone `-s`
/// names. Checkouts go below `<state-dir>/checkouts/`.
pub fn reproduce(
    cloud: CloudBuild,
    input: &mut LocalBuild,
) -> Result<Reproduction, ReproduceError> {
    let under = input.state_dir.join("checkouts");
    let mut notes = cloud.unhonoured();
    let mut checkouts = Vec::new();
    let source_type = cloud
        .source
        .as_ref()
        .map(|s| s.source_type.as_str())
        .unwrap_or("NO_SOURCE");
    let primary = cloud
        .resolved_source_version
        .as_deref()
        .or_else(|| cloud.source_version.as_deref().filter(|v| is_commit(v)));
    let mut commit = None;
    match primary {
        Some(version) => {
            let c = check_out(&input.primary_source, version, "resolvedSourceVersion", &under)?;
            input.primary_source = c.source.clone();
            commit = Some(c.commit.clone());
            checkouts.push(c);
        }
        None => notes.push(format!(
            "the record has no resolvedSourceVersion (a {source_type} source): {} is built as it is",
            shown(&input.primary_source)
        )),
    }
    for source in &cloud.secondary_sources {
        let Some(id) = source.source_identifier.as_deref() else {
            continue;
        };
        // A pipeline's build names its input artifacts' S3 objects: no commit to check out.
        let version = cloud
            .secondary_version(id)
            .filter(|v| !v.starts_with("arn:"));
        let given = input.secondary_sources.iter_mut().find(|(i, _)| i == id);
        match (given, version) {
            (Some((_, dir)), Some(version)) => {
                let what = format!("secondarySourceVersions `{id}`");
                let c = check_out(dir, version, &what, &under)?;
                if !is_commit(version) && !version.contains("^{") {
                    notes.push(format!(
                        "secondary source `{id}`: the record asked for `{version}` (AWS records no resolved version for a secondary source); the clone has it at {}",
                        c.commit
                    ));
                }
                *dir = c.source.clone();
                checkouts.push(c);
            }
            (Some((_, dir)), None) => notes.push(format!(
                "secondary source `{id}`: the record has no version for it: {} is built as it is",
                shown(dir)
            )),
            (None, Some(version)) => {
                return Err(ReproduceError::MissingSecondary {
                    id: id.to_string(),
                    version: version.to_string(),
                })
            }
            (None, None) => notes.push(format!(
                "secondary source `{id}` of the cloud build is not given (-s {id}:DIR): the build has no CODEBUILD_SRC_DIR_{id}"
            )),
        }
    }
    input.from_build = Some(FromBuild {
        project: cloud.project(),
        build_id: cloud.id.clone(),
        build_number: cloud.build_number,
    });
    Ok(Reproduction {
        cloud,
        notes,
        commit,
        _checkouts: checkouts,
    })
}

/// A full or abbreviated commit id (what a `sourceVersion` may also be).
fn is_commit(version: &str) -> bool {
    (7..=40).contains(&version.len()) && version.chars().all(|c| c.is_ascii_hexdigit())
}

fn shown(path: &Path) -> String {
    path.display().to_string()
}
