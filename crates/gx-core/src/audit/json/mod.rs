//! A strict JSON scanner over borrowed text: validates, skips and decodes in place.
//!
//! Nothing here allocates or copies: strings stay as their escaped bodies inside the
//! caller's text and are decoded on the fly by [`Units`]. The grammar is RFC 8259 as
//! JavaScript's `JSON.parse` reads it (whitespace is space, tab, CR, LF only).
//! Nesting is bounded by [`MAX_DEPTH`] so recursion depth is bounded too.

mod canon;
mod number;

pub(crate) use canon::{
    Canonicalizer, Member, Style, write_js_body, write_js_str, write_utf8_body,
};

use core::cmp::Ordering;

use super::error::MetadataError;

/// Deepest nesting of objects/arrays accepted inside metadata (the metadata object
/// itself is depth 1).
pub(crate) const MAX_DEPTH: usize = 32;

/// A syntax problem at a byte offset.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct SyntaxError(pub(crate) usize);

pub(crate) fn skip_ws(b: &[u8], mut i: usize) -> usize {
    while let Some(b' ' | b'\t' | b'\n' | b'\r') = b.get(i) {
        i += 1;
    }
    i
}

/// Four hex digits at `at`, as a UTF-16 code unit.
pub(crate) fn hex4(b: &[u8], at: usize) -> Option<u32> {
    let mut v = 0u32;
    for k in 0..4 {
        let d = match b.get(at + k)? {
            c @ b'0'..=b'9' => c - b'0',
            c @ b'a'..=b'f' => c - b'a' + 10,
            c @ b'A'..=b'F' => c - b'A' + 10,
            _ => return None,
        };
        v = v << 4 | u32::from(d);
    }
    Some(v)
}

/// Scans a string starting at its opening quote at `i`. Returns the index just past
/// the closing quote and whether the body holds any escape.
pub(crate) fn scan_string(b: &[u8], i: usize) -> Result<(usize, bool), SyntaxError> {
    if b.get(i) != Some(&b'"') {
        return Err(SyntaxError(i));
    }
    let mut j = i + 1;
    let mut esc = false;
    loop {
        match b.get(j) {
            None => return Err(SyntaxError(j)),
            Some(b'"') => return Ok((j + 1, esc)),
            Some(b'\\') => {
                esc = true;
                match b.get(j + 1) {
                    Some(b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't') => j += 2,
                    Some(b'u') if hex4(b, j + 2).is_some() => j += 6,
                    _ => return Err(SyntaxError(j)),
                }
            }
            Some(&c) if c < 0x20 => return Err(SyntaxError(j)),
            Some(_) => j += 1,
        }
    }
}

/// Scans a number starting at `i`; returns the index just past it.
pub(crate) fn scan_number(b: &[u8], i: usize) -> Result<usize, SyntaxError> {
    let mut j = i;
    if b.get(j) == Some(&b'-') {
        j += 1;
    }
    match b.get(j) {
        Some(b'0') => j += 1,
        Some(b'1'..=b'9') => {
            while let Some(b'0'..=b'9') = b.get(j) {
                j += 1;
            }
        }
        _ => return Err(SyntaxError(j)),
    }
    if b.get(j) == Some(&b'.') {
        j += 1;
        let start = j;
        while let Some(b'0'..=b'9') = b.get(j) {
            j += 1;
        }
        if j == start {
            return Err(SyntaxError(j));
        }
    }
    if let Some(b'e' | b'E') = b.get(j) {
        j += 1;
        if let Some(b'+' | b'-') = b.get(j) {
            j += 1;
        }
        let start = j;
        while let Some(b'0'..=b'9') = b.get(j) {
            j += 1;
        }
        if j == start {
            return Err(SyntaxError(j));
        }
    }
    Ok(j)
}

fn scan_literal(b: &[u8], i: usize) -> Result<usize, SyntaxError> {
    for lit in [&b"true"[..], b"false", b"null"] {
        if b.get(i..i + lit.len()) == Some(lit) {
            return Ok(i + lit.len());
        }
    }
    Err(SyntaxError(i))
}

