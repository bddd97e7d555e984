//! The Install event as the CodeDeploy agent does it (CodeDeploy User Guide,
//! AppSpec 'files' and 'permissions' sections): the last install's files
//! removed (its cleanup list), the revision's `files` planned against what
//! is on the instance (`file_exists_behavior`), `permissions` matched to
//! what this install copies or makes, and the new cleanup list written.
//! Planning is pure; the plan runs as one shell script in the instance.

use std::collections::{BTreeMap, BTreeSet};

use pipelocal_model::codedeploy::appspec::{AppSpec, FileExistsBehavior, ObjectType, Permission};

use super::instance::Instance;
use super::lifecycle::{instructions, Deployment};

/// What is at a path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    File,
    Dir,
}

/// One instruction, in the order the agent generates them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    Mkdir(String),
    Copy { from: String, to: String },
}

/// What an Install does.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Plan {
    pub steps: Vec<Step>,
    /// Each path a permission applies to, with the permission's index.
    pub permissions: Vec<(String, usize)>,
}

impl Plan {
    /// The cleanup list the next Install removes: what this one made.
    pub fn cleanup_list(&self) -> Vec<&str> {
        self.steps
            .iter()
            .map(|s| match s {
                Step::Mkdir(p) | Step::Copy { to: p, .. } => p.as_str(),
            })
            .collect()
    }
}

/// Plans the install of the revision unpacked at `archive` (its entries by
/// path relative to it in `listing`) onto an instance where `existing`
/// paths are (asked after the last install's files were removed).
pub fn plan(
    appspec: &AppSpec,
    archive: &str,
    listing: &BTreeMap<String, Kind>,
    existing: &BTreeMap<String, Kind>,
) -> Result<Plan, String> {
    let mut b = Builder {
        existing,
        behavior: appspec.file_exists_behavior,
        plan: Plan::default(),
        mkdirs: BTreeSet::new(),
        copies: BTreeMap::new(),
    };
    for f in &appspec.files {
        let source = f.source.trim_matches('/');
        let destination = normalize(&f.destination);
        let kind = if source.is_empty() {
            Kind::Dir
        } else {
            *listing.get(source).ok_or_else(|| {
                format!("The deployment failed because the files source {} is not in the revision (AppSpec 'files' section)", f.source)
            })?
        };
        match kind {
            Kind::Dir => {
                b.missing_ancestors(&destination)?;
                b.directory_copy(archive, source, &destination, listing)?;
            }
            Kind::File => {
                let name = source.rsplit('/').next().unwrap_or(source);
                let target = join(&destination, name);
                b.missing_ancestors(&target)?;
                b.normal_copy(&join(archive, source), &target)?;
            }
        }
    }
    for (i, p) in appspec.permissions.iter().enumerate() {
        let object = normalize(&p.object);
        if b.copies.contains_key(&object) {
            if p.types.contains(&ObjectType::File) {
                if p.pattern != "**" {
                    return Err(format!(
                        "Attempt to use pattern {} when assigning permissions to file {object}",
                        p.pattern
                    ));
                }
                if !p.except.is_empty() {
                    return Err(format!(
                        "Attempt to use except {:?} when assigning permissions to file {object}",
                        p.except
                    ));
                }
                b.plan.permissions.push((object, i));
            }
        } else if b.mkdirs.contains(&object) || existing.get(&object) == Some(&Kind::Dir) {
            let mut matched = Vec::new();
            if p.types.contains(&ObjectType::File) {
                matched.extend(b.copies.keys().filter(|t| applies(p, &object, t)).cloned());
            }
            if p.types.contains(&ObjectType::Directory) {
                matched.extend(b.mkdirs.iter().filter(|t| applies(p, &object, t)).cloned());
            }
            b.plan
                .permissions
                .extend(matched.into_iter().map(|m| (m, i)));
        }
    }
    Ok(b.plan)
}

struct Builder<'a> {
    existing: &'a BTreeMap<String, Kind>,
    behavior: FileExistsBehavior,
    plan: Plan,
    mkdirs: BTreeSet<String>,
    /// Destination → source, to refuse two sources for one destination.
    copies: BTreeMap<String, String>,
}

