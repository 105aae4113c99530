//! Faults in rotation (fsync of the full segment, its rename, creating the next active
//! segment, the directory fsync) and in the directory fsync after pruning.
//!
//! Rotation runs after an append's entries are durable, so a rotation fault never fails
//! that append (failing it would invite the caller to append the same action twice); the
//! rotation is retried after the next commit. A fault after the rename that leaves no
//! usable active segment makes the log refuse appends with `LOG_POISONED` until reopened.

use std::path::Path;

use gx_storage::fault_injection::{Fault, FaultPoint};
use gx_storage::{AuditLogConfig, FsyncPolicy, LogError};

use super::util::{Acked, EIO, ENOSPC, assert_io, check_reopen, fields, log_path, open, tempdir};

/// Rotated segments beside the log at `path`.
fn segments(path: &Path) -> usize {
    let name = path.file_name().unwrap().to_string_lossy().into_owned() + ".";
    std::fs::read_dir(path.parent().unwrap())
        .unwrap()
        .filter(|e| {
            let n = e
                .as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .into_owned();
            n.strip_prefix(&name)
                .is_some_and(|rest| rest.len() == 20 && rest.bytes().all(|b| b.is_ascii_digit()))
        })
        .count()
}

/// Rotate after every commit.
fn config(policy: FsyncPolicy) -> AuditLogConfig {
    AuditLogConfig::new(policy).with_segment_max_bytes(1)
}

#[test]
fn a_failed_rotation_keeps_the_entry_and_is_retried() {
    for policy in [FsyncPolicy::EveryEntry, FsyncPolicy::GroupCommit] {
        for point in [FaultPoint::RotateSync, FaultPoint::RotateRename] {
            let dir = tempdir();
            let path = log_path(&dir);
            let log = open(&path, config(policy));
            let mut acked = Acked::default();
            for i in 0..3 {
                acked.append(&log, i);
            }
            assert_eq!(segments(&path), 3);
            let guard = Fault::new(point, &path, EIO).arm();
            acked.append(&log, 3);
            assert_eq!(guard.fired(), 1);
            assert_eq!(segments(&path), 3, "{point:?}: no rotation happened");
            drop(guard);
            // The next commit rotates the segment holding both entries.
            acked.append(&log, 4);
            assert_eq!(segments(&path), 4);
            drop(log);
            check_reopen(&path, config(policy), &mut acked, false);
        }
    }
}

#[test]
fn no_new_active_segment_after_the_rename_means_reopen() {
    let dir = tempdir();
    let path = log_path(&dir);
    let cfg = config(FsyncPolicy::EveryEntry);
    let log = open(&path, cfg);
    let mut acked = Acked::default();
    acked.append(&log, 0);
    let guard = Fault::new(FaultPoint::RotateOpen, &path, ENOSPC).arm();
    // The entry is durable (in the renamed segment), so this append is acknowledged.
    acked.append(&log, 1);
    assert_eq!(guard.fired(), 1);
    drop(guard);
    let err = log.append_fields(&fields(2)).unwrap_err();
    assert!(matches!(err, LogError::Poisoned), "{err:?}");
    drop(log);
    check_reopen(&path, cfg, &mut acked, false);
}

#[test]
fn a_failed_directory_fsync_after_rotation_is_flushed_before_the_next_ack() {
    for policy in [FsyncPolicy::EveryEntry, FsyncPolicy::GroupCommit] {
        let dir = tempdir();
        let path = log_path(&dir);
        let log = open(&path, config(policy));
        let mut acked = Acked::default();
        for i in 0..2 {
            acked.append(&log, i);
        }
        // The rotation after entry 3 cannot flush the directory, nor can the next append.
        let guard = Fault::new(FaultPoint::LogDirSync, &path, EIO)
            .times(2)
            .arm();
        acked.append(&log, 2);
        let err = log.append_fields(&fields(3)).unwrap_err();
        assert_io(&err, "fsync directory", dir.path(), EIO);
        assert_eq!(guard.fired(), 2);
        drop(guard);
        assert_eq!(log.last_seq(), 3);
        // Later appends and rotations go on from the right files: nothing is renamed
        // over the segment that the failed rotation made.
        for i in 4..8 {
            acked.append(&log, i);
        }
        assert_eq!(segments(&path), 7);
        drop(log);
        check_reopen(&path, config(policy), &mut acked, false);
    }
}

#[test]
fn a_failed_directory_fsync_after_pruning_is_reported() {
    let dir = tempdir();
    let path = log_path(&dir);
    let cfg = config(FsyncPolicy::EveryEntry);
    let log = open(&path, cfg);
    let mut acked = Acked::default();
    for i in 0..4 {
        acked.append(&log, i);
    }
    let guard = Fault::new(FaultPoint::LogDirSync, &path, EIO).arm();
    let err = log.mark_synced(3).unwrap_err();
    assert_io(&err, "fsync directory", dir.path(), EIO);
    drop(guard);
    // The cursor is stored; the pruned segments are gone from the listing.
    assert_eq!(log.synced_seq(), 3);
    acked.0.retain(|seq, _| *seq > 2);
    acked.append(&log, 4);
    drop(log);
    let log = open(&path, cfg);
    assert_eq!(log.synced_seq(), 3);
    let seqs: Vec<u64> = log.entries_after(3).map(|r| r.unwrap().seq()).collect();
    assert_eq!(seqs, [4, 5]);
    let report = gx_storage::verify_log(&path, &super::util::key().verifying_key()).unwrap();
    assert!(report.is_intact());
    assert_eq!(report.last_seq(), 5);
}
