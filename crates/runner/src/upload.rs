//! UPLOAD_ARTIFACTS: each artifact's files chosen as CodeBuild chooses them
//! (CodeBuild User Guide, buildspec reference, `artifacts`), zipped to `<dir>/artifacts.zip` and `<dir>/<id>.zip`.

use std::path::{Path, PathBuf};

use pipelocal_model::buildspec::{ArtifactSpec, Buildspec};

use crate::artifacts::archive::{hashes, write_zip, ZipSummary};
use crate::artifacts::from_tar::{zip_from_tar, FromTar, StreamedArtifact};
use crate::artifacts::select::{select, Selected, Selector};
use crate::events::{EventSink, PhaseContext};
use crate::executor::{Executor, LocalTree};
use crate::phases::Status;
use crate::probe::{double_quoted, shell_values};
use crate::record::ArtifactRecord;
use crate::shell::StateFiles;

/// The artifacts written, or why the phase failed.
pub(crate) struct Uploaded {
    pub status: Status,
    pub context: PhaseContext,
    pub primary: Option<ArtifactRecord>,
    pub secondary: Vec<ArtifactRecord>,
}

pub(crate) async fn upload_artifacts(
    executor: &Executor,
    spec: &Buildspec,
    state: &StateFiles,
    out_dir: Option<&Path>,
    events: &EventSink,
) -> Uploaded {
    let mut done = Uploaded {
        status: Status::Succeeded,
        context: PhaseContext::default(),
        primary: None,
        secondary: Vec::new(),
    };
    let Some(artifacts) = &spec.artifacts else {
        return done;
    };
    // Without -a the zips are still made (a broken selection must fail here as
    // in the cloud) and then dropped with this folder.
    let scratch = tempfile::tempdir().ok();
    let Some(dir) = out_dir
        .map(Path::to_path_buf)
        .or_else(|| scratch.as_ref().map(|s| s.path().to_path_buf()))
    else {
        return failed(done, "cannot make a folder for the artifacts");
    };
    if let Err(e) = std::fs::create_dir_all(&dir) {
        return failed(done, &format!("{}: {e}", dir.display()));
    }
    let mut wanted: Vec<(Option<&str>, &ArtifactSpec)> = Vec::new();
    if !artifacts.primary.files.is_empty() {
        wanted.push((None, &artifacts.primary));
    }
    wanted.extend(
        artifacts
            .secondary
            .iter()
            .map(|(id, s)| (Some(id.as_str()), s)),
    );
    for (id, artifact) in wanted {
        let file = dir.join(match id {
            Some(id) => format!("{id}.zip"),
            None => "artifacts.zip".to_string(),
        });
        match one_artifact(executor, spec, state, artifact, &file, events).await {
            Ok(summary) => {
                let record = ArtifactRecord {
                    location: if out_dir.is_some() {
                        file.display().to_string()
                    } else {
                        String::new()
                    },
                    sha256sum: summary.0,
                    md5sum: summary.1,
                    artifact_identifier: id.map(String::from),
                };
                match id {
                    Some(_) => done.secondary.push(record),
                    None => done.primary = Some(record),
                }
            }
            Err(message) => return failed(done, &message),
        }
    }
    done
}

fn failed(mut done: Uploaded, message: &str) -> Uploaded {
    done.status = Status::Failed;
    done.context = PhaseContext::new("CLIENT_ERROR", message);
    done
}

/// Which files to take, in the buildspec's terms.
pub(crate) struct FileQuery<'a> {
    pub base_directory: Option<&'a str>,
    pub files: &'a [String],
    pub exclude: &'a [String],
    pub discard_paths: bool,
}

/// A query with its patterns expanded by the build's shell.
struct Expanded {
    bases: Vec<String>,
    files: Vec<String>,
    exclude: Vec<String>,
}

/// Expands `base-directory` and the patterns in the build's shell.
async fn expand_query(
    executor: &Executor,
    spec: &Buildspec,
    state: &StateFiles,
    query: &FileQuery<'_>,
    events: &EventSink,
) -> Result<Expanded, String> {
    let src = executor.workspace().src_dir.clone();
    events.info(format!(
        "Expanding base directory path: {}",
        query.base_directory.unwrap_or(".")
    ));
    events.info("Assembling file list");
    let bases: Vec<String> = match query.base_directory {
        // Unquoted on purpose: a trailing glob in base-directory names several folders.
        Some(base) => {
            let body = format!(
                "__pl_base={}; for __pl_d in $__pl_base; do [ -d \"$__pl_d\" ] && printf '%s\\0' \"$(cd \"$__pl_d\" && pwd)\"; done; :",
                double_quoted(base)
            );
            shell_values(executor, spec, state, &src, &body)
                .await
                .map_err(|e| e.to_string())?
        }
        None => vec![src.clone()],
    };
    let expand = |patterns: &[String]| {
        let quoted: Vec<String> = patterns.iter().map(|p| double_quoted(p)).collect();
        format!("printf '%s\\0' {}", quoted.join(" "))
    };
    let files = shell_values(executor, spec, state, &src, &expand(query.files))
        .await
        .map_err(|e| e.to_string())?;
    let exclude = if query.exclude.is_empty() {
        Vec::new()
    } else {
        shell_values(executor, spec, state, &src, &expand(query.exclude))
            .await
            .map_err(|e| e.to_string())?
    };
    Ok(Expanded {
        bases,
        files,
        exclude,
    })
}

