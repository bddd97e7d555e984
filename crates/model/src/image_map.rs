//! `--image-map FROM=TO` and `image-map:` in `.pipelocal.yml`: the image a
//! build uses in place of the one its project (or `-i`) names. FROM is an
//! image name, or a glob (`aws/codebuild/*`, where `*` matches any
//! characters, `/` included) that maps every image it matches.
//!
//! Which entry wins: an exact name before any glob; among globs the longest
//! pattern (the most specific), then the first given.

use globset::{Glob, GlobMatcher};

/// A FROM that is not a usable glob.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("image-map {from}: not a usable glob: {reason}")]
pub struct ImageMapError {
    pub from: String,
    pub reason: String,
}

#[derive(Debug, Clone)]
struct GlobEntry {
    pattern: String,
    matcher: GlobMatcher,
    to: String,
}

/// The image mappings of a build or a run, ready to apply.
#[derive(Debug, Clone, Default)]
pub struct ImageMap {
    exact: Vec<(String, String)>,
    globs: Vec<GlobEntry>,
}

/// Whether FROM is a glob rather than an image name (image names never hold
/// these characters).
fn is_glob(from: &str) -> bool {
    from.contains(['*', '?', '[', '{'])
}

impl ImageMap {
    /// The mappings in the order given (earlier ones win ties).
    pub fn new<I, F, T>(entries: I) -> Result<ImageMap, ImageMapError>
    where
        I: IntoIterator<Item = (F, T)>,
        F: Into<String>,
        T: Into<String>,
    {
        let mut map = ImageMap::default();
        for (from, to) in entries {
            let (from, to) = (from.into(), to.into());
            if !is_glob(&from) {
                map.exact.push((from, to));
                continue;
            }
            let matcher = Glob::new(&from)
                .map_err(|e| ImageMapError {
                    from: from.clone(),
                    reason: e.kind().to_string(),
                })?
                .compile_matcher();
            map.globs.push(GlobEntry {
                pattern: from,
                matcher,
                to,
            });
        }
        // Longest pattern first; a stable sort keeps the given order in ties.
        map.globs
            .sort_by_key(|g| std::cmp::Reverse(g.pattern.len()));
        Ok(map)
    }

    /// Checks one FROM as `new` would (for a configuration file's keys).
    pub fn check_from(from: &str) -> Result<(), ImageMapError> {
        ImageMap::new([(from, "")]).map(|_| ())
    }

    /// The image to use in place of `image`, when an entry maps it.
    pub fn mapped(&self, image: &str) -> Option<&str> {
        self.exact
            .iter()
            .find(|(from, _)| from == image)
            .map(|(_, to)| to.as_str())
            .or_else(|| {
                self.globs
                    .iter()
                    .find(|g| g.matcher.is_match(image))
                    .map(|g| g.to.as_str())
            })
    }

    /// `image`, or what an entry maps it to.
    pub fn apply(&self, image: &str) -> String {
        self.mapped(image).unwrap_or(image).to_string()
    }

    pub fn is_empty(&self) -> bool {
        self.exact.is_empty() && self.globs.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_names_win_then_the_most_specific_glob() {
        let map = ImageMap::new([
            ("aws/codebuild/*", "local/any"),
            ("aws/codebuild/amazonlinux*", "local/al"),
            ("aws/codebuild/standard:7.0", "local/seven"),
        ])
        .unwrap();
        assert_eq!(map.apply("aws/codebuild/standard:7.0"), "local/seven");
        assert_eq!(map.apply("aws/codebuild/standard:6.0"), "local/any");
        assert_eq!(
            map.apply("aws/codebuild/amazonlinux-x86_64-standard:5.0"),
            "local/al"
        );
        assert_eq!(map.apply("node:20"), "node:20");
        assert_eq!(map.mapped("node:20"), None);
    }

    #[test]
    fn a_star_crosses_slashes_and_a_broken_glob_is_an_error() {
        let map = ImageMap::new([("aws/*", "x")]).unwrap();
        assert_eq!(map.apply("aws/codebuild/standard:7.0"), "x");
        let e = ImageMap::new([("aws/codebuild/[", "x")]).unwrap_err();
        assert!(e.to_string().contains("image-map aws/codebuild/["), "{e}");
    }
}
