//! Faults in an append: the write (short or not), the flush, and the roll-back itself,
//! under every fsync policy; and a failed group commit seen by its followers.

use std::sync::{Arc, Barrier};

use gx_storage::fault_injection::{Fault, FaultPoint};
use gx_storage::{AuditLogConfig, FsyncPolicy, LogError};

use super::util::{
    Acked, EDQUOT, EIO, ENOSPC, POLICIES, assert_io, check_reopen, fields, log_path, open, tempdir,
};

/// One fault in an append: the point, the errno, how many bytes of the write land first,
/// and the `op` the error must name.
struct Case {
    point: FaultPoint,
    errno: i32,
    short: Option<usize>,
    op: &'static str,
}

const CASES: &[Case] = &[
    // A disk that fills up in the middle of a line: half of it is in the file.
    Case {
        point: FaultPoint::LogWrite,
        errno: ENOSPC,
        short: Some(57),
        op: "write",
    },
    // A quota refusing the first byte.
    Case {
        point: FaultPoint::LogWrite,
        errno: EDQUOT,
        short: None,
        op: "write",
    },
    // A short write that got one byte out, then a device error.
    Case {
        point: FaultPoint::LogWrite,
        errno: EIO,
        short: Some(1),
        op: "write",
    },
    // The whole line is written, then the flush fails.
    Case {
        point: FaultPoint::LogSync,
        errno: EIO,
        short: None,
        op: "fsync",
    },
];

#[test]
fn a_failed_append_is_reported_rolled_back_and_the_next_append_continues() {
    for policy in POLICIES {
        for case in CASES {
            if policy == FsyncPolicy::None && case.point == FaultPoint::LogSync {
                continue; // `None` never flushes.
            }
            let dir = tempdir();
            let path = log_path(&dir);
            let config = AuditLogConfig::new(policy);
            let log = open(&path, config);
            let mut acked = Acked::default();
            for i in 0..5 {
                acked.append(&log, i);
            }
            let mut fault = Fault::new(case.point, &path, case.errno);
            if let Some(n) = case.short {
                fault = fault.short_write(n);
            }
            let guard = fault.arm();
            let err = log
                .append_fields(&fields(5))
                .expect_err("the fault must fail the append");
            assert_eq!(guard.fired(), 1);
            assert_io(&err, case.op, &path, case.errno);
            drop(guard);
            // The failed append left nothing: the file ends with the last acknowledged line.
            let bytes = std::fs::read(&path).unwrap();
            let last = acked.0.values().next_back().unwrap().clone() + "\n";
            assert!(bytes.ends_with(last.as_bytes()), "{policy:?} {}", case.op);
            assert_eq!(log.last_seq(), 5);
            // The next append continues the chain in the same process, reusing seq 6,
            // which was never acknowledged.
            let r = acked.append(&log, 6);
            assert_eq!(r.seq(), 6);
            drop(log);
            let (_log, torn) = check_reopen(&path, config, &mut acked, false);
            assert_eq!(torn, 0, "the roll-back left a torn line");
        }
    }
}

#[test]
fn a_failed_roll_back_poisons_the_log_and_reopening_repairs_it() {
    for policy in POLICIES {
        let dir = tempdir();
        let path = log_path(&dir);
        let config = AuditLogConfig::new(policy);
        let log = open(&path, config);
        let mut acked = Acked::default();
        for i in 0..3 {
            acked.append(&log, i);
        }
        let write = Fault::new(FaultPoint::LogWrite, &path, ENOSPC)
            .short_write(40)
            .arm();
        let truncate = Fault::new(FaultPoint::LogTruncate, &path, EIO).arm();
        let err = log.append_fields(&fields(3)).unwrap_err();
        assert_io(&err, "write", &path, ENOSPC);
        assert_eq!(truncate.fired(), 1);
        drop((write, truncate));
        // The file may end in a partial line: the log refuses until it is reopened.
        let again = log.append_fields(&fields(4)).unwrap_err();
        assert!(matches!(again, LogError::Poisoned), "{again:?}");
        assert_eq!(again.code(), "LOG_POISONED");
        assert!(again.to_string().contains("reopen"));
        drop(log);
        let (_log, torn) = check_reopen(&path, config, &mut acked, false);
        assert_eq!(
            torn, 40,
            "{policy:?}: reopening cuts exactly the torn bytes"
        );
    }
}

