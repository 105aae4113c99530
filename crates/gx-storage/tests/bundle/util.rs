//! Shared helpers: the fixture bundle and keys, and error-code assertions.

use std::path::PathBuf;

use gx_storage::{Argon2Params, BundleError, BundleKey, ConsentBundle};

/// `fixtures/peer/`, where the peer clients' files and their plaintext live.
pub(crate) fn peer_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/peer")
}

/// The plaintext bundle of the peer fixtures, as JSON text.
pub(crate) fn bundle_json() -> Vec<u8> {
    std::fs::read(peer_dir().join("bundle.json")).unwrap()
}

/// The plaintext bundle of the peer fixtures.
pub(crate) fn bundle() -> ConsentBundle {
    ConsentBundle::from_json(&bundle_json()).unwrap()
}

/// The fixture bundle with another `bundleId`, to tell stored generations apart.
pub(crate) fn bundle_with_id(id: &str) -> ConsentBundle {
    let mut v: serde_json::Value = serde_json::from_slice(&bundle_json()).unwrap();
    v["bundleId"] = id.into();
    ConsentBundle::from_value(v).unwrap()
}

/// The key text of the fixtures (64 hex characters and a newline).
pub(crate) fn key_text() -> String {
    std::fs::read_to_string(peer_dir().join("bundle_key.hex")).unwrap()
}

/// The fixtures' key as a raw key.
pub(crate) fn raw_key() -> BundleKey {
    BundleKey::from_hex(&key_text()).unwrap()
}

/// A passphrase key with Argon2id parameters cheap enough for loops in tests.
pub(crate) fn cheap_passphrase(text: &str) -> BundleKey {
    BundleKey::from_passphrase_with(text, Argon2Params::new(64, 1, 1).unwrap()).unwrap()
}

/// Asserts the error's code, showing the error when it differs.
#[track_caller]
pub(crate) fn assert_code<T: core::fmt::Debug>(
    r: Result<T, BundleError>,
    code: &str,
) -> BundleError {
    match r {
        Ok(v) => panic!("expected {code}, got Ok({v:?})"),
        Err(e) => {
            assert_eq!(e.code(), code, "{e}");
            e
        }
    }
}
