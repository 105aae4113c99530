//! Escape decoding: the code points a scanned string body stands for, one at a time.
//!
//! Bodies are decoded where they lie, never copied. The body must have been scanned by
//! [`super::string`] (so every escape is whole) and be UTF-8 (a Rust `str`, or a text
//! the caller checked). An escaped surrogate pair decodes to the code point it encodes;
//! a lone escaped surrogate, which only [`super::Dialect::JS`] lets through, decodes to
//! its own value (0xD800..=0xDFFF), as the UTF-16 code unit JavaScript holds.

use core::cmp::Ordering;

use super::hex4;

/// Decodes the unit at offset `i` of a scanned body: a raw UTF-8 character or an
/// escape sequence. Returns its code point and the offset after it, or `None` at the
/// end of the body (or on a truncated escape, which a scanned body does not hold).
#[inline]
pub(crate) fn decode(b: &[u8], i: usize) -> Option<(u32, usize)> {
    let c = *b.get(i)?;
    if c == b'\\' {
        let unit = match *b.get(i + 1)? {
            b'b' => 0x08,
            b'f' => 0x0c,
            b'n' => 0x0a,
            b'r' => 0x0d,
            b't' => 0x09,
            b'u' => {
                let u = hex4(b, i + 2)?;
                if (0xD800..0xDC00).contains(&u)
                    && b.get(i + 6..i + 8) == Some(b"\\u")
                    && let Some(lo @ 0xDC00..=0xDFFF) = hex4(b, i + 8)
                {
                    return Some((0x10000 + ((u - 0xD800) << 10) + (lo - 0xDC00), i + 12));
                }
                return Some((u, i + 6));
            }
            // `"`, `\` and `/` stand for themselves.
            other => u32::from(other),
        };
        return Some((unit, i + 2));
    }
    // The body is UTF-8: decode one scalar value.
    let cont = |k: usize| u32::from(b.get(i + k).copied().unwrap_or(0x80) & 0x3f);
    Some(if c < 0x80 {
        (u32::from(c), i + 1)
    } else if c < 0xE0 {
        ((u32::from(c) & 0x1f) << 6 | cont(1), i + 2)
    } else if c < 0xF0 {
        ((u32::from(c) & 0x0f) << 12 | cont(1) << 6 | cont(2), i + 3)
    } else {
        (
            (u32::from(c) & 0x07) << 18 | cont(1) << 12 | cont(2) << 6 | cont(3),
            i + 4,
        )
    })
}

/// The decoded content of a scanned string body, one code point at a time (see
/// [`decode`]).
#[derive(Clone)]
pub(crate) struct Units<'a> {
    b: &'a [u8],
    i: usize,
}

impl<'a> Units<'a> {
    /// The code points of `body` (the bytes between the quotes).
    pub(crate) fn new(body: &'a [u8]) -> Self {
        Self { b: body, i: 0 }
    }
}

impl Iterator for Units<'_> {
    type Item = u32;

    #[inline]
    fn next(&mut self) -> Option<u32> {
        let (unit, next) = decode(self.b, self.i)?;
        self.i = next;
        Some(unit)
    }
}

/// Compares two string bodies by their decoded code points.
#[inline]
pub(crate) fn cmp_bodies(a: &[u8], a_esc: bool, b: &[u8], b_esc: bool) -> Ordering {
    if !a_esc && !b_esc {
        // UTF-8 byte order is code point order.
        a.cmp(b)
    } else {
        Units::new(a).cmp(Units::new(b))
    }
}

/// Whether two string bodies decode to the same text (cheaper than [`cmp_bodies`] when
/// neither is escaped: lengths first).
#[inline]
pub(crate) fn eq_bodies(a: &[u8], a_esc: bool, b: &[u8], b_esc: bool) -> bool {
    if !a_esc && !b_esc {
        a == b
    } else {
        Units::new(a).eq(Units::new(b))
    }
}

/// Whether a string body decodes to exactly `s`.
#[inline]
pub(crate) fn body_eq(body: &[u8], escaped: bool, s: &str) -> bool {
    if escaped {
        Units::new(body).eq(s.chars().map(u32::from))
    } else {
        body == s.as_bytes()
    }
}

#[cfg(test)]
mod tests {
    extern crate alloc;

    use alloc::vec::Vec;

    use super::*;

    #[test]
    fn decodes_escapes_pairs_and_lone_surrogates() {
        let got: Vec<u32> = Units::new(br#"a\n\u00e9\ud83d\ude00\ud800x\udc00\/\"\\"#).collect();
        assert_eq!(
            got,
            [
                0x61, 0x0a, 0xe9, 0x1f600, 0xd800, 0x78, 0xdc00, 0x2f, 0x22, 0x5c
            ]
        );
        let raw: Vec<u32> = Units::new("é€😀\u{7f}".as_bytes()).collect();
        assert_eq!(raw, [0xe9, 0x20ac, 0x1f600, 0x7f]);
        // A high surrogate followed by an escape that is not a low one stays alone.
        let got: Vec<u32> = Units::new(br"\ud800\u0041\ud800\n").collect();
        assert_eq!(got, [0xd800, 0x41, 0xd800, 0x0a]);
        assert_eq!(decode(b"", 0), None);
    }

    #[test]
    fn compares_by_decoded_value() {
        assert!(body_eq(br"\u0061lg", true, "alg"));
        assert!(body_eq(b"alg", false, "alg"));
        assert!(!body_eq(br"\u0061lg", false, "alg"));
        assert!(body_eq(br"\u00e9t\u00e9", true, "été"));
        assert!(!body_eq(br"\ud800", true, "\u{fffd}"));
        assert_eq!(cmp_bodies(br"\u0062", true, b"a", false), Ordering::Greater);
        assert_eq!(cmp_bodies(b"b", false, br"\u0062", true), Ordering::Equal);
        // Code point order, not UTF-16 order: U+FFFF sorts below U+10000.
        assert_eq!(
            cmp_bodies(br"\uffff", true, br"\ud800\udc00", true),
            Ordering::Less
        );
        assert_eq!(cmp_bodies(b"ab", false, b"b", false), Ordering::Less);
        assert!(eq_bodies(br"\u0061", true, b"a", false));
        assert!(eq_bodies(b"ab", false, b"ab", false));
        assert!(!eq_bodies(b"ab", false, b"abc", false));
        assert!(!eq_bodies(br"\ud800", true, br"\udc00", true));
    }
}
