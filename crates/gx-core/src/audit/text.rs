//! The text values of an entry: strings, the scope list and the metadata object.
//!
//! All three borrow: either the caller's plain `&str`s, or the escaped JSON text of a
//! parsed line, which is decoded on the fly (never copied). That lets a parsed line
//! carry escapes such as `\u00e9` or even a lone surrogate `\ud800` (which a Rust `str`
//! cannot hold) and still hash exactly as the service does.

use core::fmt;

use super::error::{MetadataError, WriteError};
use super::json::{self, Canonicalizer, Member, Style};
use super::sink::{Sink, SliceSink};
use crate::json::{Dialect, Units, skip_ws};

/// Member slots kept on the stack for canonicalising metadata (24 bytes each). Metadata
/// needing more is hashed with a heap pool under the `alloc` feature, or refused with
/// [`MetadataError::TooComplex`] without it.
pub const METADATA_MEMBER_SLOTS: usize = 64;

/// Deepest nesting of objects and arrays accepted in metadata (the metadata object
/// itself counts as 1). Deeper metadata is refused with [`MetadataError::TooDeep`].
pub const MAX_METADATA_DEPTH: usize = json::MAX_DEPTH;

/// A string field of an entry (`timestamp`, `action`, `agentDID`, `grantId`, `result`,
/// a scope): a caller's `&str`, or the escaped body of a JSON string in a parsed line.
///
/// Equality compares the decoded values.
#[derive(Clone, Copy)]
pub struct AuditStr<'a>(Repr<'a>);

#[derive(Clone, Copy)]
enum Repr<'a> {
    /// The value itself.
    Plain(&'a str),
    /// A validated JSON string body holding at least one escape.
    Json(&'a str),
}

impl<'a> AuditStr<'a> {
    /// A value given as plain text.
    pub const fn new(s: &'a str) -> Self {
        Self(Repr::Plain(s))
    }

    /// From a validated JSON string body.
    pub(crate) fn from_body(body: &'a str, escaped: bool) -> Self {
        Self(if escaped {
            Repr::Json(body)
        } else {
            Repr::Plain(body)
        })
    }

    /// The value as a `&str` when it needs no decoding (always for values given with
    /// [`AuditStr::new`], and for parsed values without escapes).
    pub fn as_str(&self) -> Option<&'a str> {
        match self.0 {
            Repr::Plain(s) => Some(s),
            Repr::Json(_) => None,
        }
    }

    /// The decoded code points; an escaped lone surrogate comes out as its own value.
    pub(crate) fn units(&self) -> UnitIter<'a> {
        match self.0 {
            Repr::Plain(s) => UnitIter::Plain(s.chars()),
            Repr::Json(s) => UnitIter::Json(Units::new(s.as_bytes())),
        }
    }

    /// The decoded characters; lone surrogates come out as U+FFFD.
    pub fn chars(&self) -> impl Iterator<Item = char> + 'a {
        self.units()
            .map(|u| char::from_u32(u).unwrap_or(char::REPLACEMENT_CHARACTER))
    }

    /// The length in UTF-16 code units, as JavaScript's `string.length` (the unit of
    /// the protocol's length limits).
    pub fn utf16_len(&self) -> usize {
        match self.0 {
            Repr::Plain(s) => s.chars().map(char::len_utf16).sum(),
            Repr::Json(_) => self.units().map(|u| if u >= 0x10000 { 2 } else { 1 }).sum(),
        }
    }

    /// Whether the value is the empty string.
    pub fn is_empty(&self) -> bool {
        match self.0 {
            Repr::Plain(s) | Repr::Json(s) => s.is_empty(),
        }
    }

    /// Whether the decoded value is exactly `s`.
    pub fn eq_str(&self, s: &str) -> bool {
        match self.0 {
            Repr::Plain(p) => p == s,
            Repr::Json(_) => self.units().eq(s.chars().map(u32::from)),
        }
    }

    /// Writes the value as UTF-8 (lone surrogates as U+FFFD) into `buf`.
    ///
    /// # Errors
    /// [`WriteError::Full`] when `buf` is too small.
    pub fn write_utf8<'b>(&self, buf: &'b mut [u8]) -> Result<&'b str, WriteError> {
        let mut sink = SliceSink::new(buf);
        self.put_utf8(&mut sink)?;
        let len = sink.len();
        let bytes = buf.get(..len).ok_or(WriteError::Full)?;
        core::str::from_utf8(bytes).map_err(|_| WriteError::Full)
    }

    /// The value as an owned string (lone surrogates as U+FFFD).
    #[cfg(feature = "alloc")]
    pub fn to_string_lossy(&self) -> super::alloc::string::String {
        self.chars().collect()
    }

    /// UTF-8 with lone surrogates as U+FFFD: what the entry hash covers.
    pub(crate) fn put_utf8<S: Sink + ?Sized>(&self, out: &mut S) -> Result<(), WriteError> {
        match self.0 {
            Repr::Plain(s) => out.put(s.as_bytes()),
            Repr::Json(s) => json::write_utf8_body(s.as_bytes(), true, out),
        }
    }

    /// As `JSON.stringify` writes it, quotes included.
    pub(crate) fn put_json<S: Sink + ?Sized>(&self, out: &mut S) -> Result<(), WriteError> {
        match self.0 {
            Repr::Plain(s) => json::write_js_str(s, out),
            Repr::Json(s) => json::write_js_body(s.as_bytes(), true, out),
        }
    }
}