impl Builder<'_> {
    fn exists(&self, path: &str) -> bool {
        self.existing.contains_key(path)
    }

    fn mkdir(&mut self, dir: &str) -> Result<(), String> {
        if self.copies.contains_key(dir) {
            return Err(format!("The deployment failed because the application specification file copies a file to {dir} and also makes a directory there"));
        }
        if self.mkdirs.insert(dir.to_string()) {
            self.plan.steps.push(Step::Mkdir(dir.to_string()));
        }
        Ok(())
    }

    fn missing_ancestors(&mut self, destination: &str) -> Result<(), String> {
        let mut missing = Vec::new();
        let mut parent = parent(destination);
        while parent != "/" && !self.exists(parent) {
            missing.push(parent.to_string());
            parent = self::parent(parent);
        }
        for dir in missing.iter().rev() {
            self.mkdir(dir)?;
        }
        Ok(())
    }

    fn directory_copy(
        &mut self,
        archive: &str,
        source: &str,
        destination: &str,
        listing: &BTreeMap<String, Kind>,
    ) -> Result<(), String> {
        if self.existing.get(destination) != Some(&Kind::Dir) {
            self.mkdir(destination)?;
        }
        let children = listing
            .iter()
            .filter(|(path, _)| parent_rel(path) == source && !path.is_empty());
        for (path, kind) in children {
            let name = path.rsplit('/').next().unwrap_or(path);
            let target = join(destination, name);
            match kind {
                Kind::Dir => self.directory_copy(archive, path, &target, listing)?,
                Kind::File => self.normal_copy(&join(archive, path), &target)?,
            }
        }
        Ok(())
    }

    fn normal_copy(&mut self, from: &str, to: &str) -> Result<(), String> {
        if self.exists(to) {
            match self.behavior {
                FileExistsBehavior::Disallow => {
                    return Err(format!("The deployment failed because a specified file already exists at this location: {to}"))
                }
                FileExistsBehavior::Retain => return Ok(()),
                FileExistsBehavior::Overwrite => {}
            }
        }
        if let Some(other) = self.copies.get(to) {
            return Err(format!("The deployment failed because the application specification file specifies two source files named {other} and {from} for the same destination ({to}). Remove one source file and try again."));
        }
        if self.mkdirs.contains(to) {
            return Err(format!("The deployment failed because the application specification file makes a directory at {to} and also copies a file there"));
        }
        self.copies.insert(to.to_string(), from.to_string());
        self.plan.steps.push(Step::Copy {
            from: from.to_string(),
            to: to.to_string(),
        });
        Ok(())
    }
}

/// Whether permission `p` on `object` applies to `path`: below `object`,
/// anywhere with pattern `**`, else a name directly inside it matching the
/// simple glob, and no `except` glob matching it.
fn applies(p: &Permission, object: &str, path: &str) -> bool {
    let base = if object.ends_with('/') {
        object.to_string()
    } else {
        format!("{object}/")
    };
    let Some(rel) = path.strip_prefix(&base) else {
        return false;
    };
    let matched = p.pattern == "**" || simple_glob(rel, &p.pattern);
    matched && !p.except.iter().any(|e| simple_glob(rel, e))
}

/// `*` for any run of characters, within one path component. Iterative
/// (two pointers, back to the last `*` on a mismatch): the pattern is the
/// user's, and a recursive matcher takes exponential time on `*a*a*a*b`.
fn simple_glob(name: &str, pattern: &str) -> bool {
    if name.contains('/') {
        return false;
    }
    let n: Vec<char> = name.chars().collect();
    let p: Vec<char> = pattern.chars().collect();
    let (mut i, mut j) = (0, 0);
    // The last `*` seen, and where in the name its run ends for now.
    let mut star: Option<(usize, usize)> = None;
    while i < n.len() {
        if j < p.len() && p[j] == '*' {
            star = Some((j, i));
            j += 1;
        } else if j < p.len() && p[j] == n[i] {
            i += 1;
            j += 1;
        } else if let Some((sj, si)) = star {
            // The `*` takes one character more.
            star = Some((sj, si + 1));
            i = si + 1;
            j = sj + 1;
        } else {
            return false;
        }
    }
    p[j..].iter().all(|c| *c == '*')
}

fn normalize(path: &str) -> String {
    let trimmed = path.trim().trim_end_matches('/');
    if trimmed.is_empty() {
        "/".into()
    } else {
        trimmed.to_string()
    }
}

