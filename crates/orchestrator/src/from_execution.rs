//! `run --from-execution FILE`: a run that reproduces a cloud execution
//! (get-pipeline-execution output). Each source action takes the revision
//! the execution pinned (CodePipeline API Reference, "ArtifactRevision"): a
//! git source its commit, taken from the clone without touching the working
//! tree; an S3 source the object version the local bucket keeps; an ECR
//! source the local image with the digest. V2 pipeline variables take the
//! execution's values (below `--variable`). Everything is checked before
//! anything runs: a revision that is not here stops the run, saying how to
//! get it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use pipelocal_model::cloud::{ArtifactRevision, PipelineExecution};
use pipelocal_model::pipeline::{Action, Provider};
use pipelocal_runner::artifacts::archive::hashes;

use crate::actions::source::GitContent;
use crate::run::{RunError, RunOptions};
use crate::store::s3_path;

/// The execution a run reproduces, and the file it came from.
#[derive(Debug, Clone)]
pub struct FromExecution {
    pub file: PathBuf,
    pub execution: PipelineExecution,
}

/// The revision a source action takes instead of its local input's newest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pin {
    /// A git source at this commit (a full id).
    Commit(String),
    /// An S3 source: this file holds the object's version `version`.
    S3Version { file: PathBuf, version: String },
    /// An ECR source: the local image `image` (`repo@digest` or
    /// `repo:tag`) has the pinned digest.
    ImageDigest { image: String, digest: String },
}

/// Pins by source action name.
#[derive(Debug, Clone, Default)]
pub struct SourcePins(BTreeMap<String, Pin>);

impl SourcePins {
    pub fn get(&self, action: &str) -> Option<&Pin> {
        self.0.get(action)
    }
}

/// What a run from an execution starts with: its pins, and the lines that
/// say what it reproduces (warnings first).
#[derive(Debug, Clone, Default)]
pub struct Reproduction {
    pub pins: SourcePins,
    pub notes: Vec<String>,
}

/// Checks the execution against the run's pipeline and inputs, folds its
/// variables into the run's (flags still win), and pins each source.
pub async fn prepare(
    opts: &mut RunOptions,
    from: &FromExecution,
) -> Result<Reproduction, RunError> {
    let execution = &from.execution;
    let pipeline = opts.pipeline.clone();
    let mut notes = Vec::new();
    for problem in execution.check(&pipeline) {
        if problem.is_error() {
            return Err(RunError::Unusable(format!(
                "{}: {}",
                problem.place, problem.message
            )));
        }
        notes.push(format!("warning: {}: {}", problem.place, problem.message));
    }
    // The execution's values first: a later --variable wins (the last given is taken).
    let mut variables: Vec<(String, String)> = execution
        .declared_variables(&pipeline)
        .map(|v| (v.name.clone(), v.resolved_value.clone()))
        .collect();
    variables.append(&mut opts.variables);
    opts.variables = variables;
    let mut pins = BTreeMap::new();
    for action in pipeline.source_actions() {
        let Some(revision) = execution.revision_for(action) else {
            continue;
        };
        let Some(id) = revision.revision_id.as_deref() else {
            continue;
        };
        let kind = action.action_type_id.kind();
        let pin = if kind.is_git_source() {
            git_pin(opts, action, revision, id)?
        } else if kind == Provider::S3Source {
            s3_pin(opts, action, revision, id)?
        } else if kind == Provider::EcrSource {
            ecr_pin(action, revision, id).await?
        } else {
            notes.push(format!(
                "warning: {}: source action {} ({}) is not emulated: its revision {id} is not pinned",
                revision.place, action.name, action.action_type_id
            ));
            continue;
        };
        notes.push(format!(
            "Source {}: {} (as in execution {})",
            action.name,
            describe(&pin),
            execution.pipeline_execution_id
        ));
        pins.insert(action.name.clone(), pin);
    }
    Ok(Reproduction {
        pins: SourcePins(pins),
        notes,
    })
}

/// The pin in a few words, for the run's lines.
pub fn describe(pin: &Pin) -> String {
    match pin {
        Pin::Commit(commit) => format!("commit {}", short(commit)),
        Pin::S3Version { file, version } => {
            format!("object version {version} ({})", file.display())
        }
        Pin::ImageDigest { image, digest } => format!("image {image} ({digest})"),
    }
}

fn short(commit: &str) -> &str {
    &commit[..commit.len().min(12)]
}

/// The `--source` a user gave for the action, if any.
fn mapped<'a>(opts: &'a RunOptions, action: &Action) -> Option<&'a Path> {
    opts.sources
        .iter()
        .rev()
        .find(|(name, _)| action.answers_to(name))
        .map(|(_, path)| path.as_path())
}

/// The answer of git, where only whether it answered matters.
fn git(dir: &Path, args: &[&str]) -> Option<String> {
    pipelocal_runner::git::output(dir, args).ok()
}

