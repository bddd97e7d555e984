//! Which files of a source folder go into a build: what the cloud would get
//! from a push of the working tree. Inside a git work tree that is the tracked
//! files plus the untracked files git does not ignore (`.gitignore`,
//! `.git/info/exclude`, the global excludes file), and the `.git` folder as it
//! is; a folder outside git, or any folder with `--all-files`, goes in whole
//! (docs/user-guide.md, "What goes into a build").

use std::collections::HashSet;
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::{Component, Path, PathBuf};
use std::process::Command;

/// Folders never copied into a build: pipelocal's own state.
pub(crate) const SKIP: &[&str] = &[".pipelocal"];

/// The files of one source folder a build gets.
#[derive(Debug, Clone)]
pub struct SourceFiles {
    /// The folder on this machine.
    pub root: PathBuf,
    /// Paths relative to `root`, or `None` for every file of the folder. A
    /// listed folder (`.git`, a submodule, a nested repository) goes in whole.
    pub listed: Option<Vec<PathBuf>>,
    /// What git ignores below `root`, relative to it (a folder stands for
    /// everything below it): counted for the build log, never copied.
    pub ignored: Vec<PathBuf>,
}

/// What was left out of a source folder.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LeftOut {
    pub files: u64,
    pub bytes: u64,
}

impl SourceFiles {
    /// The whole folder, as it is.
    pub fn whole(root: &Path) -> Self {
        SourceFiles {
            root: root.to_path_buf(),
            listed: None,
            ignored: Vec::new(),
        }
    }

    /// Chooses the files of `root`: the whole folder with `all_files` or
    /// outside git; otherwise git's view of the working tree.
    pub fn select(root: &Path, all_files: bool) -> std::io::Result<Self> {
        if all_files || !inside_work_tree(root) {
            return Ok(Self::whole(root));
        }
        // The names are relative to `root`, also in a subfolder of the work
        // tree; deleted-but-tracked files are still listed and skipped later.
        let mut listed = pushed_files(root)?;
        // The cloud's git sources (CodeCommit, GitHub, ...) come with their
        // git metadata: the folder is copied as it is (a file in a linked
        // work tree). Only at the top of the work tree: a subfolder has none.
        if root.join(".git").symlink_metadata().is_ok() {
            listed.push(PathBuf::from(".git"));
        }
        listed.retain(|p| !skipped(p));
        listed.sort_unstable();
        listed.dedup();
        let mut ignored = git_names(
            root,
            &[
                "ls-files",
                "-z",
                "--others",
                "--ignored",
                "--exclude-standard",
                "--directory",
            ],
        )?;
        ignored.retain(|p| !skipped(p));
        // Git may list an ignored folder and also files below it: count once.
        ignored.sort_unstable();
        let mut kept: Vec<PathBuf> = Vec::with_capacity(ignored.len());
        for rel in ignored {
            if !kept.last().is_some_and(|top| rel.starts_with(top)) {
                kept.push(rel);
            }
        }
        let ignored = kept;
        Ok(SourceFiles {
            root: root.to_path_buf(),
            listed: Some(listed),
            ignored,
        })
    }

    /// Counts the files (and their bytes) git ignores: a walk of every ignored
    /// folder, so callers run it beside the copy, not before it.
    pub fn left_out(&self) -> LeftOut {
        let mut out = LeftOut::default();
        for rel in &self.ignored {
            for entry in walkdir::WalkDir::new(self.root.join(rel))
                .follow_links(false)
                .into_iter()
                .flatten()
            {
                if entry.file_type().is_dir() {
                    continue;
                }
                out.files += 1;
                out.bytes += entry.metadata().map(|m| m.len()).unwrap_or(0);
            }
        }
        out
    }

    /// The build log's line about what was left out, if anything was.
    pub fn note(&self, left: LeftOut) -> Option<String> {
        if left.files == 0 {
            return None;
        }
        Some(format!(
            "Left out of {}: {} file{} ({}) that git ignores, as a push would; --all-files copies the folder as it is",
            self.root.display(),
            left.files,
            if left.files == 1 { "" } else { "s" },
            human_bytes(left.bytes)
        ))
    }

