//! Secret masking (CodeBuild User Guide, buildspec reference, `env`): every occurrence of each secret value
//! becomes `***` in every log line, including values split across two
//! output chunks.

use aho_corasick::{AhoCorasick, MatchKind};

pub const MASK: &str = "***";

/// Replaces secret values in text.
#[derive(Debug, Clone, Default)]
pub struct Masker {
    matcher: Option<AhoCorasick>,
    longest: usize,
    values: Vec<String>,
}

impl Masker {
    pub fn new(values: &[String]) -> Self {
        let values: Vec<String> = values.iter().filter(|v| !v.is_empty()).cloned().collect();
        if values.is_empty() {
            return Masker::default();
        }
        let matcher = AhoCorasick::builder()
            .match_kind(MatchKind::LeftmostLongest)
            .build(&values)
            .ok();
        Masker {
            matcher,
            longest: values.iter().map(|v| v.len()).max().unwrap_or(0),
            values,
        }
    }

    /// These values masked too, with the ones masked already.
    pub fn with(&self, more: &[String]) -> Self {
        Masker::new(&[self.values.as_slice(), more].concat())
    }

    pub fn is_empty(&self) -> bool {
        self.matcher.is_none()
    }

    pub fn mask(&self, text: &str) -> String {
        match &self.matcher {
            Some(m) => m.replace_all(text, &vec![MASK; m.patterns_len()]),
            None => text.to_string(),
        }
    }
}

/// Masks streamed output: text is released a line at a time so a secret
/// split across chunks is still seen whole. A very long line is released in
/// parts, keeping back enough to catch a secret that straddles the cut.
#[derive(Debug)]
pub struct StreamMasker<'m> {
    masker: &'m Masker,
    held: String,
}

const MAX_HELD: usize = 64 * 1024;

impl<'m> StreamMasker<'m> {
    pub fn new(masker: &'m Masker) -> Self {
        StreamMasker {
            masker,
            held: String::new(),
        }
    }

    pub fn push(&mut self, chunk: &str) -> String {
        if self.masker.is_empty() {
            return chunk.to_string();
        }
        self.held.push_str(chunk);
        let cut = match self.held.rfind('\n') {
            Some(i) => i + 1,
            None if self.held.len() > MAX_HELD => {
                let mut at = self.held.len() - self.masker.longest;
                while !self.held.is_char_boundary(at) {
                    at -= 1;
                }
                at
            }
            None => return String::new(),
        };
        let rest = self.held.split_off(cut);
        let ready = std::mem::replace(&mut self.held, rest);
        self.masker.mask(&ready)
    }

    pub fn finish(&mut self) -> String {
        let rest = std::mem::take(&mut self.held);
        self.masker.mask(&rest)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_every_occurrence_even_across_chunks() {
        let m = Masker::new(&[
            "hunter2".to_string(),
            "hunter2-long".to_string(),
            String::new(),
        ]);
        assert_eq!(m.mask("a hunter2 b hunter2-long c"), "a *** b *** c");
        let mut s = StreamMasker::new(&m);
        let out = s.push("pass: hun") + &s.push("ter2\nnext hu") + &s.push("nter2") + &s.finish();
        assert_eq!(out, "pass: ***\nnext ***");
        let m = Masker::new(&[]);
        assert_eq!(StreamMasker::new(&m).push("as is"), "as is");
    }
}