fn join(dir: &str, name: &str) -> String {
    if dir.ends_with('/') {
        format!("{dir}{name}")
    } else {
        format!("{dir}/{name}")
    }
}

fn parent(path: &str) -> &str {
    match path.rsplit_once('/') {
        Some(("", _)) | None => "/",
        Some((p, _)) => p,
    }
}

/// The parent of a path relative to the archive; `""` is its root.
fn parent_rel(path: &str) -> &str {
    path.rsplit_once('/').map_or("", |(p, _)| p)
}

/// Single-quoted for sh.
pub fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// The shell script that removes what the last install made, listed in
/// `cleanup` (newest first, directories only when empty, as the agent's
/// cleanup does), then deletes the list.
pub fn cleanup_script(cleanup: &str) -> String {
    format!(
        "f={c}\n[ -f \"$f\" ] || exit 0\nsed -n '1!G;h;$p' \"$f\" | while IFS= read -r p; do\n  if [ -d \"$p\" ] && [ ! -L \"$p\" ]; then rmdir \"$p\" 2>/dev/null || true; else rm -f \"$p\"; fi\ndone\nrm -f \"$f\"\n",
        c = quote(cleanup)
    )
}

/// The shell script that carries out `plan`, recording each path in the
/// cleanup list as it goes, as the agent's CopyCommand and
/// MakeDirectoryCommand do: a file just before it is copied (a copy that
/// fails half-way is listed too), a directory just after it is made. When a
/// step fails, what came before it is listed still, and the next Install
/// removes it (else it would be in that Install's way). The list is emptied
/// first; permissions come after every copy.
pub fn install_script(plan: &Plan, permissions: &[Permission], cleanup: &str) -> String {
    let mut s = format!(
        "set -e\nlist={}\nmkdir -p {}\n: > \"$list\"\n",
        quote(cleanup),
        quote(parent(cleanup))
    );
    for (step, made) in plan.steps.iter().zip(plan.cleanup_list()) {
        let listed = format!("printf '%s\\n' {} >> \"$list\"\n", quote(made));
        match step {
            Step::Mkdir(dir) => {
                s.push_str(&format!("mkdir {}\n", quote(dir)));
                s.push_str(&listed);
            }
            Step::Copy { from, to } => {
                s.push_str(&listed);
                s.push_str(&format!("cp {} {}\n", quote(from), quote(to)));
            }
        }
    }
    for (path, i) in &plan.permissions {
        let p = &permissions[*i];
        match (&p.owner, &p.group) {
            (Some(o), Some(g)) => s.push_str(&format!(
                "chown {} {}\n",
                quote(&format!("{o}:{g}")),
                quote(path)
            )),
            (Some(o), None) => s.push_str(&format!("chown {} {}\n", quote(o), quote(path))),
            (None, Some(g)) => s.push_str(&format!("chgrp {} {}\n", quote(g), quote(path))),
            (None, None) => {}
        }
        if let Some(mode) = &p.mode {
            s.push_str(&format!("chmod {} {}\n", quote(mode), quote(path)));
        }
    }
    s
}

