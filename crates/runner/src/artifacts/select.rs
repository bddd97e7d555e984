//! Which files an artifact holds (CodeBuild User Guide, buildspec reference, `artifacts`): `files` globs where
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

/// Decides, path by path, what an artifact takes: a path relative to the
/// base directory is chosen when a `files` pattern matches it or names a
/// folder above it, and no `exclude-paths` pattern matches it.
pub struct Selector {
    patterns: Vec<(String, GlobMatcher)>,
    excluded: Vec<GlobMatcher>,
    discard_paths: bool,
    matched: Vec<bool>,
}

impl Selector {
    pub fn new(files: &[String], exclude: &[String], discard_paths: bool) -> Result<Self, String> {
        Ok(Selector {
            patterns: files
                .iter()
                .map(|p| Ok((clean(p).to_string(), glob(clean(p))?)))
                .collect::<Result<_, String>>()?,
            excluded: exclude
                .iter()
                .map(|p| glob(clean(p)))
                .collect::<Result<_, _>>()?,
            discard_paths,
            matched: vec![false; files.len()],
        })
    }

    /// The name of `rel` (a file or link, not a folder) inside the artifact,
    /// or `None` when it is not taken.
    pub fn choose(&mut self, rel: &str) -> Option<String> {
        let mut chosen = false;
        for (i, (p, matcher)) in self.patterns.iter().enumerate() {
            // Naming a folder takes everything under it.
            let under = rel
                .strip_prefix(p.as_str())
                .is_some_and(|rest| rest.starts_with('/'));
            if matcher.is_match(rel) || under {
                self.matched[i] = true;
                chosen = true;
            }
        }
        if !chosen || self.excluded.iter().any(|m| m.is_match(rel)) {
            return None;
        }
        Some(if self.discard_paths {
            Path::new(rel)
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| rel.to_string())
        } else {
            rel.to_string()
        })
    }

    /// The `files` patterns (as written) that matched nothing so far.
    pub fn unmatched<'a>(&self, files: &'a [String]) -> Vec<&'a str> {
        files
            .iter()
            .zip(&self.matched)
            .filter(|(_, m)| !**m)
            .map(|(p, _)| p.as_str())
            .collect()
    }
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
    let mut selector = Selector::new(files, exclude, discard_paths)?;
    let mut out: Vec<Selected> = Vec::new();
    for entry in walkdir::WalkDir::new(root)
        .follow_links(false)
        .min_depth(1)
        .sort_by_file_name()
    {
        let entry = entry.map_err(|e| e.to_string())?;
        if entry.file_type().is_dir() {
            continue;
        }
        let rel = entry
            .path()
            .strip_prefix(root)
            .map_err(|e| e.to_string())?
            .to_string_lossy()
            .into_owned();
        if let Some(name) = selector.choose(&rel) {
            out.push(Selected {
                source: entry.path().to_path_buf(),
                name,
                is_symlink: entry.file_type().is_symlink(),
            });
        }
    }
    for pattern in selector.unmatched(files) {
        skipped(pattern);
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