/// Code points of an [`AuditStr`].
pub(crate) enum UnitIter<'a> {
    Plain(core::str::Chars<'a>),
    Json(Units<'a>),
}

impl Iterator for UnitIter<'_> {
    type Item = u32;
    fn next(&mut self) -> Option<u32> {
        match self {
            Self::Plain(c) => c.next().map(u32::from),
            Self::Json(u) => u.next(),
        }
    }
}

impl PartialEq for AuditStr<'_> {
    fn eq(&self, other: &Self) -> bool {
        match (self.0, other.0) {
            (Repr::Plain(a), Repr::Plain(b)) => a == b,
            _ => self.units().eq(other.units()),
        }
    }
}

impl Eq for AuditStr<'_> {}

impl PartialEq<str> for AuditStr<'_> {
    fn eq(&self, other: &str) -> bool {
        self.eq_str(other)
    }
}

impl PartialEq<&str> for AuditStr<'_> {
    fn eq(&self, other: &&str) -> bool {
        self.eq_str(other)
    }
}

impl fmt::Display for AuditStr<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Repr::Plain(s) => f.write_str(s),
            Repr::Json(_) => self.chars().try_for_each(|c| fmt::Write::write_char(f, c)),
        }
    }
}

impl fmt::Debug for AuditStr<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut w = FmtSink(f);
        self.put_json(&mut w).map_err(|_| fmt::Error)
    }
}

struct FmtSink<'f, 'g>(&'f mut fmt::Formatter<'g>);

impl Sink for FmtSink<'_, '_> {
    fn put(&mut self, bytes: &[u8]) -> Result<(), WriteError> {
        let s = core::str::from_utf8(bytes).map_err(|_| WriteError::Full)?;
        self.0.write_str(s).map_err(|_| WriteError::Full)
    }
}

/// The `scopes` of an entry: a caller's slice, or the validated array of a parsed line.
#[derive(Clone, Copy)]
pub struct Scopes<'a>(ScopesRepr<'a>);

#[derive(Clone, Copy)]
enum ScopesRepr<'a> {
    List(&'a [&'a str]),
    /// A validated JSON array of strings, and its length.
    Json(&'a str, usize),
}

impl<'a> Scopes<'a> {
    /// Scopes given as plain strings.
    pub const fn new(list: &'a [&'a str]) -> Self {
        Self(ScopesRepr::List(list))
    }

    /// From a validated JSON array of strings.
    pub(crate) fn from_json(array: &'a str, len: usize) -> Self {
        Self(ScopesRepr::Json(array, len))
    }

    /// The number of scopes.
    pub fn len(&self) -> usize {
        match self.0 {
            ScopesRepr::List(l) => l.len(),
            ScopesRepr::Json(_, n) => n,
        }
    }

    /// Whether there are none (which the protocol does not allow).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The scopes in order.
    pub fn iter(&self) -> ScopeIter<'a> {
        ScopeIter(match self.0 {
            ScopesRepr::List(l) => ScopeIterRepr::List(l.iter()),
            ScopesRepr::Json(a, _) => ScopeIterRepr::Json(a, 1),
        })
    }

    /// Whether `scope` is one of them.
    pub fn contains(&self, scope: &str) -> bool {
        self.iter().any(|s| s.eq_str(scope))
    }
}

