//! An artifact zipped straight from the tar stream a build container sends
//! for its base directory: nothing is unpacked to disk, files the artifact
//! does not take are read past, and the ones it takes are deflated by
//! [`ZipBuilder`]'s workers as they arrive. The choices are the ones
//! `select` and `write_zip` make on a folder (docs/user-guide.md,
//! "Artifacts"), symlinks resolved inside the stream's tree.

use std::collections::{HashMap, HashSet};
use std::io::Read;

use super::parallel_zip::{FileId, Planned, ZipBuilder};
use super::select::Selector;

/// What one base directory's stream gave.
pub enum FromTar {
    Done,
    /// A symlink the artifact takes as a file points at a file it does not
    /// take: its bytes were not kept, so the caller zips from a copy instead.
    NeedsCopy,
}

/// Where an entry of the stream led.
enum Node {
    Dir,
    /// A file: where its bytes were stored, if they were.
    File(Option<FileId>),
    Link(String),
    /// A hard link: the path of the file it shares its bytes with.
    Hard(String),
}

/// One entry the artifact takes, in stream order.
struct Taken {
    rel: String,
    name: String,
}

/// One artifact being zipped from its base directories' streams.
pub struct StreamedArtifact {
    pub zip: ZipBuilder,
    /// Its entries in the artifact's order.
    pub plan: Vec<Planned>,
    /// Names taken already (from earlier bases too).
    pub seen: HashSet<String>,
    /// How many entries the selections took.
    pub taken: usize,
    pub enable_symlinks: bool,
}

impl StreamedArtifact {
    pub fn new(enable_symlinks: bool) -> std::io::Result<Self> {
        Ok(StreamedArtifact {
            zip: ZipBuilder::new()?,
            plan: Vec::new(),
            seen: HashSet::new(),
            taken: 0,
            enable_symlinks,
        })
    }
}

/// Reads the tar stream of the base directory `base_abs` (Docker names every entry after the folder: the first component is
/// dropped), adding what `selector` takes to `artifact`.
pub fn zip_from_tar(
    reader: impl Read,
    base_abs: &str,
    selector: &mut Selector,
    artifact: &mut StreamedArtifact,
    skipped: &mut dyn FnMut(String),
) -> std::io::Result<FromTar> {
    let StreamedArtifact {
        zip,
        plan,
        seen,
        taken: taken_so_far,
        enable_symlinks,
    } = artifact;
    let enable_symlinks = *enable_symlinks;
    let mut archive = tar::Archive::new(reader);
    let mut nodes: HashMap<String, Node> = HashMap::new();
    let mut taken: Vec<Taken> = Vec::new();
    for entry in archive.entries()? {
        let mut entry = entry?;
        let raw = entry.path()?.to_string_lossy().into_owned();
        let Some((_, rel)) = raw.split_once('/') else {
            continue;
        };
        let rel = rel.trim_end_matches('/').to_string();
        if rel.is_empty() {
            continue;
        }
        if rel.split('/').any(|c| c == ".." || c == ".") || rel.starts_with('/') {
            return Err(std::io::Error::other(format!(
                "the build container sent an entry outside its folder: {raw}"
            )));
        }
        let kind = entry.header().entry_type();
        if kind.is_dir() {
            nodes.insert(rel, Node::Dir);
            continue;
        }
        if kind.is_symlink() || kind.is_hard_link() {
            let target = entry
                .link_name()?
                .map(|t| t.to_string_lossy().into_owned())
                .unwrap_or_default();
            let node = if kind.is_symlink() {
                Node::Link(target)
            } else {
                // A hard link names the other file by its path in the archive.
                match target.split_once('/') {
                    Some((_, other)) => Node::Hard(other.trim_end_matches('/').to_string()),
                    None => continue,
                }
            };
            if let Some(name) = selector.choose(&rel) {
                taken.push(Taken {
                    rel: rel.clone(),
                    name,
                });
            }
            nodes.insert(rel, node);
            continue;
        }
        if !kind.is_file() {
            continue;
        }
        let id = match selector.choose(&rel) {
            Some(name) => {
                let mode = entry.header().mode().unwrap_or(0o644);
                let len = entry.size();
                let id = zip.add_file(mode, len, &mut entry)?;
                taken.push(Taken {
                    rel: rel.clone(),
                    name,
                });
                Some(id)
            }
            None => None,
        };
        nodes.insert(rel, Node::File(id));
    }
    taken.sort_by(|a, b| a.rel.split('/').cmp(b.rel.split('/')));
    *taken_so_far += taken.len();
    for t in taken {
        if !seen.insert(t.name.clone()) {
            skipped(format!(
                "Skipping duplicate file name {} (discard-paths)",
                t.name
            ));
            continue;
        }
        let target = match nodes.get(&t.rel) {
            Some(Node::Link(link)) => {
                let Some(resolved) = resolve(&t.rel, &nodes, base_abs) else {
                    skipped(format!(
                        "Skipping symlink {}: its target is outside the artifact",
                        t.name
                    ));
                    continue;
                };
                if enable_symlinks {
                    plan.push(Planned::Symlink {
                        name: t.name,
                        target: link.clone(),
                    });
                    continue;
                }
                resolved
            }
            _ => t.rel.clone(),
        };
        match stored(&target, &nodes) {
            Stored::File(id) => plan.push(Planned::File { id, name: t.name }),
            Stored::Folder => skipped(format!(
                "Skipping symlink {}: it points to a folder",
                t.name
            )),
            Stored::Missing => return Ok(FromTar::NeedsCopy),
        }
    }
    Ok(FromTar::Done)
}

