//! Shared helpers: errnos, a log with acknowledged entries, and the after-fault checks.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use gx_storage::{
    AuditLog, AuditLogConfig, AuditSigningKey, EntryFields, FsyncPolicy, LogError, LogRecord,
    PrevHash, verify_log,
};
use rustix::io::Errno;

pub(crate) const ENOSPC: i32 = Errno::NOSPC.raw_os_error();
pub(crate) const EIO: i32 = Errno::IO.raw_os_error();
pub(crate) const EDQUOT: i32 = Errno::DQUOT.raw_os_error();

pub(crate) const POLICIES: [FsyncPolicy; 3] = [
    FsyncPolicy::EveryEntry,
    FsyncPolicy::GroupCommit,
    FsyncPolicy::None,
];

pub(crate) fn key() -> AuditSigningKey {
    AuditSigningKey::from_bytes(&[9u8; 32])
}

pub(crate) fn fields(i: u64) -> EntryFields<'static> {
    let metadata: &'static str = Box::leak(format!("{{\"i\":{i}}}").into_boxed_str());
    EntryFields {
        action: "tool:send_email",
        agent_did: "did:grantex:agent_faults",
        grant_id: "grnt_faults",
        scopes: &["email:send"],
        result: "success",
        metadata: Some(metadata),
    }
}

pub(crate) fn tempdir() -> tempfile::TempDir {
    tempfile::tempdir().expect("tempdir")
}

pub(crate) fn log_path(dir: &tempfile::TempDir) -> PathBuf {
    dir.path().join("audit.jsonl")
}

pub(crate) fn open(path: &Path, config: AuditLogConfig) -> AuditLog {
    AuditLog::open(path, key(), config).unwrap_or_else(|e| panic!("open {}: {e}", path.display()))
}

/// Every entry the log acknowledged: its line, by seq.
#[derive(Default)]
pub(crate) struct Acked(pub(crate) BTreeMap<u64, String>);

impl Acked {
    /// Appends entry `i` and records it; panics unless it is acknowledged.
    pub(crate) fn append(&mut self, log: &AuditLog, i: u64) -> LogRecord {
        let r = log
            .append_fields(&fields(i))
            .unwrap_or_else(|e| panic!("append {i}: {e}"));
        self.push(r.clone());
        r
    }

    pub(crate) fn push(&mut self, r: LogRecord) {
        self.push_line(r.seq(), r.into_line());
    }

    pub(crate) fn push_line(&mut self, seq: u64, line: String) {
        assert!(
            self.0.insert(seq, line).is_none(),
            "a seq was acknowledged twice"
        );
    }

    pub(crate) fn last_seq(&self) -> u64 {
        self.0.keys().next_back().copied().unwrap_or(0)
    }
}

/// Asserts an I/O error naming `op`, the file `path` and the errno.
#[track_caller]
pub(crate) fn assert_io(e: &LogError, op: &str, path: &Path, errno: i32) {
    match e {
        LogError::Io {
            op: got_op,
            path: got_path,
            source,
        } => {
            assert_eq!(*got_op, op, "{e}");
            assert_eq!(got_path, path, "{e}");
            assert_eq!(source.raw_os_error(), Some(errno), "{e}");
            assert_eq!(e.code(), "IO_ERROR");
            let shown = e.to_string();
            assert!(shown.contains(op) && shown.contains(&path.display().to_string()));
        }
        other => panic!("expected an I/O error of {op}, got {other:?}"),
    }
}

/// The after-fault checks on a closed log: it reopens, verifies from genesis, holds every
/// acknowledged line byte for byte and, unless `extra_ok` (a poisoned log may keep whole
/// lines of a failed append), nothing else; then an append continues the chain.
/// Returns the reopened log and the torn bytes its opening repaired.
pub(crate) fn check_reopen(
    path: &Path,
    config: AuditLogConfig,
    acked: &mut Acked,
    extra_ok: bool,
) -> (AuditLog, u64) {
    let log = open(path, config);
    let torn = log.torn_bytes_repaired();
    let report = verify_log(path, &key().verifying_key()).expect("verify_log");
    assert!(report.is_intact(), "{:?}", report.first_break());
    let on_disk: Vec<LogRecord> = log
        .entries_after(0)
        .map(|r| r.expect("read entry"))
        .collect();
    assert_eq!(report.entries(), on_disk.len() as u64);
    for (seq, want) in &acked.0 {
        let got = on_disk
            .iter()
            .find(|r| r.seq() == *seq)
            .unwrap_or_else(|| panic!("acknowledged seq {seq} lost"));
        assert_eq!(got.line(), want, "seq {seq} changed");
    }
    if !extra_ok {
        let extra: Vec<u64> = on_disk
            .iter()
            .map(LogRecord::seq)
            .filter(|s| !acked.0.contains_key(s))
            .collect();
        assert_eq!(
            on_disk.len(),
            acked.0.len(),
            "unacknowledged entries are visible: seqs {extra:?}"
        );
    }
    // Seqs run 1..=n with no gap.
    for (i, r) in on_disk.iter().enumerate() {
        assert_eq!(r.seq(), i as u64 + 1);
    }
    let last = on_disk.last().map(|r| (r.seq(), r.hash()));
    let next = log
        .append_fields(&fields(1000))
        .expect("append after reopen");
    let entry = next.entry().expect("parse");
    match last {
        Some((seq, hash)) => {
            assert_eq!(next.seq(), seq + 1);
            assert_eq!(entry.entry.prev_hash, PrevHash::Entry(hash));
        }
        None => assert_eq!(next.seq(), 1),
    }
    acked.push(next);
    (log, torn)
}

/// Whether the directory holds a temp file of an atomic replacement.
pub(crate) fn temp_files(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .expect("read_dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".tmp"))
        .collect()
}