    /// Appends the chosen files below `prefix` (a path inside the build
    /// environment, without its leading `/`), keeping symlinks as links and
    /// the executable bit. Listed files gone from disk are skipped.
    pub fn append_to<W: std::io::Write>(
        &self,
        b: &mut tar::Builder<W>,
        prefix: &str,
    ) -> std::io::Result<()> {
        b.mode(tar::HeaderMode::Deterministic);
        b.follow_symlinks(false);
        let Some(listed) = &self.listed else {
            return append_walk(b, &self.root, Path::new(prefix));
        };
        let mut folders: HashSet<PathBuf> = HashSet::new();
        for rel in listed {
            let path = self.root.join(rel);
            let Ok(meta) = path.symlink_metadata() else {
                continue;
            };
            // Parents first, with their own modes (git lists only files).
            let mut parents: Vec<&Path> = rel
                .ancestors()
                .skip(1)
                .filter(|p| !p.as_os_str().is_empty())
                .collect();
            parents.reverse();
            for parent in parents {
                if folders.insert(parent.to_path_buf()) {
                    b.append_path_with_name(
                        self.root.join(parent),
                        Path::new(prefix).join(parent),
                    )?;
                }
            }
            let name = Path::new(prefix).join(rel);
            if meta.is_dir() {
                if folders.insert(rel.clone()) {
                    b.append_path_with_name(&path, &name)?;
                }
                append_walk(b, &path, &name)?;
            } else {
                b.append_path_with_name(&path, &name)?;
            }
        }
        Ok(())
    }

    /// Copies the chosen files to `to` on this machine (the host executor's
    /// private copy), keeping symlinks as links and file modes.
    pub fn copy_to(&self, to: &Path) -> std::io::Result<()> {
        let Some(listed) = &self.listed else {
            return crate::executor::copy_tree(&self.root, to);
        };
        std::fs::create_dir_all(to)?;
        for rel in listed {
            let from = self.root.join(rel);
            let Ok(meta) = from.symlink_metadata() else {
                continue;
            };
            let target = to.join(rel);
            if let Some(parent) = target.parent() {
                std::fs::create_dir_all(parent)?;
            }
            if meta.is_dir() {
                crate::executor::copy_tree(&from, &target)?;
            } else if meta.file_type().is_symlink() {
                std::os::unix::fs::symlink(std::fs::read_link(&from)?, &target)?;
            } else {
                std::fs::copy(&from, &target)?;
            }
        }
        Ok(())
    }
}

/// Chooses the files of each folder (on a blocking thread: git runs).
pub(crate) async fn choose<T: Send + 'static>(
    trees: Vec<(PathBuf, T)>,
    all_files: bool,
) -> Result<Vec<(SourceFiles, T)>, crate::executor::ExecError> {
    tokio::task::spawn_blocking(move || {
        trees
            .into_iter()
            .map(|(dir, to)| SourceFiles::select(&dir, all_files).map(|f| (f, to)))
            .collect::<std::io::Result<Vec<_>>>()
    })
    .await
    .map_err(|e| {
        crate::executor::ExecError::io("choosing the source files", std::io::Error::other(e))
    })?
    .map_err(|e| crate::executor::ExecError::io("choosing the source files", e))
}

/// Starts counting what git ignores in each folder, beside the copy; the
/// build log's lines once done.
pub(crate) fn count_left_out<T>(
    chosen: &[(SourceFiles, T)],
) -> impl std::future::Future<Output = Vec<String>> {
    let parts: Vec<SourceFiles> = chosen
        .iter()
        .filter(|(f, _)| !f.ignored.is_empty())
        .map(|(f, _)| SourceFiles {
            root: f.root.clone(),
            listed: None,
            ignored: f.ignored.clone(),
        })
        .collect();
    let counting = tokio::task::spawn_blocking(move || {
        parts
            .iter()
            .filter_map(|f| f.note(f.left_out()))
            .collect::<Vec<_>>()
    });
    async move { counting.await.unwrap_or_default() }
}

/// Every entry below `dir` (not `dir` itself), as `name/<relative path>`.
fn append_walk<W: std::io::Write>(
    b: &mut tar::Builder<W>,
    dir: &Path,
    name: &Path,
) -> std::io::Result<()> {
    let walker = walkdir::WalkDir::new(dir)
        .follow_links(false)
        .min_depth(1)
        .into_iter()
        .filter_entry(|e| !(e.depth() == 1 && SKIP.iter().any(|s| e.file_name() == *s)));
    for entry in walker {
        let entry = match entry {
            Ok(e) => e,
            Err(e) if vanished(e.io_error()) => continue,
            Err(e) => return Err(std::io::Error::other(e)),
        };
        let rel = entry
            .path()
            .strip_prefix(dir)
            .map_err(std::io::Error::other)?;
        // Joined as paths, not strings: names that are not UTF-8 stay as they are.
        match b.append_path_with_name(entry.path(), name.join(rel)) {
            Err(e) if vanished(Some(&e)) => continue,
            other => other?,
        }
    }
    Ok(())
}

/// Whether an error says a file went away while the tree was read: git's
/// background `gc` repacks `.git/objects` under a running copy, and a
/// file deleted meanwhile is simply not part of the copy.
fn vanished(e: Option<&std::io::Error>) -> bool {
    e.is_some_and(|e| e.kind() == std::io::ErrorKind::NotFound)
}

