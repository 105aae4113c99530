//! `NativeVerifier`: gx-core's [`Verifier`] over one parsed JWKS snapshot.
//!
//! The snapshot is parsed once, when the Python verifier is made; each `verify` builds a
//! `Verifier` (a few words on the stack) and runs it with the GIL released. Memory: the
//! decode buffer is [`DECODE_BUF_LEN`] bytes on the heap per call; the grant's strings
//! are copied out into Python strings.

use gx_core::{
    AwsLcRs, DECODE_BUF_LEN, JwksSnapshot, MissingScopePolicy, UnixTime, Verifier, VerifierOptions,
    VerifyError,
};
use pyo3::prelude::*;

use crate::error::gx_error;

/// What a successful verify hands back to Python: `(agent_did, principal, scopes,
/// exp_secs, jti, grant_id, depth, missing_scopes)`.
type GrantTuple = (
    String,
    String,
    Vec<String>,
    u64,
    String,
    String,
    u32,
    Vec<String>,
);

/// An error crossing out of the GIL-free section: code, message, detail.
type Failure = (&'static str, String, Option<String>);

/// An offline verifier for one JWKS snapshot (the `keys`, `fetchedAt`, `validUntil` JSON).
#[pyclass(frozen, module = "grantex_gemma._native")]
pub(crate) struct NativeVerifier {
    /// The parsed snapshot, or why it did not parse (raised at `verify`, as the original
    /// client fails only when it verifies).
    snapshot: Result<JwksSnapshot<AwsLcRs>, (&'static str, String)>,
    required: Vec<String>,
    report_missing: bool,
    skew: u64,
    max_depth: Option<u32>,
}

#[pymethods]
impl NativeVerifier {
    #[new]
    #[pyo3(signature = (jwks_json, clock_skew_secs, required_scopes, report_missing, max_delegation_depth=None))]
    fn new(
        py: Python<'_>,
        jwks_json: &str,
        clock_skew_secs: u64,
        required_scopes: Vec<String>,
        report_missing: bool,
        max_delegation_depth: Option<u32>,
    ) -> Self {
        let snapshot = py.detach(|| {
            JwksSnapshot::<AwsLcRs>::parse(jwks_json.as_bytes())
                .map_err(|e| (e.code(), e.to_string()))
        });
        Self {
            snapshot,
            required: required_scopes,
            report_missing,
            skew: clock_skew_secs,
            max_depth: max_delegation_depth,
        }
    }

    /// Verifies `token` at `now_ms` (milliseconds since the epoch; the system clock when
    /// `None`). Raises `GxError` with gx's code for the first check that fails.
    #[pyo3(signature = (token, now_ms=None))]
    fn verify(&self, py: Python<'_>, token: &str, now_ms: Option<u64>) -> PyResult<GrantTuple> {
        py.detach(|| self.run(token, now_ms))
            .map_err(|(code, message, detail)| gx_error(code, message, detail))
    }
}

impl NativeVerifier {
    fn run(&self, token: &str, now_ms: Option<u64>) -> Result<GrantTuple, Failure> {
        let snapshot = self
            .snapshot
            .as_ref()
            .map_err(|(code, msg)| (*code, msg.clone(), None))?;
        let required: Vec<&str> = self.required.iter().map(String::as_str).collect();
        let policy = if self.report_missing {
            MissingScopePolicy::Report
        } else {
            MissingScopePolicy::Reject
        };
        // The snapshot's validUntil is checked below, after the token's own checks, so
        // that a token that is bad in itself reports that cause first.
        let mut options = VerifierOptions::new()
            .with_clock_skew_secs(self.skew)
            .with_required_scopes(&required)
            .with_missing_scope_policy(policy)
            .dangerous_ignore_snapshot_expiry();
        if let Some(max) = self.max_depth {
            options = options.with_max_delegation_depth(max);
        }
        let verifier = Verifier::new(snapshot, options)
            .map_err(|e| ("TOO_MANY_REQUIRED_SCOPES", e.to_string(), None))?;
        let now = now_ms.map_or_else(UnixTime::now, UnixTime::from_millis);
        let mut buf = vec![0u8; DECODE_BUF_LEN];
        let grant = verifier
            .verify(token, now, &mut buf)
            .map_err(|e| failure(&e))?;
        // Stricter than gx-core with a one-key snapshot, as the Python client 0.1.2 is:
        // a token must name its key.
        if grant.kid().is_none() {
            return Err((
                "MISSING_KID",
                "MISSING_KID: the token header has no kid".to_owned(),
                None,
            ));
        }
        if let Some(valid_until) = snapshot.valid_until()
            && now.saturating_sub_secs(self.skew) > valid_until
        {
            let e = VerifyError::SnapshotExpired { valid_until };
            return Err((e.code(), e.to_string(), None));
        }
        Ok((
            grant.agent_did().to_owned(),
            grant.principal().to_owned(),
            grant.scopes().iter().map(|s| (*s).to_owned()).collect(),
            grant.expires_at().as_secs(),
            grant.jti().to_owned(),
            grant.grant_id().to_owned(),
            grant.delegation_depth(),
            grant.missing_scopes().iter().map(str::to_owned).collect(),
        ))
    }
}

/// gx's code and message, and the value the Python side words its message with.
fn failure(e: &VerifyError<'_>) -> Failure {
    let detail = match e {
        VerifyError::BlockedAlgorithm { alg } | VerifyError::UnsupportedAlgorithm { alg } => {
            Some((*alg).to_owned())
        }
        VerifyError::KidNotFound { kid } => Some((*kid).to_owned()),
        VerifyError::MissingClaim { claim } | VerifyError::InvalidClaim { claim, .. } => {
            Some((*claim).to_owned())
        }
        VerifyError::ScopeViolation(missing) => Some(missing.iter().collect::<Vec<_>>().join(", ")),
        VerifyError::DelegationDepthExceeded { depth, max } => Some(format!("{depth} {max}")),
        VerifyError::Expired { exp } => Some(exp.as_secs().to_string()),
        _ => None,
    };
    (e.code(), e.to_string(), detail)
}
