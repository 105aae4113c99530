//! Faults while storing the consent bundle: every step of the atomic replacement. The
//! previous bundle stays intact and loadable, no temp file or partial bundle is left,
//! and the next store succeeds.

use std::path::PathBuf;

use gx_storage::fault_injection::{Fault, FaultPoint};
use gx_storage::{BundleError, BundleFile, BundleKey, ConsentBundle};

use super::cursor::STEPS;
use super::util::{temp_files, tempdir};

fn peer_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/peer")
}

fn bundle_with_id(id: &str) -> ConsentBundle {
    let json = std::fs::read(peer_dir().join("bundle.json")).unwrap();
    let mut v: serde_json::Value = serde_json::from_slice(&json).unwrap();
    v["bundleId"] = id.into();
    ConsentBundle::from_value(v).unwrap()
}

fn key() -> BundleKey {
    BundleKey::from_hex(&std::fs::read_to_string(peer_dir().join("bundle_key.hex")).unwrap())
        .unwrap()
}

#[test]
fn a_failed_store_leaves_the_previous_bundle_loadable() {
    let (old, new) = (bundle_with_id("gen_old"), bundle_with_id("gen_new"));
    for &(point, errno, short, op) in STEPS {
        let dir = tempdir();
        let file = BundleFile::new(dir.path().join("bundle.gx"));
        file.store(&old, &key()).unwrap();
        let old_bytes = std::fs::read(file.path()).unwrap();
        let mut fault = Fault::new(point, file.path(), errno);
        if let Some(n) = short {
            fault = fault.short_write(n);
        }
        let guard = fault.arm();
        let err = file.store(&new, &key()).unwrap_err();
        assert_eq!(guard.fired(), 1);
        drop(guard);
        assert_eq!(err.code(), "IO_ERROR");
        match &err {
            BundleError::Io {
                op: got,
                path,
                source,
            } => {
                assert_eq!(*got, op);
                assert_eq!(path, file.path());
                assert_eq!(source.raw_os_error(), Some(errno));
            }
            other => panic!("{op}: {other:?}"),
        }
        let shown = err.to_string();
        assert!(shown.contains(op) && shown.contains("bundle.gx"), "{shown}");
        // The file is whole: the old bundle, or after a failed directory fsync (the
        // rename is done) the new one.
        let loaded = file.load(&key()).unwrap();
        if point == FaultPoint::DirSync {
            assert_eq!(loaded, new);
        } else {
            assert_eq!(loaded, old, "{op}");
            assert_eq!(std::fs::read(file.path()).unwrap(), old_bytes);
        }
        assert!(temp_files(dir.path()).is_empty(), "{op}: temp file left");
        file.store(&new, &key()).unwrap();
        assert_eq!(file.load(&key()).unwrap(), new);
    }
}

#[test]
fn a_failed_first_store_leaves_no_file() {
    for &(point, errno, short, op) in STEPS {
        if point == FaultPoint::DirSync {
            continue;
        }
        let dir = tempdir();
        let file = BundleFile::new(dir.path().join("bundle.gx"));
        let mut fault = Fault::new(point, file.path(), errno);
        if let Some(n) = short {
            fault = fault.short_write(n);
        }
        let guard = fault.arm();
        assert_eq!(
            file.store(&bundle_with_id("x"), &key()).unwrap_err().code(),
            "IO_ERROR"
        );
        drop(guard);
        let err = file.load(&key()).unwrap_err();
        assert_eq!(err.code(), "NOT_FOUND", "{op}");
        assert!(
            std::fs::read_dir(dir.path()).unwrap().next().is_none(),
            "{op}"
        );
    }
}
