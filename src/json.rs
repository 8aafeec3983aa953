//! A JSON reader for list pages: it walks to the few values the report reads and skips
//! everything else without decoding it.
//!
//! A Task is ~2.5 KB of JSON of which the report needs four short strings. serde_json
//! decodes and UTF-8-checks every skipped string; on realistic pages most of the reporter's
//! CPU went there (BENCHMARKS.md). Here, skipping a string only looks for its closing quote,
//! sixteen bytes per comparison (SSE2 on x86_64, NEON on aarch64, through `wide`; both are
//! part of every such CPU, BENCHMARKS.md "arm64").
//!
//! What is validated, and what is not (BENCHMARKS.md, "How much a skip checks"):
//! - Values that are read, and every key, are validated and unescaped (by serde_json, for
//!   the rare string with a backslash): `"sp\u0065c"` is `spec`.
//! - A skipped value has its grammar checked: brackets where a value may be and closed by
//!   their own kind, keys, colons, commas, literals. So no broken value can run on into the
//!   objects after it. Its strings are checked for their closing quote only (not for valid
//!   UTF-8 or escapes), its numbers for their characters only (`1-2` passes). Checking the
//!   grammar measured the same time as counting brackets alone (simdjson's first stage on
//!   64-byte blocks, which this module used before): Kubernetes' JSON is dense with short
//!   keys and brackets.
//! - Syntax errors are reported with their byte offset. `objects` makes an object that fails
//!   to read cost itself only, and fails a page whose structure is broken. A differential
//!   test against serde_json on generated pages, whole, cut short and with bytes changed
//!   (`objects`), checks that valid pages read the same either way and that a broken object
//!   never changes another's count.

use std::borrow::Cow;
use std::fmt;

use wide::u8x16;

/// A syntax error: what was expected, at which byte. Small and `Copy`, so that the reader's
/// `Result`s are cheap to pass around on its hot paths.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Error {
    pub at: u32,
    pub expected: Expected,
}

impl Error {
    fn at(at: usize, expected: Expected) -> Error {
        // Pages are at most a few MiB (cluster::MAX_PAGE_BYTES): an offset fits in 32 bits.
        Error {
            at: u32::try_from(at).unwrap_or(u32::MAX),
            expected,
        }
    }
}

/// What the reader expected where it found something else.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Expected {
    Value,
    OpenBrace,
    OpenBracket,
    Colon,
    CommaOrBrace,
    CommaOrBracket,
    String,
    StringEnd,
    ValidString,
    Number,
    Literal,
    End,
    ItemsMember,
    ListMetadata,
    ContinueString,
    ShallowerNesting,
}

impl fmt::Display for Expected {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Expected::Value => "a JSON value",
            Expected::OpenBrace => "'{'",
            Expected::OpenBracket => "'['",
            Expected::Colon => "':'",
            Expected::CommaOrBrace => "',' or '}'",
            Expected::CommaOrBracket => "',' or ']'",
            Expected::String => "a string",
            Expected::StringEnd => "the end of a string",
            Expected::ValidString => "a valid JSON string",
            Expected::Number => "a number",
            Expected::Literal => "true, false or null",
            Expected::End => "the end of the document",
            Expected::ItemsMember => "an \"items\" member in the List",
            Expected::ListMetadata => "an object as the List's \"metadata\"",
            Expected::ContinueString => "a string as the List's \"metadata.continue\"",
            Expected::ShallowerNesting => "at most 128 levels of nesting",
        })
    }
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
pub enum JsonType {
    Object,
    Array,
    String,
    Number,
    Bool,
    Null,
}

/// The first `"` or `\\` at or after `from`, sixteen bytes per comparison: a key or a
/// name takes one step, a prompt a few dozen.
#[inline(always)]
fn find_quote_or_backslash(bytes: &[u8], from: usize) -> Option<usize> {
    let (quote, backslash) = (u8x16::splat(b'"'), u8x16::splat(b'\\'));
    let found_in = |chunk: [u8; 16]| {
        let chunk = u8x16::new(chunk);
        (chunk.simd_eq(quote) | chunk.simd_eq(backslash)).to_bitmask()
    };
    let mut at = from;
    while let Some(chunk) = bytes.get(at..at + 16) {
        let found = found_in(chunk.try_into().expect("16 bytes"));
        if found != 0 {
            return Some(at + found.trailing_zeros() as usize);
        }
        at += 16;
    }
    // The last bytes, padded with zeros, which match nothing.
    let rest = bytes.get(at..).filter(|rest| !rest.is_empty())?;
    let mut padded = [0u8; 16];
    padded[..rest.len()].copy_from_slice(rest);
    let found = found_in(padded);
    (found != 0).then(|| at + found.trailing_zeros() as usize)
}

