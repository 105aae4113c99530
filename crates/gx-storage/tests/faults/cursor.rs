//! Faults while saving the sync cursor and the time floor (atomic replacement).

use gx_storage::fault_injection::{Fault, FaultPoint};
use gx_storage::gx_core::UnixTime;
use gx_storage::{AuditLogConfig, FsyncPolicy, SyncCursor, TimeFloor, TimeFloorError};

use super::util::{
    Acked, EDQUOT, EIO, ENOSPC, assert_io, check_reopen, log_path, open, temp_files, tempdir,
};

/// Every step of an atomic replacement, with the `op` its error names.
pub(crate) const STEPS: &[(FaultPoint, i32, Option<usize>, &str)] = &[
    (FaultPoint::TempCreate, EDQUOT, None, "create temp file"),
    (FaultPoint::TempWrite, ENOSPC, Some(1), "write temp file"),
    (FaultPoint::TempWrite, EIO, None, "write temp file"),
    (FaultPoint::TempSync, EIO, None, "fsync temp file"),
    (FaultPoint::Rename, EIO, None, "rename"),
    (FaultPoint::DirSync, EIO, None, "fsync directory"),
];

#[test]
fn a_failed_cursor_save_is_reported_and_keeps_the_old_cursor() {
    for &(point, errno, short, op) in STEPS {
        let dir = tempdir();
        let path = log_path(&dir);
        let cfg = AuditLogConfig::new(FsyncPolicy::EveryEntry);
        let log = open(&path, cfg);
        let mut acked = Acked::default();
        for i in 0..4 {
            acked.append(&log, i);
        }
        log.mark_synced(1).unwrap();
        let cursor = SyncCursor::at(dir.path().join("audit.jsonl.synced"));
        let mut fault = Fault::new(point, cursor.path(), errno);
        if let Some(n) = short {
            fault = fault.short_write(n);
        }
        let guard = fault.arm();
        let err = log.mark_synced(3).unwrap_err();
        assert_io(&err, op, cursor.path(), errno);
        drop(guard);
        assert_eq!(log.synced_seq(), 1, "{op}: the cursor moved in memory");
        // On disk: the old value, except after the rename (then the new one, whole).
        let on_disk = cursor.load().unwrap();
        if point == FaultPoint::DirSync {
            assert_eq!(on_disk, 3);
        } else {
            assert_eq!(on_disk, 1, "{op}");
        }
        assert!(temp_files(dir.path()).is_empty(), "{op}: temp file left");
        // Retrying succeeds.
        log.mark_synced(3).unwrap();
        assert_eq!(cursor.load().unwrap(), 3);
        drop(log);
        let (log, _) = check_reopen(&path, cfg, &mut acked, false);
        assert_eq!(log.synced_seq(), 3);
    }
}

#[test]
fn a_failed_time_floor_save_is_reported_and_keeps_the_old_floor() {
    for &(point, errno, short, op) in STEPS {
        let dir = tempdir();
        let path = dir.path().join("audit.jsonl.floor");
        let mut floor = TimeFloor::open(&path).unwrap();
        let t1 = UnixTime::from_millis(1_700_000_000_000);
        let t2 = UnixTime::from_millis(1_800_000_000_000);
        assert!(floor.observe(t1).unwrap());
        let mut fault = Fault::new(point, &path, errno);
        if let Some(n) = short {
            fault = fault.short_write(n);
        }
        let guard = fault.arm();
        let e = floor.observe(t2).unwrap_err();
        assert_eq!(e.code(), "IO_ERROR");
        match &e {
            TimeFloorError::Io {
                op: got,
                path: p,
                source,
            } => {
                assert_eq!(*got, op);
                assert_eq!(p, &path);
                assert_eq!(source.raw_os_error(), Some(errno));
            }
            other => panic!("{other:?}"),
        }
        drop(guard);
        assert_eq!(floor.floor(), t1, "{op}");
        let reread = TimeFloor::open(&path).unwrap().floor();
        assert_eq!(reread, if point == FaultPoint::DirSync { t2 } else { t1 });
        assert!(temp_files(dir.path()).is_empty());
        assert!(floor.observe(t2).unwrap());
        assert_eq!(TimeFloor::open(&path).unwrap().floor(), t2);
    }
}
