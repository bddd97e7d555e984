//! Source actions from local inputs (CodePipeline User Guide, the source action references and "Variables reference"): a git
//! repository at its committed HEAD for CodeStarSourceConnection, CodeCommit
//! and GitHub; a file of the local bucket for S3; a local image for ECR. Each
//! makes the artifact zip and the variables the provider emits. A run from a
//! cloud execution (`from_execution.rs`) pins each to the execution's
//! revision instead: a commit, an object version, an image digest.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use pipelocal_model::pipeline::{Action, Provider};
use pipelocal_runner::artifacts::archive::{hashes, symlinks_as_files, write_zip};
use pipelocal_runner::artifacts::select::{select, Selected};
use pipelocal_runner::environment::LOCAL_ACCOUNT;
use pipelocal_runner::git::output as git;

use crate::from_execution::{describe, Pin};

/// What a source action made.
#[derive(Debug, Clone, Default)]
pub struct SourceOutput {
    pub variables: BTreeMap<String, String>,
    /// The revision: a commit id, an object version, an image digest.
    pub revision: Option<String>,
    pub revision_summary: Option<String>,
    /// Lines for the action's log (uncommitted changes left out, ...).
    pub notes: Vec<String>,
}

/// Where a source action's input comes from.
#[derive(Debug, Clone)]
pub enum SourceInput {
    /// A folder: a git repository (or a folder inside one), or a plain folder.
    Folder(PathBuf),
    /// The S3 source's object, as a file.
    File(PathBuf),
}

fn is_git_provider(action: &Action) -> bool {
    let t = &action.action_type_id;
    t.kind().is_git_source()
}

/// Which files of a git repository make the source.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum GitContent {
    /// The committed HEAD, as CodePipeline sees it after a push.
    #[default]
    Committed,
    /// The working tree: tracked files as they are now, and untracked files
    /// git does not ignore.
    WorkingTree,
    /// The folder as it is, also what git ignores (`--all-files`); `.git`
    /// stays out, as in every zipped git source.
    AllFiles,
}

/// What a source action is given here.
pub struct SourceRequest {
    pub action: Action,
    /// `--source NAME=PATH` for this action, if given.
    pub mapped: Option<PathBuf>,
    /// The folder whose repository is the default git source.
    pub workdir: PathBuf,
    /// The state folder (its `s3/` is the local bucket).
    pub state_dir: PathBuf,
    pub content: GitContent,
    /// `--from-execution`: the execution's revision.
    pub pin: Option<Pin>,
}

/// Fetches a source action's content into `zip` as its provider would: an
/// image for ECR, the local bucket's object (or the mapped file) for S3, a
/// folder or repository for the git providers.
pub async fn fetch(request: SourceRequest, zip: &Path) -> Result<SourceOutput, String> {
    let SourceRequest {
        action,
        mapped,
        workdir,
        state_dir,
        content,
        pin,
    } = request;
    let config = &action.configuration;
    let input = match (action.action_type_id.kind(), mapped) {
        (Provider::EcrSource, _) => return ecr_source(config, pin.as_ref(), zip).await,
        (Provider::S3Source, Some(file)) => SourceInput::File(file),
        (Provider::S3Source, None) => {
            let get = |key: &str| config.get(key).map(String::as_str).unwrap_or_default();
            let s3 = state_dir.join("s3");
            SourceInput::File(crate::store::s3_path(
                &s3,
                get("S3Bucket"),
                get("S3ObjectKey"),
            )?)
        }
        (_, mapped) => SourceInput::Folder(mapped.unwrap_or(workdir)),
    };
    let zip = zip.to_path_buf();
    tokio::task::spawn_blocking(move || {
        run_source(
            &action,
            &action.configuration,
            &input,
            content,
            pin.as_ref(),
            &zip,
        )
    })
    .await
    .unwrap_or_else(|e| Err(e.to_string()))
}

