//! The token written by the published clients' issuer (`fixtures/peer/`) verifies, with
//! the claims of `claims.json`.

use gx_core::{CryptoProvider, DECODE_BUF_LEN, UnixTime, Verifier, VerifierOptions};

use super::util::{self, NOW, for_each_provider};

fn peer_token_verifies<P: CryptoProvider + Default>(provider: &str) {
    let claims: serde_json::Value = serde_json::from_str(util::PEER_CLAIMS).unwrap();
    for jwks in ["peer", "peer_snapshot"] {
        let snap = util::snapshot::<P>(jwks);
        assert_eq!(snap.kids().collect::<Vec<_>>(), [Some("grantex-2026-11")]);
        let opts = VerifierOptions::new()
            .with_issuer("https://api.grantex.dev")
            .with_required_scopes(&["read:contacts", "write:calendar"]);
        let verifier = Verifier::new(&snap, opts).unwrap();
        let mut buf = [0u8; DECODE_BUF_LEN];
        let g = verifier
            .verify(util::PEER_TOKEN.trim(), NOW, &mut buf)
            .unwrap_or_else(|e| panic!("{provider}: {e}"));
        assert_eq!(g.agent_did(), claims["agt"]);
        assert_eq!(g.principal(), claims["sub"]);
        assert_eq!(g.jti(), claims["jti"]);
        assert_eq!(g.grant_id(), claims["grnt"]);
        assert_eq!(g.developer_id(), claims["dev"].as_str());
        assert_eq!(g.issuer(), claims["iss"].as_str());
        assert_eq!(g.scopes(), ["read:contacts", "write:calendar"]);
        assert_eq!(
            g.expires_at(),
            UnixTime::from_secs(claims["exp"].as_u64().unwrap())
        );
        assert_eq!(
            g.issued_at(),
            Some(UnixTime::from_secs(claims["iat"].as_u64().unwrap()))
        );
        assert_eq!(g.delegation_depth(), 0);
        assert_eq!(g.kid(), Some("grantex-2026-11"));
        assert!(g.missing_scopes().is_empty());
    }
}

#[test]
fn peer_token_verifies_with_every_provider() {
    for_each_provider!(peer_token_verifies);
}

fn peer_token_expires_with_its_snapshot<P: CryptoProvider + Default>(provider: &str) {
    let snap = util::snapshot::<P>("peer_snapshot");
    let verifier = Verifier::new(&snap, VerifierOptions::new()).unwrap();
    let mut buf = [0u8; DECODE_BUF_LEN];
    // exp and validUntil are both 2026-11-30T03:55:06Z; 30 s of skew past it is tolerated.
    let end = UnixTime::from_secs(1_796_010_906);
    assert!(
        verifier
            .verify(
                util::PEER_TOKEN.trim(),
                end.saturating_add_secs(29),
                &mut buf
            )
            .is_ok(),
        "{provider}"
    );
    let err = verifier
        .verify(
            util::PEER_TOKEN.trim(),
            end.saturating_add_secs(31),
            &mut buf,
        )
        .unwrap_err();
    assert_eq!(err.code(), "JWKS_SNAPSHOT_EXPIRED", "{provider}");
    // With the plain JWKS (no validUntil) the token's own exp is what fails.
    let plain = util::snapshot::<P>("peer");
    let verifier = Verifier::new(&plain, VerifierOptions::new()).unwrap();
    let err = verifier
        .verify(
            util::PEER_TOKEN.trim(),
            end.saturating_add_secs(30),
            &mut buf,
        )
        .unwrap_err();
    assert_eq!(err.code(), "TOKEN_EXPIRED", "{provider}");
    assert!(
        verifier
            .verify(
                util::PEER_TOKEN.trim(),
                end.saturating_add_secs(29),
                &mut buf
            )
            .is_ok()
    );
}

#[test]
fn peer_token_expiry_with_every_provider() {
    for_each_provider!(peer_token_expires_with_its_snapshot);
}
