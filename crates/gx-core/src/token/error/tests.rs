//! Tests of the error-to-code mapping: every code of docs/verification.md, each stable.

extern crate alloc;

use super::*;

#[test]
fn every_code_of_the_issue_is_produced() {
    let m = MissingScopes::NONE;
    let all: [(VerifyError<'_>, &str); 19] = [
        (
            VerifyError::Malformed(Malformed::Segments),
            "MALFORMED_TOKEN",
        ),
        (
            VerifyError::DuplicateMember {
                part: Part::Header,
                name: "alg",
            },
            "MALFORMED_TOKEN",
        ),
        (
            VerifyError::BlockedAlgorithm { alg: "none" },
            "BLOCKED_ALGORITHM",
        ),
        (
            VerifyError::UnsupportedAlgorithm { alg: "ES256" },
            "UNSUPPORTED_ALGORITHM",
        ),
        (VerifyError::MissingKid, "MISSING_KID"),
        (VerifyError::KidNotFound { kid: "k" }, "KID_NOT_FOUND"),
        (VerifyError::NoUsableKeys, "NO_USABLE_KEYS"),
        (VerifyError::BadSignature, "BAD_SIGNATURE"),
        (
            VerifyError::Expired {
                exp: UnixTime::EPOCH,
            },
            "TOKEN_EXPIRED",
        ),
        (
            VerifyError::NotYetValid {
                nbf: UnixTime::EPOCH,
            },
            "TOKEN_NOT_YET_VALID",
        ),
        (
            VerifyError::FutureIat {
                iat: UnixTime::EPOCH,
            },
            "FUTURE_IAT",
        ),
        (VerifyError::MissingClaim { claim: "sub" }, "MISSING_CLAIM"),
        (
            VerifyError::InvalidClaim {
                claim: "scp",
                reason: "is empty",
            },
            "INVALID_CLAIM",
        ),
        (VerifyError::ScopeViolation(m), "SCOPE_VIOLATION"),
        (
            VerifyError::DelegationDepthExceeded { depth: 3, max: 2 },
            "DELEGATION_DEPTH_EXCEEDED",
        ),
        (
            VerifyError::SnapshotExpired {
                valid_until: UnixTime::EPOCH,
            },
            "JWKS_SNAPSHOT_EXPIRED",
        ),
        (
            VerifyError::IssuerMismatch { found: "x" },
            "ISSUER_MISMATCH",
        ),
        (VerifyError::AudienceMismatch, "AUDIENCE_MISMATCH"),
        (VerifyError::TooLarge(Limit::Scopes), "TOKEN_TOO_LARGE"),
    ];
    for (e, code) in all {
        assert_eq!(e.code(), code);
        let text = alloc::format!("{e}");
        assert!(text.starts_with(code), "{text}");
    }
}

#[test]
fn messages_name_what_is_at_fault() {
    let text = |e: VerifyError<'_>| alloc::format!("{e}");
    assert!(
        text(VerifyError::KidNotFound {
            kid: "grantex-2026-12"
        })
        .contains("grantex-2026-12")
    );
    assert!(text(VerifyError::MissingClaim { claim: "agt" }).contains("agt"));
    assert!(
        text(VerifyError::InvalidClaim {
            claim: "delegationDepth",
            reason: "x"
        })
        .contains("delegationDepth")
    );
    let required = ["read:contacts", "write:calendar", "admin"];
    let m = MissingScopes::masked(&required, &["read:contacts"]);
    assert_eq!(
        text(VerifyError::ScopeViolation(m)),
        "SCOPE_VIOLATION: missing scopes: write:calendar, admin"
    );
}
