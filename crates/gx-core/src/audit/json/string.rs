//! Writing strings: as JavaScript's `JSON.stringify` writes them, as Python's
//! `json.dumps` (`ensure_ascii=True`) writes them, and as the UTF-8 that the entry hash
//! covers.
//!
//! A string comes as a validated JSON body (still escaped, decoded on the fly) or as a
//! plain `&str`. Runs that need no change are copied to the sink in one `put`; only the
//! other characters are decoded and rewritten.

use crate::audit::error::WriteError;
use crate::audit::sink::{Sink, put_u_escape, put_utf8};
use crate::json::decode;

/// Copies the runs of `body`'s bytes for which `plain` holds, and passes every other
/// unit (a raw character or an escape sequence), decoded, to `unit`.
fn write_units<S: Sink + ?Sized>(
    body: &[u8],
    out: &mut S,
    plain: impl Fn(u8) -> bool,
    mut unit: impl FnMut(u32, &mut S) -> Result<(), WriteError>,
) -> Result<(), WriteError> {
    let mut i = 0;
    while i < body.len() {
        let rest = body.get(i..).unwrap_or_default();
        let stop = rest
            .iter()
            .position(|&c| !plain(c))
            .map_or(body.len(), |p| i + p);
        out.put(body.get(i..stop).unwrap_or_default())?;
        if stop >= body.len() {
            break;
        }
        let (cp, next) = decode(body, stop).unwrap_or((0xfffd, body.len()));
        unit(cp, out)?;
        i = next;
    }
    Ok(())
}

/// Writes a validated string body (without quotes) as `JSON.stringify` writes the
/// string it decodes to, quotes included.
pub(crate) fn write_js_body<S: Sink + ?Sized>(
    body: &[u8],
    escaped: bool,
    out: &mut S,
) -> Result<(), WriteError> {
    out.put(b"\"")?;
    if escaped {
        write_units(body, out, |c| c != b'\\', write_js_unit)?;
    } else {
        // Raw characters of a JSON string body never need escaping in JavaScript.
        out.put(body)?;
    }
    out.put(b"\"")
}

/// Writes a decoded string as `JSON.stringify` does, quotes included.
pub(crate) fn write_js_str<S: Sink + ?Sized>(s: &str, out: &mut S) -> Result<(), WriteError> {
    out.put(b"\"")?;
    let b = s.as_bytes();
    let mut start = 0;
    for (i, &c) in b.iter().enumerate() {
        if c == b'"' || c == b'\\' || c < 0x20 {
            out.put(b.get(start..i).unwrap_or_default())?;
            write_js_unit(u32::from(c), out)?;
            start = i + 1;
        }
    }
    out.put(b.get(start..).unwrap_or_default())?;
    out.put(b"\"")
}

/// The escapes both languages share (`\"`, `\\`, `\b`, `\f`, `\n`, `\r`, `\t`).
fn short_escape(cp: u32) -> Option<&'static [u8]> {
    Some(match cp {
        0x22 => b"\\\"",
        0x5c => b"\\\\",
        0x08 => b"\\b",
        0x0c => b"\\f",
        0x0a => b"\\n",
        0x0d => b"\\r",
        0x09 => b"\\t",
        _ => return None,
    })
}

fn write_js_unit<S: Sink + ?Sized>(cp: u32, out: &mut S) -> Result<(), WriteError> {
    match (short_escape(cp), cp) {
        (Some(e), _) => out.put(e),
        (None, 0..0x20 | 0xD800..=0xDFFF) => put_u_escape(out, cp),
        (None, _) => put_utf8(out, cp),
    }
}

/// Writes a validated string body as Python's `json.dumps` (`ensure_ascii=True`)
/// writes the string it decodes to, quotes included.
pub(crate) fn write_py_body<S: Sink + ?Sized>(body: &[u8], out: &mut S) -> Result<(), WriteError> {
    out.put(b"\"")?;
    let plain = |c: u8| (0x20..0x7f).contains(&c) && c != b'\\' && c != b'"';
    write_units(body, out, plain, |cp, out| match (short_escape(cp), cp) {
        (Some(e), _) => out.put(e),
        (None, 0x20..0x7f) => put_utf8(out, cp),
        (None, 0x10000..) => {
            let v = cp - 0x10000;
            put_u_escape(out, 0xD800 | (v >> 10))?;
            put_u_escape(out, 0xDC00 | (v & 0x3ff))
        }
        (None, _) => put_u_escape(out, cp),
    })?;
    out.put(b"\"")
}

/// Writes the UTF-8 of the string a validated body decodes to, with lone surrogates
/// as U+FFFD (what Node's `hash.update(string)` hashes).
pub(crate) fn write_utf8_body<S: Sink + ?Sized>(
    body: &[u8],
    escaped: bool,
    out: &mut S,
) -> Result<(), WriteError> {
    if !escaped {
        return out.put(body);
    }
    write_units(body, out, |c| c != b'\\', |cp, out| put_utf8(out, cp))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::alloc::string::String;
    use crate::audit::alloc::vec::Vec;

    fn run(f: impl FnOnce(&mut Vec<u8>) -> Result<(), WriteError>) -> String {
        let mut v = Vec::new();
        f(&mut v).unwrap();
        String::from_utf8(v).unwrap()
    }

    #[test]
    fn javascript_escapes_quotes_controls_and_lone_surrogates_only() {
        let body = br#"a\u00e9\/\"\\\n\u0001\u007f\ud83d\ude00\ud800\u2028"#;
        assert_eq!(
            run(|o| write_js_body(body, true, o)),
            "\"a\u{e9}/\\\"\\\\\\n\\u0001\u{7f}\u{1f600}\\ud800\u{2028}\""
        );
        assert_eq!(run(|o| write_js_body(b"a\\b", false, o)), "\"a\\b\"");
        assert_eq!(
            run(|o| write_js_str("q\"\\\t\u{1}é", o)),
            "\"q\\\"\\\\\\t\\u0001é\""
        );
    }

    #[test]
    fn python_escapes_everything_outside_printable_ascii() {
        let body = "é😀\u{7f}~".as_bytes();
        assert_eq!(
            run(|o| write_py_body(body, o)),
            "\"\\u00e9\\ud83d\\ude00\\u007f~\""
        );
        assert_eq!(
            run(|o| write_py_body(br#"\"\\\/\b\u0000\udc00"#, o)),
            "\"\\\"\\\\/\\b\\u0000\\udc00\""
        );
    }

    #[test]
    fn utf8_replaces_lone_surrogates() {
        assert_eq!(
            run(|o| write_utf8_body(br"x\ud800\u00e9\ud83d\ude00", true, o)),
            "x\u{fffd}é😀"
        );
        assert_eq!(run(|o| write_utf8_body(b"a\\", false, o)), "a\\");
    }
}
