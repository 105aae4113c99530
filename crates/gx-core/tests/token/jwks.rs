//! JWKS snapshot parsing: usable keys, skipped keys with reasons, document errors.

use gx_core::{CryptoProvider, JwksSnapshot, SkipReason, UnixTime};

use super::util::{self, for_each_provider};

fn fixture_keys<P: CryptoProvider + Default>(provider: &str) {
    let snap = util::snapshot::<P>("jwks");
    assert_eq!(
        snap.kids().collect::<Vec<_>>(),
        [Some("gx-2048"), Some("gx-3072"), Some("gx-4096")],
        "{provider}"
    );
    let skipped: Vec<_> = snap
        .skipped()
        .iter()
        .map(|s| (s.index, s.kid.as_deref(), s.reason))
        .collect();
    assert_eq!(
        skipped,
        [
            (0, Some("ec-p256"), SkipReason::NotRsa),
            (4, Some("audit-ed25519"), SkipReason::NotRsa),
            (5, Some("gx-1024"), SkipReason::ModulusTooSmall(1024)),
            (6, Some("gx-rs512"), SkipReason::WrongAlg),
            (7, Some("gx-enc"), SkipReason::WrongUse),
            (8, Some("gx-even-e"), SkipReason::BadExponent),
            (9, Some("gx-2048"), SkipReason::DuplicateKid),
            (10, None, SkipReason::BadKid),
        ],
        "{provider}"
    );
    assert_eq!(snap.valid_until(), None);
    let unusable = util::snapshot::<P>("jwks_unusable");
    assert_eq!(unusable.usable_keys(), 0);
    assert_eq!(unusable.skipped().len(), 3);

    let snap = util::snapshot::<P>("snapshot");
    assert_eq!(
        snap.fetched_at(),
        Some(UnixTime::parse_iso("2026-11-27T03:55:06.000Z").unwrap())
    );
    assert_eq!(
        snap.valid_until(),
        Some(UnixTime::parse_iso("2026-11-28T03:55:06.000Z").unwrap())
    );
    // The same keys give the same fingerprint, other keys another.
    assert_eq!(
        snap.fingerprint(),
        util::snapshot::<P>("jwks_single").fingerprint()
    );
    assert_ne!(
        snap.fingerprint(),
        util::snapshot::<P>("jwks").fingerprint()
    );
}

#[test]
fn fixture_keys_with_every_provider() {
    for_each_provider!(fixture_keys);
}

#[test]
fn fingerprints_do_not_depend_on_the_provider() {
    let a = util::snapshot::<gx_core::RustCrypto>("jwks");
    #[cfg(feature = "aws-lc-rs")]
    assert_eq!(
        a.fingerprint(),
        util::snapshot::<gx_core::AwsLcRs>("jwks").fingerprint()
    );
    assert_ne!(a.fingerprint(), &[0; 32]);
}

type Snap = JwksSnapshot<gx_core::RustCrypto>;

