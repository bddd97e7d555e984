//! Finds the line of a value inside JSON or block-style YAML text from its path.
//!
//! serde_json and serde_yaml do not keep positions in their value trees, and
//! users need a line to go to. This scanner works on indentation, which covers
//! pretty-printed JSON and block YAML (what people write and what tools emit);
//! for anything else it answers `None` or the nearest line it found, never a
//! wrong file.

/// One step of a path into a document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Seg {
    Key(String),
    Index(usize),
}

impl From<&str> for Seg {
    fn from(k: &str) -> Self {
        Seg::Key(k.to_string())
    }
}

impl From<usize> for Seg {
    fn from(i: usize) -> Self {
        Seg::Index(i)
    }
}

/// A path built step by step while walking a document.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DocPath(pub Vec<Seg>);

impl DocPath {
    pub fn root() -> Self {
        DocPath(Vec::new())
    }

    pub fn key(&self, k: &str) -> Self {
        let mut p = self.clone();
        p.0.push(Seg::Key(k.to_string()));
        p
    }

    pub fn index(&self, i: usize) -> Self {
        let mut p = self.clone();
        p.0.push(Seg::Index(i));
        p
    }
}

impl DocPath {
    /// This path extended by the field path of a deserialization error.
    pub fn join_serde(&self, path: &serde_path_to_error::Path) -> DocPath {
        use serde_path_to_error::Segment;
        let mut out = self.clone();
        for seg in path.iter() {
            match seg {
                Segment::Seq { index } => out = out.index(*index),
                Segment::Map { key } => out = out.key(key),
                Segment::Enum { variant } => out = out.key(variant),
                Segment::Unknown => {}
            }
        }
        out
    }

    /// `message`, prefixed by this path when it is not the root.
    pub fn prefix(&self, message: impl std::fmt::Display) -> String {
        if self.0.is_empty() {
            message.to_string()
        } else {
            format!("{self}: {message}")
        }
    }
}

impl std::fmt::Display for DocPath {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (n, seg) in self.0.iter().enumerate() {
            match seg {
                Seg::Key(k) if n == 0 => write!(f, "{k}")?,
                Seg::Key(k) => write!(f, ".{k}")?,
                Seg::Index(i) => write!(f, "[{i}]")?,
            }
        }
        Ok(())
    }
}

struct Line<'a> {
    indent: usize,
    text: &'a str,
}

fn significant(raw: &str) -> Option<Line<'_>> {
    let trimmed = raw.trim_start();
    if trimmed.is_empty() || trimmed.starts_with('#') {
        return None;
    }
    Some(Line {
        indent: raw.len() - trimmed.len(),
        text: trimmed,
    })
}

/// Where the key of a `key: value` / `"key": value` line starts, if the line
/// holds that key (after any YAML `- ` item markers).
fn key_column(line: &Line<'_>, key: &str) -> Option<usize> {
    let mut text = line.text;
    let mut col = line.indent;
    while let Some(rest) = text.strip_prefix("- ") {
        let rest_trimmed = rest.trim_start();
        col += text.len() - rest_trimmed.len();
        text = rest_trimmed;
    }
    for quote in ["\"", "'", ""] {
        let candidate = format!("{quote}{key}{quote}");
        if let Some(after) = text.strip_prefix(candidate.as_str()) {
            if after.trim_start().starts_with(':') {
                return Some(col);
            }
        }
    }
    None
}

