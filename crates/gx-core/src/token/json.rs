//! The grant-token reader's JSON: JOSE headers, claim sets and JWKS documents, on the
//! crate's lexer ([`crate::json`]) in its strict dialect.
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
//! surrogates in escapes), plus the restriction that the input is an object. A syntax
//! error is reported at the byte where reading stopped ([`SyntaxError::at`]).

use heapless::Vec;

pub(crate) use crate::json::Span;
use crate::json::{
    Dialect, FromSyntax, Literal, SyntaxError, Token, Units, decode, eq_bodies, skip_ws,
    walk_array, walk_object,
};

/// The deepest nesting accepted: the top-level object is depth 1.
pub(crate) const MAX_DEPTH: usize = 16;
/// The most members accepted in one top-level object.
pub(crate) const MAX_MEMBERS: usize = 64;

/// Token JSON is RFC 8259 to the letter.
const D: Dialect = Dialect::STRICT;

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

impl FromSyntax for JsonError {
    fn from_syntax(e: SyntaxError) -> Self {
        Self::Syntax(e.at)
    }
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
    let i = skip_ws(b, 0);
    if b.get(i) != Some(&b'{') {
        return match value(b, i, 1) {
            Ok(_) => Err(JsonError::NotAnObject),
            Err(e) => Err(e),
        };
    }
    let mut members = Members::new();
    let end = walk_object(b, i, D, |key, at| {
        let (value, end) = value(b, at, 2)?;
        let name = key.body.of(b);
        let same = |m: &Member| eq_bodies(m.key.of(b), m.key_escaped, name, key.escaped);
        if members.iter().any(same) {
            return Err(JsonError::Duplicate(key.body));
        }
        members
            .push(Member {
                key: key.body,
                key_escaped: key.escaped,
                value,
            })
            .map_err(|_| JsonError::TooManyMembers)?;
        Ok(end)
    })?;
    let end = skip_ws(b, end);
    if end != b.len() {
        return Err(JsonError::Syntax(end));
    }
    Ok(members)
}

/// Reads and validates the value at `i`, at nesting `depth` (the top-level object's
/// members are at depth 2); returns it and the offset after it.
fn value(b: &[u8], i: usize, depth: usize) -> Result<(Value, usize), JsonError> {
    let token = crate::json::token(b, i, D).map_err(JsonError::from_syntax)?;
    if matches!(token, Token::Object | Token::Array) && depth > MAX_DEPTH {
        return Err(JsonError::TooDeep);
    }
    let nested = |at| value(b, at, depth + 1).map(|(_, end)| end);
    Ok(match token {
        Token::Object => {
            let end = walk_object(b, i, D, |_, at| nested(at))?;
            (Value::Object(Span { start: i, end }), end)
        }
        Token::Array => {
            let end = walk_array(b, i, nested)?;
            (Value::Array(Span { start: i, end }), end)
        }
        Token::Str(s) => (
            Value::Str {
                span: s.body,
                escaped: s.escaped,
            },
            s.end(),
        ),
        Token::Num(span) => (Value::Num(span), span.end),
        Token::Lit(lit, span) => (
            match lit {
                Literal::True => Value::Bool(true),
                Literal::False => Value::Bool(false),
                Literal::Null => Value::Null,
            },
            span.end,
        ),
    })
}

/// Reads the next element of an array whose text (brackets included) was validated by
/// [`parse_object`]. `pos` starts at the array's opening bracket and is advanced past each
/// element; returns `None` after the last one.
pub(crate) fn next_element(b: &[u8], pos: &mut usize) -> Result<Option<Value>, JsonError> {
    match b.get(*pos) {
        Some(b'[' | b',') => {}
        _ => return Ok(None),
    }
    let i = skip_ws(b, *pos + 1);
    if b.get(i) == Some(&b']') {
        *pos = i;
        return Ok(None);
    }
    // Nested values were validated already; the depth bound still applies.
    let (v, end) = value(b, i, 2)?;
    *pos = skip_ws(b, end);
    Ok(Some(v))
}

/// Whether the string at `span` (raw, possibly escaped) equals `name`.
pub(crate) fn str_eq(b: &[u8], span: Span, escaped: bool, name: &str) -> bool {
    crate::json::body_eq(span.of(b), escaped, name)
}

/// The characters the validated string at `span` stands for.
pub(crate) fn chars(b: &[u8], span: Span) -> impl Iterator<Item = char> + '_ {
    Units::new(span.of(b)).map(|u| char::from_u32(u).unwrap_or(char::REPLACEMENT_CHARACTER))
}

/// Rewrites the validated string at `span` without its escapes, in place, and returns
/// the span of the result (same start, same or shorter length).
pub(crate) fn unescape_in_place(b: &mut [u8], span: Span) -> Span {
    let mut r = span.start;
    let mut w = span.start;
    while r < span.end {
        let Some((unit, next)) = decode(b, r) else {
            break;
        };
        let ch = char::from_u32(unit).unwrap_or(char::REPLACEMENT_CHARACTER);
        let mut utf8 = [0u8; 4];
        let bytes = ch.encode_utf8(&mut utf8).as_bytes();
        // The bytes go at or before `r`: what is still to be read is never overwritten.
        if let Some(dst) = b.get_mut(w..w + bytes.len()) {
            dst.copy_from_slice(bytes);
        }
        w += bytes.len();
        r = next;
    }
    Span {
        start: span.start,
        end: w,
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
