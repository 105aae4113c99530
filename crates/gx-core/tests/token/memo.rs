//! The verification memo: a hit skips only the signature check; time, scopes, depth
//! and the snapshot are re-checked on every call.

use gx_core::{
    CryptoProvider, DECODE_BUF_LEN, MemoSlot, UnixTime, VerificationMemo, Verifier, VerifierOptions,
};

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
    inner: gx_core::RustCrypto,
    calls: core::cell::Cell<u32>,
}

impl CryptoProvider for Counting {
    type PublicKey = <gx_core::RustCrypto as CryptoProvider>::PublicKey;
    fn rs256_public_key(
        &self,
        n: &[u8],
        e: &[u8],
    ) -> Result<Self::PublicKey, gx_core::KeyRejected> {
        self.inner.rs256_public_key(n, e)
    }
    fn verify_rs256(
        &self,
        key: &Self::PublicKey,
        m: &[u8],
        s: &[u8],
    ) -> Result<(), gx_core::InvalidSignature> {
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

/// The options of a catalogue case.
fn case_options<'a>(o: &'a serde_json::Value, required: &'a [&'a str]) -> VerifierOptions<'a> {
    let mut opts = VerifierOptions::new().with_required_scopes(required);
    if let Some(i) = o["issuer"].as_str() {
        opts = opts.with_issuer(i);
    }
    if let Some(a) = o["audience"].as_str() {
        opts = opts.with_audience(a);
    }
    if let Some(d) = o["max_depth"].as_u64() {
        opts = opts.with_max_delegation_depth(u32::try_from(d).unwrap());
    }
    if o["report_missing"].as_bool() == Some(true) {
        opts = opts.with_missing_scope_policy(gx_core::MissingScopePolicy::Report);
    }
    opts
}

fn strs(v: &serde_json::Value) -> Vec<&str> {
    v.as_array()
        .map(|a| a.iter().map(|s| s.as_str().unwrap()).collect())
        .unwrap_or_default()
}

/// `verify_memoized` and `verify` give the same answer: the same grant (every field) or
/// the same error (code and message).
fn assert_same<'v, P: CryptoProvider>(
    verifier: &'v Verifier<'v, P>,
    token: &str,
    now: UnixTime,
    memo: &mut VerificationMemo<'_>,
    what: &str,
) -> bool {
    let (mut plain_buf, mut memo_buf) = (vec![0u8; DECODE_BUF_LEN], vec![0u8; DECODE_BUF_LEN]);
    let plain = verifier.verify(token, now, &mut plain_buf);
    let memoized = verifier.verify_memoized(token, now, &mut memo_buf, memo);
    match (&plain, &memoized) {
        (Ok(a), Ok(b)) => assert_eq!(a, b, "{what}"),
        (Err(a), Err(b)) => {
            assert_eq!(a.code(), b.code(), "{what}");
            assert_eq!(a.to_string(), b.to_string(), "{what}");
        }
        _ => panic!("{what}: verify gave {plain:?}, verify_memoized {memoized:?}"),
    }
    plain.is_ok()
}

/// Every catalogue case, three times through one memo: the first call fills it, the
/// others hit. Covers replayed claims (kept in the slot or, past 512 bytes, decoded
/// again: `scopes_exactly_100`) and claims with escapes (parsed again on a hit).
fn memo_agrees_with_verify<P: CryptoProvider + Default>(provider: &str) {
    let doc: serde_json::Value = serde_json::from_str(util::CATALOGUE).unwrap();
    let mut hits = 0;
    for case in doc["cases"].as_array().unwrap() {
        let name = case["name"].as_str().unwrap();
        let snap = util::snapshot::<P>(case["jwks"].as_str().unwrap());
        let required = strs(&case["options"]["required_scopes"]);
        let verifier = Verifier::new(&snap, case_options(&case["options"], &required)).unwrap();
        let now = UnixTime::from_secs(case["now"].as_u64().unwrap());
        let token = case["token"].as_str().unwrap();
        let mut slots = [MemoSlot::EMPTY; 2];
        let mut memo = VerificationMemo::new(&mut slots);
        for round in 0..3 {
            let ok = assert_same(
                &verifier,
                token,
                now,
                &mut memo,
                &format!("{provider} {name} #{round}"),
            );
            assert_eq!(ok, case["expect"] == "OK", "{provider} {name}");
        }
        hits += usize::from(!memo.is_empty());
    }
    assert!(hits > 15, "only {hits} catalogue tokens were remembered");
}

#[test]
fn memo_agrees_with_verify_on_the_catalogue() {
    for_each_provider!(memo_agrees_with_verify);
}

