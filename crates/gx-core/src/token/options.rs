//! How a verifier judges tokens: [`VerifierOptions`], the missing-scope policy, and the
//! options a verifier refuses. A leaf: it depends on no other token module but the
//! scope-mask limit.

use core::fmt;

use super::missing::MAX_REQUIRED_SCOPES;

/// What to do when a grant lacks a required scope.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum MissingScopePolicy {
    /// Fail with `SCOPE_VIOLATION` (the default).
    #[default]
    Reject,
    /// Accept, and report the missing scopes in
    /// [`VerifiedGrant::missing_scopes`](crate::VerifiedGrant::missing_scopes). This is the published clients' "log" mode; a
    /// no_std core cannot log, so the caller must.
    Report,
}

/// How a [`Verifier`](crate::Verifier) judges tokens. Build with [`VerifierOptions::new`] and the
/// `with_*` methods.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct VerifierOptions<'a> {
    pub(crate) clock_skew_secs: u64,
    pub(crate) required_scopes: &'a [&'a str],
    pub(crate) on_missing_scope: MissingScopePolicy,
    pub(crate) max_delegation_depth: Option<u32>,
    pub(crate) issuer: Option<&'a str>,
    pub(crate) audience: Option<&'a str>,
    pub(crate) enforce_snapshot_expiry: bool,
}

impl Default for VerifierOptions<'_> {
    fn default() -> Self {
        Self::new()
    }
}

impl<'a> VerifierOptions<'a> {
    /// Defaults: 30 s clock skew, no required scopes, no depth limit, any issuer and
    /// audience, the snapshot's `validUntil` enforced.
    pub const fn new() -> Self {
        Self {
            clock_skew_secs: 30,
            required_scopes: &[],
            on_missing_scope: MissingScopePolicy::Reject,
            max_delegation_depth: None,
            issuer: None,
            audience: None,
            enforce_snapshot_expiry: true,
        }
    }

    /// Tolerates this much clock difference on `exp`, `nbf`, `iat` and `validUntil`.
    pub const fn with_clock_skew_secs(mut self, secs: u64) -> Self {
        self.clock_skew_secs = secs;
        self
    }

    /// Every verified grant must hold these scopes (at most [`MAX_REQUIRED_SCOPES`]).
    pub const fn with_required_scopes(mut self, scopes: &'a [&'a str]) -> Self {
        self.required_scopes = scopes;
        self
    }

    /// What to do when a required scope is missing.
    pub const fn with_missing_scope_policy(mut self, policy: MissingScopePolicy) -> Self {
        self.on_missing_scope = policy;
        self
    }

    /// Refuses grants delegated more than `max` times.
    pub const fn with_max_delegation_depth(mut self, max: u32) -> Self {
        self.max_delegation_depth = Some(max);
        self
    }

    /// Requires `iss` to equal `issuer`.
    pub const fn with_issuer(mut self, issuer: &'a str) -> Self {
        self.issuer = Some(issuer);
        self
    }

    /// Requires `aud` to be or contain `audience`.
    pub const fn with_audience(mut self, audience: &'a str) -> Self {
        self.audience = Some(audience);
        self
    }

    /// Accepts tokens after the snapshot's `validUntil`.
    ///
    /// **Danger:** a snapshot past `validUntil` may hold keys the issuer has since
    /// rotated out. Only for tools that inspect old bundles.
    pub const fn dangerous_ignore_snapshot_expiry(mut self) -> Self {
        self.enforce_snapshot_expiry = false;
        self
    }
}

/// Options a [`Verifier`](crate::Verifier) cannot work with: a caller mistake, never caused by a token.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum OptionsError {
    /// More than [`MAX_REQUIRED_SCOPES`] required scopes.
    TooManyRequiredScopes(usize),
}

impl fmt::Display for OptionsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::TooManyRequiredScopes(n) => {
                write!(
                    f,
                    "{n} required scopes, at most {MAX_REQUIRED_SCOPES} supported"
                )
            }
        }
    }
}

impl core::error::Error for OptionsError {}