/// Skips one value of text that has already been validated (or fails cleanly if not).
pub(crate) fn skip_value(b: &[u8], i: usize) -> Result<usize, SyntaxError> {
    match b.get(i) {
        Some(b'"') => scan_string(b, i).map(|(e, _)| e),
        Some(b'{' | b'[') => {
            let mut depth = 0usize;
            let mut j = i;
            loop {
                match b.get(j) {
                    None => return Err(SyntaxError(j)),
                    Some(b'"') => j = scan_string(b, j)?.0,
                    Some(b'{' | b'[') => {
                        depth += 1;
                        j += 1;
                    }
                    Some(b'}' | b']') => {
                        depth -= 1;
                        j += 1;
                        if depth == 0 {
                            return Ok(j);
                        }
                    }
                    Some(_) => j += 1,
                }
            }
        }
        Some(b'-' | b'0'..=b'9') => scan_number(b, i),
        _ => scan_literal(b, i),
    }
}

/// The decoded content of a validated string body, one code point at a time; an
/// escaped lone surrogate comes out as its own value (0xD800..=0xDFFF), an escaped
/// surrogate pair as the code point it encodes.
#[derive(Clone)]
pub(crate) struct Units<'a> {
    b: &'a [u8],
    i: usize,
}

impl<'a> Units<'a> {
    pub(crate) fn new(body: &'a [u8]) -> Self {
        Self { b: body, i: 0 }
    }

    /// Moves to byte `i` of the body (which must start an escape or a character).
    pub(crate) fn seek(&mut self, i: usize) {
        self.i = i;
    }

    /// The byte position of the next unit.
    pub(crate) fn pos(&self) -> usize {
        self.i
    }
}

impl Iterator for Units<'_> {
    type Item = u32;

    fn next(&mut self) -> Option<u32> {
        let b = self.b;
        let c = *b.get(self.i)?;
        if c == b'\\' {
            let e = *b.get(self.i + 1)?;
            self.i += 2;
            return Some(match e {
                b'b' => 0x08,
                b'f' => 0x0c,
                b'n' => 0x0a,
                b'r' => 0x0d,
                b't' => 0x09,
                b'u' => {
                    let u = hex4(b, self.i)?;
                    self.i += 4;
                    if (0xD800..0xDC00).contains(&u)
                        && b.get(self.i) == Some(&b'\\')
                        && b.get(self.i + 1) == Some(&b'u')
                        && let Some(lo @ 0xDC00..=0xDFFF) = hex4(b, self.i + 2)
                    {
                        self.i += 6;
                        return Some(0x10000 + ((u - 0xD800) << 10) + (lo - 0xDC00));
                    }
                    u
                }
                other => u32::from(other),
            });
        }
        // The body is valid UTF-8 (it comes from a `str`): decode one scalar value.
        let cont = |k: usize| u32::from(b.get(self.i + k).copied().unwrap_or(0x80) & 0x3f);
        let (cp, len) = if c < 0x80 {
            (u32::from(c), 1)
        } else if c < 0xE0 {
            ((u32::from(c) & 0x1f) << 6 | cont(1), 2)
        } else if c < 0xF0 {
            ((u32::from(c) & 0x0f) << 12 | cont(1) << 6 | cont(2), 3)
        } else {
            (
                (u32::from(c) & 0x07) << 18 | cont(1) << 12 | cont(2) << 6 | cont(3),
                4,
            )
        };
        self.i += len;
        Some(cp)
    }
}

/// Compares two string bodies by their decoded code points.
pub(crate) fn cmp_bodies(a: &[u8], a_esc: bool, b: &[u8], b_esc: bool) -> Ordering {
    if !a_esc && !b_esc {
        // UTF-8 byte order is code point order.
        a.cmp(b)
    } else {
        Units::new(a).cmp(Units::new(b))
    }
}

/// Whether a string body decodes to exactly `lit` (ASCII).
pub(crate) fn body_is(body: &[u8], esc: bool, lit: &str) -> bool {
    if esc {
        Units::new(body).eq(lit.bytes().map(u32::from))
    } else {
        body == lit.as_bytes()
    }
}

