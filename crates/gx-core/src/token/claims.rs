//! The claim set of a grant token: the structural checks (required claims and their
//! types, optional claims when present) and the [`VerifiedGrant`] built from them.
//!
//! The claims are decoded into the caller's buffer; strings are unescaped there in place
//! and the grant borrows them. Only the scope and audience lists are copied, as
//! references, into fixed arrays ([`MAX_SCOPES`], [`MAX_AUDIENCES`]).

use heapless::Vec;

use super::error::{Limit, Malformed, Part, VerifyError, json_error};
use super::grant::{MAX_AUDIENCES, MAX_SCOPES, VerifiedGrant};
use super::json::{self, JsonError, Span, Value};
use crate::UnixTime;

/// Claim values as spans of the buffer, before they are read.
#[derive(Default)]
struct Raw {
    jti: Option<Value>,
    sub: Option<Value>,
    agt: Option<Value>,
    scp: Option<Value>,
    exp: Option<Value>,
    nbf: Option<Value>,
    iat: Option<Value>,
    iss: Option<Value>,
    aud: Option<Value>,
    dev: Option<Value>,
    grnt: Option<Value>,
    depth: Option<Value>,
}

/// A claim set that passed the structural checks: the strings as spans of the decoded
/// buffer (unescaped in place), the numbers as values.
pub(crate) struct Claims {
    pub(crate) jti: Span,
    pub(crate) sub: Span,
    pub(crate) agt: Span,
    pub(crate) grnt: Option<Span>,
    pub(crate) iss: Option<Span>,
    pub(crate) dev: Option<Span>,
    pub(crate) scp: Vec<Span, MAX_SCOPES>,
    pub(crate) aud: Vec<Span, MAX_AUDIENCES>,
    pub(crate) exp: UnixTime,
    pub(crate) nbf: Option<UnixTime>,
    pub(crate) iat: Option<UnixTime>,
    pub(crate) depth: u32,
    /// The `scp` array's text, brackets included.
    pub(crate) scp_array: Span,
    /// The `aud` value's text (a string's content, or an array with its brackets), and
    /// whether it is an array.
    pub(crate) aud_value: Option<(Span, bool)>,
    /// Whether a string the grant uses held an escape, so that its span no longer
    /// matches the raw text.
    pub(crate) escaped: bool,
}

/// Why a claim set failed the structural checks; a JSON error is turned into a
/// [`VerifyError`] (which may name a member of the buffer) by [`ClaimsError::into_verify`].
pub(crate) enum ClaimsError {
    Json(JsonError),
    Verify(VerifyError<'static>),
}

impl From<VerifyError<'static>> for ClaimsError {
    fn from(e: VerifyError<'static>) -> Self {
        Self::Verify(e)
    }
}

impl ClaimsError {
    /// The error, naming a duplicated member from `buf`.
    pub(crate) fn into_verify(self, buf: &[u8]) -> VerifyError<'_> {
        match self {
            Self::Json(e) => json_error(buf, e, Part::Claims),
            Self::Verify(e) => e,
        }
    }
}

const fn invalid(claim: &'static str, reason: &'static str) -> VerifyError<'static> {
    VerifyError::InvalidClaim { claim, reason }
}

