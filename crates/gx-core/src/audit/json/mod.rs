//! The audit trail's JSON: metadata objects and entry lines, read on the crate's lexer
//! ([`crate::json`]) as JavaScript's `JSON.parse` reads them, and re-serialised as
//! `JSON.stringify` (or the Python client's `json.dumps`) writes them.
//!
//! Nothing here allocates or copies: strings stay as their escaped bodies inside the
//! caller's text and are decoded on the fly. A lone surrogate such as `"\ud800"` is
//! accepted ([`Dialect::JS`]), as the hosted service accepts it. A syntax error is
//! reported at the start of the faulty escape sequence or byte
//! ([`SyntaxError::start`]). Nesting is bounded by [`MAX_DEPTH`] so recursion depth is
//! bounded too.

mod canon;
mod number;
mod string;

pub(crate) use canon::{Canonicalizer, Member, Style};
pub(crate) use string::{write_js_body, write_js_str, write_utf8_body};

use super::error::{EntryError, MetadataError, WriteError};
use crate::json::{
    Dialect, FromSyntax, SyntaxError, Token, Units, body_eq, walk_array, walk_object,
};

/// Deepest nesting of objects/arrays accepted inside metadata (the metadata object
/// itself is depth 1).
pub(crate) const MAX_DEPTH: usize = 32;

impl FromSyntax for MetadataError {
    fn from_syntax(e: SyntaxError) -> Self {
        Self::Syntax { offset: e.start }
    }
}

impl FromSyntax for WriteError {
    fn from_syntax(e: SyntaxError) -> Self {
        Self::Metadata(MetadataError::from_syntax(e))
    }
}

impl FromSyntax for EntryError {
    fn from_syntax(e: SyntaxError) -> Self {
        Self::Syntax { offset: e.start }
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
    let i = crate::json::skip_ws(text, 0);
    if text.get(i) != Some(&b'{') {
        return match crate::json::skip_value(text, i, Dialect::JS) {
            Ok(_) => Err(MetadataError::NotAnObject),
            Err(e) => Err(MetadataError::from_syntax(e)),
        };
    }
    let v = object(text, i, 1)?;
    let end = crate::json::skip_ws(text, v.end);
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

impl Value {
    const fn scalar(end: usize) -> Self {
        Self {
            end,
            has_prototype: false,
            need: 0,
        }
    }
}

fn value(b: &[u8], i: usize, depth: usize) -> Result<Value, MetadataError> {
    match crate::json::token(b, i, Dialect::JS).map_err(MetadataError::from_syntax)? {
        Token::Object => object(b, i, depth + 1),
        Token::Array => array(b, i, depth + 1),
        Token::Str(s) => Ok(Value::scalar(s.end())),
        // Without `float-metadata` a number must be an integer with |n| <= 2^53, the
        // numbers this build can hash exactly as JavaScript prints them.
        Token::Num(span) => {
            if cfg!(not(feature = "float-metadata")) && !number::is_exact_integer(span.of(b)) {
                return Err(MetadataError::UnsupportedNumber { offset: i });
            }
            Ok(Value::scalar(span.end))
        }
        Token::Lit(_, span) => Ok(Value::scalar(span.end)),
    }
}

fn array(b: &[u8], i: usize, depth: usize) -> Result<Value, MetadataError> {
    if depth > MAX_DEPTH {
        return Err(MetadataError::TooDeep);
    }
    let mut need = 0;
    let end = walk_array(b, i, |at| {
        let v = value(b, at, depth)?;
        need = need.max(v.need);
        Ok(v.end)
    })?;
    Ok(Value {
        end,
        has_prototype: false,
        need,
    })
}

fn object(b: &[u8], i: usize, depth: usize) -> Result<Value, MetadataError> {
    if depth > MAX_DEPTH {
        return Err(MetadataError::TooDeep);
    }
    let mut has_prototype = false;
    let mut members = 0usize;
    let mut child_need = 0usize;
    let end = walk_object(b, i, Dialect::JS, |key, at| {
        members += 1;
        let v = value(b, at, depth)?;
        child_need = child_need.max(v.need);
        let (body, esc) = (key.body.of(b), key.escaped);
        // secure-json-parse, which the service runs on request bodies, refuses these.
        if body_eq(body, esc, "__proto__") || (v.has_prototype && body_eq(body, esc, "constructor"))
        {
            return Err(MetadataError::ForbiddenKey);
        }
        has_prototype |= body_eq(body, esc, "prototype");
        Ok(v.end)
    })?;
    Ok(Value {
        end,
        has_prototype,
        need: members + child_need,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

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
