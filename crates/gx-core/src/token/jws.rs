//! Compact JWS: the checked three-segment view of a token, strict base64url, and the
//! protected header (`alg`, `kid`, `crit`).
//!
//! [`GrantToken`] borrows the token text and copies nothing. The header is decoded into
//! the caller's buffer, its strings unescaped there in place, and the resulting
//! [`Header`] borrows that buffer.

use super::error::{Limit, Malformed, Part, VerifyError, json_error};
use super::json::{self, Value};

/// The longest token accepted, in bytes of its compact text (16 KiB).
pub const MAX_TOKEN_LEN: usize = 16 * 1024;

/// A token text checked to be three dot-separated segments within the size limit.
///
/// This is the first of the two parsing steps: a view over untrusted bytes. Nothing in
/// it is trusted until [`Verifier::verify`](crate::Verifier::verify) has checked the
/// signature.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GrantToken<'t> {
    text: &'t str,
    dot1: usize,
    dot2: usize,
}

impl<'t> GrantToken<'t> {
    /// Splits `text` into its segments.
    ///
    /// # Errors
    /// `TOKEN_TOO_LARGE` over [`MAX_TOKEN_LEN`]; `MALFORMED_TOKEN` unless there are exactly
    /// three segments with non-empty header and claims.
    pub fn parse(text: &'t str) -> Result<Self, VerifyError<'static>> {
        if text.len() > MAX_TOKEN_LEN {
            return Err(VerifyError::TooLarge(Limit::TokenBytes(text.len())));
        }
        // `str::find` with a char searches word-at-a-time (core's memchr): one pass.
        let segments = VerifyError::Malformed(Malformed::Segments);
        let dot1 = text.find('.').ok_or(segments)?;
        let after1 = text.get(dot1 + 1..).unwrap_or_default();
        let dot2 = dot1 + 1 + after1.find('.').ok_or(segments)?;
        if text.get(dot2 + 1..).is_some_and(|sig| sig.contains('.')) {
            return Err(segments);
        }
        if dot1 == 0 {
            return Err(VerifyError::Malformed(Malformed::EmptySegment(
                Part::Header,
            )));
        }
        if dot2 == dot1 + 1 {
            return Err(VerifyError::Malformed(Malformed::EmptySegment(
                Part::Claims,
            )));
        }
        Ok(Self { text, dot1, dot2 })
    }

    /// The whole token text.
    pub fn as_str(&self) -> &'t str {
        self.text
    }

    /// The bytes the signature covers: `header.claims` in their base64url form.
    pub fn signing_input(&self) -> &'t [u8] {
        self.text.as_bytes().get(..self.dot2).unwrap_or_default()
    }

    /// The base64url header segment.
    pub fn header_b64(&self) -> &'t [u8] {
        self.text.as_bytes().get(..self.dot1).unwrap_or_default()
    }

    /// The base64url claims segment.
    pub fn claims_b64(&self) -> &'t [u8] {
        self.text
            .as_bytes()
            .get(self.dot1 + 1..self.dot2)
            .unwrap_or_default()
    }

    /// Where the claims segment lies in the token text (start, end).
    pub(crate) fn claims_range(&self) -> (usize, usize) {
        (self.dot1 + 1, self.dot2)
    }

    /// The base64url signature segment (possibly empty).
    pub fn signature_b64(&self) -> &'t [u8] {
        self.text
            .as_bytes()
            .get(self.dot2 + 1..)
            .unwrap_or_default()
    }
}

/// How many bytes `n` base64url characters decode to (at most).
pub(crate) const fn decoded_len(n: usize) -> usize {
    n / 4 * 3 + (n % 4) * 3 / 4
}

