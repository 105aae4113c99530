//! The verification memo: a hit skips only the signature check; time, scopes, depth
//! and the snapshot are re-checked on every call.

use gx_core::provider::CryptoProvider;
use gx_core::{DECODE_BUF_LEN, MemoSlot, UnixTime, VerificationMemo, Verifier, VerifierOptions};

use super::util::{self, NOW, for_each_provider};

fn memo_rechecks_everything_but_rsa<P: CryptoProvider + Default>(provider: &str) {
    let snap = util::snapshot::<P>("snapshot");
    let verifier = Verifier::new(&snap, VerifierOptions::new()).unwrap();
    let token = util::RS256_2048.trim();
    let mut buf = vec![0u8; DECODE_BUF_LEN];
    let mut slots = [MemoSlot::EMPTY; 4];
    let mut memo = VerificationMemo::new(&mut slots);

    let first = verifier
        .verify_memoized(token, NOW, &mut buf, &mut memo)
        .unwrap();
    assert_eq!(first.principal(), "user_1");
    assert_eq!(memo.len(), 1, "{provider}");
    let again = verifier
        .verify_memoized(token, NOW, &mut buf, &mut memo)
        .unwrap();
    assert_eq!(again.grant_id(), "grnt_1");
    assert_eq!(memo.len(), 1);

    // Time is checked on a hit: past the snapshot's validUntil (a day after NOW)...
    let later = NOW.saturating_add_secs(2 * 86_400);
    let err = verifier
        .verify_memoized(token, later, &mut buf, &mut memo)
        .unwrap_err();
    assert_eq!(err.code(), "JWKS_SNAPSHOT_EXPIRED");
    // ...and past exp with the snapshot check off.
    let lenient = Verifier::new(
        &snap,
        VerifierOptions::new().dangerous_ignore_snapshot_expiry(),
    )
    .unwrap();
    let err = lenient
        .verify_memoized(
            token,
            NOW.saturating_add_secs(4 * 86_400),
            &mut buf,
            &mut memo,
        )
        .unwrap_err();
    assert_eq!(err.code(), "TOKEN_EXPIRED");
    // Scopes and depth too, with the same memo.
    let strict = Verifier::new(
        &snap,
        VerifierOptions::new().with_required_scopes(&["admin"]),
    )
    .unwrap();
    let err = strict
        .verify_memoized(token, NOW, &mut buf, &mut memo)
        .unwrap_err();
    assert_eq!(err.to_string(), "SCOPE_VIOLATION: missing scopes: admin");

    // A tampered token is a different SHA-256: no hit, and the signature fails.
    let mut tampered = token.to_owned();
    tampered.push('A');
    let err = verifier
        .verify_memoized(&tampered, NOW, &mut buf, &mut memo)
        .unwrap_err();
    assert_eq!(err.code(), "BAD_SIGNATURE");
    assert_eq!(memo.len(), 1);

    // Another key set holding the same kid but another key: no hit across key sets.
    let other = util::snapshot::<P>("jwks");
    let other_verifier = Verifier::new(&other, VerifierOptions::new()).unwrap();
    assert!(
        other_verifier
            .verify_memoized(token, NOW, &mut buf, &mut memo)
            .is_ok()
    );
    assert_eq!(memo.len(), 2, "a second entry for the second key set");
}

#[test]
fn memo_with_every_provider() {
    for_each_provider!(memo_rechecks_everything_but_rsa);
}

/// A provider that counts RSA operations, wrapping the real one.
#[derive(Default)]
struct Counting {
    inner: gx_core::provider::RustCrypto,
    calls: core::cell::Cell<u32>,
}

impl CryptoProvider for Counting {
    type PublicKey = <gx_core::provider::RustCrypto as CryptoProvider>::PublicKey;
    fn rs256_public_key(
        &self,
        n: &[u8],
        e: &[u8],
    ) -> Result<Self::PublicKey, gx_core::provider::KeyRejected> {
        self.inner.rs256_public_key(n, e)
    }
    fn verify_rs256(
        &self,
        key: &Self::PublicKey,
        m: &[u8],
        s: &[u8],
    ) -> Result<(), gx_core::provider::InvalidSignature> {
        self.calls.set(self.calls.get() + 1);
        self.inner.verify_rs256(key, m, s)
    }
}

#[test]
fn a_hit_performs_no_rsa_operation() {
    let snap = util::snapshot::<Counting>("jwks");
    let verifier = Verifier::new(&snap, VerifierOptions::new()).unwrap();
    let mut buf = vec![0u8; DECODE_BUF_LEN];
    let mut slots = [MemoSlot::EMPTY; 2];
    let mut memo = VerificationMemo::new(&mut slots);
    for token in [util::RS256_2048, util::RS256_3072, util::RS256_4096] {
        for _ in 0..5 {
            verifier
                .verify_memoized(token.trim(), NOW, &mut buf, &mut memo)
                .unwrap();
        }
    }
    assert_eq!(
        snap.provider().calls.get(),
        3,
        "one RSA operation per distinct token"
    );
    // Only two slots: the 2048 token was evicted and costs one more operation.
    verifier
        .verify_memoized(util::RS256_2048.trim(), NOW, &mut buf, &mut memo)
        .unwrap();
    assert_eq!(snap.provider().calls.get(), 4);
    // Plain verify never uses a memo.
    verifier
        .verify(util::RS256_3072.trim(), NOW, &mut buf)
        .unwrap();
    assert_eq!(snap.provider().calls.get(), 5);
    let _ = UnixTime::EPOCH;
}