/// A token remembered under lenient options, then checked on a hit at other times and
/// under stricter options: each answer is the one a plain verify gives, and the ones
/// the issue names fail with their own code.
fn hits_recheck_time_and_policy<P: CryptoProvider + Default>(provider: &str) {
    let doc: serde_json::Value = serde_json::from_str(util::CATALOGUE).unwrap();
    for case in doc["cases"].as_array().unwrap() {
        if case["expect"] != "OK" {
            continue;
        }
        let name = case["name"].as_str().unwrap();
        let snap = util::snapshot::<P>(case["jwks"].as_str().unwrap());
        let token = case["token"].as_str().unwrap();
        let now = UnixTime::from_secs(case["now"].as_u64().unwrap());
        let mut slots = [MemoSlot::EMPTY; 1];
        let mut memo = VerificationMemo::new(&mut slots);
        let mut buf = vec![0u8; DECODE_BUF_LEN];
        let lenient = Verifier::new(
            &snap,
            VerifierOptions::new().dangerous_ignore_snapshot_expiry(),
        )
        .unwrap();
        let grant = lenient
            .verify_memoized(token, now, &mut buf, &mut memo)
            .unwrap();
        let (exp, depth) = (grant.expires_at(), grant.delegation_depth());
        assert_eq!(memo.len(), 1, "{name}");

        let what = |w: &str| format!("{provider} {name}: {w}");
        // Time: past exp (beyond the skew) and long before iat/nbf.
        let late = exp.saturating_add_secs(31);
        assert!(!assert_same(
            &lenient,
            token,
            late,
            &mut memo,
            &what("late")
        ));
        let err = lenient
            .verify_memoized(token, late, &mut buf, &mut memo)
            .unwrap_err();
        assert_eq!(err.code(), "TOKEN_EXPIRED", "{name}");
        assert_same(
            &lenient,
            token,
            UnixTime::from_secs(1_000),
            &mut memo,
            &what("early"),
        );
        // The snapshot's validUntil, with the check on.
        let strict_snapshot = Verifier::new(&snap, VerifierOptions::new()).unwrap();
        assert_same(&strict_snapshot, token, late, &mut memo, &what("snapshot"));

        // A scope the grant lacks.
        let admin = ["admin:everything"];
        let scoped =
            Verifier::new(&snap, VerifierOptions::new().with_required_scopes(&admin)).unwrap();
        assert!(!assert_same(&scoped, token, now, &mut memo, &what("scope")));
        let err = scoped
            .verify_memoized(token, now, &mut buf, &mut memo)
            .unwrap_err();
        assert_eq!(err.code(), "SCOPE_VIOLATION", "{name}");
        assert_eq!(
            err.to_string(),
            "SCOPE_VIOLATION: missing scopes: admin:everything"
        );
        let report = Verifier::new(
            &snap,
            VerifierOptions::new()
                .with_required_scopes(&admin)
                .with_missing_scope_policy(gx_core::MissingScopePolicy::Report),
        )
        .unwrap();
        assert!(assert_same(&report, token, now, &mut memo, &what("report")));

        // A lower depth limit, an issuer and an audience.
        if depth > 0 {
            let shallow = Verifier::new(
                &snap,
                VerifierOptions::new().with_max_delegation_depth(depth - 1),
            )
            .unwrap();
            let err = shallow
                .verify_memoized(token, now, &mut buf, &mut memo)
                .unwrap_err();
            assert_eq!(err.code(), "DELEGATION_DEPTH_EXCEEDED", "{name}");
        }
        for opts in [
            VerifierOptions::new().with_max_delegation_depth(depth),
            VerifierOptions::new().with_issuer("https://someone.else"),
            VerifierOptions::new().with_audience("someone-else"),
            VerifierOptions::new().with_clock_skew_secs(0),
        ] {
            let v = Verifier::new(&snap, opts).unwrap();
            assert_same(&v, token, now, &mut memo, &what(&format!("{opts:?}")));
            assert_same(&v, token, late, &mut memo, &what(&format!("late {opts:?}")));
        }
        assert_eq!(memo.len(), 1, "{name}: every call above was a hit");
    }
}

#[test]
fn hits_recheck_time_and_policy_with_every_provider() {
    for_each_provider!(hits_recheck_time_and_policy);
}

/// Every one-byte change of a remembered token misses the memo (another SHA-256) and
/// fails; none is remembered.
#[test]
fn a_token_one_byte_off_misses() {
    let snap = util::snapshot::<Counting>("peer");
    let verifier = Verifier::new(&snap, VerifierOptions::new()).unwrap();
    let token = util::PEER_TOKEN.trim();
    let mut buf = vec![0u8; DECODE_BUF_LEN];
    let mut slots = [MemoSlot::EMPTY; 4];
    let mut memo = VerificationMemo::new(&mut slots);
    verifier
        .verify_memoized(token, NOW, &mut buf, &mut memo)
        .unwrap();
    let calls = snap.provider().calls.get();
    let mut reached_rsa = 0;
    for pos in 0..token.len() {
        let mut bytes = token.as_bytes().to_vec();
        bytes[pos] = match bytes[pos] {
            b'A' => b'B',
            b'.' => b'A',
            c => c ^ 1,
        };
        let Ok(text) = core::str::from_utf8(&bytes) else {
            continue;
        };
        let before = snap.provider().calls.get();
        assert!(
            verifier
                .verify_memoized(text, NOW, &mut buf, &mut memo)
                .is_err(),
            "byte {pos} changed still verifies"
        );
        reached_rsa += snap.provider().calls.get() - before;
    }
    assert_eq!(memo.len(), 1, "no changed token was remembered");
    // Changes in the signature decode and reach the RSA check: no hit short-cut them.
    assert!(reached_rsa > 300, "only {reached_rsa} changes reached RSA");
    assert!(snap.provider().calls.get() > calls);
    // The original still hits.
    let before = snap.provider().calls.get();
    verifier
        .verify_memoized(token, NOW, &mut buf, &mut memo)
        .unwrap();
    assert_eq!(snap.provider().calls.get(), before);
}