/// Decodes a base64url segment strictly (no padding, no characters outside the
/// alphabet, canonical last character) into `out`, returning the decoded length.
///
/// Hand-written rather than `base64ct`: token segments are public data, so a
/// constant-time decoder buys nothing, and this one is several times faster on the
/// memoized path (a cached re-verify must stay under 1 µs).
pub(crate) fn decode_segment(
    src: &[u8],
    out: &mut [u8],
    part: Part,
) -> Result<usize, VerifyError<'static>> {
    let len = decoded_len(src.len());
    if len > out.len() {
        return Err(VerifyError::TooLarge(Limit::Buffer { needed: len }));
    }
    let bad = |src: &[u8]| {
        if src.contains(&b'=') {
            VerifyError::Malformed(Malformed::Padding(part))
        } else {
            VerifyError::Malformed(Malformed::Base64(part))
        }
    };
    if src.len() % 4 == 1 {
        return Err(bad(src));
    }
    let (quads, rem) = src.as_chunks::<4>();
    let (triples, _) = out.as_chunks_mut::<3>();
    // Any character outside the alphabet sets INVALID; checked once, after the loop
    // (the output is discarded on error), so the loop has no branch but its own.
    let mut invalid = 0;
    for ([a, b, c, d], [x, y, z]) in quads.iter().zip(triples) {
        let (a, b, c, d) = (sextet(*a), sextet(*b), sextet(*c), sextet(*d));
        invalid |= a | b | c | d;
        let v = a << 18 | b << 12 | c << 6 | d;
        *x = (v >> 16) as u8;
        *y = (v >> 8) as u8;
        *z = v as u8;
    }
    if invalid & INVALID != 0 {
        return Err(bad(src));
    }
    let tail = out.get_mut(len - len % 3..len).unwrap_or_default();
    match (rem, tail) {
        ([], _) => {}
        ([a, b], [x]) => {
            let (a, b) = (sextet(*a), sextet(*b));
            let v = a << 6 | b;
            // The last character's low 4 bits must be zero (canonical encoding).
            if (a | b) & INVALID != 0 || v & 0xf != 0 {
                return Err(bad(src));
            }
            *x = (v >> 4) as u8;
        }
        ([a, b, c], [x, y]) => {
            let (a, b, c) = (sextet(*a), sextet(*b), sextet(*c));
            let v = a << 12 | b << 6 | c;
            if (a | b | c) & INVALID != 0 || v & 0x3 != 0 {
                return Err(bad(src));
            }
            *x = (v >> 10) as u8;
            *y = (v >> 2) as u8;
        }
        _ => return Err(bad(src)),
    }
    Ok(len)
}

/// A bit no valid sextet sets: flags a character outside the alphabet.
const INVALID: u32 = 1 << 8;

/// The value of each byte as a base64url character, or [`INVALID`].
const SEXTETS: [u16; 256] = {
    let mut t = [INVALID as u16; 256];
    let mut i = 0;
    while i < 256 {
        let c = i as u8;
        t[i] = match c {
            b'A'..=b'Z' => (c - b'A') as u16,
            b'a'..=b'z' => (c - b'a') as u16 + 26,
            b'0'..=b'9' => (c - b'0') as u16 + 52,
            b'-' => 62,
            b'_' => 63,
            _ => INVALID as u16,
        };
        i += 1;
    }
    t
};

/// The value of a base64url character, or [`INVALID`].
#[inline(always)]
fn sextet(c: u8) -> u32 {
    // A u8 index into a 256-entry table cannot be out of bounds.
    SEXTETS
        .get(usize::from(c))
        .map_or(INVALID, |v| u32::from(*v))
}

/// The protected header, after the checks of RFC 7515 and gx's RS256-only policy.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Header<'a> {
    /// The key id, if any.
    pub(crate) kid: Option<&'a str>,
}

/// Parses the decoded header in `buf` (unescaping `alg` and `kid` in place) and applies
/// the algorithm policy: `RS256` only; `none` in any case and `HS*` blocked; `crit`
/// refused.
pub(crate) fn parse_header(buf: &mut [u8]) -> Result<Header<'_>, VerifyError<'_>> {
    let members = match json::parse_object(buf) {
        Ok(m) => m,
        Err(e) => return Err(json_error(buf, e, Part::Header)),
    };
    let mut alg = None;
    let mut kid = None;
    let mut crit = false;
    for m in &members {
        if json::str_eq(buf, m.key, m.key_escaped, "alg") {
            alg = Some(m.value);
        } else if json::str_eq(buf, m.key, m.key_escaped, "kid") {
            kid = Some(m.value);
        } else if json::str_eq(buf, m.key, m.key_escaped, "crit") {
            crit = true;
        }
    }
    let Some(Value::Str { span: alg, escaped }) = alg else {
        return Err(VerifyError::Malformed(Malformed::MissingAlg));
    };
    let alg = if escaped {
        json::unescape_in_place(buf, alg)
    } else {
        alg
    };
    let kid = match kid {
        None => None,
        Some(Value::Str {
            span,
            escaped: true,
        }) => Some(json::unescape_in_place(buf, span)),
        Some(Value::Str {
            span,
            escaped: false,
        }) => Some(span),
        Some(_) => return Err(VerifyError::Malformed(Malformed::KidNotString)),
    };
    let buf: &[u8] = buf;
    let text = |s: json::Span| {
        buf.get(s.start..s.end)
            .and_then(|t| core::str::from_utf8(t).ok())
    };
    let alg = text(alg).ok_or(VerifyError::Malformed(Malformed::MissingAlg))?;
    if alg != "RS256" {
        let blocked = alg.eq_ignore_ascii_case("none")
            || alg.get(..2).is_some_and(|p| p.eq_ignore_ascii_case("HS"));
        return Err(if blocked {
            VerifyError::BlockedAlgorithm { alg }
        } else {
            VerifyError::UnsupportedAlgorithm { alg }
        });
    }
    if crit {
        return Err(VerifyError::Malformed(Malformed::CriticalHeader));
    }
    let kid = match kid {
        Some(k) => Some(text(k).ok_or(VerifyError::Malformed(Malformed::KidNotString))?),
        None => None,
    };
    Ok(Header { kid })
}

