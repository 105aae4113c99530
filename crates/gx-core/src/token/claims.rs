//! The claim set of a grant token: required claims and their types, time checks, issuer,
//! audience, delegation depth and scopes, and the [`VerifiedGrant`] that results.
//!
//! The claims are decoded into the caller's buffer; strings are unescaped there in place
//! and the grant borrows them. Only the scope and audience lists are copied, as
//! references, into fixed arrays ([`MAX_SCOPES`], [`MAX_AUDIENCES`]).

use heapless::Vec;

use super::error::{Limit, Part, VerifyError};
use super::json::{self, Span, Value};
use super::jws::json_error;
use super::scope::MissingScopes;
use super::verifier::{MissingScopePolicy, VerifierOptions};
use crate::UnixTime;

/// The most scopes a grant may hold (the protocol's bound).
pub const MAX_SCOPES: usize = 100;
/// The most entries an `aud` array may hold.
pub const MAX_AUDIENCES: usize = 16;

/// A grant token whose signature, claims and policy checks all passed.
///
/// Borrows the caller's decode buffer (and the verifier's options); copy what you need
/// to keep.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifiedGrant<'a> {
    agent_did: &'a str,
    principal: &'a str,
    // Plain arrays, not `heapless::Vec`: a type without `Drop` lets the borrow of the
    // caller's buffer end at the grant's last use.
    scopes: [&'a str; MAX_SCOPES],
    scope_count: usize,
    expires_at: UnixTime,
    not_before: Option<UnixTime>,
    issued_at: Option<UnixTime>,
    jti: &'a str,
    grant_id: &'a str,
    delegation_depth: u32,
    issuer: Option<&'a str>,
    audience: [&'a str; MAX_AUDIENCES],
    audience_count: usize,
    developer_id: Option<&'a str>,
    kid: Option<&'a str>,
    missing_scopes: MissingScopes<'a>,
}

impl<'a> VerifiedGrant<'a> {
    /// The agent's DID (`agt`).
    pub fn agent_did(&self) -> &'a str {
        self.agent_did
    }
    /// The user the agent acts for (`sub`).
    pub fn principal(&self) -> &'a str {
        self.principal
    }
    /// The granted scopes (`scp`), in token order.
    pub fn scopes(&self) -> &[&'a str] {
        self.scopes.get(..self.scope_count).unwrap_or_default()
    }
    /// When the grant expires (`exp`).
    pub fn expires_at(&self) -> UnixTime {
        self.expires_at
    }
    /// When the grant starts to be valid (`nbf`), if stated.
    pub fn not_before(&self) -> Option<UnixTime> {
        self.not_before
    }
    /// When the token was issued (`iat`), if stated.
    pub fn issued_at(&self) -> Option<UnixTime> {
        self.issued_at
    }
    /// The token id (`jti`).
    pub fn jti(&self) -> &'a str {
        self.jti
    }
    /// The grant id: `grnt`, or `jti` when `grnt` is absent.
    pub fn grant_id(&self) -> &'a str {
        self.grant_id
    }
    /// How many delegations lie between the user and this agent (`delegationDepth`, 0
    /// when absent).
    pub fn delegation_depth(&self) -> u32 {
        self.delegation_depth
    }
    /// The issuer (`iss`), if stated.
    pub fn issuer(&self) -> Option<&'a str> {
        self.issuer
    }
    /// The audiences (`aud`, a string or an array), empty when absent.
    pub fn audience(&self) -> &[&'a str] {
        self.audience.get(..self.audience_count).unwrap_or_default()
    }
    /// The developer id (`dev`), if stated.
    pub fn developer_id(&self) -> Option<&'a str> {
        self.developer_id
    }
    /// The `kid` of the key that verified the token, if the header named one.
    pub fn kid(&self) -> Option<&'a str> {
        self.kid
    }
    /// Required scopes the grant lacks. Always empty unless the verifier was set to
    /// [`MissingScopePolicy::Report`].
    pub fn missing_scopes(&self) -> MissingScopes<'a> {
        self.missing_scopes
    }
    /// Whether the grant holds `scope` (exact match).
    pub fn has_scope(&self, scope: &str) -> bool {
        super::scope::has_scope(self, scope)
    }
}

/// Claim values as spans of the buffer, before they are materialised.
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

