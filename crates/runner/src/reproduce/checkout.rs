//! The exact commit a cloud build used (`resolvedSourceVersion`, or a
//! secondary source's `sourceVersion`), checked out from the user's local
//! clone into a folder of its own. The clone is only read: its working
//! tree, index, branches and `HEAD` stay as they are.
//!
//! `git clone` of a local path links (or copies) the clone's whole object
//! folder, so a commit the clone has but no branch reaches is there too; the
//! checkout's own `.git` has no alternates pointing back at the clone, so
//! git works inside a container that sees only the checkout.

use std::path::{Path, PathBuf};

use crate::git::output as git;

/// A source folder at a cloud build's version, removed when dropped.
#[derive(Debug)]
pub struct Checkout {
    _dir: tempfile::TempDir,
    /// The folder to build: the checkout, or the subfolder `-s` named in it.
    pub source: PathBuf,
    /// The full commit id checked out.
    pub commit: String,
}

/// Why a cloud build's version could not be checked out.
#[derive(Debug, thiserror::Error)]
pub enum CheckoutError {
    #[error("{}: not a git repository, but the cloud build's {what} is commit {version}: give the folder of a clone of its repository with -s", clone.display())]
    NotARepository {
        clone: PathBuf,
        what: String,
        version: String,
    },
    #[error("{}: the clone has no commit {version} (the cloud build's {what}): fetch it with `git -C {} fetch origin {version}`, then run again", clone.display(), clone.display())]
    MissingCommit {
        clone: PathBuf,
        what: String,
        version: String,
    },
    #[error("{}: cannot check out {version} into {}: {reason}", clone.display(), into.display())]
    Git {
        clone: PathBuf,
        version: String,
        into: PathBuf,
        reason: String,
    },
}

/// Checks `version` of the repository holding `clone` out into a new folder
/// below `under`. `what` names the version in errors (`resolvedSourceVersion`).
pub fn check_out(
    clone: &Path,
    version: &str,
    what: &str,
    under: &Path,
) -> Result<Checkout, CheckoutError> {
    let not_a_repository = || CheckoutError::NotARepository {
        clone: clone.to_path_buf(),
        what: what.to_string(),
        version: version.to_string(),
    };
    let top = git(clone, &["rev-parse", "--show-toplevel"]).map_err(|_| not_a_repository())?;
    let prefix = git(clone, &["rev-parse", "--show-prefix"]).map_err(|_| not_a_repository())?;
    let wanted = commit_of(version);
    let commit = crate::git::commit(clone, wanted).ok_or_else(|| CheckoutError::MissingCommit {
        clone: clone.to_path_buf(),
        what: what.to_string(),
        version: wanted.to_string(),
    })?;
    let failed = |into: &Path, reason: String| CheckoutError::Git {
        clone: clone.to_path_buf(),
        version: commit.clone(),
        into: into.to_path_buf(),
        reason,
    };
    std::fs::create_dir_all(under).map_err(|e| failed(under, e.to_string()))?;
    let dir = tempfile::Builder::new()
        .prefix("checkout-")
        .tempdir_in(under)
        .map_err(|e| failed(under, e.to_string()))?;
    let work = dir.path().join("src");
    let work_text = work.to_string_lossy().into_owned();
    git(
        dir.path(),
        &["clone", "--quiet", "--no-checkout", &top, &work_text],
    )
    .map_err(|e| failed(&work, e))?;
    git(
        &work,
        &[
            "-c",
            "advice.detachedHead=false",
            "checkout",
            "--quiet",
            "--detach",
            &commit,
        ],
    )
    .map_err(|e| failed(&work, e))?;
    Ok(Checkout {
        source: work.join(prefix),
        commit,
        _dir: dir,
    })
}

/// The commit a version names: a reference and a commit, as the CodeBuild
/// User Guide's "Source version sample" writes them
/// (`refs/heads/main^{<full commit id>}`), name that commit.
fn commit_of(version: &str) -> &str {
    match version.split_once("^{") {
        Some((_, rest)) => rest.trim_end_matches('}'),
        None => version,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn git_in(dir: &Path, args: &[&str]) -> String {
        let mut all = vec![
            "-c",
            "user.name=T",
            "-c",
            "user.email=t@example.com",
            "-c",
            "commit.gpgsign=false",
        ];
        all.extend_from_slice(args);
        git(dir, &all).unwrap()
    }

    #[test]
    fn a_commit_no_branch_reaches_is_checked_out_for_a_subfolder_and_the_clone_is_untouched() {
        let repo = tempfile::tempdir().unwrap();
        let sub = repo.path().join("app");
        std::fs::create_dir(&sub).unwrap();
        std::fs::write(sub.join("v.txt"), "one\n").unwrap();
        git_in(repo.path(), &["init", "-q", "-b", "main"]);
        git_in(repo.path(), &["add", "-A"]);
        git_in(repo.path(), &["commit", "-q", "-m", "one"]);
        std::fs::write(sub.join("v.txt"), "two\n").unwrap();
        git_in(repo.path(), &["commit", "-q", "-am", "two"]);
        let two = git_in(repo.path(), &["rev-parse", "HEAD"]);
        // `two` is left behind: no branch reaches it any more.
        git_in(repo.path(), &["reset", "-q", "--hard", "HEAD~1"]);
        std::fs::write(sub.join("v.txt"), "local edit\n").unwrap();
        let head = git_in(repo.path(), &["rev-parse", "HEAD"]);
        let state = tempfile::tempdir().unwrap();
        let c = check_out(&sub, &two[..12], "resolvedSourceVersion", state.path()).unwrap();
        assert_eq!(c.commit, two);
        assert_eq!(c.source, c._dir.path().join("src/app/"));
        assert_eq!(
            std::fs::read_to_string(c.source.join("v.txt")).unwrap(),
            "two\n"
        );
        // The clone: same HEAD, same edit, no worktree.
        assert_eq!(git_in(repo.path(), &["rev-parse", "HEAD"]), head);
        assert_eq!(
            std::fs::read_to_string(sub.join("v.txt")).unwrap(),
            "local edit\n"
        );
        assert_eq!(
            git_in(repo.path(), &["worktree", "list"]).lines().count(),
            1
        );
        let folder = c._dir.path().to_path_buf();
        drop(c);
        assert!(!folder.exists());
        let missing = "0123456789abcdef0123456789abcdef01234567";
        let err = check_out(&sub, missing, "resolvedSourceVersion", state.path()).unwrap_err();
        assert!(
            err.to_string()
                .contains(&format!("fetch origin {missing}`")),
            "{err}"
        );
        let plain = tempfile::tempdir().unwrap();
        let err =
            check_out(plain.path(), missing, "resolvedSourceVersion", state.path()).unwrap_err();
        assert!(matches!(err, CheckoutError::NotARepository { .. }), "{err}");
    }

    #[test]
    fn a_version_with_a_commit_in_braces_is_that_commit() {
        assert_eq!(commit_of("refs/heads/main^{abc123}"), "abc123");
        assert_eq!(commit_of("abc123"), "abc123");
    }
}
