//! The result of a successful verification, [`VerifiedGrant`], and the checks that
//! depend on the time and on the verifier's options (time, issuer, audience, delegation
//! depth, scopes): the part of verification that runs again on every memo hit.

use super::error::VerifyError;
use super::missing::MissingScopes;
use super::options::{MissingScopePolicy, VerifierOptions};
use crate::UnixTime;

/// The most scopes a grant may hold (the protocol's bound).
pub const MAX_SCOPES: usize = 100;
/// The most entries an `aud` array may hold.
pub const MAX_AUDIENCES: usize = 16;

/// A grant token whose signature, claims and policy checks all passed.
///
/// Borrows the caller's decode buffer (and the verifier's options and snapshot); copy
/// what you need to keep.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifiedGrant<'a> {
    pub(super) agent_did: &'a str,
    pub(super) principal: &'a str,
    // Plain arrays, not `heapless::Vec`: a type without `Drop` lets the borrow of the
    // caller's buffer end at the grant's last use.
    pub(super) scopes: [&'a str; MAX_SCOPES],
    pub(super) scope_count: usize,
    pub(super) expires_at: UnixTime,
    pub(super) not_before: Option<UnixTime>,
    pub(super) issued_at: Option<UnixTime>,
    pub(super) jti: &'a str,
    pub(super) grant_id: &'a str,
    pub(super) delegation_depth: u32,
    pub(super) issuer: Option<&'a str>,
    pub(super) audience: [&'a str; MAX_AUDIENCES],
    pub(super) audience_count: usize,
    pub(super) developer_id: Option<&'a str>,
    pub(super) kid: Option<&'a str>,
    pub(super) missing_scopes: MissingScopes<'a>,
}

impl VerifiedGrant<'static> {
    /// A grant with every field empty, for filling in place.
    pub(super) const EMPTY: Self = Self {
        agent_did: "",
        principal: "",
        scopes: [""; MAX_SCOPES],
        scope_count: 0,
        expires_at: UnixTime::EPOCH,
        not_before: None,
        issued_at: None,
        jti: "",
        grant_id: "",
        delegation_depth: 0,
        issuer: None,
        audience: [""; MAX_AUDIENCES],
        audience_count: 0,
        developer_id: None,
        kid: None,
        missing_scopes: MissingScopes::NONE,
    };
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
        self.scopes().contains(&scope)
    }

    /// The checks that depend on `now` and on the options, in the documented order:
    /// time (with the skew in the token's favour), issuer, audience, delegation depth,
    /// scopes. In report mode the missing scopes are recorded in the grant.
    pub(super) fn check(
        &mut self,
        opts: &VerifierOptions<'a>,
        now: UnixTime,
    ) -> Result<(), VerifyError<'a>> {
        let skew = opts.clock_skew_secs;
        if now.saturating_sub_secs(skew) >= self.expires_at {
            return Err(VerifyError::Expired {
                exp: self.expires_at,
            });
        }
        if let Some(nbf) = self.not_before
            && now.saturating_add_secs(skew) < nbf
        {
            return Err(VerifyError::NotYetValid { nbf });
        }
        if let Some(iat) = self.issued_at
            && iat > now.saturating_add_secs(skew)
        {
            return Err(VerifyError::FutureIat { iat });
        }
        if let Some(expected) = opts.issuer {
            match self.issuer {
                None => return Err(VerifyError::MissingClaim { claim: "iss" }),
                Some(found) if found != expected => {
                    return Err(VerifyError::IssuerMismatch { found });
                }
                Some(_) => {}
            }
        }
        if let Some(expected) = opts.audience {
            // `aud`, when present, holds at least one entry.
            if self.audience_count == 0 {
                return Err(VerifyError::MissingClaim { claim: "aud" });
            }
            if !self.audience().contains(&expected) {
                return Err(VerifyError::AudienceMismatch);
            }
        }
        if let Some(max) = opts.max_delegation_depth
            && self.delegation_depth > max
        {
            return Err(VerifyError::DelegationDepthExceeded {
                depth: self.delegation_depth,
                max,
            });
        }
        if !opts.required_scopes.is_empty() {
            let missing = MissingScopes::masked(opts.required_scopes, self.scopes());
            if !missing.is_empty() {
                if opts.on_missing_scope == MissingScopePolicy::Reject {
                    return Err(VerifyError::ScopeViolation(missing));
                }
                self.missing_scopes = missing;
            }
        }
        Ok(())
    }
}