/// Up to `N` non-empty strings from a string or an array of strings, unescaped in place.
fn string_list<const N: usize>(
    buf: &mut [u8],
    v: Value,
    claim: &'static str,
    allow_single: bool,
    too_many: Limit,
) -> Result<Vec<Span, N>, VerifyError<'static>> {
    let mut out = Vec::new();
    let Value::Array(arr) = v else {
        if allow_single {
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

/// Parses and checks the decoded claims in `buf` at `now`, after the signature passed.
pub(crate) fn check_claims<'a>(
    buf: &'a mut [u8],
    opts: &VerifierOptions<'a>,
    kid: Option<&'a str>,
    now: UnixTime,
) -> Result<VerifiedGrant<'a>, VerifyError<'a>> {
    let members = match json::parse_object(buf) {
        Ok(m) => m,
        Err(e) => return Err(json_error(buf, e, Part::Claims)),
    };
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

    // Presence and type of the required claims, in a fixed order.
    let jti = string(buf, required(raw.jti, "jti")?, "jti")?;
    let sub = string(buf, required(raw.sub, "sub")?, "sub")?;
    let agt = string(buf, required(raw.agt, "agt")?, "agt")?;
    let scp: Vec<Span, MAX_SCOPES> =
        string_list(buf, required(raw.scp, "scp")?, "scp", false, Limit::Scopes)?;
    let exp = numeric_date(buf, required(raw.exp, "exp")?, "exp")?;
    let grnt = raw.grnt.map(|v| string(buf, v, "grnt")).transpose()?;
    for (span, claim) in [(jti, "jti"), (sub, "sub"), (agt, "agt")]
        .into_iter()
        .chain(grnt.map(|g| (g, "grnt")))
    {
        if span.start == span.end {
            return Err(invalid(claim, "is empty"));
        }
    }
    // Optional claims: absent is fine, present must have the right type.
    let nbf = raw.nbf.map(|v| numeric_date(buf, v, "nbf")).transpose()?;
    let iat = raw.iat.map(|v| numeric_date(buf, v, "iat")).transpose()?;
    let iss = raw.iss.map(|v| string(buf, v, "iss")).transpose()?;
    let dev = raw.dev.map(|v| string(buf, v, "dev")).transpose()?;
    let aud: Vec<Span, MAX_AUDIENCES> = match raw.aud {
        Some(v) => string_list(buf, v, "aud", true, Limit::Audiences)?,
        None => Vec::new(),
    };
    let depth = match raw.depth {
        None => 0,
        Some(Value::Num(s)) => buf
            .get(s.start..s.end)
            .and_then(uint)
            .and_then(|d| u32::try_from(d).ok())
            .ok_or(invalid("delegationDepth", "is not a non-negative integer"))?,
        Some(_) => return Err(invalid("delegationDepth", "is not a non-negative integer")),
    };

    // From here on the buffer is only read.
    let buf: &'a [u8] = buf;
    let text = |s: Span| -> Result<&'a str, VerifyError<'a>> {
        buf.get(s.start..s.end)
            .and_then(|t| core::str::from_utf8(t).ok())
            .ok_or(VerifyError::Malformed(super::error::Malformed::Json(
                Part::Claims,
                s.start,
            )))
    };

    // Time, with the skew in the token's favour.
    let skew = opts.clock_skew_secs;
    if now.saturating_sub_secs(skew) >= exp {
        return Err(VerifyError::Expired { exp });
    }
    if let Some(nbf) = nbf
        && now.saturating_add_secs(skew) < nbf
    {
        return Err(VerifyError::NotYetValid { nbf });
    }
    if let Some(iat) = iat
        && iat > now.saturating_add_secs(skew)
    {
        return Err(VerifyError::FutureIat { iat });
    }

    let issuer = iss.map(text).transpose()?;
    if let Some(expected) = opts.issuer {
        match issuer {
            None => return Err(VerifyError::MissingClaim { claim: "iss" }),
            Some(found) if found != expected => return Err(VerifyError::IssuerMismatch { found }),
            Some(_) => {}
        }
    }
    let mut audience = [""; MAX_AUDIENCES];
    for (slot, s) in audience.iter_mut().zip(&aud) {
        *slot = text(*s)?;
    }
    let audience_count = aud.len();
    if let Some(expected) = opts.audience {
        if raw.aud.is_none() {
            return Err(VerifyError::MissingClaim { claim: "aud" });
        }
        if !audience
            .get(..audience_count)
            .unwrap_or_default()
            .contains(&expected)
        {
            return Err(VerifyError::AudienceMismatch);
        }
    }
    if let Some(max) = opts.max_delegation_depth
        && depth > max
    {
        return Err(VerifyError::DelegationDepthExceeded { depth, max });
    }

    let mut scopes = [""; MAX_SCOPES];
    for (slot, s) in scopes.iter_mut().zip(&scp) {
        *slot = text(*s)?;
    }
    let scope_count = scp.len();
    let missing = MissingScopes::masked(
        opts.required_scopes,
        scopes.get(..scope_count).unwrap_or_default(),
    );
    let missing_scopes = if missing.is_empty() {
        MissingScopes::NONE
    } else if opts.on_missing_scope == MissingScopePolicy::Reject {
        return Err(VerifyError::ScopeViolation(missing));
    } else {
        missing
    };

    let jti = text(jti)?;
    Ok(VerifiedGrant {
        agent_did: text(agt)?,
        principal: text(sub)?,
        scopes,
        scope_count,
        expires_at: exp,
        not_before: nbf,
        issued_at: iat,
        jti,
        grant_id: match grnt {
            Some(g) => text(g)?,
            None => jti,
        },
        delegation_depth: depth,
        issuer,
        audience,
        audience_count,
        developer_id: dev.map(text).transpose()?,
        kid,
        missing_scopes,
    })
}
