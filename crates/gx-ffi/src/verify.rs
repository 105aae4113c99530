//! Grant-token verification: `gx_verify_options`, `gx_verify` into a caller `gx_grant`,
//! and the scope checks on a verified grant.
//!
//! Memory: the token's header and claims are decoded into the caller's buffer
//! (`GX_DECODE_BUF_LEN` always suffices; 3/4 of the token's length is enough), and every
//! string of the `gx_grant` points into that buffer. Verification's own stack use is
//! gx-core's (about 8 KiB on a Cortex-M4, most of it the signature and the grant's scope
//! table); the RSA arithmetic takes about 5.5 KiB of arena while it runs.

use core::ptr::addr_of_mut;

use gx_core::{MissingScopePolicy, UnixTime, VerifiedGrant, Verifier, VerifierOptions};

use crate::error::status;
use crate::jwks::snapshot;
use crate::slice::{bytes, bytes_mut, deref, str_array};
use crate::{GxError, GxJwks, GxStr, heap};

/// The most scopes a grant holds (the protocol's bound).
pub const GX_MAX_SCOPES: usize = 100;
/// The most entries of a grant's `aud`.
pub const GX_MAX_AUDIENCES: usize = 16;
/// The most required scopes `gx_verify_options` may name (bit `i` of
/// `gx_grant.missing_scopes` is `required_scopes[i]`).
pub const GX_MAX_REQUIRED_SCOPES: usize = 32;
/// A decode buffer of this many bytes holds the header and claims of any token gx
/// accepts (16 KiB of token text).
pub const GX_DECODE_BUF_LEN: usize = 12_288;

const _: () = assert!(GX_MAX_SCOPES == gx_core::MAX_SCOPES);
const _: () = assert!(GX_MAX_AUDIENCES == gx_core::MAX_AUDIENCES);
const _: () = assert!(GX_DECODE_BUF_LEN == gx_core::DECODE_BUF_LEN);
const _: () = assert!(GX_MAX_REQUIRED_SCOPES <= gx_core::MAX_REQUIRED_SCOPES);

/// How `gx_verify` judges a token. Start from `gx_verify_options_default()` and set
/// what you need.
///
/// Every pointer in it is read during `gx_verify` only. Strings are UTF-8, not
/// NUL-terminated.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct GxVerifyOptions {
    /// Tolerated clock difference on `exp`, `nbf`, `iat` and `validUntil` (default 30 s).
    pub clock_skew_secs: u64,
    /// Scopes every grant must hold (`required_scope_count` of them, at most
    /// `GX_MAX_REQUIRED_SCOPES`); NULL when the count is 0.
    pub required_scopes: *const GxStr,
    /// The number of `required_scopes`.
    pub required_scope_count: usize,
    /// `false` (default): a missing required scope fails with `SCOPE_VIOLATION`.
    /// `true`: the grant verifies and `gx_grant.missing_scopes` says what is missing
    /// (the published clients' "log" mode; the caller must log it).
    pub report_missing_scopes: bool,
    /// Whether `max_delegation_depth` applies (default `false`: no limit).
    pub limit_delegation_depth: bool,
    /// Refuse grants delegated more than this many times (when
    /// `limit_delegation_depth`).
    pub max_delegation_depth: u32,
    /// Required `iss`; `{NULL, 0}` (default) accepts any issuer.
    pub issuer: GxStr,
    /// Required member of `aud`; `{NULL, 0}` (default) accepts any audience.
    pub audience: GxStr,
}

