//! A small JSON reader for list pages: it walks to the few values the report reads and
//! skips everything else without decoding it.
//!
//! A Task is ~2.5 KB of JSON of which the report needs four short strings. serde_json
//! decodes (and UTF-8-checks) every skipped string; measured on realistic pages, 70% of
//! the reporter's CPU went there. Skipping here only looks for the bytes that end a string
//! (`"` and `\`), eight at a time, and for brackets between strings. Values that are read
//! are validated and unescaped (by serde_json, for the rare escaped string). Syntax errors
//! are reported with their byte offset; skipped strings are not checked for valid UTF-8.

use std::borrow::Cow;
use std::fmt;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Error {
    pub at: usize,
    pub expected: &'static str,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "expected {} at byte {}", self.expected, self.at)
    }
}

impl std::error::Error for Error {}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// The JSON type of the next value, from its first byte.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Object,
    Array,
    String,
    Number,
    Bool,
    Null,
}

pub struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    pub fn new(bytes: &'a [u8]) -> Reader<'a> {
        Reader { bytes, at: 0 }
    }

    fn error<T>(&self, expected: &'static str) -> Result<T> {
        Err(Error {
            at: self.at,
            expected,
        })
    }

    fn skip_whitespace(&mut self) {
        while let Some(b' ' | b'\n' | b'\r' | b'\t') = self.bytes.get(self.at) {
            self.at += 1;
        }
    }

    /// The type of the next value.
    pub fn peek(&mut self) -> Result<Kind> {
        self.skip_whitespace();
        match self.bytes.get(self.at) {
            Some(b'{') => Ok(Kind::Object),
            Some(b'[') => Ok(Kind::Array),
            Some(b'"') => Ok(Kind::String),
            Some(b'-' | b'0'..=b'9') => Ok(Kind::Number),
            Some(b't' | b'f') => Ok(Kind::Bool),
            Some(b'n') => Ok(Kind::Null),
            _ => self.error("a JSON value"),
        }
    }

    fn eat(&mut self, byte: u8, expected: &'static str) -> Result<()> {
        self.skip_whitespace();
        if self.bytes.get(self.at) == Some(&byte) {
            self.at += 1;
            Ok(())
        } else {
            self.error(expected)
        }
    }

    /// Calls `member` with each key of an object (raw, as written: keys that need escapes
    /// never match the plain keys the reporter looks for); `member` must consume the value.
    pub fn object(
        &mut self,
        mut member: impl FnMut(&mut Self, &'a [u8]) -> Result<()>,
    ) -> Result<()> {
        self.eat(b'{', "'{'")?;
        self.skip_whitespace();
        if self.bytes.get(self.at) == Some(&b'}') {
            self.at += 1;
            return Ok(());
        }
        loop {
            self.skip_whitespace();
            let key = self.raw_string()?.0;
            self.eat(b':', "':'")?;
            member(self, key)?;
            self.skip_whitespace();
            match self.bytes.get(self.at) {
                Some(b',') => self.at += 1,
                Some(b'}') => {
                    self.at += 1;
                    return Ok(());
                }
                _ => return self.error("',' or '}'"),
            }
        }
    }

    /// Calls `element` for each element of an array; it must consume the element.
    pub fn array(&mut self, mut element: impl FnMut(&mut Self) -> Result<()>) -> Result<()> {
        self.eat(b'[', "'['")?;
        self.skip_whitespace();
        if self.bytes.get(self.at) == Some(&b']') {
            self.at += 1;
            return Ok(());
        }
        loop {
            element(self)?;
            self.skip_whitespace();
            match self.bytes.get(self.at) {
                Some(b',') => self.at += 1,
                Some(b']') => {
                    self.at += 1;
                    return Ok(());
                }
                _ => return self.error("',' or ']'"),
            }
        }
    }

    /// A string value, unescaped and checked to be UTF-8.
    pub fn string(&mut self) -> Result<Cow<'a, str>> {
        self.skip_whitespace();
        let start = self.at;
        let (raw, escaped) = self.raw_string()?;
        let text = if escaped {
            // Rare in what the reporter reads: let serde_json do the unescaping.
            serde_json::from_slice::<String>(&self.bytes[start..self.at])
                .map(Cow::Owned)
                .ok()
        } else {
            std::str::from_utf8(raw).ok().map(Cow::Borrowed)
        };
        text.ok_or(Error {
            at: start,
            expected: "a valid JSON string",
        })
    }

    /// A number value as written, e.g. `12.5e3`.
    pub fn number(&mut self) -> Result<&'a str> {
        self.skip_whitespace();
        let start = self.at;
        while let Some(b'0'..=b'9' | b'-' | b'+' | b'.' | b'e' | b'E') = self.bytes.get(self.at) {
            self.at += 1;
        }
        match std::str::from_utf8(&self.bytes[start..self.at]) {
            Ok(text) if !text.is_empty() => Ok(text),
            _ => Err(Error {
                at: start,
                expected: "a number",
            }),
        }
    }

    /// Skips one value of any type.
    pub fn skip(&mut self) -> Result<()> {
        match self.peek()? {
            Kind::String => self.raw_string().map(drop),
            Kind::Object | Kind::Array => self.skip_container(),
            Kind::Number => self.number().map(drop),
            Kind::Bool | Kind::Null => self.literal(),
        }
    }

    /// Checks that nothing but whitespace follows.
    pub fn end(&mut self) -> Result<()> {
        self.skip_whitespace();
        if self.at == self.bytes.len() {
            Ok(())
        } else {
            self.error("the end of the document")
        }
    }

    fn literal(&mut self) -> Result<()> {
        for word in [&b"true"[..], b"false", b"null"] {
            if self.bytes[self.at..].starts_with(word) {
                self.at += word.len();
                return Ok(());
            }
        }
        self.error("true, false or null")
    }

    /// The bytes between a string's quotes, and whether it holds escapes.
    fn raw_string(&mut self) -> Result<(&'a [u8], bool)> {
        if self.bytes.get(self.at) != Some(&b'"') {
            return self.error("a string");
        }
        let start = self.at + 1;
        match string_end(self.bytes, start) {
            Some((end, escaped)) => {
                self.at = end + 1;
                Ok((&self.bytes[start..end], escaped))
            }
            None => self.error("the end of a string"),
        }
    }

    /// Skips an object or array. Only its own kind of bracket needs counting (the other
    /// kind is balanced inside it), so each step looks for one of three bytes and jumps
    /// over strings. (Walking each word's quotes, backslashes and brackets in one pass
    /// measured 15% more instructions on realistic pages: most skipped bytes are in
    /// strings, where two needles are cheaper than four.)
    fn skip_container(&mut self) -> Result<()> {
        let start = self.at;
        let (open, close) = if self.bytes[start] == b'{' {
            (b'{', b'}')
        } else {
            (b'[', b']')
        };
        let mut depth = 0usize;
        let mut at = start;
        while let Some(found) = find_any(self.bytes, at, [b'"', open, close]) {
            let byte = self.bytes[found];
            at = found + 1;
            if byte == b'"' {
                match string_end(self.bytes, at) {
                    Some((end, _)) => at = end + 1,
                    None => break,
                }
            } else if byte == open {
                depth += 1;
            } else {
                depth -= 1;
                if depth == 0 {
                    self.at = at;
                    return Ok(());
                }
            }
        }
        Err(Error {
            at: start,
            expected: "a closed object or array",
        })
    }
}

