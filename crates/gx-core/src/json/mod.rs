//! The one JSON lexer of gx-core: whitespace, strings, numbers and literals, and the
//! walk over an object's members or an array's elements.
//!
//! Two readers sit on it. The token reader (`token::json`: JOSE headers, claim sets,
//! JWKS documents) reads RFC 8259 to the letter; the audit reader (`audit::json`:
//! metadata, entry lines) reads what JavaScript's `JSON.parse` reads, which also takes a
//! lone surrogate such as `"\ud800"`. A [`Dialect`] says which. Everything else is the
//! callers' own: what a duplicated member name means, how deep values may nest (the
//! walks recurse only through the callers' callbacks, so the callers bound the depth),
//! and which of the two offsets of a [`SyntaxError`] they report.
//!
//! Memory: nothing here allocates or copies. Every function reads the caller's bytes at
//! an offset and returns offsets into them; strings stay escaped in place and are
//! decoded on the fly by [`Units`]. Whitespace is space, tab, CR and LF only, as in both
//! RFC 8259 and `JSON.parse`.

mod unescape;
pub(crate) use unescape::{Units, body_eq, cmp_bodies, decode, eq_bodies};

/// Which JSON a reader accepts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Dialect {
    /// Whether `\uD800`..`\uDFFF` may stand alone, not as a high-low pair.
    pub(crate) lone_surrogates: bool,
}

impl Dialect {
    /// RFC 8259 with no lone surrogates: every string is a Rust `str` once decoded.
    pub(crate) const STRICT: Self = Self {
        lone_surrogates: false,
    };
    /// What `JSON.parse` accepts: a lone surrogate is a string's own UTF-16 code unit.
    pub(crate) const JS: Self = Self {
        lone_surrogates: true,
    };
}

/// Where a text stops being JSON.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct SyntaxError {
    /// The start of the faulty escape sequence (its backslash), or `at` when the fault
    /// is not inside an escape.
    pub(crate) start: usize,
    /// Where reading stopped: the byte after the backslash of an unknown escape, the
    /// first of the four hex digits of a malformed `\u`, the end of the `\uXXXX` of a
    /// surrogate that has no partner; else the offending byte (or the text's length).
    pub(crate) at: usize,
}

impl SyntaxError {
    /// A fault at byte `at`, outside any escape sequence (errors are the cold path: no
    /// `#[inline]`).
    pub(crate) const fn at(at: usize) -> Self {
        Self { start: at, at }
    }
}

/// How a reader's error type holds a [`SyntaxError`] (the walks return the callers'
/// errors, so that a callback's own refusals pass through them unchanged).
pub(crate) trait FromSyntax {
    /// The reader's error for this syntax fault.
    fn from_syntax(e: SyntaxError) -> Self;
}

/// A range of the text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Span {
    /// The first byte.
    pub(crate) start: usize,
    /// One past the last byte.
    pub(crate) end: usize,
}

impl Span {
    /// These bytes of `b` (empty if the span is not inside `b`).
    #[inline]
    pub(crate) fn of(self, b: &[u8]) -> &[u8] {
        b.get(self.start..self.end).unwrap_or_default()
    }
}

/// A scanned string.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Str {
    /// The body: the bytes between the quotes, still escaped.
    pub(crate) body: Span,
    /// Whether the body holds a backslash escape.
    pub(crate) escaped: bool,
}

impl Str {
    /// The offset of the opening quote.
    #[inline]
    pub(crate) fn start(&self) -> usize {
        self.body.start - 1
    }

    /// The offset just past the closing quote.
    #[inline]
    pub(crate) fn end(&self) -> usize {
        self.body.end + 1
    }
}

/// `true`, `false` or `null`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Literal {
    True,
    False,
    Null,
}

/// The value that starts at an offset: a scalar, read whole, or the opening bracket of
/// a container, which the caller walks ([`walk_object`], [`walk_array`]) or skips
/// ([`skip_value`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Token {
    /// `{`.
    Object,
    /// `[`.
    Array,
    /// A string.
    Str(Str),
    /// A number, its text.
    Num(Span),
    /// A literal, its text.
    Lit(Literal, Span),
}

