//! Unpacking archives without letting an entry escape the target folder
//! (`../`, absolute paths, symlinks pointing out).

use std::fs::File;
use std::io::Read;
use std::path::{Component, Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum ExtractError {
    #[error("{archive}: entry `{entry}` would be written outside {}", target.display())]
    Escapes {
        archive: String,
        entry: String,
        target: PathBuf,
    },
    #[error("{archive}: {source}")]
    Io {
        archive: String,
        source: std::io::Error,
    },
}

/// The entry's path below `target`, or `None` when it would leave it.
fn inside(target: &Path, name: &str) -> Option<PathBuf> {
    let mut out = target.to_path_buf();
    for part in Path::new(name).components() {
        match part {
            Component::Normal(p) => out.push(p),
            Component::CurDir => {}
            _ => return None,
        }
    }
    (out != target).then_some(out)
}

/// Whether writing `path` would go through a symlink below `target` (a link
/// made by an earlier entry could point anywhere).
fn through_symlink(target: &Path, path: &Path) -> bool {
    path.ancestors()
        .skip(1)
        .take_while(|a| *a != target && a.starts_with(target))
        .any(|a| {
            a.symlink_metadata()
                .is_ok_and(|m| m.file_type().is_symlink())
        })
}

/// Whether a symlink at `link` with `dest` as its target stays under `target`.
fn link_stays_inside(target: &Path, link: &Path, dest: &Path) -> bool {
    if dest.is_absolute() {
        return false;
    }
    let mut depth: i64 = link
        .parent()
        .and_then(|p| p.strip_prefix(target).ok())
        .map(|p| p.components().count() as i64)
        .unwrap_or(0);
    for part in dest.components() {
        match part {
            Component::ParentDir => depth -= 1,
            Component::Normal(_) => depth += 1,
            Component::CurDir => {}
            _ => return false,
        }
        if depth < 0 {
            return false;
        }
    }
    true
}

/// Unpacks a zip into `target`, refusing any entry that would escape it.
pub fn unzip(archive: &Path, target: &Path) -> Result<usize, ExtractError> {
    let name = archive.display().to_string();
    let io = |source: std::io::Error| ExtractError::Io {
        archive: name.clone(),
        source,
    };
    let mut zip = zip::ZipArchive::new(File::open(archive).map_err(io)?)
        .map_err(|e| io(std::io::Error::other(e)))?;
    std::fs::create_dir_all(target).map_err(io)?;
    for i in 0..zip.len() {
        let mut entry = zip.by_index(i).map_err(|e| io(std::io::Error::other(e)))?;
        let entry_name = entry.name().to_string();
        let escapes = || ExtractError::Escapes {
            archive: name.clone(),
            entry: entry_name.clone(),
            target: target.to_path_buf(),
        };
        let Some(path) = inside(target, &entry_name) else {
            return Err(escapes());
        };
        if through_symlink(target, &path) {
            return Err(escapes());
        }
        if entry.is_dir() {
            std::fs::create_dir_all(&path).map_err(io)?;
            continue;
        }
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(io)?;
        }
        if entry.is_symlink() {
            let mut dest = String::new();
            entry.read_to_string(&mut dest).map_err(io)?;
            if !link_stays_inside(target, &path, Path::new(&dest)) {
                return Err(escapes());
            }
            std::os::unix::fs::symlink(&dest, &path).map_err(io)?;
            continue;
        }
        let mut out = File::create(&path).map_err(io)?;
        std::io::copy(&mut entry, &mut out).map_err(io)?;
        if let Some(mode) = entry.unix_mode() {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode & 0o7777))
                .map_err(io)?;
        }
    }
    Ok(zip.len())
}