/// The commit, checked to be in the clone the action reads.
fn git_pin(
    opts: &RunOptions,
    action: &Action,
    revision: &ArtifactRevision,
    id: &str,
) -> Result<Pin, RunError> {
    let at = &revision.place;
    if opts.git_content != GitContent::Committed {
        return Err(RunError::Unusable(format!(
            "{at}: source {} is pinned to commit {}: --uncommitted and --all-files do not go with --from-execution (the execution's commit is the source)",
            action.name,
            short(id)
        )));
    }
    let dir = mapped(opts, action).unwrap_or(opts.workdir.as_path());
    let Some(top) = git(dir, &["rev-parse", "--show-toplevel"]) else {
        return Err(RunError::Unusable(format!(
            "{at}: source {} is pinned to commit {}, and {} is not a git repository: give its clone with --source {}=DIR",
            action.name,
            short(id),
            dir.display(),
            action.name
        )));
    };
    match pipelocal_runner::git::commit(dir, id) {
        Some(full) => Ok(Pin::Commit(full)),
        None => Err(RunError::Unusable(format!(
            "{at}: commit {id} of source {} is not in the clone {top}: fetch it (git -C {top} fetch origin {id}, or git -C {top} fetch --all) and run again",
            action.name
        ))),
    }
}

/// Where the local bucket keeps a version of an object:
/// `<state-dir>/s3/<bucket>/.versions/<key>/<version id>`.
pub fn kept_version(
    state_dir: &Path,
    bucket: &str,
    key: &str,
    version: &str,
) -> Result<PathBuf, String> {
    if version.is_empty() || version.contains(['/', '\\']) || version == "." || version == ".." {
        return Err(format!("{version:?} is not an object version id"));
    }
    s3_path(
        &state_dir.join("s3"),
        bucket,
        &format!(".versions/{key}/{version}"),
    )
}

/// The object version: kept under `.versions/`, or the object itself (or
/// the `--source` file) when its content is that version.
fn s3_pin(
    opts: &RunOptions,
    action: &Action,
    revision: &ArtifactRevision,
    id: &str,
) -> Result<Pin, RunError> {
    let at = &revision.place;
    let get = |key: &str| action.config(key).unwrap_or_default();
    let (bucket, key) = (get("S3Bucket"), get("S3ObjectKey"));
    let state_dir = &opts.settings.state_dir;
    let s3 = state_dir.join("s3");
    let unusable = |e: String| RunError::Unusable(format!("{at}: source {}: {e}", action.name));
    // An id that cannot be a version id (an object key has slashes) has no kept version.
    let kept = kept_version(state_dir, bucket, key, id).ok();
    if let Some(kept) = kept.as_ref().filter(|k| k.is_file()) {
        return Ok(Pin::S3Version {
            file: kept.clone(),
            version: id.to_string(),
        });
    }
    // A --source file is the user's word for what the object was.
    if let Some(file) = mapped(opts, action) {
        return Ok(Pin::S3Version {
            file: file.to_path_buf(),
            version: id.to_string(),
        });
    }
    // An execution started with an S3_OBJECT_KEY revision names an object.
    if let Some(object) = s3_path(&s3, bucket, id).ok().filter(|o| o.is_file()) {
        return Ok(Pin::S3Version {
            file: object,
            version: id.to_string(),
        });
    }
    let current = s3_path(&s3, bucket, key).map_err(unusable)?;
    // The local bucket names a version by its content (see actions/source.rs).
    let same = hashes(&current)
        .ok()
        .is_some_and(|(sha256, _)| sha256.get(..32) == Some(id));
    if same {
        return Ok(Pin::S3Version {
            file: current,
            version: id.to_string(),
        });
    }
    let put = match &kept {
        Some(kept) => format!(
            "put that version at {} (aws s3api get-object --bucket {bucket} --key {key} --version-id {id} {})",
            kept.display(),
            kept.display()
        ),
        None => format!("put that object at {}", s3.join(bucket).join(id).display()),
    };
    Err(RunError::Unusable(format!(
        "{at}: source {} is pinned to version {id} of s3://{bucket}/{key}, which the local bucket does not keep: {put}, or give the file with --source {}=FILE",
        action.name, action.name
    )))
}

/// The local image with the digest: `repo@digest` (pulled from the
/// registry), or `repo:tag` whose id is the digest.
async fn ecr_pin(
    action: &Action,
    revision: &ArtifactRevision,
    digest: &str,
) -> Result<Pin, RunError> {
    let at = &revision.place;
    let repo = action.config("RepositoryName").unwrap_or_default();
    let tag = action.config("ImageTag").unwrap_or("latest");
    let by_digest = format!("{repo}@{digest}");
    let id = |image: String| async move {
        pipelocal_runner::executor::local_image_id(&image)
            .await
            .map_err(|e| RunError::Unusable(format!("{at}: source {}: {e}", action.name)))
    };
    if id(by_digest.clone()).await?.is_some() {
        return Ok(Pin::ImageDigest {
            image: by_digest,
            digest: digest.to_string(),
        });
    }
    let tagged = format!("{repo}:{tag}");
    if id(tagged.clone()).await?.as_deref() == Some(digest) {
        return Ok(Pin::ImageDigest {
            image: tagged,
            digest: digest.to_string(),
        });
    }
    Err(RunError::Unusable(format!(
        "{at}: source {} is pinned to image {digest} of repository {repo}, which the local Docker engine does not have: pull it (docker pull ACCOUNT.dkr.ecr.REGION.amazonaws.com/{repo}@{digest}) and tag it {tagged}",
        action.name
    )))
}
