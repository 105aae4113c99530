//! Fuzz target: `Verifier::verify` on arbitrary token text, time and options, against the
//! fixture key sets, with the real RSA provider and with an insecure one that lets the
//! token through to the claim checks.
//!
//! Input: 8 bytes `now` (seconds, little-endian; the top bits pick a window around the
//! fixtures' `now`), 1 byte of option flags, the token (lossy UTF-8).
//! Checks: no panic; the real provider accepts only the fixtures' genuine signing inputs
//! (anything else is a forgery); `verify_memoized` agrees with `verify`, on a memo miss
//! and a hit; an accepted grant's fields are consistent with the options.
#![no_main]

use std::sync::LazyLock;

use gx_core::{RustCrypto, DECODE_BUF_LEN, JwksSnapshot, MemoSlot, MissingScopePolicy, UnixTime, VerificationMemo, VerifiedGrant, Verifier, VerifierOptions};
use gx_fuzz::{
    InsecureProvider, MIXED_JWKS, PEER_NOW, PEER_SNAPSHOT, genuine_signing_inputs, take,
};
use libfuzzer_sys::fuzz_target;

static REAL: LazyLock<[JwksSnapshot<RustCrypto>; 2]> = LazyLock::new(|| {
    [PEER_SNAPSHOT, MIXED_JWKS].map(|j| JwksSnapshot::parse(j).expect("fixture JWKS parses"))
});
static FAKE: LazyLock<[JwksSnapshot<InsecureProvider>; 2]> = LazyLock::new(|| {
    [PEER_SNAPSHOT, MIXED_JWKS].map(|j| JwksSnapshot::parse(j).expect("fixture JWKS parses"))
});

const REQUIRED: [&str; 2] = ["read:contacts", "write:calendar"];

fn options(flags: u8) -> VerifierOptions<'static> {
    let mut o = VerifierOptions::new();
    if flags & 1 != 0 {
        o = o.with_required_scopes(&REQUIRED);
    }
    if flags & 2 != 0 {
        o = o.with_missing_scope_policy(MissingScopePolicy::Report);
    }
    if flags & 4 != 0 {
        o = o.with_max_delegation_depth(1);
    }
    if flags & 8 != 0 {
        o = o.with_issuer("https://api.grantex.dev");
    }
    if flags & 16 != 0 {
        o = o.with_audience("gx");
    }
    if flags & 32 != 0 {
        o = o.dangerous_ignore_snapshot_expiry();
    }
    if flags & 64 != 0 {
        o = o.with_clock_skew_secs(0);
    }
    o
}

/// Reads every field, so lazily decoded parts are exercised too, and checks them
/// against the options.
fn inspect(g: &VerifiedGrant<'_>, flags: u8, now: UnixTime) {
    let _ = (g.agent_did(), g.principal(), g.jti(), g.grant_id(), g.kid());
    let _ = (
        g.not_before(),
        g.issued_at(),
        g.developer_id(),
        g.audience(),
    );
    assert!(
        g.expires_at().saturating_add_secs(30) >= now,
        "accepted an expired grant"
    );
    if flags & 4 != 0 {
        assert!(g.delegation_depth() <= 1, "depth limit ignored");
    }
    if flags & 8 != 0 {
        assert_eq!(
            g.issuer(),
            Some("https://api.grantex.dev"),
            "issuer ignored"
        );
    }
    if flags & 16 != 0 {
        assert!(g.audience().contains(&"gx"), "audience ignored");
    }
    let missing = g.missing_scopes().iter().count();
    let _ = g.missing_scopes().to_string();
    if flags & 1 != 0 && flags & 2 == 0 {
        assert_eq!(missing, 0, "required scope missing but accepted");
        for s in REQUIRED {
            assert!(g.has_scope(s));
        }
    }
    for s in g.scopes() {
        assert!(g.has_scope(s));
    }
}

fn outcome(r: &Result<VerifiedGrant<'_>, gx_core::VerifyError<'_>>) -> Result<(), &'static str> {
    match r {
        Ok(_) => Ok(()),
        Err(e) => {
            let _ = e.to_string();
            Err(e.code())
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let mut data = data;
    let t = u64::from_le_bytes(take::<8>(&mut data));
    // Most inputs land within a few days of the fixtures' now, where the tokens live.
    let now = if t >> 63 == 0 {
        UnixTime::from_secs(PEER_NOW - 86_400 + (t % (8 * 86_400)))
    } else {
        UnixTime::from_secs(t & (u64::MAX >> 1))
    };
    let [flags] = take::<1>(&mut data);
    let token = String::from_utf8_lossy(data);
    let opts = options(flags);
    let which = usize::from(flags >> 7);
    let mut buf = vec![0u8; DECODE_BUF_LEN];

    // The real provider: only the genuine tokens may verify.
    let real = Verifier::new(&REAL[which], opts).expect("options are valid");
    if let Ok(g) = real.verify(&token, now, &mut buf) {
        let input = token.trim().rsplit_once('.').map(|(i, _)| i).unwrap_or("");
        assert!(
            genuine_signing_inputs()
                .iter()
                .any(|genuine| genuine == input),
            "a token no key signed verified: {token:?}"
        );
        inspect(&g, flags, now);
    }

    // The insecure provider: claims and options logic on arbitrary claims.
    let fake = Verifier::new(&FAKE[which], opts).expect("options are valid");
    let plain = {
        let r = fake.verify(&token, now, &mut buf);
        if let Ok(g) = &r {
            inspect(g, flags, now);
        }
        outcome(&r)
    };
    let mut slots = [MemoSlot::EMPTY; 2];
    let mut memo = VerificationMemo::new(&mut slots);
    for round in 0..2 {
        let r = fake.verify_memoized(&token, now, &mut buf, &mut memo);
        assert_eq!(
            outcome(&r),
            plain,
            "memo round {round} disagrees with verify"
        );
    }
});