/// The array index a key names (`"0"`..`"4294967294"` in canonical decimal), if any.
pub(crate) fn array_index(body: &[u8]) -> Option<u32> {
    let mut v: u64 = 0;
    let mut n = 0usize;
    let mut first = 0u32;
    for u in Units::new(body).take(11) {
        if !(0x30..=0x39).contains(&u) {
            return None;
        }
        if n == 0 {
            first = u;
        }
        v = v * 10 + u64::from(u - 0x30);
        n += 1;
    }
    if n == 0 || n > 10 || (first == 0x30 && n > 1) || v > 4_294_967_294 {
        return None;
    }
    u32::try_from(v).ok()
}

/// What validating a metadata text learnt about it.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Shape {
    /// The member slots canonicalisation needs: the largest sum of the member counts
    /// of the objects open at once along any path.
    pub(crate) slots: usize,
}

/// Validates one JSON object spanning `text` (surrounding whitespace allowed): grammar,
/// nesting depth, and the keys the hosted service refuses.
pub(crate) fn validate_object(text: &[u8]) -> Result<Shape, MetadataError> {
    let i = skip_ws(text, 0);
    if text.get(i) != Some(&b'{') {
        return match skip_value(text, i) {
            Ok(_) => Err(MetadataError::NotAnObject),
            Err(SyntaxError(offset)) => Err(MetadataError::Syntax { offset }),
        };
    }
    let v = object(text, i, 1)?;
    let end = skip_ws(text, v.end);
    if end != text.len() {
        return Err(MetadataError::Syntax { offset: end });
    }
    Ok(Shape { slots: v.need })
}

/// What a validated value spans and needs.
struct Value {
    end: usize,
    /// An object with a `prototype` key (for the `constructor` rule).
    has_prototype: bool,
    /// Member slots needed to canonicalise it.
    need: usize,
}

fn syn(SyntaxError(offset): SyntaxError) -> MetadataError {
    MetadataError::Syntax { offset }
}

fn scalar(end: Result<usize, SyntaxError>) -> Result<Value, MetadataError> {
    end.map(|end| Value {
        end,
        has_prototype: false,
        need: 0,
    })
    .map_err(syn)
}

/// A number at `i`. Without `float-metadata` it must be an integer with |n| <= 2^53,
/// the numbers this build can hash exactly as JavaScript prints them.
fn number_value(b: &[u8], i: usize) -> Result<Value, MetadataError> {
    let v = scalar(scan_number(b, i))?;
    if cfg!(not(feature = "float-metadata"))
        && !number::is_exact_integer(b.get(i..v.end).unwrap_or_default())
    {
        return Err(MetadataError::UnsupportedNumber { offset: i });
    }
    Ok(v)
}

fn value(b: &[u8], i: usize, depth: usize) -> Result<Value, MetadataError> {
    match b.get(i) {
        Some(b'{') => object(b, i, depth + 1),
        Some(b'[') => array(b, i, depth + 1),
        Some(b'"') => scalar(scan_string(b, i).map(|(e, _)| e)),
        Some(b'-' | b'0'..=b'9') => number_value(b, i),
        _ => scalar(scan_literal(b, i)),
    }
}

fn array(b: &[u8], i: usize, depth: usize) -> Result<Value, MetadataError> {
    if depth > MAX_DEPTH {
        return Err(MetadataError::TooDeep);
    }
    let mut j = skip_ws(b, i + 1);
    let mut need = 0;
    if b.get(j) == Some(&b']') {
        return Ok(Value {
            end: j + 1,
            has_prototype: false,
            need,
        });
    }
    loop {
        let v = value(b, j, depth)?;
        need = need.max(v.need);
        j = skip_ws(b, v.end);
        match b.get(j) {
            Some(b',') => j = skip_ws(b, j + 1),
            Some(b']') => {
                return Ok(Value {
                    end: j + 1,
                    has_prototype: false,
                    need,
                });
            }
            _ => return Err(MetadataError::Syntax { offset: j }),
        }
    }
}