impl PartialEq for Scopes<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.iter().eq(other.iter())
    }
}

impl Eq for Scopes<'_> {}

impl fmt::Debug for Scopes<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl<'a> IntoIterator for Scopes<'a> {
    type Item = AuditStr<'a>;
    type IntoIter = ScopeIter<'a>;
    fn into_iter(self) -> ScopeIter<'a> {
        self.iter()
    }
}

/// Iterator over [`Scopes`].
#[derive(Clone)]
pub struct ScopeIter<'a>(ScopeIterRepr<'a>);

#[derive(Clone)]
enum ScopeIterRepr<'a> {
    List(core::slice::Iter<'a, &'a str>),
    Json(&'a str, usize),
}

impl<'a> Iterator for ScopeIter<'a> {
    type Item = AuditStr<'a>;

    fn next(&mut self) -> Option<AuditStr<'a>> {
        match &mut self.0 {
            ScopeIterRepr::List(it) => it.next().map(|s| AuditStr::new(s)),
            ScopeIterRepr::Json(text, i) => {
                let b = text.as_bytes();
                let s = crate::json::string(b, skip_ws(b, *i), Dialect::JS).ok()?;
                let body = text.get(s.body.start..s.body.end)?;
                let next = skip_ws(b, s.end());
                *i = if b.get(next) == Some(&b',') {
                    next + 1
                } else {
                    b.len()
                };
                Some(AuditStr::from_body(body, s.escaped))
            }
        }
    }
}

/// The `metadata` of an entry: the text of one JSON object, validated (grammar, depth,
/// no `__proto__`), kept as given and canonicalised when hashed or written.
///
/// Equality compares the texts, not the values.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Metadata<'a> {
    text: &'a str,
    slots: usize,
}

impl<'a> Metadata<'a> {
    /// Validates the JSON text of a metadata object (whitespace around it allowed).
    ///
    /// # Errors
    /// [`MetadataError`] when the text is not a JSON object, nests deeper than
    /// [`MAX_METADATA_DEPTH`], or holds a key the hosted service refuses; without the
    /// `float-metadata` feature also for a number that is not an integer with
    /// |n| <= 2^53 ([`MetadataError::UnsupportedNumber`]).
    pub fn parse(text: &'a str) -> Result<Self, MetadataError> {
        let shape = json::validate_object(text.as_bytes())?;
        Ok(Self {
            text,
            slots: shape.slots,
        })
    }

    /// The text as given.
    pub fn as_json(&self) -> &'a str {
        self.text
    }

    /// Member slots its canonicalisation needs (see [`METADATA_MEMBER_SLOTS`]).
    pub fn slots_needed(&self) -> usize {
        self.slots
    }

    /// Writes `JSON.stringify(JSON.parse(text))` into `buf`; returns its length.
    ///
    /// # Errors
    /// [`WriteError::Full`] when `buf` is too small; [`WriteError::Metadata`] with
    /// [`MetadataError::TooComplex`] when working memory does not suffice.
    pub fn write_canonical(&self, buf: &mut [u8]) -> Result<usize, WriteError> {
        let mut sink = SliceSink::new(buf);
        self.put_canonical(&mut sink)?;
        Ok(sink.len())
    }

    /// `JSON.stringify(JSON.parse(text))` as an owned string.
    ///
    /// # Errors
    /// [`MetadataError`] only if the text was not validated (cannot happen).
    #[cfg(feature = "alloc")]
    pub fn to_canonical_string(&self) -> Result<super::alloc::string::String, MetadataError> {
        let mut v = super::alloc::vec::Vec::with_capacity(self.text.len());
        self.put_canonical(&mut v).map_err(|e| match e {
            WriteError::Metadata(m) => m,
            _ => MetadataError::TooComplex,
        })?;
        super::alloc::string::String::from_utf8(v).map_err(|_| MetadataError::TooComplex)
    }

    pub(crate) fn put_canonical<S: Sink + ?Sized>(&self, out: &mut S) -> Result<(), WriteError> {
        canonicalize(self.text.as_bytes(), self.slots, Style::Js, &[], out)
    }
}