/// Whether a relative path is pipelocal's own state folder or below it.
fn skipped(rel: &Path) -> bool {
    matches!(rel.components().next(), Some(Component::Normal(first)) if SKIP.iter().any(|s| first == OsStr::new(s)))
}

fn inside_work_tree(dir: &Path) -> bool {
    Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(["rev-parse", "--is-inside-work-tree"])
        .output()
        .is_ok_and(|o| o.status.success() && o.stdout.starts_with(b"true"))
}

/// The NUL-separated names git prints, as paths (bytes kept as they are).
/// The files a push of the work tree at `root` would carry, relative to it:
/// tracked files plus untracked ones git does not ignore (`.gitignore`,
/// `.git/info/exclude`, the global excludes file). Tracked files deleted
/// from disk are still listed.
pub fn pushed_files(root: &Path) -> std::io::Result<Vec<PathBuf>> {
    git_names(
        root,
        &[
            "ls-files",
            "-z",
            "--cached",
            "--others",
            "--exclude-standard",
        ],
    )
}

fn git_names(dir: &Path, args: &[&str]) -> std::io::Result<Vec<PathBuf>> {
    let out = Command::new("git").arg("-C").arg(dir).args(args).output()?;
    if !out.status.success() {
        return Err(std::io::Error::other(format!(
            "git {} in {}: {}",
            args.join(" "),
            dir.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    Ok(out
        .stdout
        .split(|b| *b == 0)
        .filter(|n| !n.is_empty())
        .map(|n| {
            // `--directory` marks folders with a trailing slash.
            let n = n.strip_suffix(b"/").unwrap_or(n);
            PathBuf::from(OsStr::from_bytes(n))
        })
        .collect())
}

/// `1.5 MB`, `230 KB`, `12 bytes`: sizes in the build log.
fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 4] = ["KB", "MB", "GB", "TB"];
    if n < 1000 {
        return format!("{n} bytes");
    }
    let mut value = n as f64 / 1000.0;
    let mut unit = 0;
    while value >= 1000.0 && unit < UNITS.len() - 1 {
        value /= 1000.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn git(dir: &Path, args: &[&str]) {
        let ok = Command::new("git")
            .arg("-C")
            .arg(dir)
            .args(["-c", "user.name=T", "-c", "user.email=t@example.com"])
            .args(args)
            .status()
            .unwrap()
            .success();
        assert!(ok, "git {args:?}");
    }

    fn names(s: &SourceFiles) -> Vec<String> {
        s.listed
            .as_ref()
            .unwrap()
            .iter()
            .map(|p| p.display().to_string())
            .collect()
    }

    #[test]
    fn git_view_of_a_work_tree_and_a_subfolder() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir_all(root.join("app/node_modules/x")).unwrap();
        std::fs::write(root.join(".gitignore"), "node_modules/\n*.log\n").unwrap();
        std::fs::write(root.join("app/main.sh"), "echo\n").unwrap();
        std::fs::write(root.join("app/gone.txt"), "x").unwrap();
        std::fs::write(root.join("app/node_modules/x/a.js"), "12345").unwrap();
        git(root, &["init", "-q"]);
        git(root, &["add", "-A"]);
        git(root, &["commit", "-qm", "c"]);
        std::fs::remove_file(root.join("app/gone.txt")).unwrap();
        std::fs::write(root.join("app/new.txt"), "n").unwrap();
        std::fs::write(root.join("app/debug.log"), "123").unwrap();
        std::fs::create_dir_all(root.join(".pipelocal")).unwrap();
        std::fs::write(root.join(".pipelocal/state"), "s").unwrap();

        let top = SourceFiles::select(root, false).unwrap();
        assert_eq!(
            names(&top),
            [
                ".git",
                ".gitignore",
                "app/gone.txt",
                "app/main.sh",
                "app/new.txt"
            ]
        );
        assert_eq!(top.left_out(), LeftOut { files: 2, bytes: 8 });

        let sub = SourceFiles::select(&root.join("app"), false).unwrap();
        assert_eq!(names(&sub), ["gone.txt", "main.sh", "new.txt"]);
        let into = tempfile::tempdir().unwrap();
        sub.copy_to(into.path()).unwrap();
        let mut copied: Vec<String> = walkdir::WalkDir::new(into.path())
            .min_depth(1)
            .into_iter()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        copied.sort();
        assert_eq!(copied, ["main.sh", "new.txt"]);

        assert!(SourceFiles::select(root, true).unwrap().listed.is_none());
        let plain = tempfile::tempdir().unwrap();
        assert!(SourceFiles::select(plain.path(), false)
            .unwrap()
            .listed
            .is_none());
    }

    #[test]
    fn sizes_read_well() {
        assert_eq!(human_bytes(12), "12 bytes");
        assert_eq!(human_bytes(1_500_000), "1.5 MB");
        assert_eq!(human_bytes(234_000_000_000), "234.0 GB");
    }
}
