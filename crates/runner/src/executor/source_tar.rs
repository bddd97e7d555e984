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

/// A POSIX sh script writing `files` (with their folders and modes), when
/// every file is text a shell can hold (no NUL byte): the contents are
/// single-quoted literals, so nothing in them expands.
pub fn write_script(files: &[super::NewFile<'_>]) -> Option<String> {
    use crate::shell::quote;
    let mut script = String::from("set -e\n");
    for file in files {
        let text = std::str::from_utf8(file.contents).ok()?;
        if text.contains('\0') {
            return None;
        }
        let path = quote(file.path);
        if let Some((parent, _)) = file.path.rsplit_once('/') {
            if !parent.is_empty() {
                script.push_str(&format!("mkdir -p {}\n", quote(parent)));
            }
        }
        script.push_str(&format!(
            "printf '%s' {} > {path}\nchmod {:o} {path}\n",
            quote(text),
            file.mode
        ));
    }
    Some(script)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_files_become_a_script_and_binary_ones_do_not() {
        let files = [super::super::NewFile {
            path: "/t/bin/a b",
            contents: b"it's $HOME\n",
            mode: 0o755,
        }];
        let script = write_script(&files).unwrap();
        assert!(script.contains("mkdir -p '/t/bin'"), "{script}");
        assert!(
            script.contains("printf '%s' 'it'\\''s $HOME\n' > '/t/bin/a b'"),
            "{script}"
        );
        assert!(script.contains("chmod 755 '/t/bin/a b'"));
        let binary = [super::super::NewFile {
            path: "/t/x",
            contents: &[0, 1, 2],
            mode: 0o644,
        }];
        assert_eq!(write_script(&binary), None);
    }
}