/// Canonicalises validated JSON text with a pool sized for `slots`.
pub(crate) fn canonicalize<S: Sink + ?Sized>(
    text: &[u8],
    slots: usize,
    style: Style,
    exclude_top: &'static [&'static str],
    out: &mut S,
) -> Result<(), WriteError> {
    if slots <= 8 {
        canonicalize_with::<8, S>(text, style, exclude_top, out)
    } else if slots <= METADATA_MEMBER_SLOTS {
        canonicalize_with::<METADATA_MEMBER_SLOTS, S>(text, style, exclude_top, out)
    } else {
        #[cfg(feature = "alloc")]
        {
            let mut pool = super::alloc::vec![Member::default(); slots];
            Canonicalizer::new(text, style, &mut pool)
                .excluding_top_level(exclude_top)
                .write(out)
        }
        #[cfg(not(feature = "alloc"))]
        {
            let _ = (text, style, exclude_top, out);
            Err(WriteError::Metadata(MetadataError::TooComplex))
        }
    }
}

/// Canonicalises with a pool of `N` slots on the stack. Its own frame (`inline(never)`),
/// so small metadata never pays for the large pool's stack (firmware's stack is small).
#[inline(never)]
fn canonicalize_with<const N: usize, S: Sink + ?Sized>(
    text: &[u8],
    style: Style,
    exclude_top: &'static [&'static str],
    out: &mut S,
) -> Result<(), WriteError> {
    let mut pool = [Member::default(); N];
    Canonicalizer::new(text, style, &mut pool)
        .excluding_top_level(exclude_top)
        .write(out)
}

impl fmt::Debug for Metadata<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.text)
    }
}

#[cfg(test)]
mod tests {
    use core::fmt::Write as _;

    use super::*;
    use crate::audit::alloc::string::String;

    #[test]
    fn wide_metadata_needs_alloc_beyond_the_stack_slots() {
        let mut text = String::from("{");
        for i in 0..70 {
            if i > 0 {
                text.push(',');
            }
            write!(text, "\"k{i}\":{{\"{i}\":[{i}]}}").unwrap();
        }
        text.push('}');
        let m = Metadata::parse(&text).unwrap();
        assert_eq!(m.slots_needed(), 71);
        let mut buf = [0u8; 4096];
        let r = m.write_canonical(&mut buf);
        #[cfg(feature = "alloc")]
        assert_eq!(&buf[..r.unwrap()], text.as_bytes());
        #[cfg(not(feature = "alloc"))]
        assert_eq!(
            r.unwrap_err(),
            WriteError::Metadata(MetadataError::TooComplex)
        );
        // Narrow but deep metadata stays on the stack.
        let deep = "{\"a\":{\"b\":{\"c\":{\"d\":[{\"e\":1}]}}}}";
        let m = Metadata::parse(deep).unwrap();
        assert_eq!(m.slots_needed(), 5);
        let n = m.write_canonical(&mut buf).unwrap();
        assert_eq!(&buf[..n], deep.as_bytes());
    }

    #[test]
    fn audit_str_decodes_compares_and_counts_like_javascript() {
        let s = AuditStr::from_body(r"a\u00e9\ud83d\ude00\ud800", true);
        assert_eq!(s.utf16_len(), 5);
        assert!(!s.eq_str("aé😀"));
        assert_eq!(
            AuditStr::from_body(r"a\u00e9\ud83d\ude00", true),
            AuditStr::new("aé😀")
        );
        let mut buf = [0u8; 16];
        assert_eq!(s.write_utf8(&mut buf).unwrap(), "aé😀\u{fffd}");
        assert_eq!(s.as_str(), None);
        assert_eq!(AuditStr::new("x").as_str(), Some("x"));
    }
}
