//! Fuzz target: `BundleFile::unseal` on arbitrary file bytes, with the peer fixtures' key
//! (a raw AES key for the Python format, a passphrase for the TypeScript formats and for
//! gx's Argon2id files).
//!
//! Input: the file's bytes. Inputs that would run an expensive key derivation (the GTXB
//! format's fixed scrypt N=2^17, an Argon2id header asking for more than 1 MiB·pass) are
//! skipped: each costs a second or more and they add no parsing after the header, whose
//! checks before the derivation still run for every other input.
//! Checks: no panic; anything that decrypts is the fixtures' bundle (the fuzzer cannot
//! forge AES-GCM); no error's Display or Debug contains the key.
#![no_main]

use std::sync::LazyLock;

use gx_storage::{BundleFile, BundleKey};
use libfuzzer_sys::fuzz_target;

const KEY_HEX: &str = include_str!("../../fixtures/peer/bundle_key.hex");
static KEY: LazyLock<BundleKey> =
    LazyLock::new(|| BundleKey::from_hex(KEY_HEX).expect("fixture key parses"));

/// Whether unsealing `file` would run a slow key derivation.
fn expensive(file: &[u8]) -> bool {
    let u32_at = |i: usize| {
        file.get(i..i + 4)
            .map_or(0, |b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    };
    match file.get(..6) {
        Some([b'G', b'T', b'X', b'B', 1, _]) => true,
        Some([0x89, b'G', b'X', b'B', 1, 1]) => u64::from(u32_at(6)) * u64::from(u32_at(10)) > 1024,
        _ => file.starts_with(b"GTXB\x01"),
    }
}

fuzz_target!(|data: &[u8]| {
    if expensive(data) {
        return;
    }
    let mut bytes = data.to_vec();
    match BundleFile::unseal(&mut bytes, &KEY) {
        Ok((bundle, format)) => {
            assert_eq!(
                bundle.bundle_id(),
                "bnd_1",
                "decrypted a bundle nobody encrypted"
            );
            let _ = format.to_string();
        }
        Err(e) => {
            let text = format!("{e} {e:?} {}", e.code());
            let key = KEY_HEX.trim();
            assert!(
                !text.contains(key) && !text.to_lowercase().contains(&key.to_lowercase()),
                "the key leaked into an error: {text}"
            );
        }
    }
});