/// The index of the quote that ends a string whose content starts at `from`, and whether
/// the string holds escapes.
#[inline]
fn string_end(bytes: &[u8], from: usize) -> Option<(usize, bool)> {
    let mut at = from;
    let mut escaped = false;
    loop {
        let found = find_any(bytes, at, [b'"', b'\\'])?;
        if bytes[found] == b'"' {
            return Some((found, escaped));
        }
        escaped = true;
        at = found + 2;
    }
}

/// High bit set in each byte of `word` equal to `byte`. Exact for the lowest match only:
/// a borrow can flag a byte above it, so callers check the byte they find.
#[inline(always)]
fn byte_matches(word: u64, byte: u8) -> u64 {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    let x = word ^ (ONES * byte as u64);
    x.wrapping_sub(ONES) & !x & HIGHS
}

/// The first of `needles` at or after `from`, eight bytes at a time in registers. (memchr's
/// SIMD search measured slower here: most strings and stretches between brackets are
/// shorter than its setup pays for.)
#[inline(always)]
fn find_any<const N: usize>(bytes: &[u8], from: usize, needles: [u8; N]) -> Option<usize> {
    let mut at = from;
    while let Some(chunk) = bytes.get(at..at + 8) {
        let word = u64::from_le_bytes(chunk.try_into().expect("eight bytes"));
        let found = needles
            .iter()
            .fold(0, |found, &needle| found | byte_matches(word, needle));
        if found != 0 {
            return Some(at + (found.trailing_zeros() / 8) as usize);
        }
        at += 8;
    }
    let rest = bytes.get(at..)?;
    rest.iter()
        .position(|b| needles.contains(b))
        .map(|i| at + i)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn find_quote_or_backslash(bytes: &[u8], from: usize) -> Option<usize> {
        find_any(bytes, from, [b'"', b'\\'])
    }
    #[test]
    fn finds_the_first_quote_or_backslash_in_any_position() {
        for len in 0..40 {
            for pos in 0..len {
                for byte in [b'"', b'\\'] {
                    let mut bytes = vec![b'a'; len];
                    bytes[pos] = byte;
                    if pos + 3 < len {
                        bytes[pos + 3] = b'"';
                    }
                    assert_eq!(
                        find_quote_or_backslash(&bytes, 0),
                        Some(pos),
                        "len {len} pos {pos}"
                    );
                }
            }
            assert_eq!(find_quote_or_backslash(&vec![b'a'; len], 0), None);
        }
        // Bytes that differ from '"' or '\' by one bit or by a borrow are not matches.
        let near: Vec<u8> = vec![0x21, 0x23, 0x5b, 0x5d, 0x00, 0xa2, 0xdc, 0x02, 0x20, 0x22];
        assert_eq!(find_quote_or_backslash(&near, 0), Some(9));
    }

    /// The obvious byte-at-a-time skipper, to check the word-at-a-time one against.
    fn reference_container_end(bytes: &[u8]) -> Option<usize> {
        let (mut depth, mut in_string, mut at) = (0, false, 0);
        while at < bytes.len() {
            match (in_string, bytes[at]) {
                (true, b'\\') => at += 1,
                (true, b'"') | (false, b'"') => in_string = !in_string,
                (false, b'{' | b'[') => depth += 1,
                (false, b'}' | b']') => {
                    depth -= 1;
                    if depth == 0 {
                        return Some(at + 1);
                    }
                }
                _ => {}
            }
            at += 1;
        }
        None
    }

    #[test]
    fn skipping_containers_agrees_with_a_byte_at_a_time_skipper() {
        // Random nestings of objects, arrays and strings full of escapes and brackets, at
        // every alignment; a fixed seed keeps the test repeatable.
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut random = move |n: u64| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state % n
        };
        fn value(out: &mut Vec<u8>, depth: u32, random: &mut dyn FnMut(u64) -> u64) {
            match if depth > 4 { 2 } else { random(3) } {
                0 => {
                    out.push(b'{');
                    for i in 0..random(4) {
                        if i > 0 {
                            out.push(b',');
                        }
                        out.extend(br#""k":"#);
                        value(out, depth + 1, random);
                    }
                    out.push(b'}');
                }
                1 => {
                    out.push(b'[');
                    for i in 0..random(4) {
                        if i > 0 {
                            out.push(b',');
                        }
                        value(out, depth + 1, random);
                    }
                    out.push(b']');
                }
                _ => {
                    out.push(b'"');
                    for _ in 0..random(20) {
                        let pieces: [&[u8]; 8] =
                            [b"a", b"{", b"}", b"[", b"]", br#"\""#, br#"\\"#, b"xyz"];
                        out.extend(pieces[random(8) as usize]);
                    }
                    out.push(b'"');
                }
            }
        }
        for case in 0..2000 {
            let mut document = b" ".repeat(case % 9);
            let start = document.len();
            document.push(if random(2) == 0 { b'{' } else { b'[' });
            let mut inner = Vec::new();
            value(&mut inner, 1, &mut random);
            let close = if document[start] == b'{' { b'}' } else { b']' };
            if document[start] == b'{' {
                document.extend(br#""k":"#);
            }
            document.extend(&inner);
            document.push(close);
            let expected = reference_container_end(&document[start..]).map(|end| start + end);
            let mut reader = Reader::new(&document);
            let skipped = reader.skip().map(|()| reader.at);
            assert_eq!(
                skipped.ok(),
                expected,
                "case {case}: {}",
                String::from_utf8_lossy(&document)
            );
            for cut in [1, 2, 7, 9] {
                let truncated = &document[..document.len().saturating_sub(cut)];
                assert!(
                    Reader::new(truncated).skip().is_err(),
                    "case {case} cut {cut}"
                );
            }
        }
    }

    #[test]
    fn skips_every_kind_of_value() {
        let document = br#" [ {"a": [1, -2.5e3, true, false, null, "x\"]}", {"b": {}}], "c": "\\"}, "s\u00e9", 12, null ] "#;
        let mut reader = Reader::new(document);
        let mut count = 0;
        reader
            .array(|r| {
                count += 1;
                r.skip()
            })
            .unwrap();
        reader.end().unwrap();
        assert_eq!(count, 4);
    }

    #[test]
    fn reads_strings_unescaped_and_numbers_as_written() {
        let mut reader =
            Reader::new(br#"{"plain": "codex", "escaped": "a\"b\u00e9", "n": -12.5e3}"#);
        let mut seen = Vec::new();
        reader
            .object(|r, key| {
                let value = match r.peek()? {
                    Kind::String => r.string()?.into_owned(),
                    _ => r.number()?.to_owned(),
                };
                seen.push((String::from_utf8(key.to_vec()).unwrap(), value));
                Ok(())
            })
            .unwrap();
        let expected = [("plain", "codex"), ("escaped", "a\"bé"), ("n", "-12.5e3")];
        assert_eq!(seen, expected.map(|(k, v)| (k.to_owned(), v.to_owned())));
    }

    #[test]
    fn syntax_errors_name_the_byte() {
        let cases: [(&[u8], Error); 6] = [
            (
                b"<html>",
                Error {
                    at: 0,
                    expected: "'{'",
                },
            ),
            (
                br#"{"a" 1}"#,
                Error {
                    at: 5,
                    expected: "':'",
                },
            ),
            (
                br#"{"a": "open"#,
                Error {
                    at: 6,
                    expected: "the end of a string",
                },
            ),
            (
                br#"{"a": [1, {"b": 2}"#,
                Error {
                    at: 6,
                    expected: "a closed object or array",
                },
            ),
            (
                br#"{"a": 1 "b": 2}"#,
                Error {
                    at: 8,
                    expected: "',' or '}'",
                },
            ),
            (
                br#"{"a": nope}"#,
                Error {
                    at: 6,
                    expected: "true, false or null",
                },
            ),
        ];
        for (document, expected) in cases {
            let mut reader = Reader::new(document);
            assert_eq!(
                reader.object(|r, _| r.skip()),
                Err(expected),
                "{}",
                String::from_utf8_lossy(document)
            );
        }
        let mut trailing = Reader::new(b"{} x");
        trailing.object(|r, _| r.skip()).unwrap();
        assert_eq!(
            trailing.end(),
            Err(Error {
                at: 3,
                expected: "the end of the document"
            })
        );
    }
}