/// The index of the quote that ends a string whose content starts at `from`.
#[inline]
fn string_end(bytes: &[u8], from: usize) -> Option<usize> {
    let mut at = from;
    loop {
        let found = find_quote_or_backslash(bytes, at)?;
        if bytes[found] == b'"' {
            return Some(found);
        }
        // A backslash: the byte after it is escaped, whatever it is.
        at = found + 2;
    }
}

/// Walks a document.
pub struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    pub fn new(bytes: &'a [u8]) -> Reader<'a> {
        Reader { bytes, at: 0 }
    }

    /// An error at the current position: the document is valid JSON so far, but not what
    /// the caller expects here.
    pub fn error<T>(&self, expected: Expected) -> Result<T> {
        Err(Error::at(self.at, expected))
    }

    #[inline(always)]
    fn skip_whitespace(&mut self) {
        while let Some(b' ' | b'\n' | b'\r' | b'\t') = self.bytes.get(self.at) {
            self.at += 1;
        }
    }

    /// The type of the next value.
    pub fn peek(&mut self) -> Result<JsonType> {
        self.skip_whitespace();
        match self.bytes.get(self.at) {
            Some(b'{') => Ok(JsonType::Object),
            Some(b'[') => Ok(JsonType::Array),
            Some(b'"') => Ok(JsonType::String),
            Some(b'-' | b'0'..=b'9') => Ok(JsonType::Number),
            Some(b't' | b'f') => Ok(JsonType::Bool),
            Some(b'n') => Ok(JsonType::Null),
            _ => self.error(Expected::Value),
        }
    }

    fn eat(&mut self, byte: u8, expected: Expected) -> Result<()> {
        self.skip_whitespace();
        if self.bytes.get(self.at) == Some(&byte) {
            self.at += 1;
            Ok(())
        } else {
            self.error(expected)
        }
    }

    /// Calls `member` with each key of an object, unescaped (`"sp\u0065c"` is `spec`; the
    /// slow path runs only for a key with a backslash); `member` must consume the value.
    pub fn object(&mut self, member: impl FnMut(&mut Self, &[u8]) -> Result<()>) -> Result<()> {
        self.members(true, member)
    }

    /// [`Reader::object`], with the keys unescaped or as written.
    #[inline(always)]
    fn members(
        &mut self,
        unescape: bool,
        mut member: impl FnMut(&mut Self, &[u8]) -> Result<()>,
    ) -> Result<()> {
        self.eat(b'{', Expected::OpenBrace)?;
        self.skip_whitespace();
        if self.bytes.get(self.at) == Some(&b'}') {
            self.at += 1;
            return Ok(());
        }
        loop {
            self.skip_whitespace();
            let start = self.at;
            let key = self.raw_string()?;
            let unescaped;
            let key = if unescape && key.contains(&b'\\') {
                unescaped = serde_json::from_slice::<String>(&self.bytes[start..self.at])
                    .map_err(|_| Error::at(start, Expected::ValidString))?;
                unescaped.as_bytes()
            } else {
                key
            };
            self.eat(b':', Expected::Colon)?;
            member(self, key)?;
            self.skip_whitespace();
            match self.bytes.get(self.at) {
                Some(b',') => self.at += 1,
                Some(b'}') => {
                    self.at += 1;
                    return Ok(());
                }
                _ => return self.error(Expected::CommaOrBrace),
            }
        }
    }

    /// Calls `element` for each element of an array; it must consume the element.
    pub fn array(&mut self, mut element: impl FnMut(&mut Self) -> Result<()>) -> Result<()> {
        self.eat(b'[', Expected::OpenBracket)?;
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
                _ => return self.error(Expected::CommaOrBracket),
            }
        }
    }

    /// A string value, unescaped and checked to be UTF-8.
    pub fn string(&mut self) -> Result<Cow<'a, str>> {
        self.skip_whitespace();
        let start = self.at;
        let raw = self.raw_string()?;
        let text = if raw.contains(&b'\\') {
            // Rare in what the reporter reads: let serde_json do the unescaping.
            serde_json::from_slice::<String>(&self.bytes[start..self.at])
                .map(Cow::Owned)
                .ok()
        } else {
            std::str::from_utf8(raw).ok().map(Cow::Borrowed)
        };
        text.ok_or(Error::at(start, Expected::ValidString))
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
            _ => Err(Error::at(start, Expected::Number)),
        }
    }

    /// Where the reader is, for [`Reader::rewind`].
    pub fn position(&self) -> usize {
        self.at
    }

    /// Goes back to a [`Reader::position`], to skip a value that failed to read.
    pub fn rewind(&mut self, position: usize) {
        self.at = position;
    }

    /// Skips one value of any type, checking its grammar but not its strings' contents
    /// (their closing quotes only): each bracket where a value may be, closed by its own
    /// kind, keys, colons and commas where they belong. So a value broken in any way that
    /// changes where it ends fails here, instead of running on into the objects after it.
    /// Recursive: containers nest at most 128 deep (serde_json's limit too).
    pub fn skip(&mut self) -> Result<()> {
        self.skip_at(0)
    }

    fn skip_at(&mut self, depth: u32) -> Result<()> {
        const MAX_DEPTH: u32 = 128;
        let kind = self.peek()?;
        if matches!(kind, JsonType::Object | JsonType::Array) && depth == MAX_DEPTH {
            return self.error(Expected::ShallowerNesting);
        }
        match kind {
            // Keys as written: one with an invalid escape is still one key.
            JsonType::Object => self.members(false, |reader, _| reader.skip_at(depth + 1)),
            JsonType::Array => self.array(|reader| reader.skip_at(depth + 1)),
            JsonType::String => self.raw_string().map(drop),
            JsonType::Number => self.number().map(drop),
            JsonType::Bool | JsonType::Null => self.literal(),
        }
    }

    /// The `}` that closes an object whose members were read elsewhere.
    pub fn object_end(&mut self) -> Result<()> {
        self.eat(b'}', Expected::CommaOrBrace)
    }

    /// Checks that nothing but whitespace follows.
    pub fn end(&mut self) -> Result<()> {
        self.skip_whitespace();
        if self.at == self.bytes.len() {
            Ok(())
        } else {
            self.error(Expected::End)
        }
    }

    fn literal(&mut self) -> Result<()> {
        for word in [&b"true"[..], b"false", b"null"] {
            if self.bytes[self.at..].starts_with(word) {
                self.at += word.len();
                return Ok(());
            }
        }
        self.error(Expected::Literal)
    }

    /// The bytes between a string's quotes, as written.
    #[inline(always)]
    fn raw_string(&mut self) -> Result<&'a [u8]> {
        if self.bytes.get(self.at) != Some(&b'"') {
            return self.error(Expected::String);
        }
        let start = self.at + 1;
        match string_end(self.bytes, start) {
            Some(end) => {
                self.at = end + 1;
                Ok(&self.bytes[start..end])
            }
            None => self.error(Expected::StringEnd),
        }
    }
}

