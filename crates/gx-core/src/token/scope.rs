//! Scope checks on a verified grant: `has_scope` and `enforce_scopes`.
//!
//! Scopes compare as exact strings (no wildcards, no case folding), as the hosted
//! service compares them at sync time.

use super::error::VerifyError;
use super::grant::VerifiedGrant;
use super::missing::MissingScopes;

/// Whether `grant` holds `scope` (exact match).
pub fn has_scope(grant: &VerifiedGrant<'_>, scope: &str) -> bool {
    grant.has_scope(scope)
}

/// Checks that `grant` holds every scope of `required`.
///
/// # Errors
/// [`VerifyError::ScopeViolation`] listing every missing scope.
pub fn enforce_scopes<'a>(
    grant: &'a VerifiedGrant<'a>,
    required: &'a [&'a str],
) -> Result<(), VerifyError<'a>> {
    let missing = MissingScopes::listed(required, grant.scopes());
    if missing.is_empty() {
        Ok(())
    } else {
        Err(VerifyError::ScopeViolation(missing))
    }
}