/// A batch whose write stopped after its first whole line, and whose roll-back failed:
/// after reopening, that whole line is a valid entry that continues the chain (as after
/// a crash between write and acknowledgement), the torn rest is cut, and nothing
/// acknowledged is lost.
#[test]
fn a_poisoned_batch_keeps_whole_lines_and_cuts_the_torn_rest() {
    let dir = tempdir();
    let path = log_path(&dir);
    let config = AuditLogConfig::new(FsyncPolicy::EveryEntry);
    let log = open(&path, config);
    let mut acked = Acked::default();
    let line_len = acked.append(&log, 0).line().len() + 1;
    acked.append(&log, 1);
    let write = Fault::new(FaultPoint::LogWrite, &path, ENOSPC)
        .short_write(line_len + line_len / 2)
        .arm();
    let truncate = Fault::new(FaultPoint::LogTruncate, &path, EIO).arm();
    let batch = [fields(2), fields(3), fields(4)];
    assert_io(
        &log.append_batch(&batch).unwrap_err(),
        "write",
        &path,
        ENOSPC,
    );
    drop((write, truncate));
    drop(log);
    let (log, torn) = check_reopen(&path, config, &mut acked, true);
    assert!(torn > 0);
    // Seq 3 is the unacknowledged but whole first line of the batch; the append in
    // `check_reopen` got seq 4.
    assert_eq!(log.last_seq(), 4);
}

#[test]
fn followers_of_a_failed_group_commit_get_its_operation_file_and_kind() {
    const THREADS: usize = 8;
    const PER_THREAD: u64 = 20;
    let dir = tempdir();
    let path = log_path(&dir);
    let config = AuditLogConfig::new(FsyncPolicy::GroupCommit);
    let log = Arc::new(open(&path, config));
    // Fail the flushes of several groups, after some succeeded.
    let guard = Fault::new(FaultPoint::LogSync, &path, ENOSPC)
        .after(3)
        .times(4)
        .arm();
    let barrier = Arc::new(Barrier::new(THREADS));
    let handles: Vec<_> = (0..THREADS as u64)
        .map(|t| {
            let log = Arc::clone(&log);
            let barrier = Arc::clone(&barrier);
            std::thread::spawn(move || {
                barrier.wait();
                (0..PER_THREAD)
                    .map(|i| log.append_fields(&fields(t * 100 + i)))
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let mut acked = Acked::default();
    let (mut leaders, mut followers) = (0, 0);
    for h in handles {
        for r in h.join().unwrap() {
            match r {
                Ok(rec) => acked.push(rec),
                Err(e @ LogError::Io { .. }) => {
                    assert_io(&e, "fsync", &path, ENOSPC);
                    leaders += 1;
                }
                Err(LogError::GroupCommitFailed { op, path: p, kind }) => {
                    assert_eq!(op, "fsync");
                    assert_eq!(p, path);
                    assert_eq!(kind, std::io::ErrorKind::StorageFull);
                    followers += 1;
                }
                Err(e) => panic!("unexpected error {e:?}"),
            }
        }
    }
    assert_eq!(guard.fired(), 4);
    assert_eq!(leaders, 4, "each failed flush fails its leader once");
    assert_eq!(
        acked.0.len() + leaders + followers,
        THREADS * PER_THREAD as usize
    );
    drop(guard);
    assert_eq!(log.last_seq(), acked.last_seq());
    drop(log);
    check_reopen(&path, config, &mut acked, false);
}

#[test]
fn a_failed_explicit_sync_is_reported() {
    let dir = tempdir();
    let path = log_path(&dir);
    let log = open(&path, AuditLogConfig::new(FsyncPolicy::None));
    let mut acked = Acked::default();
    acked.append(&log, 0);
    let guard = Fault::new(FaultPoint::LogSync, &path, EIO).arm();
    // `sync` goes through the same flush point as an append's fsync.
    assert_io(&log.sync().unwrap_err(), "fsync", &path, EIO);
    drop(guard);
    log.sync().expect("sync after the fault");
}

#[test]
fn a_failed_open_or_torn_line_repair_is_reported_and_changes_nothing() {
    let dir = tempdir();
    let path = log_path(&dir);
    let config = AuditLogConfig::new(FsyncPolicy::EveryEntry);
    // Creating a new log on a full quota.
    let guard = Fault::new(FaultPoint::LogOpen, &path, EDQUOT).arm();
    let err = gx_storage::AuditLog::open(&path, super::util::key(), config).unwrap_err();
    assert_io(&err, "open", &path, EDQUOT);
    drop(guard);
    assert!(!path.exists());
    // A log with a torn last line whose repair cannot be written.
    let log = open(&path, config);
    let mut acked = Acked::default();
    for i in 0..3 {
        acked.append(&log, i);
    }
    drop(log);
    let mut bytes = std::fs::read(&path).unwrap();
    bytes.extend_from_slice(b"{\"seq\":4,\"timest");
    std::fs::write(&path, &bytes).unwrap();
    let guard = Fault::new(FaultPoint::LogTruncate, &path, EIO).arm();
    let err = gx_storage::AuditLog::open(&path, super::util::key(), config).unwrap_err();
    assert_io(&err, "truncate torn line", &path, EIO);
    drop(guard);
    assert_eq!(
        std::fs::read(&path).unwrap(),
        bytes,
        "the file was left as found"
    );
    let (_log, torn) = check_reopen(&path, config, &mut acked, false);
    assert_eq!(torn, 16);
}
