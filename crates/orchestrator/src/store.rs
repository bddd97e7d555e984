//! The artifact store: every output artifact of every action execution is a
//! new immutable zip in the local bucket folder `<state-dir>/s3/<bucket>/`,
//! keyed as AWS keys it (CodePipeline User Guide, "Input and output artifacts"):
//! `<pipeline name, first 20>/<artifact name, first 10>/<7 random characters>`.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct S3Location {
    pub bucket: String,
    pub key: String,
}

/// An artifact in the store, with the revision (a commit, ...) it carries.
#[derive(Debug, Clone)]
pub struct StoredArtifact {
    pub location: S3Location,
    pub revision: Option<String>,
}

impl S3Location {
    pub fn arn(&self) -> String {
        format!("arn:aws:s3:::{}/{}", self.bucket, self.key)
    }
}

/// `<s3 root>/<bucket>/<key>` for names from a definition, refusing any that
/// would leave the bucket's folder (`..`, or a bucket with `/`).
pub fn s3_path(s3_root: &Path, bucket: &str, key: &str) -> Result<PathBuf, String> {
    if bucket.is_empty() || bucket.contains(['/', '\\']) || bucket == "." || bucket == ".." {
        return Err(format!("bucket name {bucket:?} is not a bucket name"));
    }
    let mut path = s3_root.join(bucket);
    for part in key.split('/').filter(|p| !p.is_empty() && *p != ".") {
        if part == ".." {
            return Err(format!("object key {key:?} leaves the bucket"));
        }
        path.push(part);
    }
    Ok(path)
}

#[derive(Debug, Clone)]
pub struct ArtifactStore {
    /// `<state-dir>/s3`: one folder per bucket.
    s3_root: PathBuf,
    bucket: String,
}

impl ArtifactStore {
    pub fn new(state_dir: &Path, bucket: &str) -> Self {
        // A name that is no bucket name still gets a folder of its own.
        let bucket: String = bucket
            .chars()
            .map(|c| if c == '/' || c == '\\' { '_' } else { c })
            .collect();
        let bucket = match bucket.as_str() {
            "" | "." | ".." => "pipelocal-artifacts".to_string(),
            _ => bucket,
        };
        ArtifactStore {
            s3_root: state_dir.join("s3"),
            bucket,
        }
    }

    /// Where a stored object is on this machine.
    pub fn path(&self, location: &S3Location) -> PathBuf {
        self.s3_root.join(&location.bucket).join(&location.key)
    }

    /// Moves `zip` into the store as a new object and says where it is.
    pub fn put(&self, pipeline: &str, artifact: &str, zip: &Path) -> std::io::Result<S3Location> {
        let prefix: String = pipeline.chars().take(20).collect();
        let name: String = artifact.chars().take(10).collect();
        loop {
            let location = S3Location {
                bucket: self.bucket.clone(),
                key: format!("{prefix}/{name}/{}", random_key()),
            };
            let dest = self.path(&location);
            if dest.exists() {
                continue;
            }
            std::fs::create_dir_all(dest.parent().expect("a key has folders"))?;
            // Copy then rename: the object appears whole or not at all.
            let partial = dest.with_extension("partial");
            std::fs::copy(zip, &partial)?;
            std::fs::rename(&partial, &dest)?;
            return Ok(location);
        }
    }
}

/// Seven letters and digits, as in AWS's keys (`1TspnN3`).
fn random_key() -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut n = u128::from_le_bytes(*uuid::Uuid::new_v4().as_bytes());
    (0..7)
        .map(|_| {
            let c = ALPHABET[(n % ALPHABET.len() as u128) as usize] as char;
            n /= ALPHABET.len() as u128;
            c
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn s3_paths_stay_in_their_bucket() {
        let root = Path::new("/state/s3");
        assert_eq!(
            s3_path(root, "b", "/a/./c.zip").unwrap(),
            Path::new("/state/s3/b/a/c.zip")
        );
        assert!(s3_path(root, "b", "../../etc/passwd").is_err());
        assert!(s3_path(root, "../x", "k").is_err());
        assert!(s3_path(root, "", "k").is_err());
        let store = ArtifactStore::new(Path::new("/state"), "../up");
        assert_eq!(
            store.path(&S3Location {
                bucket: store.bucket.clone(),
                key: "k".into()
            }),
            Path::new("/state/s3/.._up/k")
        );
    }

    #[test]
    fn keys_follow_the_aws_layout() {
        let dir = tempfile::tempdir().unwrap();
        let zip = dir.path().join("a.zip");
        std::fs::write(&zip, b"PK").unwrap();
        let store = ArtifactStore::new(dir.path(), "bucket");
        let a = store
            .put("CodeBuild-Python-Pipeline", "SourceArtifact", &zip)
            .unwrap();
        let b = store
            .put("CodeBuild-Python-Pipeline", "SourceArtifact", &zip)
            .unwrap();
        assert!(
            a.key.starts_with("CodeBuild-Python-Pip/SourceArti/"),
            "{}",
            a.key
        );
        assert_eq!(a.key.rsplit('/').next().unwrap().len(), 7);
        assert_ne!(a, b, "every output is a new object");
        assert_eq!(std::fs::read(store.path(&a)).unwrap(), b"PK");
        assert_eq!(a.arn(), format!("arn:aws:s3:::bucket/{}", a.key));
    }
}
