//! A strict, bounded JSON reader for JOSE headers, claim sets and JWKS documents.
//!
//! It reads one top-level object into a fixed table of members (at most [`MAX_MEMBERS`]),
//! refuses duplicated member names at that level, and validates everything nested in it to
//! a depth of at most [`MAX_DEPTH`] without recursion past that bound. It never allocates
//! and never copies: values come back as byte spans of the input. Strings keep their raw
//! (escaped) form until the caller asks for them; [`unescape_in_place`] then rewrites a
//! string's span in place, which is always possible because an escape sequence is never
//! shorter than what it stands for.
//!
//! Accepts exactly RFC 8259 JSON (UTF-8, no comments, no trailing commas, no lone
//! surrogates in escapes), plus the restriction that the input is an object.

use heapless::Vec;

/// The deepest nesting accepted: the top-level object is depth 1.
pub(crate) const MAX_DEPTH: usize = 16;
/// The most members accepted in one top-level object.
pub(crate) const MAX_MEMBERS: usize = 64;

/// Why a JSON text was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum JsonError {
    /// Not valid UTF-8, or not JSON at this byte offset.
    Syntax(usize),
    /// The text is JSON but not an object.
    NotAnObject,
    /// Nested deeper than [`MAX_DEPTH`].
    TooDeep,
    /// More than [`MAX_MEMBERS`] members in the top-level object.
    TooManyMembers,
    /// A member name appears twice in the top-level object (the span of the second one).
    Duplicate(Span),
}

/// A range of the input: for strings, the bytes between the quotes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Span {
    pub(crate) start: usize,
    pub(crate) end: usize,
}

/// A value, as a span of the input.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Value {
    /// A string; `escaped` says whether it holds a backslash escape.
    Str { span: Span, escaped: bool },
    /// A number, in its JSON text form.
    Num(Span),
    /// `true` or `false`.
    Bool(bool),
    /// `null`.
    Null,
    /// An array, brackets included.
    Array(Span),
    /// An object, braces included.
    Object(Span),
}

/// A member of the top-level object.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Member {
    pub(crate) key: Span,
    pub(crate) key_escaped: bool,
    pub(crate) value: Value,
}

/// The members of a top-level object, in input order.
pub(crate) type Members = Vec<Member, MAX_MEMBERS>;

/// Parses `b` as a single JSON object (surrounding whitespace allowed).
pub(crate) fn parse_object(b: &[u8]) -> Result<Members, JsonError> {
    if core::str::from_utf8(b).is_err() {
        return Err(JsonError::Syntax(0));
    }
    let mut p = Parser { b, i: 0 };
    p.ws();
    if p.peek() != Some(b'{') {
        return match p.value(1) {
            Ok(_) => Err(JsonError::NotAnObject),
            Err(e) => Err(e),
        };
    }
    p.i += 1;
    let mut members = Members::new();
    p.ws();
    if p.peek() == Some(b'}') {
        p.i += 1;
    } else {
        loop {
            p.ws();
            let (key, key_escaped) = p.string()?;
            p.ws();
            p.expect(b':')?;
            p.ws();
            let value = p.value(2)?;
            for m in members.iter() {
                if same_string(b, m.key, m.key_escaped, key, key_escaped) {
                    return Err(JsonError::Duplicate(key));
                }
            }
            members
                .push(Member {
                    key,
                    key_escaped,
                    value,
                })
                .map_err(|_| JsonError::TooManyMembers)?;
            p.ws();
            match p.bump() {
                Some(b',') => continue,
                Some(b'}') => break,
                _ => return Err(JsonError::Syntax(p.i.saturating_sub(1))),
            }
        }
    }
    p.ws();
    if p.i != b.len() {
        return Err(JsonError::Syntax(p.i));
    }
    Ok(members)
}

/// Reads the next element of an array whose text (brackets included) was validated by
/// [`parse_object`]. `pos` starts at the array's opening bracket and is advanced past each
/// element; returns `None` after the last one.
pub(crate) fn next_element(b: &[u8], pos: &mut usize) -> Result<Option<Value>, JsonError> {
    let mut p = Parser { b, i: *pos };
    match p.bump() {
        Some(b'[' | b',') => {}
        _ => return Ok(None),
    }
    p.ws();
    if p.peek() == Some(b']') {
        *pos = p.i;
        return Ok(None);
    }
    // Nested values were validated already; the depth bound still applies.
    let v = p.value(2)?;
    p.ws();
    *pos = p.i;
    Ok(Some(v))
}

