//! `#{Namespace.Key}` variable references in configuration values.

/// One reference found in a text, with its byte range.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VariableRef {
    pub namespace: String,
    pub key: String,
    pub start: usize,
    pub end: usize,
}

fn namespace_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '@' || c == '-' || c == '_'
}

/// Every `#{ns.key}` in `text`, following the matcher `#\{([A-Za-z0-9@\-_]+)\.([^}]+)\}`.
pub fn references(text: &str) -> Vec<VariableRef> {
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(rel) = text[from..].find("#{") {
        let start = from + rel;
        let body_start = start + 2;
        let Some(close) = text[body_start..].find('}') else {
            break;
        };
        let body = &text[body_start..body_start + close];
        if let Some((ns, key)) = body.split_once('.') {
            if !ns.is_empty() && ns.chars().all(namespace_char) && !key.is_empty() {
                out.push(VariableRef {
                    namespace: ns.to_string(),
                    key: key.to_string(),
                    start,
                    end: body_start + close + 1,
                });
            }
        }
        from = body_start;
    }
    out
}

/// Replaces every reference using `lookup`; the first reference it cannot
/// resolve is returned as the error.
pub fn substitute<F>(text: &str, mut lookup: F) -> Result<String, VariableRef>
where
    F: FnMut(&str, &str) -> Option<String>,
{
    let mut out = String::new();
    let mut last = 0;
    for r in references(text) {
        out.push_str(&text[last..r.start]);
        match lookup(&r.namespace, &r.key) {
            Some(v) => out.push_str(&v),
            None => return Err(r),
        }
        last = r.end;
    }
    out.push_str(&text[last..]);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_and_substitutes() {
        let refs = references("x #{SourceVariables.CommitId} #{bad} #{variables.Env}");
        assert_eq!(refs.len(), 2);
        assert_eq!(refs[0].namespace, "SourceVariables");
        assert_eq!(refs[1].key, "Env");
        let out = substitute("a-#{v.X}-b", |ns, k| Some(format!("{ns}{k}"))).unwrap();
        assert_eq!(out, "a-vX-b");
        assert_eq!(substitute("#{n.K}", |_, _| None).unwrap_err().key, "K");
    }
}