#[cfg(test)]
mod tests {
    use axon_telemetry_testkit::random::Random;

    use super::*;

    /// The obvious byte-at-a-time skipper, to check the block-at-a-time one against.
    fn reference_container_end(bytes: &[u8]) -> Option<usize> {
        let (mut depth, mut in_string, mut at) = (0, false, 0);
        while at < bytes.len() {
            match (in_string, bytes[at]) {
                (true, b'\\') => at += 1,
                (_, b'"') => in_string = !in_string,
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

    /// Random nestings of objects, arrays and strings full of escapes and brackets.
    fn random_value(out: &mut Vec<u8>, depth: u32, random: &mut Random) {
        match if depth > 4 { 2 } else { random.below(3) } {
            0 => {
                out.push(b'{');
                for i in 0..random.below(4) {
                    if i > 0 {
                        out.push(b',');
                    }
                    out.extend(br#""k":"#);
                    random_value(out, depth + 1, random);
                }
                out.push(b'}');
            }
            1 => {
                out.push(b'[');
                for i in 0..random.below(4) {
                    if i > 0 {
                        out.push(b',');
                    }
                    random_value(out, depth + 1, random);
                }
                out.push(b']');
            }
            _ => {
                out.push(b'"');
                for _ in 0..random.below(40) {
                    let pieces: [&[u8]; 10] = [
                        b"a",
                        b"{",
                        b"}",
                        b"[",
                        b"]",
                        br#"\""#,
                        br#"\\"#,
                        br#"\\\""#,
                        b"xyz",
                        b"0123456789abcdef",
                    ];
                    out.extend(pieces[random.below(10) as usize]);
                }
                out.push(b'"');
            }
        }
    }

    #[test]
    fn skipping_containers_agrees_with_a_byte_at_a_time_skipper() {
        let mut random = Random::new(0x2545_f491_4f6c_dd1d);
        for case in 0..3000 {
            // At every alignment of the 16-byte string search, after a string that spans chunks.
            let mut document = br#"[""#.to_vec();
            document.extend(b"x".repeat(case % 131));
            document.extend(br#"","#);
            let start = document.len();
            document.push(if random.below(2) == 0 { b'{' } else { b'[' });
            let close = if document[start] == b'{' { b'}' } else { b']' };
            if close == b'}' {
                document.extend(br#""k":"#);
            }
            random_value(&mut document, 1, &mut random);
            document.push(close);
            let expected = reference_container_end(&document[start..]).map(|end| start + end);
            let mut reader = Reader::new(&document);
            reader.at = start;
            assert_eq!(
                reader.skip().map(|()| reader.at).ok(),
                expected,
                "case {case}: {}",
                String::from_utf8_lossy(&document)
            );
            for cut in [1, 2, 7, 9] {
                let truncated = &document[..document.len().saturating_sub(cut)];
                let mut reader = Reader::new(truncated);
                reader.at = start;
                assert!(reader.skip().is_err(), "case {case} cut {cut}");
            }
        }
    }

    #[test]
    fn string_ends_agree_with_a_byte_at_a_time_search() {
        let mut random = Random::new(0x9e37_79b9_7f4a_7c15);
        for case in 0..3000 {
            let mut body = Vec::new();
            for _ in 0..random.below(60) {
                let pieces: [&[u8]; 6] = [
                    b"a",
                    br#"\""#,
                    br#"\\"#,
                    b"{[",
                    b"0123456789abcdef",
                    "é".as_bytes(),
                ];
                body.extend(pieces[random.below(6) as usize]);
            }
            let mut document = br#"[""#.to_vec();
            document.extend(b"x".repeat(case % 70));
            document.extend(br#"",""#);
            let start = document.len() - 1;
            document.extend(&body);
            document.extend(br#"","more"]"#);
            let end = start + 1 + body.len();
            let mut reader = Reader::new(&document);
            reader.at = start;
            assert_eq!(
                reader.raw_string(),
                Ok(&document[start + 1..end]),
                "case {case}"
            );
            let mut reader = Reader::new(&document[..end]);
            reader.at = start;
            assert!(
                reader.raw_string().is_err(),
                "case {case} without its quote"
            );
        }
    }

    /// Where `skip` from byte `from` ends, or `None` when it fails.
    fn skipped_to(document: &[u8], from: usize) -> Option<usize> {
        let mut reader = Reader::new(document);
        reader.at = from;
        reader.skip().ok().map(|()| reader.at)
    }

    #[test]
    fn containers_close_where_their_bracket_does() {
        let document = br#"{"a\"{":["}",{"b":"\\"}]} tail"#;
        assert_eq!(skipped_to(document, 0), Some(25));
        assert_eq!(skipped_to(document, 8), Some(24));
        assert_eq!(skipped_to(document, 13), Some(23));
        assert_eq!(skipped_to(&document[..24], 0), None);
    }

    #[test]
    fn a_skipped_value_is_checked_for_its_grammar() {
        let fits: [&[u8]; 5] = [
            br#"{ "a" : [ { } , [ ] , 1 ] , "b" : { "c" : [ [ ] ] } }"#,
            b"[[],{},[[]]]",
            br#"{"a":{"b":{"c":1}},"d":[{"e":[]}]}"#,
            br#"["{", {"]": "}"}, "["]"#,
            br#"{"k\q": "\x invalid escapes are not checked"}"#,
        ];
        for document in fits {
            let text = String::from_utf8_lossy(document);
            assert_eq!(skipped_to(document, 0), Some(document.len()), "{text}");
        }
        let broken: [&[u8]; 11] = [
            // A closing bracket of the other kind.
            b"[1, {]}",
            br#"{"a": [1, 2}"#,
            // An object or array where an object's member (a key) must be.
            br#"{"a":{"b":{"c":1}},{"spec":{}}}"#,
            br#"{"a":1,[2]}"#,
            b"{{}}",
            // An array's element without the comma before it.
            b"[{}{}]",
            b"[[] []]",
            // A key without its colon, or with no value.
            br#"{"a" 1}"#,
            br#"{"a":}"#,
            // Trailing commas.
            b"[1,]",
            br#"{"a":1,}"#,
        ];
        for document in broken {
            let text = String::from_utf8_lossy(document);
            assert_eq!(skipped_to(document, 0), None, "{text}");
        }
    }

    #[test]
    fn containers_nest_up_to_128_deep() {
        let nested = |depth: usize| [b"[".repeat(depth), b"]".repeat(depth)].concat();
        assert_eq!(skipped_to(&nested(128), 0), Some(256));
        let mut reader = Reader::new(b"");
        let deeper = nested(129);
        reader.bytes = &deeper;
        assert_eq!(
            reader.skip(),
            Err(Error::at(128, Expected::ShallowerNesting))
        );
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
                    JsonType::String => r.string()?.into_owned(),
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
            (b"<html>", Error::at(0, Expected::OpenBrace)),
            (br#"{"a" 1}"#, Error::at(5, Expected::Colon)),
            (br#"{"a": "open"#, Error::at(6, Expected::StringEnd)),
            (
                br#"{"a": [1, {"b": 2}"#,
                Error::at(18, Expected::CommaOrBracket),
            ),
            (br#"{"a": 1 "b": 2}"#, Error::at(8, Expected::CommaOrBrace)),
            (br#"{"a": nope}"#, Error::at(6, Expected::Literal)),
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
        assert_eq!(trailing.end(), Err(Error::at(3, Expected::End)));
    }
}