/// Runs a source action: writes its artifact to `zip`.
pub fn run_source(
    action: &Action,
    config: &BTreeMap<String, String>,
    input: &SourceInput,
    content: GitContent,
    pin: Option<&Pin>,
    zip: &Path,
) -> Result<SourceOutput, String> {
    let t = &action.action_type_id;
    if is_git_provider(action) {
        let SourceInput::Folder(dir) = input else {
            return Err("a git source needs a folder".into());
        };
        let commit = match pin {
            Some(Pin::Commit(commit)) => Some(commit.as_str()),
            _ => None,
        };
        return git_source(action, config, dir, content, commit, zip);
    }
    if t.kind() == Provider::S3Source {
        if let Some(pinned @ Pin::S3Version { file, version }) = pin {
            let mut out = s3_source(file, zip, Some(version))?;
            out.notes.push(format!(
                "pinned to {} of the cloud execution",
                describe(pinned)
            ));
            return Ok(out);
        }
        let SourceInput::File(file) = input else {
            return Err("an S3 source needs a file".into());
        };
        return s3_source(file, zip, None);
    }
    Err(format!(
        "source provider {t} is not emulated: map the action to a folder with --source {}=DIR and use a git provider",
        action.name
    ))
}

fn git_source(
    action: &Action,
    config: &BTreeMap<String, String>,
    dir: &Path,
    content: GitContent,
    pinned: Option<&str>,
    zip: &Path,
) -> Result<SourceOutput, String> {
    if !dir.is_dir() {
        return Err(format!("{}: no such folder", dir.display()));
    }
    let mut out = SourceOutput::default();
    let Ok(top) = git(dir, &["rev-parse", "--show-toplevel"]) else {
        // A plain folder: its files as they are, and no commit to tell of.
        out.notes.push(format!(
            "{} is not a git repository: its files are the source as they are, and no commit variables are emitted",
            dir.display()
        ));
        zip_folder(dir, zip)?;
        code_zip_links(zip, &mut out)?;
        return Ok(out);
    };
    let head = git(dir, &["rev-parse", "HEAD"]).map_err(|_| {
        format!(
            "{}: the git repository has no commit yet: commit, or map a folder with --source {}=DIR",
            dir.display(),
            action.name
        )
    });
    // A pinned commit is taken from the repository's objects: the working
    // tree and HEAD stay as they are.
    let commit = match pinned {
        Some(commit) => {
            out.notes.push(format!(
                "pinned to commit {commit} of the cloud execution (HEAD of {} is {})",
                dir.display(),
                head.as_deref()
                    .map(|h| &h[..h.len().min(12)])
                    .unwrap_or("no commit")
            ));
            commit.to_string()
        }
        None => head?,
    };
    let prefix = git(dir, &["rev-parse", "--show-prefix"])?;
    let dirty = pinned.is_none() && !git(dir, &["status", "--porcelain", "--", "."])?.is_empty();
    if content != GitContent::Committed {
        if dirty {
            out.notes.push(format!(
                "{} has uncommitted changes: they are part of the source (--uncommitted); CommitId is still HEAD",
                dir.display()
            ));
        }
    } else if dirty {
        out.notes.push(format!(
            "{} has uncommitted changes: the source is the committed HEAD {}, as CodePipeline would see it",
            dir.display(),
            &commit[..commit.len().min(12)]
        ));
    }
    let clone_ref =
        config.get("OutputArtifactFormat").map(String::as_str) == Some("CODEBUILD_CLONE_REF");
    if content == GitContent::WorkingTree {
        let names = pipelocal_runner::source_files::pushed_files(dir)
            .map_err(|e| format!("listing the files of {}: {e}", dir.display()))?;
        zip_files(dir, &names, zip)?;
    } else if content == GitContent::AllFiles {
        let files = select(
            dir,
            &["**/*".to_string()],
            &[
                ".git/**/*".to_string(),
                ".git".to_string(),
                ".pipelocal/**/*".to_string(),
                ".pipelocal".to_string(),
            ],
            false,
            &mut |_| {},
        )?;
        let files: Vec<(PathBuf, _)> = files.into_iter().map(|f| (dir.to_path_buf(), f)).collect();
        write_zip(&files, true, zip, &mut |_| {})
            .map_err(|e| format!("zipping {}: {e}", dir.display()))?;
    } else if clone_ref {
        // A full clone at the commit, so the build can run git in it.
        let work = tempfile::tempdir().map_err(|e| e.to_string())?;
        let clone = work.path().join("src");
        let status = Command::new("git")
            .args(["clone", "--quiet", "--no-hardlinks"])
            .arg(&top)
            .arg(&clone)
            .status()
            .map_err(|e| format!("cannot run git: {e}"))?;
        if !status.success() {
            return Err(format!("git clone of {top} failed"));
        }
        // A pinned commit may be on no branch the clone copied.
        if pipelocal_runner::git::commit(&clone, &commit).is_none() {
            git(&clone, &["fetch", "--quiet", "origin", &commit])?;
        }
        git(&clone, &["checkout", "--quiet", &commit])?;
        zip_folder(&clone, zip)?;
    } else {
        let tree = if prefix.is_empty() {
            commit.clone()
        } else {
            format!("{commit}:{}", prefix.trim_end_matches('/'))
        };
        let zip_arg = zip.display().to_string();
        // From the top: inside a subfolder, git archive would also filter by it.
        git(
            Path::new(&top),
            &["archive", "--format=zip", "-o", &zip_arg, &tree],
        )?;
    }
    if !clone_ref {
        code_zip_links(zip, &mut out)?;
    }
    let field = |format: &str| git(dir, &["log", "-1", &format!("--format={format}"), &commit]);
    let message = field("%B")?;
    let branch = config
        .get("BranchName")
        .or_else(|| config.get("Branch"))
        .cloned()
        .or_else(|| git(dir, &["rev-parse", "--abbrev-ref", "HEAD"]).ok())
        .unwrap_or_default();
    let v = &mut out.variables;
    v.insert("CommitId".into(), commit.clone());
    v.insert("BranchName".into(), branch);
    v.insert("AuthorDate".into(), field("%aI")?);
    v.insert("CommitMessage".into(), message.trim().to_string());
    let t = &action.action_type_id;
    if t.kind() == Provider::CodeStarSourceConnection {
        v.insert(
            "FullRepositoryName".into(),
            config.get("FullRepositoryId").cloned().unwrap_or_default(),
        );
        v.insert(
            "ConnectionArn".into(),
            config.get("ConnectionArn").cloned().unwrap_or_default(),
        );
    } else {
        v.insert("CommitterDate".into(), field("%cI")?);
        let repo = config
            .get("RepositoryName")
            .or_else(|| config.get("Repo"))
            .cloned()
            .unwrap_or_default();
        if t.kind() == Provider::GitHubV1 {
            let owner = config.get("Owner").cloned().unwrap_or_default();
            v.insert(
                "CommitUrl".into(),
                format!("https://github.com/{owner}/{repo}/commit/{commit}"),
            );
        }
        v.insert("RepositoryName".into(), repo);
    }
    // The console shows a commit by its subject (git's %s: the first
    // paragraph, on one line), never its body.
    out.revision_summary = Some(field("%s")?.trim().to_string()).filter(|s| !s.is_empty());
    out.revision = Some(commit);
    Ok(out)
}