/// Whether the string at `span` (raw, possibly escaped) equals `name`.
pub(crate) fn str_eq(b: &[u8], span: Span, escaped: bool, name: &str) -> bool {
    let raw = b.get(span.start..span.end).unwrap_or_default();
    if !escaped {
        return raw == name.as_bytes();
    }
    Unescaped::new(b, span).eq(name.bytes())
}

/// Whether two raw strings denote the same text.
fn same_string(b: &[u8], x: Span, x_esc: bool, y: Span, y_esc: bool) -> bool {
    if !x_esc && !y_esc {
        return b.get(x.start..x.end) == b.get(y.start..y.end);
    }
    Unescaped::new(b, x).eq(Unescaped::new(b, y))
}

/// Rewrites the validated string at `span` without its escapes, in place, and returns
/// the span of the result (same start, same or shorter length).
pub(crate) fn unescape_in_place(b: &mut [u8], span: Span) -> Span {
    let mut r = span.start;
    let mut w = span.start;
    while r < span.end {
        let (bytes, n, next) = decode_at(b, r);
        for k in 0..n {
            if let (Some(dst), Some(src)) = (b.get_mut(w + k), bytes.get(k)) {
                *dst = *src;
            }
        }
        w += n;
        r = next;
    }
    Span {
        start: span.start,
        end: w,
    }
}

/// Iterates the UTF-8 bytes a validated raw string stands for.
pub(crate) struct Unescaped<'a> {
    b: &'a [u8],
    i: usize,
    end: usize,
    pending: [u8; 4],
    at: usize,
    len: usize,
}

impl<'a> Unescaped<'a> {
    pub(crate) fn new(b: &'a [u8], span: Span) -> Self {
        Self {
            b,
            i: span.start,
            end: span.end,
            pending: [0; 4],
            at: 0,
            len: 0,
        }
    }
}

impl Iterator for Unescaped<'_> {
    type Item = u8;
    fn next(&mut self) -> Option<u8> {
        if self.at == self.len {
            if self.i >= self.end {
                return None;
            }
            let (bytes, n, next) = decode_at(self.b, self.i);
            self.pending = bytes;
            self.len = n;
            self.at = 0;
            self.i = next;
        }
        let c = self.pending.get(self.at).copied();
        self.at += 1;
        c
    }
}

/// Decodes one unit of a validated string at `i`: a raw byte or an escape sequence.
/// Returns the UTF-8 bytes it stands for, how many, and the index after it.
fn decode_at(b: &[u8], i: usize) -> ([u8; 4], usize, usize) {
    let at = |k: usize| b.get(k).copied().unwrap_or(0);
    let c = at(i);
    if c != b'\\' {
        return ([c, 0, 0, 0], 1, i + 1);
    }
    let simple = |x: u8| ([x, 0, 0, 0], 1, i + 2);
    match at(i + 1) {
        b'b' => simple(0x08),
        b'f' => simple(0x0c),
        b'n' => simple(b'\n'),
        b'r' => simple(b'\r'),
        b't' => simple(b'\t'),
        b'u' => {
            let hi = hex4(b, i + 2).unwrap_or(0xfffd);
            let (cp, next) = if (0xd800..0xdc00).contains(&hi) {
                let lo = hex4(b, i + 8).unwrap_or(0xdc00);
                (
                    0x10000 + ((hi - 0xd800) << 10) + (lo.wrapping_sub(0xdc00) & 0x3ff),
                    i + 12,
                )
            } else {
                (hi, i + 6)
            };
            let ch = char::from_u32(cp).unwrap_or(char::REPLACEMENT_CHARACTER);
            let mut out = [0u8; 4];
            let n = ch.encode_utf8(&mut out).len();
            (out, n, next)
        }
        // `"`, `\` and `/` stand for themselves.
        other => simple(other),
    }
}

fn hex4(b: &[u8], i: usize) -> Option<u32> {
    let mut v = 0u32;
    for k in i..i + 4 {
        let d = char::from(*b.get(k)?).to_digit(16)?;
        v = v * 16 + d;
    }
    Some(v)
}