/// A verified grant: every string points into the decode buffer given to `gx_verify`
/// and is valid while that buffer is unchanged. Optional strings absent from the token
/// are `{NULL, 0}`. Instants are milliseconds since the Unix epoch.
///
/// About 1 KiB on a 32-bit target (the scope table): keep one in a `static` or a
/// long-lived frame rather than on a deep stack.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct GxGrant {
    /// The agent's DID (`agt`).
    pub agent_did: GxStr,
    /// The user the agent acts for (`sub`).
    pub principal: GxStr,
    /// The token id (`jti`).
    pub jti: GxStr,
    /// The grant id: `grnt`, or `jti` when `grnt` is absent.
    pub grant_id: GxStr,
    /// The issuer (`iss`), if stated.
    pub issuer: GxStr,
    /// The developer id (`dev`), if stated.
    pub developer_id: GxStr,
    /// The `kid` of the key that verified the token, if the header named one.
    pub kid: GxStr,
    /// When the grant expires (`exp`), in ms.
    pub expires_at_ms: u64,
    /// `nbf` in ms, when `has_not_before`.
    pub not_before_ms: u64,
    /// `iat` in ms, when `has_issued_at`.
    pub issued_at_ms: u64,
    /// Whether the token has `nbf`.
    pub has_not_before: bool,
    /// Whether the token has `iat`.
    pub has_issued_at: bool,
    /// `delegationDepth` (0 when absent).
    pub delegation_depth: u32,
    /// Bit `i` set: `required_scopes[i]` of the options is missing. Always 0 unless
    /// `report_missing_scopes` was set.
    pub missing_scopes: u32,
    /// The number of `scopes`.
    pub scope_count: usize,
    /// The granted scopes (`scp`) in token order; the first `scope_count` are set.
    pub scopes: [GxStr; GX_MAX_SCOPES],
    /// The number of `audience`.
    pub audience_count: usize,
    /// `aud` (a string or an array); the first `audience_count` are set.
    pub audience: [GxStr; GX_MAX_AUDIENCES],
}

/// The defaults: 30 s of skew, no required scopes, no depth limit, any issuer and
/// audience. Returned by value (it points nowhere); nothing to free.
#[unsafe(no_mangle)]
pub extern "C" fn gx_verify_options_default() -> GxVerifyOptions {
    GxVerifyOptions {
        clock_skew_secs: 30,
        required_scopes: core::ptr::null(),
        required_scope_count: 0,
        report_missing_scopes: false,
        limit_delegation_depth: false,
        max_delegation_depth: 0,
        issuer: GxStr::NONE,
        audience: GxStr::NONE,
    }
}

