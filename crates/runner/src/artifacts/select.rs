//! Which files an artifact holds (codebuild.md §6.1-6.2): `files` globs where
//! `*` stays inside one path component and `**` spans folders, relative to
//! the base directory; `exclude-paths`; `discard-paths`.

use std::path::{Path, PathBuf};

use globset::{Glob, GlobBuilder, GlobMatcher};

/// One file chosen for an artifact.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Selected {
    /// Where the file is on this machine.
    pub source: PathBuf,
    /// Its name inside the artifact.
    pub name: String,
    pub is_symlink: bool,
}

fn glob(pattern: &str) -> Result<GlobMatcher, String> {
    GlobBuilder::new(pattern)
        .literal_separator(true)
        .build()
        .map(|g: Glob| g.compile_matcher())
        .map_err(|e| format!("invalid file pattern `{pattern}`: {e}"))
}

fn clean(pattern: &str) -> &str {
    pattern
        .trim()
        .trim_start_matches("./")
        .trim_end_matches('/')
}

/// The files under `root` matched by `files` and not by `exclude`, sorted by
/// name. `skipped` hears each pattern that matched nothing.
pub fn select(
    root: &Path,
    files: &[String],
    exclude: &[String],
    discard_paths: bool,
    skipped: &mut dyn FnMut(&str),
) -> Result<Vec<Selected>, String> {
    let mut entries: Vec<(String, PathBuf, bool)> = Vec::new();
    let mut dirs: Vec<String> = Vec::new();
    for entry in walkdir::WalkDir::new(root)
        .follow_links(false)
        .min_depth(1)
        .sort_by_file_name()
    {
        let entry = entry.map_err(|e| e.to_string())?;
        let rel = entry
            .path()
            .strip_prefix(root)
            .map_err(|e| e.to_string())?
            .to_string_lossy()
            .into_owned();
        if entry.file_type().is_dir() {
            dirs.push(rel);
        } else {
            entries.push((
                rel,
                entry.path().to_path_buf(),
                entry.file_type().is_symlink(),
            ));
        }
    }
    let excluded: Vec<GlobMatcher> = exclude
        .iter()
        .map(|p| glob(clean(p)))
        .collect::<Result<_, _>>()?;
    let mut chosen = vec![false; entries.len()];
    for pattern in files {
        let p = clean(pattern);
        let matcher = glob(p)?;
        // Naming a folder takes everything under it.
        let folder = dirs.iter().any(|d| d == p).then(|| format!("{p}/"));
        let mut any = false;
        for (i, (rel, _, _)) in entries.iter().enumerate() {
            if matcher.is_match(rel) || folder.as_deref().is_some_and(|f| rel.starts_with(f)) {
                chosen[i] = true;
                any = true;
            }
        }
        if !any {
            skipped(pattern);
        }
    }
    let mut out: Vec<Selected> = Vec::new();
    for (i, (rel, source, is_symlink)) in entries.into_iter().enumerate() {
        if !chosen[i] || excluded.iter().any(|m| m.is_match(&rel)) {
            continue;
        }
        let name = if discard_paths {
            Path::new(&rel)
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or(rel)
        } else {
            rel
        };
        out.push(Selected {
            source,
            name,
            is_symlink,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree(files: &[&str]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for f in files {
            let p = dir.path().join(f);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, f).unwrap();
        }
        dir
    }

    fn names(
        root: &Path,
        files: &[&str],
        exclude: &[&str],
        discard: bool,
    ) -> (Vec<String>, Vec<String>) {
        let mut skipped = Vec::new();
        let files: Vec<String> = files.iter().map(|s| s.to_string()).collect();
        let exclude: Vec<String> = exclude.iter().map(|s| s.to_string()).collect();
        let got = select(root, &files, &exclude, discard, &mut |p| {
            skipped.push(p.to_string())
        })
        .unwrap();
        (got.into_iter().map(|s| s.name).collect(), skipped)
    }

    #[test]
    fn codebuild_path_grammar() {
        let t = tree(&[
            "a.txt",
            ".hidden",
            "dist/app.js",
            "dist/app.js.map",
            "dist/lib/util.js",
            "src/main.rs",
        ]);
        let root = t.path();
        let all = vec![
            ".hidden",
            "a.txt",
            "dist/app.js",
            "dist/app.js.map",
            "dist/lib/util.js",
            "src/main.rs",
        ];
        assert_eq!(names(root, &["**/*"], &[], false).0, all);
        assert_eq!(names(root, &["*"], &[], false).0, vec![".hidden", "a.txt"]);
        assert_eq!(
            names(root, &["dist/*"], &[], false).0,
            vec!["dist/app.js", "dist/app.js.map"]
        );
        assert_eq!(
            names(root, &["dist/**/*"], &[], false).0,
            vec!["dist/app.js", "dist/app.js.map", "dist/lib/util.js"]
        );
        assert_eq!(
            names(root, &["./src/main.rs"], &[], false).0,
            vec!["src/main.rs"]
        );
        assert_eq!(
            names(root, &["dist"], &[], false).0,
            vec!["dist/app.js", "dist/app.js.map", "dist/lib/util.js"]
        );
        assert_eq!(
            names(root, &["dist/**/*"], &["**/*.map"], false).0,
            vec!["dist/app.js", "dist/lib/util.js"]
        );
        assert_eq!(
            names(root, &["dist/**/*"], &[], true).0,
            vec!["app.js", "app.js.map", "util.js"]
        );
        let (got, skipped) = names(root, &["a.txt", "missing.txt"], &[], false);
        assert_eq!(
            (got, skipped),
            (vec!["a.txt".to_string()], vec!["missing.txt".to_string()])
        );
    }
}
