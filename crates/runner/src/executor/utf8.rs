//! Decodes output that arrives in chunks: a character split across two
//! chunks is kept whole instead of becoming U+FFFD twice.

#[derive(Debug, Default)]
pub struct Utf8Chunks {
    pending: Vec<u8>,
}

impl Utf8Chunks {
    /// The text of `bytes` after what was held back, holding back an
    /// incomplete character at the end.
    pub fn push(&mut self, bytes: &[u8]) -> String {
        self.pending.extend_from_slice(bytes);
        let valid_up_to = match std::str::from_utf8(&self.pending) {
            Ok(_) => self.pending.len(),
            Err(e) if e.error_len().is_none() => e.valid_up_to(),
            Err(_) => self.pending.len(),
        };
        let rest = self.pending.split_off(valid_up_to);
        let text = String::from_utf8_lossy(&self.pending).into_owned();
        self.pending = rest;
        text
    }

    /// Whatever is still held back (an incomplete character at the very end).
    pub fn finish(&mut self) -> String {
        let text = String::from_utf8_lossy(&self.pending).into_owned();
        self.pending.clear();
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_characters_stay_whole() {
        let bytes = "aé€😀b".as_bytes();
        for cut in 0..bytes.len() {
            let mut d = Utf8Chunks::default();
            let text = d.push(&bytes[..cut]) + &d.push(&bytes[cut..]) + &d.finish();
            assert_eq!(text, "aé€😀b", "cut at {cut}");
        }
        let mut d = Utf8Chunks::default();
        assert_eq!(d.push(b"a\xffb"), "a\u{fffd}b");
    }
}