/// A string claim: unescaped in place, returned as a span.
fn string(buf: &mut [u8], v: Value, claim: &'static str) -> Result<Span, VerifyError<'static>> {
    match v {
        Value::Str {
            span,
            escaped: false,
        } => Ok(span),
        Value::Str {
            span,
            escaped: true,
        } => Ok(json::unescape_in_place(buf, span)),
        _ => Err(invalid(claim, "is not a string")),
    }
}

fn required(v: Option<Value>, claim: &'static str) -> Result<Value, VerifyError<'static>> {
    v.ok_or(VerifyError::MissingClaim { claim })
}

/// A JWT NumericDate: a non-negative JSON number of seconds, fraction allowed (kept to
/// milliseconds), exponent form refused.
fn numeric_date(
    buf: &[u8],
    v: Value,
    claim: &'static str,
) -> Result<UnixTime, VerifyError<'static>> {
    let Value::Num(s) = v else {
        return Err(invalid(claim, "is not a number"));
    };
    let text = buf.get(s.start..s.end).unwrap_or_default();
    let (int, frac) = match text.iter().position(|c| *c == b'.') {
        Some(dot) => (
            text.get(..dot).unwrap_or_default(),
            text.get(dot + 1..).unwrap_or_default(),
        ),
        None => (text, &b""[..]),
    };
    let secs = uint(int).ok_or(invalid(claim, "is not a non-negative number of seconds"))?;
    if !frac.iter().all(u8::is_ascii_digit) {
        return Err(invalid(claim, "is not a non-negative number of seconds"));
    }
    let mut ms = 0u64;
    for k in 0..3 {
        ms = ms * 10 + frac.get(k).map_or(0, |d| u64::from(d - b'0'));
    }
    if secs > u64::MAX / 1000 {
        return Err(invalid(claim, "is out of range"));
    }
    Ok(UnixTime::from_millis(secs * 1000 + ms))
}

/// Plain decimal digits (the JSON grammar already forbids leading zeros) as a `u64`.
fn uint(text: &[u8]) -> Option<u64> {
    if text.is_empty() {
        return None;
    }
    text.iter().try_fold(0u64, |acc, d| {
        if d.is_ascii_digit() {
            acc.checked_mul(10)?.checked_add(u64::from(d - b'0'))
        } else {
            None
        }
    })
}

/// Up to `N` non-empty strings from a string or an array of strings, unescaped in place;
/// `escaped` is set when one of them held an escape.
fn string_list<const N: usize>(
    buf: &mut [u8],
    v: Value,
    claim: &'static str,
    allow_single: bool,
    too_many: Limit,
    was_escaped: &mut bool,
) -> Result<Vec<Span, N>, VerifyError<'static>> {
    let mut out = Vec::new();
    let Value::Array(arr) = v else {
        if allow_single {
            *was_escaped |= matches!(v, Value::Str { escaped: true, .. });
            let s = string(buf, v, claim)?;
            out.push(s).map_err(|_| VerifyError::TooLarge(too_many))?;
            return Ok(out);
        }
        return Err(invalid(claim, "is not an array of strings"));
    };
    let mut pos = arr.start;
    loop {
        let item = match json::next_element(buf, &mut pos) {
            Ok(Some(item)) => item,
            Ok(None) => break,
            Err(_) => return Err(invalid(claim, "is not an array of strings")),
        };
        let Value::Str { span, escaped } = item else {
            return Err(invalid(claim, "holds a value that is not a string"));
        };
        let span = if escaped {
            *was_escaped = true;
            json::unescape_in_place(buf, span)
        } else {
            span
        };
        if span.start == span.end {
            return Err(invalid(claim, "holds an empty string"));
        }
        out.push(span)
            .map_err(|_| VerifyError::TooLarge(too_many))?;
    }
    if out.is_empty() {
        return Err(invalid(claim, "is empty"));
    }
    Ok(out)
}