/// Verifies the grant token `token` (compact JWS text, `token_len` bytes) at `now_ms`
/// against the keys of `jwks`, with `options` (NULL: the defaults), in the order of
/// `docs/verification.md`: shape, header, snapshot expiry, key, RS256 signature,
/// claims, time, issuer, audience, delegation depth, required scopes.
///
/// Ownership: `jwks`, `options` (and what it points to) and `token` are read during the
/// call only. `buf` (`buf_len` bytes, caller-owned) receives the decoded header and
/// claims; `grant` (caller-owned) is written only on `GX_ERROR_OK`, and its strings point into
/// `buf`: they stay valid until `buf` is reused or freed. The RSA arithmetic uses about
/// 5.5 KiB of the arena during the call and keeps none of it.
///
/// Returns `GX_ERROR_OK`, or the first check that failed: `GX_ERROR_TOKEN_EXPIRED`,
/// `GX_ERROR_BAD_SIGNATURE`, `GX_ERROR_SCOPE_VIOLATION`, ... (`gx_error_code_str` names
/// it); `GX_ERROR_TOKEN_TOO_LARGE` also when `buf` is too small;
/// `GX_ERROR_MALFORMED_TOKEN` for a token that is not UTF-8; `GX_ERROR_NULL_ARGUMENT`,
/// `GX_ERROR_NOT_INITIALIZED` (storage never parsed), `GX_ERROR_INVALID_ARGUMENT`
/// (option strings not UTF-8, more than `GX_MAX_REQUIRED_SCOPES`),
/// `GX_ERROR_HEAP_NOT_INITIALIZED`.
///
/// # Safety
/// Each pointer is NULL or valid for its length: `jwks` set up by `gx_jwks_parse` and
/// not freed during the call, `token` readable, `buf` writable and not otherwise used
/// while `grant` is, `grant` writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn gx_verify(
    jwks: *const GxJwks,
    options: *const GxVerifyOptions,
    token: *const u8,
    token_len: usize,
    now_ms: u64,
    buf: *mut u8,
    buf_len: usize,
    grant: *mut GxGrant,
) -> GxError {
    status((|| {
        heap::ready()?;
        if grant.is_null() {
            return Err(GxError::NullArgument);
        }
        // SAFETY: each pointer per the caller's contract.
        let (snapshot, token, buf) = unsafe {
            (
                snapshot(jwks)?,
                bytes(token, token_len)?,
                bytes_mut(buf, buf_len)?,
            )
        };
        let token = core::str::from_utf8(token).map_err(|_| GxError::MalformedToken)?;
        let defaults = gx_verify_options_default();
        let o = if options.is_null() {
            &defaults
        } else {
            // SAFETY: non-NULL, valid per the caller's contract.
            unsafe { deref(options) }?
        };
        let mut required = [""; GX_MAX_REQUIRED_SCOPES];
        // SAFETY: the option's strings are valid per the caller's contract.
        let (required, issuer, audience) = unsafe {
            (
                str_array(o.required_scopes, o.required_scope_count, &mut required)?,
                opt_str(&o.issuer)?,
                opt_str(&o.audience)?,
            )
        };
        let mut opts = VerifierOptions::new()
            .with_clock_skew_secs(o.clock_skew_secs)
            .with_required_scopes(required);
        if o.report_missing_scopes {
            opts = opts.with_missing_scope_policy(MissingScopePolicy::Report);
        }
        if o.limit_delegation_depth {
            opts = opts.with_max_delegation_depth(o.max_delegation_depth);
        }
        if let Some(i) = issuer {
            opts = opts.with_issuer(i);
        }
        if let Some(a) = audience {
            opts = opts.with_audience(a);
        }
        let verifier = Verifier::new(snapshot, opts).map_err(|_| GxError::InvalidArgument)?;
        match verifier.verify(token, UnixTime::from_millis(now_ms), buf) {
            Ok(g) => {
                let missing = missing_mask(required, &g);
                // SAFETY: `grant` is non-NULL and writable per the caller's contract.
                unsafe { write_grant(grant, &g, missing) };
                Ok(())
            }
            Err(e) => Err(GxError::from_code(e.code())),
        }
    })())
}

/// An optional option string: `{NULL, 0}` is none.
///
/// # Safety
/// As [`GxStr::as_str`].
unsafe fn opt_str<'a>(s: &GxStr) -> Result<Option<&'a str>, GxError> {
    if s.is_null() {
        return Ok(None);
    }
    // SAFETY: per the caller's contract.
    unsafe { s.as_str() }.map(Some)
}

/// Bit `i`: `required[i]` is among the grant's missing scopes.
fn missing_mask(required: &[&str], g: &VerifiedGrant<'_>) -> u32 {
    let missing = g.missing_scopes();
    let mut mask = 0u32;
    for (i, r) in required.iter().enumerate().take(32) {
        if missing.iter().any(|m| m == *r) {
            mask |= 1 << i;
        }
    }
    mask
}