/// CodePipeline's default CODE_ZIP artifact does not carry symbolic links:
/// each arrives as a plain file holding its target path (docs/compatibility.md,
/// "Pipelines"); only a CODEBUILD_CLONE_REF full clone keeps them.
fn code_zip_links(zip: &Path, out: &mut SourceOutput) -> Result<(), String> {
    let links = symlinks_as_files(zip).map_err(|e| format!("{}: {e}", zip.display()))?;
    if !links.is_empty() {
        out.notes.push(format!(
            "symbolic links become plain files holding their target path, as in CodePipeline's CODE_ZIP artifact (OutputArtifactFormat CODEBUILD_CLONE_REF keeps them): {}",
            links.join(", ")
        ));
    }
    Ok(())
}

/// The object as the artifact; its version is the pinned one, else the
/// local bucket's own: the first 32 hex digits of its SHA-256.
fn s3_source(file: &Path, zip: &Path, pinned: Option<&str>) -> Result<SourceOutput, String> {
    if !file.is_file() {
        return Err(format!(
            "{}: no such object in the local bucket (put the file there, or map the action with --source NAME=FILE)",
            file.display()
        ));
    }
    std::fs::copy(file, zip).map_err(|e| format!("{}: {e}", file.display()))?;
    let (sha256, md5) = hashes(file).map_err(|e| format!("{}: {e}", file.display()))?;
    let version = pinned.map_or_else(|| sha256[..32].to_string(), str::to_string);
    let mut out = SourceOutput::default();
    out.variables.insert("ETag".into(), md5);
    out.variables.insert("VersionId".into(), version.clone());
    out.revision = Some(version);
    Ok(out)
}

