//! Fuzz target: the consent bundle's wire JSON (`ConsentBundle::from_json`), the
//! plaintext inside every bundle file.
//!
//! Input: JSON text.
//! Checks: no panic; a bundle that parses serialises and parses back to an equal bundle,
//! serialising is idempotent, it survives `seal`/`unseal` with a raw key unchanged, and
//! its `Debug` shows neither the audit private key nor the grant token.
#![no_main]

use std::sync::LazyLock;

use gx_storage::{BundleFile, BundleKey, ConsentBundle};
use libfuzzer_sys::fuzz_target;

static KEY: LazyLock<BundleKey> = LazyLock::new(|| {
    BundleKey::from_hex(include_str!("../../fixtures/peer/bundle_key.hex")).expect("key parses")
});

fuzz_target!(|data: &[u8]| {
    let Ok(bundle) = ConsentBundle::from_json(data) else {
        return;
    };
    let json = bundle.to_json();
    let again = ConsentBundle::from_json(&json)
        .unwrap_or_else(|e| panic!("serialised bundle does not parse: {e}"));
    assert!(again == bundle, "round trip changed the bundle");
    assert_eq!(*again.to_json(), *json, "serialising is not idempotent");

    let mut sealed = BundleFile::seal(&bundle, &KEY).expect("sealing with a raw key works");
    let (opened, format) = BundleFile::unseal(&mut sealed, &KEY).expect("own file opens");
    assert!(format.is_gx());
    assert!(opened == bundle, "seal/unseal changed the bundle");

    let debug = format!("{bundle:?}");
    let public = format!(
        "{:?}{:?}{:?}{:?}{:?}",
        bundle.bundle_id(),
        bundle.sync_endpoint(),
        bundle.jwks_snapshot_json(),
        bundle.offline_audit_key().public_key,
        bundle.offline_audit_key().algorithm,
    );
    for secret in [
        bundle.offline_audit_key().private_key.expose_pem(),
        bundle.grant_token(),
    ] {
        let shown = format!("{secret:?}");
        let shown = shown.trim_matches('"');
        if shown.len() >= 16 && debug.contains(shown) {
            assert!(public.contains(shown), "a secret shows in Debug: {debug}");
        }
    }
});