/// 1-based line number of the value at `path`, or the deepest ancestor found.
pub fn line_of(text: &str, path: &DocPath) -> Option<usize> {
    let lines: Vec<Option<Line<'_>>> = text.lines().map(significant).collect();
    // The current node: its line index and the column its children are deeper than.
    let mut found: Option<usize> = None;
    let mut start = 0usize;
    let mut parent_col: Option<usize> = None;
    for seg in &path.0 {
        let block_end = block_end(&lines, start, found, parent_col);
        // A YAML item line (`- Name: x`) holds its own first key.
        let item_line = lines[start]
            .as_ref()
            .is_some_and(|l| l.text.starts_with("- "));
        let first_child = if found.is_some() && !item_line {
            start + 1
        } else {
            start
        };
        match seg {
            Seg::Key(key) => {
                let mut best: Option<(usize, usize)> = None;
                for (i, line) in lines.iter().enumerate().take(block_end).skip(first_child) {
                    let Some(line) = line else { continue };
                    if let Some(col) = key_column(line, key) {
                        if best.is_none_or(|(_, c)| col < c) {
                            best = Some((i, col));
                        }
                    }
                }
                let (i, col) = best?;
                found = Some(i);
                start = i;
                parent_col = Some(col);
            }
            Seg::Index(n) => {
                // Items: YAML `- ` markers, or JSON values, at the shallowest child indent.
                let mut item_indent: Option<usize> = None;
                let mut items = Vec::new();
                for (i, line) in lines.iter().enumerate().take(block_end).skip(first_child) {
                    let Some(line) = line else { continue };
                    if line.text.starts_with('}') || line.text.starts_with(']') {
                        continue;
                    }
                    match item_indent {
                        None => {
                            item_indent = Some(line.indent);
                            items.push((i, line.indent));
                        }
                        Some(ind) if line.indent == ind => items.push((i, line.indent)),
                        Some(ind) if line.indent < ind => break,
                        _ => {}
                    }
                }
                let yaml_items = items
                    .iter()
                    .filter(|(i, _)| {
                        lines[*i]
                            .as_ref()
                            .is_some_and(|l| l.text == "-" || l.text.starts_with("- "))
                    })
                    .count();
                if yaml_items > 0 {
                    items.retain(|(i, _)| {
                        lines[*i]
                            .as_ref()
                            .is_some_and(|l| l.text == "-" || l.text.starts_with("- "))
                    });
                }
                let &(i, indent) = items.get(*n)?;
                found = Some(i);
                start = i;
                // Children of a YAML item may sit at indent+2 on the same line.
                parent_col = Some(indent);
            }
        }
    }
    found.map(|i| i + 1)
}

/// The index one past the last line belonging to the node at `start`.
fn block_end(
    lines: &[Option<Line<'_>>],
    start: usize,
    found: Option<usize>,
    parent_col: Option<usize>,
) -> usize {
    let (Some(node), Some(col)) = (found, parent_col) else {
        return lines.len();
    };
    let mut end = node + 1;
    while end < lines.len() {
        if let Some(line) = &lines[end] {
            let same_level_item =
                line.indent == col && (line.text == "-" || line.text.starts_with("- "));
            let node_is_key = lines[start]
                .as_ref()
                .is_some_and(|l| !l.text.starts_with("- ") || l.indent < col);
            if line.indent < col || (line.indent == col && !(same_level_item && node_is_key)) {
                // A closing bracket at the node's own indent still ends it.
                break;
            }
        }
        end += 1;
    }
    end
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(segs: &[Seg]) -> DocPath {
        DocPath(segs.to_vec())
    }

    #[test]
    fn finds_yaml_keys_and_items() {
        let text = "version: 0.2\nphases:\n  build:\n    commands:\n      - echo a\n      - b: c\n  post_build:\n    commands:\n    - echo z\n";
        assert_eq!(
            line_of(text, &p(&["phases".into(), "build".into()])),
            Some(3)
        );
        assert_eq!(
            line_of(
                text,
                &p(&["phases".into(), "build".into(), "commands".into(), 1.into()])
            ),
            Some(6)
        );
        assert_eq!(
            line_of(
                text,
                &p(&[
                    "phases".into(),
                    "post_build".into(),
                    "commands".into(),
                    0.into()
                ])
            ),
            Some(9)
        );
    }

    #[test]
    fn finds_pretty_json_items_and_prefers_shallow_keys() {
        let text = r#"{
  "stages": [
    {
      "actions": [
        {
          "inputArtifacts": [ { "name": "Src" } ],
          "name": "Build"
        }
      ],
      "name": "S1"
    },
    {
      "name": "S2"
    }
  ]
}"#;
        assert_eq!(
            line_of(text, &p(&["stages".into(), 1.into(), "name".into()])),
            Some(13)
        );
        assert_eq!(
            line_of(
                text,
                &p(&[
                    "stages".into(),
                    0.into(),
                    "actions".into(),
                    0.into(),
                    "name".into()
                ])
            ),
            Some(7)
        );
    }

    #[test]
    fn finds_keys_on_yaml_item_lines() {
        let text = "Stages:\n  - Name: !Ref X\n    Actions:\n      - Name: App\n";
        assert_eq!(
            line_of(text, &p(&["Stages".into(), 0.into(), "Name".into()])),
            Some(2)
        );
        let action = [
            "Stages".into(),
            0.into(),
            "Actions".into(),
            0.into(),
            "Name".into(),
        ];
        assert_eq!(line_of(text, &p(&action)), Some(4));
    }

    #[test]
    fn missing_path_is_none() {
        assert_eq!(line_of("a: 1\n", &p(&["b".into()])), None);
    }
}