/// Install: the last install's files removed, the plan made against the
/// instance and carried out, the cleanup list and install markers written.
/// The number of paths it copied or made.
pub async fn run(
    instance: &Instance,
    deployment: &Deployment<'_>,
    appspec: &AppSpec,
    archive: &str,
) -> Result<usize, String> {
    let cleanup = instructions(deployment.group_id, "-cleanup");
    instance
        .sh_ok(
            "removing the last install's files",
            &cleanup_script(&cleanup),
            &[],
        )
        .await?;
    let listed = instance
        .sh_ok(
            "listing the revision",
            "cd \"$1\" && find . -mindepth 1 | while IFS= read -r p; do if [ -d \"$p\" ] && [ ! -L \"$p\" ]; then echo \"d ${p#./}\"; else echo \"f ${p#./}\"; fi; done",
            &[archive],
        )
        .await?;
    let listing = kinds(&listed);
    let mut asked: Vec<String> = Vec::new();
    for f in &appspec.files {
        let dest = f.destination.trim_end_matches('/');
        let mut p = dest.to_string();
        while !p.is_empty() {
            asked.push(p.clone());
            p = p
                .rsplit_once('/')
                .map(|(a, _)| a.to_string())
                .unwrap_or_default();
        }
        let source = f.source.trim_matches('/');
        for rel in listing.keys() {
            let under = if source.is_empty() {
                Some(rel.as_str())
            } else if rel == source {
                rel.rsplit('/').next()
            } else {
                rel.strip_prefix(&format!("{source}/"))
            };
            if let Some(under) = under {
                asked.push(format!("{dest}/{under}"));
            }
        }
    }
    asked.extend(
        appspec
            .permissions
            .iter()
            .map(|p| p.object.trim_end_matches('/').to_string()),
    );
    asked.sort();
    asked.dedup();
    // The paths go through a file: a large revision's would not fit a command line.
    let asked_file = format!("{}/pipelocal-destinations", deployment.dir());
    instance
        .write(&asked_file, &format!("{}\n", asked.join("\n")), 0o600)
        .await?;
    let there = instance
        .sh_ok(
            "looking at the destinations",
            "while IFS= read -r p; do if [ -d \"$p\" ]; then echo \"d $p\"; elif [ -e \"$p\" ] || [ -L \"$p\" ]; then echo \"f $p\"; fi; done < \"$1\"; rm -f \"$1\"",
            &[&asked_file],
        )
        .await?;
    let plan = plan(appspec, archive, &listing, &kinds(&there))?;
    let script_path = format!("{}/pipelocal-install.sh", deployment.dir());
    instance
        .write(
            &script_path,
            &install_script(&plan, &appspec.permissions, &cleanup),
            0o700,
        )
        .await?;
    instance
        .sh_ok(
            "installing the revision's files",
            "sh \"$1\"",
            &[&script_path],
        )
        .await?;
    // The agent marks the install, not the deployment: a revision whose
    // later hooks fail is still the "previous" one of the next deployment.
    for marker in ["_last_successful_install", "_most_recent_install"] {
        instance
            .write(
                &instructions(deployment.group_id, marker),
                &format!("{}\n", deployment.dir()),
                0o644,
            )
            .await?;
    }
    Ok(plan.steps.len())
}