/// The offset of the first byte at or after `i` that is not whitespace.
#[inline]
pub(crate) fn skip_ws(b: &[u8], mut i: usize) -> usize {
    while let Some(b' ' | b'\t' | b'\n' | b'\r') = b.get(i) {
        i += 1;
    }
    i
}

/// Reads the value that starts at `i` (see [`Token`]).
#[inline]
pub(crate) fn token(b: &[u8], i: usize, d: Dialect) -> Result<Token, SyntaxError> {
    match b.get(i) {
        Some(b'{') => Ok(Token::Object),
        Some(b'[') => Ok(Token::Array),
        Some(b'"') => string(b, i, d).map(Token::Str),
        Some(b'-' | b'0'..=b'9') => number(b, i).map(Token::Num),
        _ => literal(b, i),
    }
}

/// Scans the string whose opening quote is at `i`.
pub(crate) fn string(b: &[u8], i: usize, d: Dialect) -> Result<Str, SyntaxError> {
    if b.get(i) != Some(&b'"') {
        return Err(SyntaxError::at(i));
    }
    let start = i + 1;
    let mut j = start;
    let mut escaped = false;
    loop {
        match b.get(j) {
            Some(b'"') => {
                let body = Span { start, end: j };
                return Ok(Str { body, escaped });
            }
            Some(b'\\') => {
                escaped = true;
                j = escape(b, j, d)?;
            }
            Some(0x20..) => {
                j += 1;
                // A long string (a JWKS modulus, a hash) has its run of plain
                // characters swept in one go after its first few bytes; short ones
                // (most keys) never pay for setting the sweep up.
                if j == start + 8 {
                    j = plain_run(b, j);
                }
            }
            // A control character, or the end of the text.
            _ => return Err(SyntaxError::at(j)),
        }
    }
}

/// The offset of the first byte at or after `i` that is a quote, a backslash or a
/// control character (or the text's length).
fn plain_run(b: &[u8], i: usize) -> usize {
    let rest = b.get(i..).unwrap_or_default();
    let run = rest
        .iter()
        .position(|&c| c == b'"' || c == b'\\' || c < 0x20);
    i + run.unwrap_or(rest.len())
}

/// Checks the escape sequence whose backslash is at `i`; returns the offset after it.
fn escape(b: &[u8], i: usize, d: Dialect) -> Result<usize, SyntaxError> {
    let fault = |at| SyntaxError { start: i, at };
    match b.get(i + 1) {
        Some(b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't') => Ok(i + 2),
        Some(b'u') => {
            let unit = hex4(b, i + 2).ok_or(fault(i + 2))?;
            if d.lone_surrogates || !(0xD800..0xE000).contains(&unit) {
                return Ok(i + 6);
            }
            // A high surrogate must be followed by an escaped low one; a low one alone
            // is refused.
            let pair = unit < 0xDC00
                && b.get(i + 6..i + 8) == Some(b"\\u")
                && matches!(hex4(b, i + 8), Some(0xDC00..0xE000));
            if pair { Ok(i + 12) } else { Err(fault(i + 6)) }
        }
        _ => Err(fault(i + 1)),
    }
}

/// Four hex digits at `at`, as a UTF-16 code unit.
#[inline]
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

/// Scans the number that starts at `i` (RFC 8259's grammar: no leading zeros, no `+`,
/// digits on both sides of a `.`).
pub(crate) fn number(b: &[u8], i: usize) -> Result<Span, SyntaxError> {
    let mut j = i;
    if b.get(j) == Some(&b'-') {
        j += 1;
    }
    j = match b.get(j) {
        Some(b'0') => j + 1,
        Some(b'1'..=b'9') => digits(b, j),
        _ => return Err(SyntaxError::at(j)),
    };
    if b.get(j) == Some(&b'.') {
        j = some_digits(b, j + 1)?;
    }
    if let Some(b'e' | b'E') = b.get(j) {
        j += 1;
        if let Some(b'+' | b'-') = b.get(j) {
            j += 1;
        }
        j = some_digits(b, j)?;
    }
    Ok(Span { start: i, end: j })
}