/// Parses the decoded claims in `buf` (after the signature passed) and applies the
/// structural checks in the documented order.
pub(crate) fn parse_claims(buf: &mut [u8]) -> Result<Claims, ClaimsError> {
    let members = json::parse_object(buf).map_err(ClaimsError::Json)?;
    let mut raw = Raw::default();
    for m in &members {
        let is = |name: &str| json::str_eq(buf, m.key, m.key_escaped, name);
        let slot = if is("jti") {
            &mut raw.jti
        } else if is("sub") {
            &mut raw.sub
        } else if is("agt") {
            &mut raw.agt
        } else if is("scp") {
            &mut raw.scp
        } else if is("exp") {
            &mut raw.exp
        } else if is("nbf") {
            &mut raw.nbf
        } else if is("iat") {
            &mut raw.iat
        } else if is("iss") {
            &mut raw.iss
        } else if is("aud") {
            &mut raw.aud
        } else if is("dev") {
            &mut raw.dev
        } else if is("grnt") {
            &mut raw.grnt
        } else if is("delegationDepth") {
            &mut raw.depth
        } else {
            continue;
        };
        *slot = Some(m.value);
    }
    let mut escaped = [raw.jti, raw.sub, raw.agt, raw.grnt, raw.iss, raw.dev]
        .iter()
        .any(|v| matches!(v, Some(Value::Str { escaped: true, .. })));

    // Presence and type of the required claims, in a fixed order.
    let jti = string(buf, required(raw.jti, "jti")?, "jti")?;
    let sub = string(buf, required(raw.sub, "sub")?, "sub")?;
    let agt = string(buf, required(raw.agt, "agt")?, "agt")?;
    let scp_value = required(raw.scp, "scp")?;
    let scp: Vec<Span, MAX_SCOPES> =
        string_list(buf, scp_value, "scp", false, Limit::Scopes, &mut escaped)?;
    let scp_array = match scp_value {
        Value::Array(s) => s,
        _ => return Err(invalid("scp", "is not an array of strings").into()),
    };
    let exp = numeric_date(buf, required(raw.exp, "exp")?, "exp")?;
    let grnt = raw.grnt.map(|v| string(buf, v, "grnt")).transpose()?;
    for (span, claim) in [(jti, "jti"), (sub, "sub"), (agt, "agt")]
        .into_iter()
        .chain(grnt.map(|g| (g, "grnt")))
    {
        if span.start == span.end {
            return Err(invalid(claim, "is empty").into());
        }
    }
    // Optional claims: absent is fine, present must have the right type.
    let nbf = raw.nbf.map(|v| numeric_date(buf, v, "nbf")).transpose()?;
    let iat = raw.iat.map(|v| numeric_date(buf, v, "iat")).transpose()?;
    let iss = raw.iss.map(|v| string(buf, v, "iss")).transpose()?;
    let dev = raw.dev.map(|v| string(buf, v, "dev")).transpose()?;
    let (aud, aud_value) = match raw.aud {
        Some(v) => {
            let list: Vec<Span, MAX_AUDIENCES> =
                string_list(buf, v, "aud", true, Limit::Audiences, &mut escaped)?;
            let value = match v {
                Value::Array(s) => (s, true),
                Value::Str { span, .. } => (span, false),
                _ => return Err(invalid("aud", "is not a string").into()),
            };
            (list, Some(value))
        }
        None => (Vec::new(), None),
    };
    let depth = match raw.depth {
        None => 0,
        Some(Value::Num(s)) => buf
            .get(s.start..s.end)
            .and_then(uint)
            .and_then(|d| u32::try_from(d).ok())
            .ok_or(invalid("delegationDepth", "is not a non-negative integer"))?,
        Some(_) => {
            return Err(invalid("delegationDepth", "is not a non-negative integer").into());
        }
    };
    Ok(Claims {
        jti,
        sub,
        agt,
        grnt,
        iss,
        dev,
        scp,
        aud,
        exp,
        nbf,
        iat,
        depth,
        scp_array,
        aud_value,
        escaped,
    })
}

impl Claims {
    /// Fills `grant` (initially [`VerifiedGrant::EMPTY`]) with these claims, its strings
    /// borrowed from `buf`; the time and policy checks are [`VerifiedGrant::check`]'s.
    pub(crate) fn fill<'a>(
        &self,
        buf: &'a [u8],
        kid: Option<&'a str>,
        grant: &mut VerifiedGrant<'a>,
    ) -> Result<(), VerifyError<'a>> {
        let text = |s: Span| -> Result<&'a str, VerifyError<'a>> {
            buf.get(s.start..s.end)
                .and_then(|t| core::str::from_utf8(t).ok())
                .ok_or(VerifyError::Malformed(Malformed::Json(
                    Part::Claims,
                    s.start,
                )))
        };
        for (slot, s) in grant.scopes.iter_mut().zip(&self.scp) {
            *slot = text(*s)?;
        }
        for (slot, s) in grant.audience.iter_mut().zip(&self.aud) {
            *slot = text(*s)?;
        }
        grant.scope_count = self.scp.len();
        grant.audience_count = self.aud.len();
        grant.agent_did = text(self.agt)?;
        grant.principal = text(self.sub)?;
        grant.jti = text(self.jti)?;
        grant.grant_id = match self.grnt {
            Some(g) => text(g)?,
            None => grant.jti,
        };
        grant.issuer = self.iss.map(text).transpose()?;
        grant.developer_id = self.dev.map(text).transpose()?;
        grant.expires_at = self.exp;
        grant.not_before = self.nbf;
        grant.issued_at = self.iat;
        grant.delegation_depth = self.depth;
        grant.kid = kid;
        Ok(())
    }
}
