//! Limits: token size, scope count, JSON depth, the caller's buffer; all clean errors.

use gx_core::{
    DECODE_BUF_LEN, JwksSnapshot, Limit, MAX_TOKEN_LEN, RustCrypto, Verifier, VerifierOptions,
    VerifyError,
};

use super::util::{self, NOW};

#[test]
fn oversized_inputs_are_refused_before_any_work() {
    let snap = util::snapshot::<RustCrypto>("jwks");
    let verifier = Verifier::new(&snap, VerifierOptions::new()).unwrap();
    let mut buf = vec![0u8; DECODE_BUF_LEN];
    let huge = "A".repeat(MAX_TOKEN_LEN + 1);
    assert_eq!(
        verifier.verify(&huge, NOW, &mut buf).unwrap_err(),
        VerifyError::TooLarge(Limit::TokenBytes(MAX_TOKEN_LEN + 1))
    );
    // 10 MiB of dots and letters: refused by length, no scan of the content.
    let giant = "a.".repeat(5 << 20);
    assert_eq!(
        verifier.verify(&giant, NOW, &mut buf).unwrap_err().code(),
        "TOKEN_TOO_LARGE"
    );
}

#[test]
fn a_small_buffer_is_a_clean_error() {
    let snap = util::snapshot::<RustCrypto>("jwks");
    let verifier = Verifier::new(&snap, VerifierOptions::new()).unwrap();
    let token = util::RS256_2048.trim();
    let mut tiny = [0u8; 64];
    let err = verifier.verify(token, NOW, &mut tiny).unwrap_err();
    assert!(
        matches!(err, VerifyError::TooLarge(Limit::Buffer { needed }) if needed > 64),
        "{err}"
    );
    // Exactly what the decoded header and claims need is enough.
    let (h, rest) = token.split_once('.').unwrap();
    let (c, _) = rest.split_once('.').unwrap();
    let needed = h.len() * 3 / 4 + c.len() * 3 / 4;
    let mut exact = vec![0u8; needed];
    assert!(verifier.verify(token, NOW, &mut exact).is_ok());
}

#[test]
fn too_many_required_scopes_is_a_caller_error() {
    let snap: JwksSnapshot<RustCrypto> = util::snapshot("jwks");
    let many: Vec<&str> = (0..=gx_core::MAX_REQUIRED_SCOPES).map(|_| "s").collect();
    let err = Verifier::new(&snap, VerifierOptions::new().with_required_scopes(&many)).unwrap_err();
    assert_eq!(
        err,
        gx_core::OptionsError::TooManyRequiredScopes(gx_core::MAX_REQUIRED_SCOPES + 1)
    );
}

#[test]
fn deep_jwks_nesting_is_refused() {
    let mut doc = String::from(r#"{"keys":[],"x":"#);
    doc.push_str(&"[".repeat(1 << 20));
    assert_eq!(
        JwksSnapshot::<RustCrypto>::parse(doc.as_bytes())
            .unwrap_err()
            .code(),
        "MALFORMED_JWKS"
    );
}
