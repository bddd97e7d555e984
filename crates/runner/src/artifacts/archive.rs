//! Artifact zips from a folder on this machine (the host executor, and the
//! fallback for containers): written with every core and never held in
//! memory, keeping Unix modes and, with `enable-symlinks`, internal
//! symlinks; and the hashes a build record reports.

use std::fs::File;
use std::io::Read;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use md5::Md5;
use sha2::{Digest, Sha256};

use super::parallel_zip::{Planned, ZipBuilder};
use super::select::Selected;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZipSummary {
    pub entries: usize,
    pub sha256: String,
    pub md5: String,
}

/// Writes `selected` (each found under its root folder) as a zip at `dest`.
/// A symlink whose target lies outside its root is left out, and `skipped`
/// hears why.
pub fn write_zip(
    selected: &[(std::path::PathBuf, Selected)],
    enable_symlinks: bool,
    dest: &Path,
    skipped: &mut dyn FnMut(String),
) -> std::io::Result<ZipSummary> {
    let mut zip = ZipBuilder::new()?;
    let mut plan = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for (root, file) in selected {
        if !seen.insert(file.name.clone()) {
            skipped(format!(
                "Skipping duplicate file name {} (discard-paths)",
                file.name
            ));
            continue;
        }
        let target = if file.is_symlink {
            let root = std::fs::canonicalize(root)?;
            match std::fs::canonicalize(&file.source) {
                Ok(t) if t.starts_with(&root) => Some(t),
                _ => {
                    skipped(format!(
                        "Skipping symlink {}: its target is outside the artifact",
                        file.name
                    ));
                    continue;
                }
            }
        } else {
            None
        };
        if let (true, Some(_)) = (enable_symlinks, &target) {
            let link = std::fs::read_link(&file.source)?;
            plan.push(Planned::Symlink {
                name: file.name.clone(),
                target: link.to_string_lossy().into_owned(),
            });
            continue;
        }
        let path = target.as_deref().unwrap_or(&file.source);
        let meta = std::fs::metadata(path)?;
        if meta.is_dir() {
            skipped(format!(
                "Skipping symlink {}: it points to a folder",
                file.name
            ));
            continue;
        }
        let id = zip.add_file(
            meta.permissions().mode(),
            meta.len(),
            &mut File::open(path)?,
        )?;
        plan.push(Planned::File {
            id,
            name: file.name.clone(),
        });
    }
    let entries = zip.finish(&plan, dest)?;
    let (sha256, md5) = hashes(dest)?;
    Ok(ZipSummary {
        entries,
        sha256,
        md5,
    })
}

/// SHA-256 and MD5 of a file, read as a stream.
pub fn hashes(path: &Path) -> std::io::Result<(String, String)> {
    let mut file = File::open(path)?;
    let (mut sha, mut md5) = (Sha256::new(), Md5::new());
    let mut buf = vec![0u8; 256 * 1024];
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        sha.update(&buf[..n]);
        md5.update(&buf[..n]);
    }
    let hex = |bytes: &[u8]| bytes.iter().map(|b| format!("{b:02x}")).collect::<String>();
    Ok((hex(&sha.finalize()), hex(&md5.finalize())))
}

/// Rewrites the zip at `path` so each symlink entry becomes a plain file
/// holding the link's target path (a zip stores a link's target as its
/// content: only the entry's mode changes). This is what reaches a build
/// from CodePipeline's default CODE_ZIP source artifact (as the aws-cdk and
/// jsii projects found: aws/jsii#2176, aws/aws-cdk#14520); only a
/// CODEBUILD_CLONE_REF full clone keeps links. Returns the links' names.
pub fn symlinks_as_files(path: &Path) -> std::io::Result<Vec<String>> {
    let io = |e: zip::result::ZipError| std::io::Error::other(e.to_string());
    let mut archive = zip::ZipArchive::new(File::open(path)?).map_err(io)?;
    let links: Vec<String> = (0..archive.len())
        .filter_map(|i| {
            let entry = archive.by_index_raw(i).ok()?;
            entry.is_symlink().then(|| entry.name().to_string())
        })
        .collect();
    if links.is_empty() {
        return Ok(links);
    }
    let rewritten = path.with_extension("links-as-files.zip");
    let mut out = zip::ZipWriter::new(File::create(&rewritten)?);
    for i in 0..archive.len() {
        let mut entry = archive.by_index(i).map_err(io)?;
        if !entry.is_symlink() {
            drop(entry);
            let raw = archive.by_index_raw(i).map_err(io)?;
            out.raw_copy_file(raw).map_err(io)?;
            continue;
        }
        let mut target = Vec::new();
        entry.read_to_end(&mut target)?;
        let mut options = zip::write::SimpleFileOptions::default().unix_permissions(0o644);
        if let Some(time) = entry.last_modified() {
            options = options.last_modified_time(time);
        }
        out.start_file(entry.name(), options).map_err(io)?;
        std::io::Write::write_all(&mut out, &target)?;
    }
    out.finish().map_err(io)?;
    std::fs::rename(&rewritten, path)?;
    Ok(links)
}