/// `d path` / `f path` lines into kinds by path.
fn kinds(listed: &str) -> BTreeMap<String, Kind> {
    listed
        .lines()
        .filter_map(|l| match l.split_at_checked(2)? {
            ("d ", p) => Some((p.to_string(), Kind::Dir)),
            ("f ", p) => Some((p.to_string(), Kind::File)),
            _ => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use pipelocal_model::codedeploy::parse_appspec;
    use std::path::Path;

    fn appspec(text: &str) -> AppSpec {
        parse_appspec(
            Path::new("appspec.yml"),
            format!("version: 0.0\nos: linux\n{text}"),
        )
        .unwrap()
        .appspec
    }

    fn listing() -> BTreeMap<String, Kind> {
        [
            ("appspec.yml", Kind::File),
            ("web", Kind::Dir),
            ("web/index.html", Kind::File),
            ("web/css", Kind::Dir),
            ("web/css/site.css", Kind::File),
            ("bin", Kind::Dir),
            ("bin/run.sh", Kind::File),
        ]
        .into_iter()
        .map(|(p, k)| (p.to_string(), k))
        .collect()
    }

    fn existing(paths: &[(&str, Kind)]) -> BTreeMap<String, Kind> {
        paths.iter().map(|(p, k)| (p.to_string(), *k)).collect()
    }

    #[test]
    fn a_directory_goes_below_its_destination_with_missing_parents_made() {
        let a = appspec("files:\n  - source: web\n    destination: /srv/www/site\n  - source: bin/run.sh\n    destination: /usr/local/bin\n");
        let p = plan(
            &a,
            "/a",
            &listing(),
            &existing(&[("/srv", Kind::Dir), ("/usr/local/bin", Kind::Dir)]),
        )
        .unwrap();
        assert_eq!(
            p.steps,
            vec![
                Step::Mkdir("/srv/www".into()),
                Step::Mkdir("/srv/www/site".into()),
                Step::Mkdir("/srv/www/site/css".into()),
                Step::Copy {
                    from: "/a/web/css/site.css".into(),
                    to: "/srv/www/site/css/site.css".into()
                },
                Step::Copy {
                    from: "/a/web/index.html".into(),
                    to: "/srv/www/site/index.html".into()
                },
                Step::Copy {
                    from: "/a/bin/run.sh".into(),
                    to: "/usr/local/bin/run.sh".into()
                },
            ]
        );
    }

    #[test]
    fn file_exists_behavior_decides_about_files_already_there() {
        let there = existing(&[("/srv", Kind::Dir), ("/srv/index.html", Kind::File)]);
        let files = "files:\n  - source: web/index.html\n    destination: /srv\n";
        let err = plan(&appspec(files), "/a", &listing(), &there).unwrap_err();
        assert_eq!(err, "The deployment failed because a specified file already exists at this location: /srv/index.html");
        let retain = plan(
            &appspec(&format!("{files}file_exists_behavior: RETAIN\n")),
            "/a",
            &listing(),
            &there,
        )
        .unwrap();
        assert!(retain.steps.is_empty());
        let overwrite = plan(
            &appspec(&format!("{files}file_exists_behavior: OVERWRITE\n")),
            "/a",
            &listing(),
            &there,
        )
        .unwrap();
        assert_eq!(overwrite.cleanup_list(), vec!["/srv/index.html"]);
    }

    #[test]
    fn permissions_match_only_what_this_install_copies_or_makes() {
        let a = appspec("files:\n  - source: web\n    destination: /srv/site\npermissions:\n  - object: /srv/site\n    pattern: \"*.html\"\n    mode: \"600\"\n    type: [file]\n  - object: /srv/site\n    except: [css]\n    owner: web\n    type: [directory]\n  - object: /srv/site/index.html\n    mode: \"640\"\n  - object: /srv\n    owner: nobody\n");
        let p = plan(&a, "/a", &listing(), &existing(&[("/srv", Kind::Dir)])).unwrap();
        assert_eq!(
            p.permissions,
            vec![
                ("/srv/site/index.html".to_string(), 0),
                ("/srv/site/index.html".to_string(), 2),
                ("/srv/site/css/site.css".to_string(), 3),
                ("/srv/site/index.html".to_string(), 3),
                ("/srv/site".to_string(), 3),
                ("/srv/site/css".to_string(), 3),
            ]
        );
        let script = install_script(&p, &a.permissions, "/c/dg-cleanup");
        assert!(
            script.contains("chmod '600' '/srv/site/index.html'\n"),
            "{script}"
        );
        assert!(
            script.contains("chown 'nobody' '/srv/site/css'\n"),
            "{script}"
        );
        // A directory is listed after it is made, a file before it is copied.
        assert!(
            script.starts_with("set -e\nlist='/c/dg-cleanup'\nmkdir -p '/c'\n: > \"$list\"\nmkdir '/srv/site'\nprintf '%s\\n' '/srv/site' >> \"$list\"\nmkdir '/srv/site/css'\nprintf '%s\\n' '/srv/site/css' >> \"$list\"\nprintf '%s\\n' '/srv/site/css/site.css' >> \"$list\"\ncp '/a/web/css/site.css' '/srv/site/css/site.css'\n"),
            "{script}"
        );
        let copied = script.rfind("cp '").unwrap();
        assert!(copied < script.find("chown").unwrap(), "{script}");
    }

    #[test]
    fn simple_globs_stay_in_one_directory() {
        assert!(simple_glob("run.sh", "*.sh"));
        assert!(simple_glob("a", "*"));
        assert!(!simple_glob("bin/run.sh", "*.sh"));
        assert!(!simple_glob("run.shx", "*.sh"));
        assert!(simple_glob("", "*"));
        assert!(!simple_glob("", "a"));
        assert!(simple_glob("abc", "a*c"));
        assert!(simple_glob("aXbXc", "a*b*c"));
        assert!(!simple_glob("ab", "a*b*c"));
        assert!(simple_glob("mississippi", "m*ss*pi"));
        // Exponential for a backtracking matcher; one pass here.
        let name = "a".repeat(200);
        assert!(!simple_glob(&name, &format!("{}b", "*a".repeat(30))));
        assert!(simple_glob(
            &format!("{name}b"),
            &format!("{}b", "*a".repeat(30))
        ));
        assert_eq!(quote("it's"), r"'it'\''s'");
    }
}