fn object(b: &[u8], i: usize, depth: usize) -> Result<Value, MetadataError> {
    if depth > MAX_DEPTH {
        return Err(MetadataError::TooDeep);
    }
    let mut j = skip_ws(b, i + 1);
    if b.get(j) == Some(&b'}') {
        return Ok(Value {
            end: j + 1,
            has_prototype: false,
            need: 0,
        });
    }
    let mut has_prototype = false;
    let mut members = 0usize;
    let mut child_need = 0usize;
    loop {
        let (kend, esc) = scan_string(b, j).map_err(syn)?;
        let key = b.get(j + 1..kend - 1).unwrap_or_default();
        j = skip_ws(b, kend);
        if b.get(j) != Some(&b':') {
            return Err(MetadataError::Syntax { offset: j });
        }
        j = skip_ws(b, j + 1);
        members += 1;
        let v = value(b, j, depth)?;
        child_need = child_need.max(v.need);
        // secure-json-parse, which the service runs on request bodies, refuses these.
        if body_is(key, esc, "__proto__") || (v.has_prototype && body_is(key, esc, "constructor")) {
            return Err(MetadataError::ForbiddenKey);
        }
        has_prototype |= body_is(key, esc, "prototype");
        j = skip_ws(b, v.end);
        match b.get(j) {
            Some(b',') => j = skip_ws(b, j + 1),
            Some(b'}') => {
                return Ok(Value {
                    end: j + 1,
                    has_prototype,
                    need: members + child_need,
                });
            }
            _ => return Err(MetadataError::Syntax { offset: j }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_decode_escapes_pairs_and_lone_surrogates() {
        let got: crate::audit::alloc::vec::Vec<u32> =
            Units::new(br#"a\n\u00e9\ud83d\ude00\ud800x\udc00\/"#).collect();
        assert_eq!(got, [0x61, 0x0a, 0xe9, 0x1f600, 0xd800, 0x78, 0xdc00, 0x2f]);
        let raw: crate::audit::alloc::vec::Vec<u32> = Units::new("é😀".as_bytes()).collect();
        assert_eq!(raw, [0xe9, 0x1f600]);
    }

    #[test]
    fn array_indices_are_canonical_decimal_below_2_pow_32_minus_1() {
        assert_eq!(array_index(b"0"), Some(0));
        assert_eq!(array_index(b"4294967294"), Some(4_294_967_294));
        assert_eq!(array_index(br"\u0031"), Some(1));
        for k in ["01", "4294967295", "-1", "1.0", "", "1e3", "99999999999"] {
            assert_eq!(array_index(k.as_bytes()), None, "{k}");
        }
    }

    #[test]
    fn validation_refuses_bad_grammar_depth_and_proto() {
        assert!(validate_object(br#" {"a":[1,2,{"b":null}],"c":"\u0000"} "#).is_ok());
        assert_eq!(
            validate_object(b"[1]").unwrap_err(),
            MetadataError::NotAnObject
        );
        assert_eq!(
            validate_object(b"null").unwrap_err(),
            MetadataError::NotAnObject
        );
        for bad in [
            &b"{"[..],
            b"{\"a\":}",
            b"{\"a\":01}",
            b"{\"a\":1,}",
            b"{\"a\":\"\x01\"}",
        ] {
            assert!(matches!(
                validate_object(bad),
                Err(MetadataError::Syntax { .. })
            ));
        }
        assert_eq!(
            validate_object(br#"{"x":{"__proto__":1}}"#).unwrap_err(),
            MetadataError::ForbiddenKey
        );
        assert_eq!(
            validate_object(br#"{"\u005f_proto__":1}"#).unwrap_err(),
            MetadataError::ForbiddenKey
        );
        assert_eq!(
            validate_object(br#"{"constructor":{"prototype":{}}}"#).unwrap_err(),
            MetadataError::ForbiddenKey
        );
        assert!(validate_object(br#"{"constructor":{"x":{"prototype":1}}}"#).is_ok());
        let mut deep = crate::audit::alloc::vec::Vec::new();
        deep.extend(core::iter::repeat_n(b'[', MAX_DEPTH));
        deep.extend(core::iter::repeat_n(b']', MAX_DEPTH));
        let mut text = crate::audit::alloc::vec::Vec::from(&b"{\"a\":"[..]);
        text.extend_from_slice(&deep);
        text.push(b'}');
        assert_eq!(validate_object(&text).unwrap_err(), MetadataError::TooDeep);
        let shape = validate_object(br#"{"a":{"b":1,"c":{"d":1}},"e":2}"#).unwrap();
        assert_eq!(shape.slots, 5);
    }
}
