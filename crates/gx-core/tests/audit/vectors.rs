//! The committed vectors of `fixtures/audit/` (made by node, see fixtures/README.md):
//! metadata canonicalisation, a signed wire-format chain, and the test key in every form.

use gx_core::{
    AuditSigningKey, AuditVerifyingKey, ChainAnchor, ChainVerifier, KeyError, Metadata,
    SignedAuditEntry,
};

const METADATA: &str = include_str!("../../../../fixtures/audit/metadata_vectors.jsonl");
const CHAIN: &str = include_str!("../../../../fixtures/audit/signed_chain.jsonl");
const PKCS8: &str = include_str!("../../../../fixtures/audit/test_key_pkcs8.pem");
const SPKI: &str = include_str!("../../../../fixtures/audit/test_key_spki.pem");
const JWK: &str = include_str!("../../../../fixtures/audit/test_key_jwk.json");

#[test]
fn metadata_vectors_canonicalise_like_node() {
    let mut n = 0;
    for line in METADATA.lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        let input = v["input"].as_str().unwrap();
        let want = v["canonical"].as_str().unwrap();
        let mut buf = [0u8; 4096];
        let len = Metadata::parse(input)
            .unwrap()
            .write_canonical(&mut buf)
            .unwrap();
        assert_eq!(core::str::from_utf8(&buf[..len]).unwrap(), want, "{input}");
        n += 1;
    }
    assert!(n >= 18);
}

#[test]
fn signed_chain_verifies_round_trips_and_re_signs_identically() {
    let sk = AuditSigningKey::from_pkcs8_pem(PKCS8).unwrap();
    let vk = AuditVerifyingKey::from_spki_pem(SPKI).unwrap();
    assert_eq!(sk.verifying_key(), vk);
    let mut v = ChainVerifier::new(ChainAnchor::Genesis, &vk);
    for line in CHAIN.lines() {
        let e = SignedAuditEntry::parse_line(line.as_bytes()).unwrap();
        v.push(&e).unwrap();
        // Our writer reproduces the TS client's JSON.stringify byte for byte...
        let mut buf = [0u8; 4096];
        let n = e.write_json(&mut buf).unwrap();
        assert_eq!(core::str::from_utf8(&buf[..n]).unwrap(), line);
        // ...and our signer node's signature (Ed25519 is deterministic).
        let again = sk.sign_entry(e.entry).unwrap();
        assert_eq!(again, e);
    }
    assert_eq!(v.finish().unwrap().entries, 24);
}

#[test]
fn keys_read_and_write_every_form() {
    let sk = AuditSigningKey::from_pkcs8_pem(PKCS8).unwrap();
    let seed: [u8; 32] = core::array::from_fn(|i| i as u8 + 1);
    let vk = AuditSigningKey::from_bytes(&seed).verifying_key();
    assert_eq!(sk.verifying_key(), vk);
    assert_eq!(sk.to_pkcs8_pem().as_str(), PKCS8);
    assert_eq!(vk.to_spki_pem().as_str(), SPKI);
    assert_eq!(AuditSigningKey::from_jwk(JWK).unwrap().verifying_key(), vk);
    assert_eq!(AuditVerifyingKey::from_jwk(JWK).unwrap(), vk);
    let jwk: serde_json::Value = serde_json::from_str(JWK).unwrap();
    assert_eq!(vk.jwk_x().as_str(), jwk["x"].as_str().unwrap());
    assert_eq!(
        AuditVerifyingKey::from_jwk_x(vk.jwk_x().as_str()).unwrap(),
        vk
    );
    assert_eq!(
        AuditVerifyingKey::from_jwk(vk.to_jwk().as_str()).unwrap(),
        vk
    );
    assert_eq!(AuditVerifyingKey::from_bytes(&vk.to_bytes()).unwrap(), vk);
    // Secrets never show in Debug.
    let dbg = format!("{sk:?}");
    assert!(
        dbg.contains("redacted") && !dbg.contains(jwk["d"].as_str().unwrap()),
        "{dbg}"
    );
}

#[test]
fn malformed_keys_are_refused_with_their_code() {
    assert_eq!(
        AuditSigningKey::from_pkcs8_pem(SPKI).unwrap_err(),
        KeyError::Pem
    );
    assert_eq!(
        AuditVerifyingKey::from_spki_pem(PKCS8).unwrap_err(),
        KeyError::Pem
    );
    assert_eq!(
        AuditVerifyingKey::from_spki_pem("").unwrap_err(),
        KeyError::Pem
    );
    let junk = "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n";
    assert_eq!(
        AuditVerifyingKey::from_spki_pem(junk).unwrap_err(),
        KeyError::Der
    );
    assert_eq!(
        AuditVerifyingKey::from_spki_der(&[0; 44]).unwrap_err(),
        KeyError::Der
    );
    assert_eq!(
        AuditSigningKey::from_pkcs8_der(&[0; 48]).unwrap_err(),
        KeyError::Der
    );
    for jwk in [
        r#"{"kty":"RSA","crv":"Ed25519","x":"ebVWLo_mVPlAeLES6KmLp5AfhTrmlb7X4OORC60ElmQ"}"#,
        r#"{"kty":"OKP","crv":"X25519","x":"ebVWLo_mVPlAeLES6KmLp5AfhTrmlb7X4OORC60ElmQ"}"#,
        r#"{"kty":"OKP","crv":"Ed25519","x":"ebVWLo_mVPlAeLES6KmLp5AfhTrmlb7X4OORC60Elm"}"#,
        r#"{"kty":"OKP","crv":"Ed25519"}"#,
        "[]",
    ] {
        assert_eq!(
            AuditVerifyingKey::from_jwk(jwk).unwrap_err(),
            KeyError::Jwk,
            "{jwk}"
        );
    }
    let wrong_x = JWK.replace("ebVWLo", "fbVWLo");
    assert_eq!(
        AuditSigningKey::from_jwk(&wrong_x).unwrap_err(),
        KeyError::MismatchedPublicKey
    );
    assert_eq!(KeyError::Der.code(), "KEY_BAD_DER");
}
