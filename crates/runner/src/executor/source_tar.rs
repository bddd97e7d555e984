//! Tar streams of source trees: one stream per copy, never a file at a time
//! (per-file copies dominate Docker copy time). Source trees are appended by
//! `crate::source_files`.

use tar::{Builder, EntryType, Header};

/// Appends the directory entries of `path` (e.g. `codebuild/output/src1/src`)
/// so the upload can be extracted at `/`.
pub fn append_parents<W: std::io::Write>(
    b: &mut Builder<W>,
    path: &str,
    mode: u32,
) -> std::io::Result<()> {
    let mut so_far = String::new();
    for part in path.trim_matches('/').split('/') {
        if !so_far.is_empty() {
            so_far.push('/');
        }
        so_far.push_str(part);
        let mut h = Header::new_gnu();
        h.set_entry_type(EntryType::Directory);
        h.set_mode(mode);
        h.set_size(0);
        h.set_mtime(0);
        b.append_data(&mut h, format!("{so_far}/"), std::io::empty())?;
    }
    Ok(())
}

/// Files at their paths, with their parent folders, in one archive.
pub fn small_files(files: &[super::NewFile<'_>]) -> std::io::Result<Vec<u8>> {
    let mut b = Builder::new(Vec::new());
    for file in files {
        let path = file.path.trim_start_matches('/');
        if let Some((parent, _)) = path.rsplit_once('/') {
            append_parents(&mut b, parent, 0o777)?;
        }
        let mut h = Header::new_gnu();
        h.set_entry_type(EntryType::Regular);
        h.set_mode(file.mode);
        h.set_size(file.contents.len() as u64);
        h.set_mtime(0);
        b.append_data(&mut h, path, file.contents)?;
    }
    b.into_inner()
}
