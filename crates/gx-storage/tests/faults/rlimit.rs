//! Real kernel faults, no injection: a child process runs under `RLIMIT_FSIZE` (set with
//! `ulimit -f` by `/bin/sh`, which also ignores `SIGXFSZ` so that the kernel answers
//! `EFBIG` instead of killing the process). The write that reaches the limit is cut short
//! by the kernel, and the next one fails. The child appends until refused and then tries
//! to replace a bundle; the parent, without the limit, checks what is on disk.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};

use gx_storage::{AuditLogConfig, BundleFile, FsyncPolicy};
use rustix::io::Errno;

use super::util::{Acked, check_reopen, fields, log_path, open, temp_files, tempdir};

const CHILD_ENV: &str = "GX_FAULTS_RLIMIT_CHILD";
/// `ulimit -f` in dash counts 512-byte blocks: 1 KiB, two or three entries.
const LIMIT_BLOCKS: &str = "2";

fn efbig() -> i32 {
    Errno::FBIG.raw_os_error()
}

fn bundle_key() -> gx_storage::BundleKey {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/peer");
    gx_storage::BundleKey::from_hex(&std::fs::read_to_string(dir.join("bundle_key.hex")).unwrap())
        .unwrap()
}

fn bundle(id: &str) -> gx_storage::ConsentBundle {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/peer");
    let mut v: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("bundle.json")).unwrap()).unwrap();
    v["bundleId"] = id.into();
    gx_storage::ConsentBundle::from_value(v).unwrap()
}

/// The child half: does nothing unless started by the parent test below.
#[test]
fn rlimit_child() {
    let Some(dir) = std::env::var_os(CHILD_ENV) else {
        return;
    };
    let dir = Path::new(&dir);
    let log = open(
        &dir.join("audit.jsonl"),
        AuditLogConfig::new(FsyncPolicy::EveryEntry),
    );
    for i in 0..1000 {
        match log.append_fields(&fields(i)) {
            Ok(r) => println!("ACK {}", r.line()),
            Err(e) => {
                let errno = match &e {
                    gx_storage::LogError::Io { source, .. } => source.raw_os_error(),
                    _ => None,
                };
                println!("ERR {} {:?} {e}", e.code(), errno);
                break;
            }
        }
    }
    // Still refused: the limit holds.
    match log.append_fields(&fields(1000)) {
        Ok(r) => println!("ACK {}", r.line()),
        Err(e) => println!("ERR2 {}", e.code()),
    }
    let file = BundleFile::new(dir.join("bundle.gx"));
    match file.store(&bundle("gen_new"), &bundle_key()) {
        Ok(()) => println!("STORED"),
        Err(e) => {
            let errno = match &e {
                gx_storage::BundleError::Io { source, .. } => source.raw_os_error(),
                _ => None,
            };
            println!("STORE_ERR {} {:?} {e}", e.code(), errno);
        }
    }
}

#[test]
fn a_real_file_size_limit_fails_writes_with_efbig_and_loses_nothing() {
    let dir = tempdir();
    let path = log_path(&dir);
    let file = BundleFile::new(dir.path().join("bundle.gx"));
    file.store(&bundle("gen_old"), &bundle_key()).unwrap();
    let exe = std::env::current_exe().unwrap();
    let out = Command::new("/bin/sh")
        .args([
            "-c",
            &format!("trap '' XFSZ; ulimit -f {LIMIT_BLOCKS}; exec \"$0\" \"$@\""),
        ])
        .arg(exe)
        .args([
            "--exact",
            "faults::rlimit::rlimit_child",
            "--nocapture",
            "--test-threads=1",
            "-q",
        ])
        .env(CHILD_ENV, dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .output()
        .expect("run the child under ulimit -f");
    assert!(out.status.success(), "{out:?}");
    let mut acked = Acked::default();
    let (mut err, mut err2, mut store) = (None, None, None);
    for line in BufReader::new(&out.stdout[..]).lines() {
        let line = line.unwrap();
        if let Some(ack) = line.strip_prefix("ACK ") {
            let entry = gx_core::SignedAuditEntry::parse_line(ack.as_bytes())
                .expect("an acknowledged line");
            acked.push_line(entry.entry.seq, ack.to_owned());
        } else if let Some(e) = line.strip_prefix("ERR ") {
            err = Some(e.to_owned());
        } else if let Some(e) = line.strip_prefix("ERR2 ") {
            err2 = Some(e.to_owned());
        } else if let Some(e) = line.strip_prefix("STORE_ERR ") {
            store = Some(e.to_owned());
        } else if line == "STORED" {
            store = Some(line);
        }
    }
    let efbig = format!("IO_ERROR Some({})", efbig());
    let err = err.expect("the limit refused an append");
    assert!(err.starts_with(&efbig) && err.contains("write"), "{err}");
    assert_eq!(err2.as_deref(), Some("IO_ERROR"));
    let store = store.expect("the child tried to store");
    assert!(
        store.starts_with(&efbig) && store.contains("write temp file"),
        "{store}"
    );
    assert!(!acked.0.is_empty(), "the limit left room for an entry");

    // What the kernel cut short was rolled back; every acknowledged entry is there.
    let (_log, torn) = check_reopen(
        &path,
        AuditLogConfig::new(FsyncPolicy::EveryEntry),
        &mut acked,
        false,
    );
    assert_eq!(torn, 0);
    assert_eq!(file.load(&bundle_key()).unwrap(), bundle("gen_old"));
    assert!(temp_files(dir.path()).is_empty());
}