#[test]
fn document_errors() {
    for (doc, code) in [
        ("", "MALFORMED_JWKS"),
        ("[]", "MALFORMED_JWKS"),
        (r#"{"keys":[],"keys":[]}"#, "MALFORMED_JWKS"),
        ("{}", "MISSING_KEYS"),
        (r#"{"keys":{}}"#, "MISSING_KEYS"),
        (r#"{"keys":[],"validUntil":"tomorrow"}"#, "BAD_TIMESTAMP"),
        (r#"{"keys":[],"fetchedAt":1}"#, "BAD_TIMESTAMP"),
    ] {
        assert_eq!(
            Snap::parse(doc.as_bytes()).unwrap_err().code(),
            code,
            "{doc}"
        );
    }
    let many = format!(
        r#"{{"keys":[{}]}}"#,
        vec![r#"{"kty":"EC"}"#; gx_core::MAX_KEYS + 1].join(",")
    );
    assert_eq!(
        Snap::parse(many.as_bytes()).unwrap_err().code(),
        "TOO_MANY_KEYS"
    );
    let full = format!(
        r#"{{"keys":[{}]}}"#,
        vec![r#"{"kty":"EC"}"#; gx_core::MAX_KEYS].join(",")
    );
    assert_eq!(
        Snap::parse(full.as_bytes()).unwrap().skipped().len(),
        gx_core::MAX_KEYS
    );
    // The Python client writes microseconds and an offset.
    let py = r#"{"keys":[],"fetchedAt":"2026-11-27T03:55:06.123456+00:00","validUntil":"2026-11-30T03:55:06+00:00"}"#;
    let snap = Snap::parse(py.as_bytes()).unwrap();
    assert_eq!(snap.valid_until(), Some(UnixTime::from_secs(1_796_010_906)));
    assert_eq!(snap.usable_keys(), 0);
}

#[test]
fn key_level_problems_are_skipped_with_a_reason() {
    let n2048 = {
        let doc: serde_json::Value = serde_json::from_str(util::JWKS_SINGLE).unwrap();
        doc["keys"][0]["n"].as_str().unwrap().to_owned()
    };
    let even_n = {
        // Flip the last base64url character to make the modulus even (…+1 or -1 on the last bits).
        let mut s = n2048.clone();
        let last = s.pop().unwrap();
        let idx = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
            .find(last)
            .unwrap();
        s.push(
            "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".as_bytes()
                [idx & !0b01_0000] as char,
        );
        s
    };
    let cases = [
        (
            format!(r#"{{"kty":"RSA","n":"{n2048}","e":"AQ"}}"#),
            SkipReason::BadExponent,
        ),
        (
            format!(r#"{{"kty":"RSA","n":"{n2048}","e":"Aw"}}"#),
            SkipReason::DuplicateKid,
        ),
        (
            format!(r#"{{"kty":"RSA","n":"{n2048}","e":"AgAAAAE"}}"#),
            SkipReason::BadExponent,
        ),
        (
            format!(r#"{{"kty":"RSA","n":"{n2048}"}}"#),
            SkipReason::BadEncoding,
        ),
        (
            format!(r#"{{"kty":"RSA","n":"{n2048}=","e":"AQAB"}}"#),
            SkipReason::BadEncoding,
        ),
        (
            format!(r#"{{"kty":"RSA","n":"{even_n}","e":"AQAB"}}"#),
            SkipReason::EvenModulus,
        ),
        (
            format!(r#"{{"kty":"RSA","n":"{n2048}{n2048}{n2048}{n2048}{n2048}","e":"AQAB"}}"#),
            SkipReason::ModulusTooLarge(10256),
        ),
        (
            format!(
                r#"{{"kty":"RSA","kid":"{}","n":"{n2048}","e":"AQAB"}}"#,
                "k".repeat(65)
            ),
            SkipReason::BadKid,
        ),
        (r#"[1]"#.to_owned(), SkipReason::NotAnObject),
        (
            r#"{"kty":"RSA","kty":"RSA"}"#.to_owned(),
            SkipReason::NotAnObject,
        ),
        (r#"{"kty":"rsa"}"#.to_owned(), SkipReason::NotRsa),
    ];
    // First a usable key without kid, so the second kid-less key is a duplicate.
    let keys: Vec<_> = cases.iter().map(|(k, _)| k.as_str()).collect();
    let doc = format!(
        r#"{{"keys":[{{"kty":"RSA","n":"{n2048}","e":"AQAB","alg":"RS256","use":"sig"}},{}]}}"#,
        keys.join(",")
    );
    let snap = Snap::parse(doc.as_bytes()).unwrap();
    assert_eq!(snap.kids().collect::<Vec<_>>(), [None]);
    let reasons: Vec<_> = snap.skipped().iter().map(|s| s.reason).collect();
    let want: Vec<_> = cases.iter().map(|(_, r)| *r).collect();
    assert_eq!(reasons, want);
    for s in snap.skipped() {
        assert!(!s.reason.to_string().is_empty());
    }
}

/// `parse_in_place` fills caller storage (a `static` on a microcontroller) with what
/// `parse` returns, and a document error leaves it without keys (firmware reuses one snapshot's memory).
#[test]
fn parse_in_place_matches_parse_and_clears_on_error() {
    let text = util::JWKS;
    let parsed = JwksSnapshot::<gx_core::RustCrypto>::parse(text.as_bytes()).unwrap();
    let mut slot = JwksSnapshot::empty(gx_core::RustCrypto);
    assert_eq!(slot.usable_keys(), 0);
    slot.parse_in_place(text.as_bytes()).unwrap();
    assert_eq!(slot.fingerprint(), parsed.fingerprint());
    assert!(slot.kids().eq(parsed.kids()));
    assert_eq!(slot.skipped(), parsed.skipped());
    // Parsing again replaces, not appends.
    slot.parse_in_place(text.as_bytes()).unwrap();
    assert_eq!(slot.usable_keys(), parsed.usable_keys());
    // Usable keys first, then too many entries: the error leaves nothing behind.
    let mut doc: serde_json::Value = serde_json::from_str(text).unwrap();
    let keys = doc["keys"].as_array_mut().unwrap();
    keys.resize(gx_core::MAX_KEYS + 1, serde_json::json!({}));
    let too_many = doc.to_string();
    assert_eq!(
        slot.parse_in_place(too_many.as_bytes()).unwrap_err().code(),
        "TOO_MANY_KEYS"
    );
    assert_eq!(slot.usable_keys(), 0);
    assert!(slot.skipped().is_empty());
}