enum Stored {
    File(FileId),
    Folder,
    Missing,
}

/// Where the bytes of the file at `rel` (or of the file a hard link there
/// shares them with) were stored.
fn stored(rel: &str, nodes: &HashMap<String, Node>) -> Stored {
    match nodes.get(rel) {
        Some(Node::File(Some(id))) => Stored::File(*id),
        Some(Node::Dir) => Stored::Folder,
        Some(Node::Hard(other)) => match nodes.get(other) {
            Some(Node::File(Some(id))) => Stored::File(*id),
            _ => Stored::Missing,
        },
        _ => Stored::Missing,
    }
}

/// The path (relative to the base) a link at `rel` leads to, following links
/// on the way; `None` when it leaves the base, dangles or loops.
fn resolve(rel: &str, nodes: &HashMap<String, Node>, base_abs: &str) -> Option<String> {
    let base: Vec<&str> = base_abs.split('/').filter(|c| !c.is_empty()).collect();
    let mut out: Vec<String> = Vec::new();
    let mut queue: std::collections::VecDeque<String> = rel.split('/').map(String::from).collect();
    let mut hops = 0;
    while let Some(c) = queue.pop_front() {
        match c.as_str() {
            "" | "." => continue,
            ".." => {
                out.pop()?;
                continue;
            }
            _ => out.push(c),
        }
        let here = out.join("/");
        let Some(Node::Link(target)) = nodes.get(&here) else {
            continue;
        };
        hops += 1;
        if hops > 40 {
            return None;
        }
        out.pop();
        let mut next: Vec<String> = Vec::new();
        if let Some(abs) = target.strip_prefix('/') {
            let parts: Vec<&str> = abs.split('/').filter(|c| !c.is_empty()).collect();
            if parts.len() < base.len() || parts[..base.len()] != base[..] {
                return None;
            }
            out.clear();
            next.extend(parts[base.len()..].iter().map(|s| s.to_string()));
        } else {
            next.extend(target.split('/').map(String::from));
        }
        for c in next.into_iter().rev() {
            queue.push_front(c);
        }
    }
    let path = out.join("/");
    nodes.contains_key(&path).then_some(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nodes(links: &[(&str, &str)], files: &[&str], dirs: &[&str]) -> HashMap<String, Node> {
        let mut n = HashMap::new();
        for (l, t) in links {
            n.insert(l.to_string(), Node::Link(t.to_string()));
        }
        for f in files {
            n.insert(f.to_string(), Node::File(None));
        }
        for d in dirs {
            n.insert(d.to_string(), Node::Dir);
        }
        n
    }

    #[test]
    fn links_resolve_inside_the_tree_only() {
        let n = nodes(
            &[
                ("l", "d/f"),
                ("up", "../outside"),
                ("abs", "/b/src/d/f"),
                ("absout", "/etc/passwd"),
                ("viadir", "dl/f"),
                ("dl", "d"),
                ("loop", "loop"),
                ("dangling", "nothing"),
            ],
            &["d/f"],
            &["d"],
        );
        assert_eq!(resolve("l", &n, "/b/src").as_deref(), Some("d/f"));
        assert_eq!(resolve("abs", &n, "/b/src").as_deref(), Some("d/f"));
        assert_eq!(resolve("viadir", &n, "/b/src").as_deref(), Some("d/f"));
        assert_eq!(resolve("dl", &n, "/b/src").as_deref(), Some("d"));
        assert_eq!(resolve("up", &n, "/b/src"), None);
        assert_eq!(resolve("absout", &n, "/b/src"), None);
        assert_eq!(resolve("loop", &n, "/b/src"), None);
        assert_eq!(resolve("dangling", &n, "/b/src"), None);
    }
}