/// Unpacks a tar stream into `target`, dropping the first path component
/// (Docker names a folder's archive after the folder), refusing escapes.
pub fn untar_stripped(reader: impl Read, target: &Path) -> Result<(), ExtractError> {
    let name = "archive from the build container".to_string();
    let io = |source: std::io::Error| ExtractError::Io {
        archive: name.clone(),
        source,
    };
    std::fs::create_dir_all(target).map_err(io)?;
    let mut archive = tar::Archive::new(reader);
    for entry in archive.entries().map_err(io)? {
        let mut entry = entry.map_err(io)?;
        let raw = entry.path().map_err(io)?.to_string_lossy().into_owned();
        let stripped: String = raw
            .split_once('/')
            .map(|(_, rest)| rest.to_string())
            .unwrap_or_default();
        if stripped.is_empty() {
            continue;
        }
        let escapes = || ExtractError::Escapes {
            archive: name.clone(),
            entry: raw.clone(),
            target: target.to_path_buf(),
        };
        let Some(path) = inside(target, &stripped) else {
            return Err(escapes());
        };
        if through_symlink(target, &path) {
            return Err(escapes());
        }
        if let Some(dest) = entry.link_name().map_err(io)? {
            if entry.header().entry_type().is_symlink() && !link_stays_inside(target, &path, &dest)
            {
                // Kept as a link; whether it may be followed is decided when zipping.
                if let Some(parent) = path.parent() {
                    std::fs::create_dir_all(parent).map_err(io)?;
                }
                std::os::unix::fs::symlink(&dest, &path).map_err(io)?;
                continue;
            }
        }
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(io)?;
        }
        entry.unpack(&path).map_err(io)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn zip_with(entries: &[(&str, &[u8], Option<&str>)]) -> tempfile::NamedTempFile {
        let file = tempfile::NamedTempFile::new().unwrap();
        let mut z = zip::ZipWriter::new(file.reopen().unwrap());
        for (name, data, link) in entries {
            match link {
                Some(target) => z
                    .add_symlink(*name, *target, zip::write::SimpleFileOptions::default())
                    .unwrap(),
                None => {
                    z.start_file(
                        *name,
                        zip::write::SimpleFileOptions::default().unix_permissions(0o755),
                    )
                    .unwrap();
                    z.write_all(data).unwrap();
                }
            }
        }
        z.finish().unwrap();
        file
    }

    #[test]
    fn refuses_entries_that_escape() {
        for (entry, link) in [
            ("../evil", None),
            ("/etc/evil", None),
            ("a/../../evil", None),
            ("link", Some("../../outside")),
            ("abs", Some("/etc/passwd")),
        ] {
            let z = zip_with(&[(entry, b"x", link)]);
            let dir = tempfile::tempdir().unwrap();
            let err = unzip(z.path(), &dir.path().join("t")).unwrap_err();
            assert!(
                matches!(err, ExtractError::Escapes { .. }),
                "{entry}: {err}"
            );
        }
        // A link that stays inside, then an entry written through it.
        let z = zip_with(&[("sub/up", b"", Some("..")), ("sub/up/x", b"through", None)]);
        let dir = tempfile::tempdir().unwrap();
        assert!(matches!(
            unzip(z.path(), &dir.path().join("t")),
            Err(ExtractError::Escapes { .. })
        ));
        // Nothing was written beside the target.
        let z = zip_with(&[("../evil", b"x", None)]);
        let dir = tempfile::tempdir().unwrap();
        assert!(unzip(z.path(), &dir.path().join("t")).is_err());
        assert!(!dir.path().join("evil").exists());
    }

    #[test]
    fn unpacks_files_modes_and_inner_links() {
        let z = zip_with(&[
            ("bin/tool", b"#!/bin/sh\n", None),
            ("bin/alias", b"", Some("tool")),
        ]);
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(unzip(z.path(), dir.path()).unwrap(), 2);
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(dir.path().join("bin/tool"))
                .unwrap()
                .permissions()
                .mode()
                & 0o777,
            0o755
        );
        assert_eq!(
            std::fs::read_link(dir.path().join("bin/alias")).unwrap(),
            Path::new("tool")
        );
    }
}