struct Parser<'a> {
    b: &'a [u8],
    i: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }

    fn bump(&mut self) -> Option<u8> {
        let c = self.peek();
        self.i += 1;
        c
    }

    fn err(&self) -> JsonError {
        JsonError::Syntax(self.i)
    }

    fn expect(&mut self, c: u8) -> Result<(), JsonError> {
        if self.peek() == Some(c) {
            self.i += 1;
            Ok(())
        } else {
            Err(self.err())
        }
    }

    fn ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.i += 1;
        }
    }

    /// A value at nesting `depth` (the top-level object's members are at depth 2).
    fn value(&mut self, depth: usize) -> Result<Value, JsonError> {
        let start = self.i;
        match self.peek() {
            Some(b'"') => {
                let (span, escaped) = self.string()?;
                Ok(Value::Str { span, escaped })
            }
            Some(b'{') => {
                self.container(depth, b'}', true)?;
                Ok(Value::Object(Span { start, end: self.i }))
            }
            Some(b'[') => {
                self.container(depth, b']', false)?;
                Ok(Value::Array(Span { start, end: self.i }))
            }
            Some(b't') => self.literal(b"true").map(|()| Value::Bool(true)),
            Some(b'f') => self.literal(b"false").map(|()| Value::Bool(false)),
            Some(b'n') => self.literal(b"null").map(|()| Value::Null),
            Some(b'-' | b'0'..=b'9') => self.number().map(Value::Num),
            _ => Err(self.err()),
        }
    }

    fn container(&mut self, depth: usize, close: u8, object: bool) -> Result<(), JsonError> {
        if depth > MAX_DEPTH {
            return Err(JsonError::TooDeep);
        }
        self.i += 1;
        self.ws();
        if self.peek() == Some(close) {
            self.i += 1;
            return Ok(());
        }
        loop {
            self.ws();
            if object {
                self.string()?;
                self.ws();
                self.expect(b':')?;
                self.ws();
            }
            self.value(depth + 1)?;
            self.ws();
            match self.bump() {
                Some(b',') => continue,
                Some(c) if c == close => return Ok(()),
                _ => return Err(JsonError::Syntax(self.i.saturating_sub(1))),
            }
        }
    }

    fn literal(&mut self, word: &[u8]) -> Result<(), JsonError> {
        if self.b.get(self.i..self.i + word.len()) == Some(word) {
            self.i += word.len();
            Ok(())
        } else {
            Err(self.err())
        }
    }

    fn digits(&mut self) -> usize {
        let s = self.i;
        while matches!(self.peek(), Some(b'0'..=b'9')) {
            self.i += 1;
        }
        self.i - s
    }

    fn number(&mut self) -> Result<Span, JsonError> {
        let start = self.i;
        if self.peek() == Some(b'-') {
            self.i += 1;
        }
        match self.peek() {
            Some(b'0') => self.i += 1,
            Some(b'1'..=b'9') => {
                self.digits();
            }
            _ => return Err(self.err()),
        }
        if self.peek() == Some(b'.') {
            self.i += 1;
            if self.digits() == 0 {
                return Err(self.err());
            }
        }
        if matches!(self.peek(), Some(b'e' | b'E')) {
            self.i += 1;
            if matches!(self.peek(), Some(b'+' | b'-')) {
                self.i += 1;
            }
            if self.digits() == 0 {
                return Err(self.err());
            }
        }
        Ok(Span { start, end: self.i })
    }

    /// A string starting at its opening quote; returns the span between the quotes.
    fn string(&mut self) -> Result<(Span, bool), JsonError> {
        self.expect(b'"')?;
        let start = self.i;
        let mut escaped = false;
        loop {
            match self.bump() {
                Some(b'"') => {
                    return Ok((
                        Span {
                            start,
                            end: self.i - 1,
                        },
                        escaped,
                    ));
                }
                Some(b'\\') => {
                    escaped = true;
                    match self.bump() {
                        Some(b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't') => {}
                        Some(b'u') => self.unicode_escape()?,
                        _ => return Err(JsonError::Syntax(self.i.saturating_sub(1))),
                    }
                }
                Some(0x20..) => {}
                _ => return Err(JsonError::Syntax(self.i.saturating_sub(1))),
            }
        }
    }

    /// The `XXXX` of a `\uXXXX` escape; a high surrogate must be followed by an escaped
    /// low one, and a lone low surrogate is refused (it cannot be held in a `str`).
    fn unicode_escape(&mut self) -> Result<(), JsonError> {
        let cp = hex4(self.b, self.i).ok_or(self.err())?;
        self.i += 4;
        if (0xdc00..0xe000).contains(&cp) {
            return Err(self.err());
        }
        if (0xd800..0xdc00).contains(&cp) {
            if self.b.get(self.i..self.i + 2) != Some(b"\\u") {
                return Err(self.err());
            }
            let lo = hex4(self.b, self.i + 2).ok_or(self.err())?;
            if !(0xdc00..0xe000).contains(&lo) {
                return Err(self.err());
            }
            self.i += 6;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    extern crate alloc;

    use super::*;

    fn text(b: &[u8], v: Value) -> &[u8] {
        match v {
            Value::Str { span, .. }
            | Value::Num(span)
            | Value::Array(span)
            | Value::Object(span) => &b[span.start..span.end],
            _ => b"",
        }
    }

    #[test]
    fn reads_members_and_spans() {
        let b = br#" {"a":"x\"y","b":[1,{"c":null}],"n":-1.5e3,"t":true} "#;
        let m = parse_object(b).unwrap();
        assert_eq!(m.len(), 4);
        assert!(str_eq(b, m[0].key, m[0].key_escaped, "a"));
        assert_eq!(text(b, m[0].value), br#"x\"y"#);
        assert_eq!(text(b, m[1].value), br#"[1,{"c":null}]"#);
        assert_eq!(text(b, m[2].value), b"-1.5e3");
        assert_eq!(m[3].value, Value::Bool(true));
    }

    #[test]
    fn refuses_duplicates_even_when_escaped() {
        assert!(matches!(
            parse_object(br#"{"alg":1,"alg":2}"#),
            Err(JsonError::Duplicate(_))
        ));
        assert!(matches!(
            parse_object(br#"{"alg":1,"\u0061lg":2}"#),
            Err(JsonError::Duplicate(_))
        ));
        // Nested objects are not the top level: their names may repeat the top level's.
        assert!(parse_object(br#"{"a":{"a":1}}"#).is_ok());
    }

    #[test]
    fn bounds_depth() {
        let mut deep = alloc::vec::Vec::new();
        deep.extend_from_slice(b"{\"a\":");
        deep.extend(core::iter::repeat_n(b'[', MAX_DEPTH - 1));
        deep.extend(core::iter::repeat_n(b']', MAX_DEPTH - 1));
        deep.push(b'}');
        assert!(parse_object(&deep).is_ok());
        let mut deeper = alloc::vec::Vec::new();
        deeper.extend_from_slice(b"{\"a\":");
        deeper.extend(core::iter::repeat_n(b'[', 100_000));
        assert_eq!(parse_object(&deeper).unwrap_err(), JsonError::TooDeep);
    }

    #[test]
    fn refuses_what_is_not_json() {
        for bad in [
            &b""[..],
            b"[]",
            b"{",
            b"{}x",
            b"{\"a\":1,}",
            b"{\"a\":01}",
            b"{\"a\":1.}",
            b"{\"a\":tru}",
            b"{'a':1}",
            b"{\"a\":\"\x01\"}",
            b"{\"a\":\"\\x\"}",
            b"{\"a\":\"\\udc00\"}",
            b"{\"a\":\"\\ud800x\"}",
            b"{\"a\":\"\xff\"}",
        ] {
            assert!(
                parse_object(bad).is_err(),
                "{:?}",
                core::str::from_utf8(bad)
            );
        }
    }

    #[test]
    fn unescapes_in_place() {
        let mut b = *br#"{"k":"a\u00e9\ud83d\ude00\n\/b"}"#;
        let m = parse_object(&b).unwrap();
        let Value::Str {
            span,
            escaped: true,
        } = m[0].value
        else {
            panic!()
        };
        let out = unescape_in_place(&mut b, span);
        assert_eq!(&b[out.start..out.end], "a\u{e9}\u{1f600}\n/b".as_bytes());
    }

    #[test]
    fn iterates_array_elements() {
        let b = br#"{"s":[ "x" , 2 ,[3]]}"#;
        let m = parse_object(b).unwrap();
        let Value::Array(span) = m[0].value else {
            panic!()
        };
        let mut pos = span.start;
        let mut seen = alloc::vec::Vec::new();
        while let Some(v) = next_element(b, &mut pos).unwrap() {
            seen.push(text(b, v).to_vec());
        }
        assert_eq!(seen, [b"x".to_vec(), b"2".to_vec(), b"[3]".to_vec()]);
    }
}
