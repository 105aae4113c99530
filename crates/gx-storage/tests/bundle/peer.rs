//! The Python and TypeScript clients' files load, and equal the plaintext they hold.

use gx_storage::{BundleFile, BundleFormat, BundleKey, KeyDerivation};

use super::util::{
    assert_code, bundle, bundle_json, cheap_passphrase, key_text, peer_dir, raw_key,
};

fn load(name: &str, key: &BundleKey) -> (gx_storage::ConsentBundle, BundleFormat) {
    BundleFile::new(peer_dir().join(name))
        .load_with_format(key)
        .unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// The loaded bundle equals `bundle.json` as a typed value and, written out again, as
/// JSON (so no field is dropped or altered on the way through).
fn assert_is_fixture(loaded: &gx_storage::ConsentBundle) {
    assert_eq!(*loaded, bundle());
    let again: serde_json::Value = serde_json::from_slice(&loaded.to_json()).unwrap();
    let expected: serde_json::Value = serde_json::from_slice(&bundle_json()).unwrap();
    assert_eq!(again, expected);
}

#[test]
fn python_file_loads_with_the_raw_hex_key() {
    let (b, format) = load("py_bundle.enc", &raw_key());
    assert_eq!(format, BundleFormat::Python);
    assert_is_fixture(&b);
}

#[test]
fn npm_typescript_file_loads_with_the_key_text_as_passphrase() {
    let (b, format) = load("ts-npm_bundle.enc", &raw_key());
    assert_eq!(format, BundleFormat::TsNpm);
    assert_is_fixture(&b);
    // The TypeScript clients only ever see a passphrase: the same text given as one works.
    let as_passphrase = BundleKey::from_passphrase(key_text().trim_end()).unwrap();
    assert_is_fixture(&load("ts-npm_bundle.enc", &as_passphrase).0);
}

#[test]
fn gtxb_typescript_file_loads_and_rejects_a_wrong_passphrase() {
    let (b, format) = load("ts-head_bundle.enc", &raw_key());
    assert_eq!(format, BundleFormat::TsGtxb);
    assert_is_fixture(&b);
    let wrong = BundleKey::from_passphrase("not the passphrase").unwrap();
    let file = BundleFile::new(peer_dir().join("ts-head_bundle.enc"));
    assert_code(file.load(&wrong), "BUNDLE_TAMPERED");
}

#[test]
fn wrong_keys_on_peer_files_are_tampered_and_a_passphrase_cannot_open_python() {
    let other = BundleKey::from_hex(&"ab".repeat(32)).unwrap();
    for name in ["py_bundle.enc", "ts-npm_bundle.enc"] {
        let e = assert_code(
            BundleFile::new(peer_dir().join(name)).load(&other),
            "BUNDLE_TAMPERED",
        );
        assert!(
            e.to_string()
                .contains("cannot tell a wrong key from modified bytes"),
            "{e}"
        );
    }
    let py = BundleFile::new(peer_dir().join("py_bundle.enc"));
    assert_code(py.load(&cheap_passphrase("hunter2")), "INVALID_KEY");
}

#[test]
fn a_peer_bundle_stored_again_is_migrated_to_gx_format() {
    let dir = tempfile::tempdir().unwrap();
    let (b, _) = load("py_bundle.enc", &raw_key());
    let file = BundleFile::new(dir.path().join("bundle.gx"));
    file.store(&b, &raw_key()).unwrap();
    let (again, format) = file.load_with_format(&raw_key()).unwrap();
    assert_eq!(format, BundleFormat::Gx(KeyDerivation::RawKey));
    assert!(format.is_gx());
    assert_is_fixture(&again);
}

/// Writes `plaintext` in the Python client's format, as that client does (AES-256-GCM,
/// raw key, no associated data, base64 of nonce ‖ ciphertext ‖ tag).
fn python_file(plaintext: &[u8], key_hex: &str) -> Vec<u8> {
    use aes_gcm::Aes256Gcm;
    use aes_gcm::aead::{Aead, KeyInit};
    use base64ct::Encoding;
    let key: Vec<u8> = (0..32)
        .map(|i| u8::from_str_radix(&key_hex[2 * i..2 * i + 2], 16).unwrap())
        .collect();
    let cipher = Aes256Gcm::new_from_slice(&key).unwrap();
    let nonce = [7u8; 12];
    let mut out = nonce.to_vec();
    out.extend(cipher.encrypt((&nonce).into(), plaintext).unwrap());
    base64ct::Base64::encode_string(&out).into_bytes()
}

#[test]
fn decrypted_text_that_is_not_a_bundle_names_the_field() {
    let key_hex = key_text();
    let key_hex = key_hex.trim();
    let mut v: serde_json::Value = serde_json::from_slice(&bundle_json()).unwrap();
    v["offlineAuditKey"]["algorithm"] = 25519.into();
    let mut file = python_file(&serde_json::to_vec(&v).unwrap(), key_hex);
    let e = assert_code(
        BundleFile::unseal(&mut file, &raw_key()),
        "INVALID_BUNDLE_JSON",
    );
    assert!(e.to_string().contains("offlineAuditKey.algorithm"), "{e}");
    let mut file = python_file(b"not json", key_hex);
    assert_code(
        BundleFile::unseal(&mut file, &raw_key()),
        "INVALID_BUNDLE_JSON",
    );
    // A file holding a whole server response (fields under `data`) loads too.
    let wrapped = serde_json::json!({ "data": serde_json::from_slice::<serde_json::Value>(&bundle_json()).unwrap() });
    let mut file = python_file(&serde_json::to_vec(&wrapped).unwrap(), key_hex);
    let (b, format) = BundleFile::unseal(&mut file, &raw_key()).unwrap();
    assert_eq!((b, format), (bundle(), BundleFormat::Python));
}