/// Writes `g` into the caller's `out` field by field (no `GxGrant` on the stack).
///
/// # Safety
/// `out` is non-NULL and writable; it need not be initialised.
unsafe fn write_grant(out: *mut GxGrant, g: &VerifiedGrant<'_>, missing: u32) {
    let opt_ms = |t: Option<UnixTime>| t.map_or(0, UnixTime::as_millis);
    // SAFETY: every write goes to a field of the writable `*out`, through raw pointers
    // (the memory may be uninitialised, so no reference to it is made).
    unsafe {
        addr_of_mut!((*out).agent_did).write(GxStr::from_str(g.agent_did()));
        addr_of_mut!((*out).principal).write(GxStr::from_str(g.principal()));
        addr_of_mut!((*out).jti).write(GxStr::from_str(g.jti()));
        addr_of_mut!((*out).grant_id).write(GxStr::from_str(g.grant_id()));
        addr_of_mut!((*out).issuer).write(GxStr::from_opt(g.issuer()));
        addr_of_mut!((*out).developer_id).write(GxStr::from_opt(g.developer_id()));
        addr_of_mut!((*out).kid).write(GxStr::from_opt(g.kid()));
        addr_of_mut!((*out).expires_at_ms).write(g.expires_at().as_millis());
        addr_of_mut!((*out).not_before_ms).write(opt_ms(g.not_before()));
        addr_of_mut!((*out).issued_at_ms).write(opt_ms(g.issued_at()));
        addr_of_mut!((*out).has_not_before).write(g.not_before().is_some());
        addr_of_mut!((*out).has_issued_at).write(g.issued_at().is_some());
        addr_of_mut!((*out).delegation_depth).write(g.delegation_depth());
        addr_of_mut!((*out).missing_scopes).write(missing);
        let scopes = addr_of_mut!((*out).scopes).cast::<GxStr>();
        for i in 0..GX_MAX_SCOPES {
            let s = g
                .scopes()
                .get(i)
                .map_or(GxStr::NONE, |s| GxStr::from_str(s));
            scopes.add(i).write(s);
        }
        addr_of_mut!((*out).scope_count).write(g.scopes().len().min(GX_MAX_SCOPES));
        let aud = addr_of_mut!((*out).audience).cast::<GxStr>();
        for i in 0..GX_MAX_AUDIENCES {
            let s = g
                .audience()
                .get(i)
                .map_or(GxStr::NONE, |s| GxStr::from_str(s));
            aud.add(i).write(s);
        }
        addr_of_mut!((*out).audience_count).write(g.audience().len().min(GX_MAX_AUDIENCES));
    }
}

/// The granted scopes of `grant`.
///
/// # Safety
/// `grant` was written by `gx_verify` and its buffer is still valid.
unsafe fn granted<'a>(grant: &'a GxGrant) -> impl Iterator<Item = &'a [u8]> + 'a {
    grant
        .scopes
        .iter()
        .take(grant.scope_count.min(GX_MAX_SCOPES))
        // SAFETY: gx_verify pointed these into the still-valid decode buffer.
        .map(|s| unsafe { s.as_bytes() }.unwrap_or_default())
}

/// Whether `grant` holds the scope `scope` (`scope_len` bytes; exact, case-sensitive
/// match, as the hosted service compares scopes). `false` for a NULL argument.
///
/// Ownership: both are read during the call only.
///
/// # Safety
/// `grant` is NULL or was written by `gx_verify` with its decode buffer still valid;
/// `scope` is readable for `scope_len` bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn gx_grant_has_scope(
    grant: *const GxGrant,
    scope: *const u8,
    scope_len: usize,
) -> bool {
    // SAFETY: per the caller's contract.
    let (Ok(grant), Ok(scope)) = (unsafe { deref(grant) }, unsafe { bytes(scope, scope_len) })
    else {
        return false;
    };
    // SAFETY: per the caller's contract.
    unsafe { granted(grant) }.any(|g| g == scope)
}

/// Checks that `grant` holds every one of `scopes` (`count` of them): `GX_ERROR_OK`, or
/// `GX_ERROR_SCOPE_VIOLATION` when any is missing; `GX_ERROR_NULL_ARGUMENT`.
///
/// Ownership: everything is read during the call only.
///
/// # Safety
/// As `gx_grant_has_scope`; `scopes` points to `count` valid `gx_str`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn gx_grant_enforce_scopes(
    grant: *const GxGrant,
    scopes: *const GxStr,
    count: usize,
) -> GxError {
    status((|| {
        // SAFETY: per the caller's contract.
        let grant = unsafe { deref(grant) }?;
        if count == 0 {
            return Ok(());
        }
        if scopes.is_null() {
            return Err(GxError::NullArgument);
        }
        if count > isize::MAX as usize / size_of::<GxStr>() {
            return Err(GxError::InvalidArgument);
        }
        // SAFETY: `count` valid elements per the caller's contract.
        let wanted = unsafe { core::slice::from_raw_parts(scopes, count) };
        for w in wanted {
            // SAFETY: per the caller's contract.
            let w = unsafe { w.as_bytes() }?;
            // SAFETY: per the caller's contract.
            if !unsafe { granted(grant) }.any(|g| g == w) {
                return Err(GxError::ScopeViolation);
            }
        }
        Ok(())
    })())
}
