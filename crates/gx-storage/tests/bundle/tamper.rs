//! Every single-byte change, every truncation and every wrong key is refused, never
//! accepted and never a panic.
//!
//! Decision (documented in docs/bundle-file.md): a changed byte anywhere in a gx file
//! reads as `BUNDLE_TAMPERED`, with one exception, the version byte (offset 4), which
//! reads as `UNSUPPORTED_FORMAT` naming the version: that is what a file written by a
//! future gx looks like, and telling the operator "tampered" then would mislead.
//! Header fields (key derivation, its parameters, salt, nonce) are associated data, so
//! a change there fails authentication even where the header itself still parses.

use gx_storage::{BundleError, BundleFile, BundleKey, TamperReason};

use super::util::{assert_code, bundle, cheap_passphrase, peer_dir, raw_key};

const VERSION_OFFSET: usize = 4;
const HEADER_LEN: usize = 46;

fn unseal(bytes: &[u8], key: &BundleKey) -> Result<gx_storage::ConsentBundle, BundleError> {
    let mut copy = bytes.to_vec();
    BundleFile::unseal(&mut copy, key).map(|(b, _)| b)
}

#[test]
fn every_single_byte_change_of_a_raw_key_file_is_refused() {
    let key = raw_key();
    let sealed = BundleFile::seal(&bundle(), &key).unwrap();
    assert_eq!(unseal(&sealed, &key).unwrap(), bundle());
    let mut checked = 0;
    for i in 0..sealed.len() {
        for flip in [0x01u8, 0x80, 0xFF] {
            let mut bytes = sealed.clone();
            bytes[i] ^= flip;
            let r = unseal(&bytes, &key);
            if i == VERSION_OFFSET {
                let e = assert_code(r, "UNSUPPORTED_FORMAT");
                assert!(
                    e.to_string().contains(&format!("version {}", 1 ^ flip)),
                    "{e}"
                );
            } else {
                assert_code(r, "BUNDLE_TAMPERED");
            }
            checked += 1;
        }
    }
    assert_eq!(checked, 3 * sealed.len());
}

#[test]
fn every_header_byte_change_of_a_passphrase_file_is_refused() {
    let key = cheap_passphrase("correct horse battery staple");
    let sealed = BundleFile::seal(&bundle(), &key).unwrap();
    assert_eq!(unseal(&sealed, &key).unwrap(), bundle());
    // The header carries the Argon2id parameters and salt: a changed parameter or salt
    // derives another key, or is out of range, and either way the file is refused.
    for i in 0..HEADER_LEN {
        for flip in [0x01u8, 0x80] {
            let mut bytes = sealed.clone();
            bytes[i] ^= flip;
            let code = if i == VERSION_OFFSET {
                "UNSUPPORTED_FORMAT"
            } else {
                "BUNDLE_TAMPERED"
            };
            assert_code(unseal(&bytes, &key), code);
        }
    }
    // And the body, sampled: every 7th byte.
    for i in (HEADER_LEN..sealed.len()).step_by(7) {
        let mut bytes = sealed.clone();
        bytes[i] ^= 0x04;
        let e = assert_code(unseal(&bytes, &key), "BUNDLE_TAMPERED");
        assert!(matches!(
            e,
            BundleError::Tampered {
                reason: TamperReason::Authentication,
                ..
            }
        ));
    }
}

#[test]
fn a_wrong_key_is_tampered_and_says_gcm_cannot_tell() {
    let sealed = BundleFile::seal(&bundle(), &raw_key()).unwrap();
    let other = BundleKey::from_hex(&"0f".repeat(32)).unwrap();
    let e = assert_code(unseal(&sealed, &other), "BUNDLE_TAMPERED");
    let text = e.to_string();
    assert!(text.contains("key is wrong"), "{text}");
    assert!(
        text.contains("cannot tell a wrong key from modified bytes"),
        "{text}"
    );

    let sealed = BundleFile::seal(&bundle(), &cheap_passphrase("one")).unwrap();
    assert_code(unseal(&sealed, &cheap_passphrase("two")), "BUNDLE_TAMPERED");
    // A raw-key file cannot be opened with a passphrase that is not a raw key.
    let raw_sealed = BundleFile::seal(&bundle(), &raw_key()).unwrap();
    assert_code(unseal(&raw_sealed, &cheap_passphrase("one")), "INVALID_KEY");
}

#[test]
fn truncation_at_every_length_is_an_error() {
    let key = raw_key();
    let sealed = BundleFile::seal(&bundle(), &key).unwrap();
    for len in 0..sealed.len() {
        let r = unseal(&sealed[..len], &key);
        assert!(r.is_err(), "truncated to {len} bytes loaded");
    }
    // Longer is not better: an appended byte breaks the tag too.
    let mut longer = sealed.clone();
    longer.push(0);
    assert_code(unseal(&longer, &key), "BUNDLE_TAMPERED");
}

#[test]
fn truncated_peer_files_are_errors() {
    let key = raw_key();
    for name in ["py_bundle.enc", "ts-npm_bundle.enc"] {
        let full = std::fs::read(peer_dir().join(name)).unwrap();
        for len in 0..full.len() {
            assert!(
                unseal(&full[..len], &key).is_err(),
                "{name} cut to {len} loaded"
            );
        }
    }
    // GTXB: each attempt past the header costs an scrypt run (128 MiB), so all the
    // header-only lengths and one cut in the body.
    let full = std::fs::read(peer_dir().join("ts-head_bundle.enc")).unwrap();
    for len in 0..49 {
        assert!(
            unseal(&full[..len], &key).is_err(),
            "GTXB cut to {len} loaded"
        );
    }
    assert_code(unseal(&full[..full.len() / 2], &key), "BUNDLE_TAMPERED");
}

#[test]
fn the_magic_and_versions_of_the_formats_are_told_apart() {
    let key = raw_key();
    let mut sealed = BundleFile::seal(&bundle(), &key).unwrap();
    sealed[VERSION_OFFSET] = 2;
    let e = assert_code(unseal(&sealed, &key), "UNSUPPORTED_FORMAT");
    assert!(e.to_string().contains("gx format version 2"), "{e}");
    let mut gtxb = std::fs::read(peer_dir().join("ts-head_bundle.enc")).unwrap();
    gtxb[4] = 9;
    let e = assert_code(unseal(&gtxb, &key), "UNSUPPORTED_FORMAT");
    assert!(e.to_string().contains("GTXB format version 9"), "{e}");
    // Garbage that is not any format: an error either way, never a panic.
    for junk in [
        &b""[..],
        b"\x89GX",
        b"GTX",
        b"not a bundle at all, just some text!!",
    ] {
        assert!(unseal(junk, &key).is_err());
    }
}

#[test]
fn random_files_with_every_format_prefix_are_errors_not_panics() {
    let key = raw_key();
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let b64 = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=";
    for round in 0..4000 {
        let len = (next() % 160) as usize;
        let mut bytes: Vec<u8> = (0..len).map(|_| next() as u8).collect();
        // GTXB with version 1 would run scrypt (128 MiB) per attempt: use other versions.
        let prefix: &[u8] = match round % 4 {
            0 => &[0x89, b'G', b'X', b'B', 1],
            1 => b"GTXB\x02",
            2 => b"",
            _ => {
                bytes
                    .iter_mut()
                    .for_each(|c| *c = b64[usize::from(*c) % b64.len()]);
                b""
            }
        };
        let mut file = prefix.to_vec();
        file.extend_from_slice(&bytes);
        assert!(unseal(&file, &key).is_err(), "round {round} loaded");
    }
}
