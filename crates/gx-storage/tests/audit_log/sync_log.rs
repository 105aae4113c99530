//! [`SyncLog`]: where a log stands, read under the lock from its last line (across a
//! rotation, past a torn tail), entries read without the lock, the cursor stored under it.

use core::time::Duration;

use gx_storage::{AuditLog, AuditLogConfig, FsyncPolicy, LogError, SyncLog};

use super::util::{fields, key, log_path, open, tempdir, write_entries};

fn impatient() -> AuditLogConfig {
    AuditLogConfig::new(FsyncPolicy::None).with_lock_timeout(Duration::from_millis(100))
}

#[test]
fn position_reads_the_last_entry_past_a_torn_tail_and_across_a_rotation() {
    let dir = tempdir();
    let path = log_path(&dir);
    write_entries(&path, 4);
    let sync = SyncLog::open(&path, impatient()).unwrap();
    assert_eq!(sync.position().unwrap(), (0, 4));
    // A torn tail left by a crash is not an entry (the next writer repairs it).
    let mut bytes = std::fs::read(&path).unwrap();
    bytes.extend_from_slice(b"{\"seq\":5,\"times");
    std::fs::write(&path, &bytes).unwrap();
    assert_eq!(sync.position().unwrap(), (0, 4));
    // Right after a rotation the active segment is empty: the newest segment has the end.
    {
        let config = AuditLogConfig::new(FsyncPolicy::None).with_segment_max_bytes(1);
        let log = AuditLog::open(&path, key(), config).unwrap();
        log.append_fields(&fields(5)).unwrap();
        assert_eq!(std::fs::metadata(&path).unwrap().len(), 0);
    }
    assert_eq!(sync.position().unwrap(), (0, 5));
    let seqs: Vec<u64> = sync.entries_after(2, 5).map(|r| r.unwrap().seq()).collect();
    assert_eq!(seqs, [3, 4, 5]);
    assert_eq!(sync.path(), path);
}

#[test]
fn the_cursor_moves_under_the_lock_and_never_past_the_log() {
    let dir = tempdir();
    let path = log_path(&dir);
    write_entries(&path, 3);
    let sync = SyncLog::open(&path, impatient()).unwrap();
    sync.mark_synced(2).unwrap();
    sync.mark_synced(1).unwrap();
    assert_eq!(sync.position().unwrap(), (2, 3));
    let err = sync.mark_synced(4).unwrap_err();
    assert!(
        matches!(
            err,
            LogError::CursorAhead {
                requested: 4,
                last: 3
            }
        ),
        "{err:?}"
    );
    // A writer sees the cursor; while it holds the log, the sync side waits, then gives up.
    let log = open(&path, FsyncPolicy::None);
    assert_eq!(log.synced_seq(), 2);
    assert_eq!(sync.position().unwrap_err().code(), "LOG_LOCKED");
    assert_eq!(sync.mark_synced(3).unwrap_err().code(), "LOG_LOCKED");
    drop(log);
    sync.mark_synced(3).unwrap();
    assert_eq!(sync.position().unwrap(), (3, 3));
}

#[test]
fn a_missing_or_symlinked_log_is_refused() {
    let dir = tempdir();
    let path = log_path(&dir);
    let err = SyncLog::open(&path, impatient()).unwrap_err();
    assert!(
        matches!(&err, LogError::Io { source, .. } if source.kind() == std::io::ErrorKind::NotFound),
        "{err:?}"
    );
    let other = dir.path().join("other.jsonl");
    write_entries(&other, 1);
    std::os::unix::fs::symlink(&other, &path).unwrap();
    assert_eq!(
        SyncLog::open(&path, impatient()).unwrap_err().code(),
        "LOG_NOT_REGULAR_FILE"
    );
}
