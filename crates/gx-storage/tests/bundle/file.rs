//! The file itself: mode 0600, atomic replacement, errors for missing files.

use std::fs;
use std::os::unix::fs::PermissionsExt;

use gx_storage::{BundleFile, BundleFormat, BundleKey, KeyDerivation};

use super::util::{assert_code, bundle, bundle_with_id, cheap_passphrase, raw_key};

fn mode(path: &std::path::Path) -> u32 {
    fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[test]
fn the_file_is_created_0600_and_stays_0600_when_replacing_a_laxer_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bundle.gx");
    let file = BundleFile::new(&path);
    file.store(&bundle(), &raw_key()).unwrap();
    assert_eq!(mode(&path), 0o600);
    // A file someone made world-readable is replaced by a new 0600 inode.
    fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
    file.store(&bundle_with_id("bnd_2"), &raw_key()).unwrap();
    assert_eq!(mode(&path), 0o600);
    assert_eq!(file.load(&raw_key()).unwrap().bundle_id(), "bnd_2");
    // No temp file is left next to it.
    let names: Vec<_> = fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, ["bundle.gx"]);
}

#[test]
fn a_passphrase_round_trips_with_its_parameters_in_the_header() {
    let dir = tempfile::tempdir().unwrap();
    let file = BundleFile::new(dir.path().join("bundle.gx"));
    let key = cheap_passphrase("correct horse battery staple");
    file.store(&bundle(), &key).unwrap();
    let (b, format) = file.load_with_format(&key).unwrap();
    assert_eq!(b, bundle());
    let BundleFormat::Gx(KeyDerivation::Argon2id(p)) = format else {
        panic!("stored as {format:?}");
    };
    assert_eq!((p.m_kib(), p.t(), p.p()), (64, 1, 1));
    // Reading takes the parameters from the header, not from the key.
    let same_text_default_params =
        BundleKey::from_passphrase("correct horse battery staple").unwrap();
    assert_eq!(file.load(&same_text_default_params).unwrap(), bundle());
    // Two stores of the same bundle differ (fresh salt and nonce).
    let first = fs::read(file.path()).unwrap();
    file.store(&bundle(), &key).unwrap();
    assert_ne!(fs::read(file.path()).unwrap(), first);
}

#[test]
fn missing_files_and_directories_have_their_own_codes() {
    let dir = tempfile::tempdir().unwrap();
    let missing = BundleFile::new(dir.path().join("nope.gx"));
    let e = assert_code(missing.load(&raw_key()), "NOT_FOUND");
    assert!(e.to_string().contains("nope.gx"), "{e}");
    // Reading a directory is an I/O error, not "not found" and not "tampered".
    assert_code(BundleFile::new(dir.path()).load(&raw_key()), "IO_ERROR");
    // Storing into a directory that does not exist is an I/O error too.
    let nowhere = BundleFile::new(dir.path().join("no/such/dir/bundle.gx"));
    assert_code(nowhere.store(&bundle(), &raw_key()), "IO_ERROR");
}

#[test]
fn the_gx_file_starts_with_its_magic_and_version() {
    let dir = tempfile::tempdir().unwrap();
    let file = BundleFile::new(dir.path().join("bundle.gx"));
    file.store(&bundle(), &raw_key()).unwrap();
    let bytes = fs::read(file.path()).unwrap();
    assert_eq!(bytes[..6], [0x89, b'G', b'X', b'B', 1, 0]);
    // Raw key: no parameters, no salt.
    assert!(bytes[6..34].iter().all(|&b| b == 0));
    // Header + JSON + tag; the JSON is not in the clear.
    assert_eq!(bytes.len(), 46 + bundle().to_json().len() + 16);
    assert!(!bytes.windows(11).any(|w| w == b"PRIVATE KEY"));
}