#[cfg(test)]
mod tests {
    extern crate alloc;

    use super::*;

    #[test]
    fn splits_three_segments_only() {
        let t = GrantToken::parse("aa.bb.cc").unwrap();
        assert_eq!(t.header_b64(), b"aa");
        assert_eq!(t.claims_b64(), b"bb");
        assert_eq!(t.signature_b64(), b"cc");
        assert_eq!(t.signing_input(), b"aa.bb");
        assert!(GrantToken::parse("aa.bb.").is_ok());
        for bad in [
            "aa.bb",
            "aa.bb.cc.",
            "aa.bb.cc.dd",
            ".bb.cc",
            "aa..cc",
            "",
            "...",
        ] {
            assert_eq!(
                GrantToken::parse(bad).unwrap_err().code(),
                "MALFORMED_TOKEN",
                "{bad}"
            );
        }
    }

    #[test]
    fn base64url_is_strict() {
        let mut out = [0u8; 16];
        assert_eq!(decode_segment(b"YWJj", &mut out, Part::Header), Ok(3));
        assert_eq!(decode_segment(b"YWI", &mut out, Part::Header), Ok(2));
        for (bad, what) in [
            (&b"YWI="[..], Malformed::Padding(Part::Header)),
            (b"YW+j", Malformed::Base64(Part::Header)),
            (b"YW/j", Malformed::Base64(Part::Header)),
            (b"YWJ", Malformed::Base64(Part::Header)), // non-canonical last character
            (b"Y", Malformed::Base64(Part::Header)),
            (b"YW J", Malformed::Base64(Part::Header)),
        ] {
            assert_eq!(
                decode_segment(bad, &mut out, Part::Header),
                Err(VerifyError::Malformed(what))
            );
        }
    }

    #[test]
    fn decoder_agrees_with_base64ct() {
        use base64ct::{Base64UrlUnpadded, Encoding};
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        let mut next = || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_=+/ .";
        for _ in 0..20_000 {
            let len = (next() % 24) as usize;
            let text: alloc::vec::Vec<u8> = (0..len)
                .map(|_| alphabet[(next() % alphabet.len() as u64) as usize])
                .collect();
            let (mut a, mut b) = ([0u8; 32], [0u8; 32]);
            let theirs = Base64UrlUnpadded::decode(&text, &mut a).map(|d| d.to_vec());
            let ours = decode_segment(&text, &mut b, Part::Claims).map(|n| b[..n].to_vec());
            assert_eq!(theirs.ok(), ours.ok(), "{:?}", core::str::from_utf8(&text));
        }
    }

    fn header(json: &str) -> Result<Option<alloc::string::String>, &'static str> {
        let mut b = alloc::vec::Vec::from(json.as_bytes());
        parse_header(&mut b)
            .map(|h| h.kid.map(alloc::string::ToString::to_string))
            .map_err(|e| e.code())
    }

    #[test]
    fn applies_the_algorithm_policy() {
        assert_eq!(
            header(r#"{"alg":"RS256","kid":"k1"}"#),
            Ok(Some("k1".into()))
        );
        assert_eq!(
            header(r#"{"alg":"RS\u0032\u0035\u0036","kid":"k\u0031"}"#),
            Ok(Some("k1".into()))
        );
        for none in ["none", "None", "NONE", "nOnE"] {
            assert_eq!(
                header(&alloc::format!(r#"{{"alg":"{none}"}}"#)),
                Err("BLOCKED_ALGORITHM")
            );
        }
        for hs in ["HS256", "hs384", "HS512"] {
            assert_eq!(
                header(&alloc::format!(r#"{{"alg":"{hs}"}}"#)),
                Err("BLOCKED_ALGORITHM")
            );
        }
        for other in ["RS384", "PS256", "ES256", "EdDSA", "rs256", ""] {
            assert_eq!(
                header(&alloc::format!(r#"{{"alg":"{other}"}}"#)),
                Err("UNSUPPORTED_ALGORITHM")
            );
        }
        assert_eq!(header(r#"{"kid":"k"}"#), Err("MALFORMED_TOKEN"));
        assert_eq!(header(r#"{"alg":256}"#), Err("MALFORMED_TOKEN"));
        assert_eq!(header(r#"{"alg":"RS256","kid":7}"#), Err("MALFORMED_TOKEN"));
        assert_eq!(
            header(r#"{"alg":"RS256","crit":["exp"]}"#),
            Err("MALFORMED_TOKEN")
        );
        assert_eq!(
            header(r#"{"alg":"RS256","alg":"RS256"}"#),
            Err("MALFORMED_TOKEN")
        );
        assert_eq!(
            header(r#"{"alg":"none","alg":"RS256"}"#),
            Err("MALFORMED_TOKEN")
        );
    }
}