fn announce_base(base: &str, files: &[String], events: &EventSink) {
    events.info(format!("Expanding {base}"));
    events.info(format!("Expanding file paths for base directory {base}"));
    events.info("Assembling file list");
    for pattern in files {
        events.info(format!("Expanding {pattern}"));
    }
}

/// Finds the files a query names: `base-directory` and patterns expanded by
/// the build's shell, each base folder read on this machine. The trees must
/// outlive the use of the files.
pub(crate) async fn collect_files(
    executor: &Executor,
    spec: &Buildspec,
    state: &StateFiles,
    query: &FileQuery<'_>,
    events: &EventSink,
) -> Result<(Vec<LocalTree>, Vec<(PathBuf, Selected)>), String> {
    let q = expand_query(executor, spec, state, query, events).await?;
    copied_files(executor, &q, query.discard_paths, events).await
}

/// The files of an expanded query, from copies of the base folders.
async fn copied_files(
    executor: &Executor,
    q: &Expanded,
    discard_paths: bool,
    events: &EventSink,
) -> Result<(Vec<LocalTree>, Vec<(PathBuf, Selected)>), String> {
    let mut trees: Vec<LocalTree> = Vec::new();
    let mut chosen: Vec<(PathBuf, Selected)> = Vec::new();
    for base in &q.bases {
        announce_base(base, &q.files, events);
        let tree = executor.fetch_dir(base).await.map_err(|e| e.to_string())?;
        let mut skipped = |p: &str| events.info(format!("Skipping invalid file path {p}"));
        let selected = select(
            &tree.path,
            &q.files,
            &q.exclude,
            discard_paths,
            &mut skipped,
        )?;
        chosen.extend(selected.into_iter().map(|s| (tree.path.clone(), s)));
        trees.push(tree);
    }
    Ok((trees, chosen))
}

/// Zips an artifact straight from the container's tar streams; `Ok(None)`
/// when a link needs the folder copied (see [`FromTar::NeedsCopy`]).
async fn zip_streamed(
    executor: &Executor,
    q: &Expanded,
    artifact: &ArtifactSpec,
    dest: &Path,
    events: &EventSink,
) -> Result<Option<ZipSummary>, String> {
    let mut state = StreamedArtifact::new(artifact.enable_symlinks)
        .map_err(|e| format!("writing the artifact: {e}"))?;
    for base in &q.bases {
        announce_base(base, &q.files, events);
        let Some(stream) = executor.tar_stream(base) else {
            return Ok(None);
        };
        let mut selector = Selector::new(&q.files, &q.exclude, artifact.discard_paths)?;
        let (base, files, logged) = (base.clone(), q.files.clone(), events.clone());
        let (returned, outcome) = tokio::task::spawn_blocking(move || {
            let mut s = state;
            let outcome = zip_from_tar(stream, &base, &mut selector, &mut s, &mut |m| {
                logged.info(m)
            });
            for pattern in selector.unmatched(&files) {
                logged.info(format!("Skipping invalid file path {pattern}"));
            }
            (s, outcome)
        })
        .await
        .map_err(|e| e.to_string())?;
        state = returned;
        match outcome.map_err(|e| format!("reading the artifact from the build container: {e}"))? {
            FromTar::Done => {}
            FromTar::NeedsCopy => return Ok(None),
        }
    }
    if state.taken == 0 {
        return Err("no matching artifact paths found".into());
    }
    events.info(format!("Found {} file(s)", state.taken));
    let dest = dest.to_path_buf();
    tokio::task::spawn_blocking(move || -> std::io::Result<ZipSummary> {
        let entries = state.zip.finish(&state.plan, &dest)?;
        let (sha256, md5) = hashes(&dest)?;
        Ok(ZipSummary {
            entries,
            sha256,
            md5,
        })
    })
    .await
    .map_err(|e| e.to_string())?
    .map(Some)
    .map_err(|e| format!("writing the artifact: {e}"))
}

/// Builds one artifact zip; `Err` is the phase context message.
async fn one_artifact(
    executor: &Executor,
    spec: &Buildspec,
    state: &StateFiles,
    artifact: &ArtifactSpec,
    dest: &Path,
    events: &EventSink,
) -> Result<(String, String), String> {
    let query = FileQuery {
        base_directory: artifact.base_directory.as_deref(),
        files: &artifact.files,
        exclude: &artifact.exclude_paths,
        discard_paths: artifact.discard_paths,
    };
    let q = expand_query(executor, spec, state, &query, events).await?;
    if let Some(summary) = zip_streamed(executor, &q, artifact, dest, events).await? {
        return Ok((summary.sha256, summary.md5));
    }
    let (trees, chosen) = copied_files(executor, &q, artifact.discard_paths, events).await?;
    if chosen.is_empty() {
        return Err("no matching artifact paths found".into());
    }
    events.info(format!("Found {} file(s)", chosen.len()));
    let dest = dest.to_path_buf();
    let enable_symlinks = artifact.enable_symlinks;
    let logged = events.clone();
    let summary = tokio::task::spawn_blocking(move || {
        write_zip(&chosen, enable_symlinks, &dest, &mut |m| logged.info(m))
    })
    .await
    .map_err(|e| e.to_string())?
    .map_err(|e| format!("writing the artifact: {e}"))?;
    drop(trees);
    Ok((summary.sha256, summary.md5))
}