/// The offset after the run of digits at `i` (none is fine).
#[inline]
fn digits(b: &[u8], mut i: usize) -> usize {
    while let Some(b'0'..=b'9') = b.get(i) {
        i += 1;
    }
    i
}

/// The offset after the run of digits at `i`, which must not be empty.
#[inline]
fn some_digits(b: &[u8], i: usize) -> Result<usize, SyntaxError> {
    match digits(b, i) {
        j if j == i => Err(SyntaxError::at(j)),
        j => Ok(j),
    }
}

fn literal(b: &[u8], i: usize) -> Result<Token, SyntaxError> {
    for (lit, word) in [
        (Literal::True, &b"true"[..]),
        (Literal::False, b"false"),
        (Literal::Null, b"null"),
    ] {
        if b.get(i..i + word.len()) == Some(word) {
            let span = Span {
                start: i,
                end: i + word.len(),
            };
            return Ok(Token::Lit(lit, span));
        }
    }
    Err(SyntaxError::at(i))
}

/// Skips the value that starts at `i`; returns the offset after it. Containers are
/// skipped by matching brackets (strings scanned, so a bracket inside one does not
/// count), not validated: use it on text already validated, or to find the end of a
/// value that is validated next.
pub(crate) fn skip_value(b: &[u8], i: usize, d: Dialect) -> Result<usize, SyntaxError> {
    match token(b, i, d)? {
        Token::Object | Token::Array => {}
        Token::Str(s) => return Ok(s.end()),
        Token::Num(span) | Token::Lit(_, span) => return Ok(span.end),
    }
    let mut depth = 0usize;
    let mut j = i;
    loop {
        match b.get(j) {
            None => return Err(SyntaxError::at(j)),
            Some(b'"') => j = string(b, j, d)?.end(),
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

/// Walks the members of the object whose `{` is at `i`. For each one, `member(key,
/// at)` reads the value that starts at offset `at` and returns the offset after it.
/// Returns the offset after the closing `}`.
#[inline]
pub(crate) fn walk_object<E: FromSyntax>(
    b: &[u8],
    i: usize,
    d: Dialect,
    mut member: impl FnMut(Str, usize) -> Result<usize, E>,
) -> Result<usize, E> {
    walk(b, i, b'}', |j| {
        let key = string(b, j, d).map_err(E::from_syntax)?;
        let colon = skip_ws(b, key.end());
        if b.get(colon) != Some(&b':') {
            return Err(E::from_syntax(SyntaxError::at(colon)));
        }
        member(key, skip_ws(b, colon + 1))
    })
}

/// Walks the elements of the array whose `[` is at `i`. For each one, `element(at)`
/// reads the value that starts at offset `at` and returns the offset after it. Returns
/// the offset after the closing `]`.
#[inline]
pub(crate) fn walk_array<E: FromSyntax>(
    b: &[u8],
    i: usize,
    element: impl FnMut(usize) -> Result<usize, E>,
) -> Result<usize, E> {
    walk(b, i, b']', element)
}

/// The items of a container and the commas between them.
#[inline]
fn walk<E: FromSyntax>(
    b: &[u8],
    i: usize,
    close: u8,
    mut item: impl FnMut(usize) -> Result<usize, E>,
) -> Result<usize, E> {
    let mut j = skip_ws(b, i + 1);
    if b.get(j) == Some(&close) {
        return Ok(j + 1);
    }
    loop {
        j = skip_ws(b, item(j)?);
        match b.get(j) {
            Some(b',') => j = skip_ws(b, j + 1),
            Some(&c) if c == close => return Ok(j + 1),
            _ => return Err(E::from_syntax(SyntaxError::at(j))),
        }
    }
}

#[cfg(test)]
mod tests;