/// The ECR source's artifact: `imageDetail.json` naming the local image.
pub async fn ecr_source(
    config: &BTreeMap<String, String>,
    pin: Option<&Pin>,
    zip: &Path,
) -> Result<SourceOutput, String> {
    let repo = config.get("RepositoryName").cloned().unwrap_or_default();
    let tag = config
        .get("ImageTag")
        .cloned()
        .unwrap_or_else(|| "latest".into());
    let (image, id) = match pin {
        // Checked when the run started (from_execution.rs).
        Some(Pin::ImageDigest { image, digest }) => (image.clone(), digest.clone()),
        _ => {
            let image = format!("{repo}:{tag}");
            let id = pipelocal_runner::executor::local_image_id(&image)
                .await
                .map_err(|e| e.to_string())?
                .ok_or_else(|| {
                    format!(
                        "image {image} is not in the local Docker engine: build or tag it first"
                    )
                })?;
            (image, id)
        }
    };
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let detail = serde_json::json!({ "ImageURI": image });
    std::fs::write(dir.path().join("imageDetail.json"), detail.to_string())
        .map_err(|e| e.to_string())?;
    zip_folder(dir.path(), zip)?;
    let mut out = SourceOutput::default();
    let v = &mut out.variables;
    v.insert("ImageDigest".into(), id.clone());
    v.insert("ImageTag".into(), tag);
    v.insert("ImageURI".into(), image);
    v.insert("RegistryId".into(), LOCAL_ACCOUNT.into());
    v.insert("RepositoryName".into(), repo);
    out.revision = Some(id);
    Ok(out)
}

/// Zips the named files of a folder (names relative to it); files listed but
/// gone (deleted, not yet committed) are left out.
fn zip_files(dir: &Path, names: &[PathBuf], zip: &Path) -> Result<(), String> {
    let mut unique: Vec<&PathBuf> = names.iter().collect();
    unique.sort_unstable();
    unique.dedup();
    let files: Vec<(PathBuf, Selected)> = unique
        .into_iter()
        .filter_map(|name| {
            let source = dir.join(name);
            let meta = source.symlink_metadata().ok()?;
            Some((
                dir.to_path_buf(),
                Selected {
                    source,
                    name: name.to_string_lossy().into_owned(),
                    is_symlink: meta.file_type().is_symlink(),
                },
            ))
        })
        .collect();
    write_zip(&files, true, zip, &mut |_| {})
        .map(|_| ())
        .map_err(|e| format!("zipping {}: {e}", dir.display()))
}

/// Zips every file of a folder, keeping modes and links inside it.
pub fn zip_folder(dir: &Path, zip: &Path) -> Result<(), String> {
    let files = select(dir, &["**/*".to_string()], &[], false, &mut |_| {})?;
    let files: Vec<(PathBuf, _)> = files.into_iter().map(|f| (dir.to_path_buf(), f)).collect();
    write_zip(&files, true, zip, &mut |_| {})
        .map(|_| ())
        .map_err(|e| format!("zipping {}: {e}", dir.display()))
}
