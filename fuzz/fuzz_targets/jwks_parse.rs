//! Fuzz target: `JwksSnapshot::parse`, for a plain JWKS and a bundle's `jwksSnapshot`
//! (same parser; the snapshot adds `fetchedAt`/`validUntil`).
//!
//! Input: JSON text.
//! Checks: no panic (including the RSA key preparation of the real provider); the counts
//! add up (usable + skipped = keys seen, at most `MAX_KEYS`); parsing is deterministic
//! (same fingerprint, kids and times twice); the insecure provider, which accepts every
//! key the parser hands it, sees a superset of the real provider's usable keys; every
//! error and skip reason has a code and a message.
#![no_main]

use gx_core::{RustCrypto, JwksSnapshot, MAX_KEYS};
use gx_fuzz::InsecureProvider;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let real = match JwksSnapshot::<RustCrypto>::parse(data) {
        Ok(s) => s,
        Err(e) => {
            let _ = (e.to_string(), e.code());
            assert!(JwksSnapshot::<InsecureProvider>::parse(data).is_err());
            return;
        }
    };
    assert!(real.usable_keys() + real.skipped().len() <= MAX_KEYS);
    assert_eq!(real.kids().count(), real.usable_keys());
    for s in real.skipped() {
        let _ = (s.reason.to_string(), format!("{s:?}"));
    }
    let _ = (real.fetched_at(), real.valid_until(), format!("{real:?}"));

    let twice = JwksSnapshot::<RustCrypto>::parse(data).expect("parsed once, parses again");
    assert_eq!(
        real.fingerprint(),
        twice.fingerprint(),
        "fingerprint not deterministic"
    );
    assert!(real.kids().eq(twice.kids()));
    assert_eq!(
        (real.fetched_at(), real.valid_until()),
        (twice.fetched_at(), twice.valid_until())
    );

    let loose = JwksSnapshot::<InsecureProvider>::parse(data).expect("same document");
    assert!(loose.usable_keys() >= real.usable_keys());
    assert_eq!(
        loose.usable_keys() + loose.skipped().len(),
        real.usable_keys() + real.skipped().len(),
        "providers saw different key counts"
    );
});
