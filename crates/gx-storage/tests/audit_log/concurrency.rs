//! Group commit: concurrent appenders and batches produce one gap-free chain, and every
//! policy hands back exactly the lines it wrote.

use std::sync::Arc;

use gx_storage::gx_core::{EntryError, Field, UnixTime};
use gx_storage::{AuditLog, AuditLogConfig, FsyncPolicy, LogError, verify_log};

use super::util::{fields, key, log_path, plain_fields, tempdir, verifying_key};

#[test]
fn concurrent_appenders_share_flushes_and_keep_one_chain() {
    for policy in [
        FsyncPolicy::GroupCommit,
        FsyncPolicy::EveryEntry,
        FsyncPolicy::None,
    ] {
        let dir = tempdir();
        let path = log_path(&dir);
        let config = AuditLogConfig::new(policy).with_segment_max_bytes(8 * 1024);
        let log = Arc::new(AuditLog::open(&path, key(), config).unwrap());
        let threads: Vec<_> = (0..4)
            .map(|t| {
                let log = Arc::clone(&log);
                std::thread::spawn(move || {
                    let mut seqs = Vec::new();
                    for i in 0..50 {
                        if i % 10 == 0 {
                            let batch = [fields(t), plain_fields(), fields(i)];
                            seqs.extend(log.append_batch(&batch).unwrap().iter().map(|r| r.seq()));
                        } else {
                            seqs.push(log.append_fields(&fields(i)).unwrap().seq());
                        }
                    }
                    seqs
                })
            })
            .collect();
        let mut all: Vec<u64> = threads
            .into_iter()
            .flat_map(|t| t.join().unwrap())
            .collect();
        all.sort_unstable();
        assert_eq!(
            all,
            (1..=all.len() as u64).collect::<Vec<_>>(),
            "{policy:?}"
        );
        assert_eq!(log.last_seq(), all.len() as u64);
        drop(log);
        let report = verify_log(&path, &verifying_key()).unwrap();
        assert_eq!(report.first_break(), None, "{policy:?}");
        assert_eq!(report.entries(), all.len() as u64);
    }
}

#[test]
fn appended_records_are_the_lines_on_disk() {
    let dir = tempdir();
    let path = log_path(&dir);
    let log = AuditLog::open(&path, key(), AuditLogConfig::new(FsyncPolicy::GroupCommit)).unwrap();
    let a = log.append_fields(&fields(1)).unwrap();
    let b = log.append_batch(&[plain_fields(), fields(2)]).unwrap();
    let written: Vec<_> = log.entries_after(0).map(Result::unwrap).collect();
    assert_eq!(written.len(), 3);
    assert_eq!(written[0], a);
    assert_eq!(written[1..], b[..]);
    let text = std::fs::read_to_string(&path).unwrap();
    let expected: String = [&a, &b[0], &b[1]]
        .iter()
        .map(|r| format!("{}\n", r.line()))
        .collect();
    assert_eq!(text, expected);
    assert!(a.line().starts_with("{\"seq\":1,\"timestamp\":\""));
    assert!(a.line().contains("\"prevHash\":\"0000000000000000\""));
    assert!(
        b[0].line()
            .contains(&format!("\"prevHash\":\"{}\"", a.hash()))
    );
    assert!(!b[0].line().contains("metadata"));
    assert_eq!(log.last_hash().to_string(), b[1].hash().to_string());
}

#[test]
fn invalid_entries_are_refused_and_write_nothing() {
    let dir = tempdir();
    let path = log_path(&dir);
    let log = AuditLog::open(&path, key(), AuditLogConfig::new(FsyncPolicy::EveryEntry)).unwrap();
    log.append_fields(&fields(0)).unwrap();
    let mut bad = plain_fields();
    bad.action = "";
    let err = log.append_batch(&[fields(1), bad]).unwrap_err();
    assert_eq!(err.code(), "INVALID_ENTRY");
    // gx-core's reason travels as the typed source.
    assert!(matches!(
        err,
        LogError::InvalidEntry(EntryError::BadLength(Field::Action))
    ));
    let cause = core::error::Error::source(&err).and_then(|c| c.downcast_ref::<EntryError>());
    assert_eq!(cause, Some(&EntryError::BadLength(Field::Action)));
    let mut bad = plain_fields();
    bad.metadata = Some("[1,2]");
    let err = log.append_fields(&bad).unwrap_err();
    assert_eq!(err.code(), "INVALID_ENTRY");
    assert!(
        matches!(err, LogError::InvalidEntry(EntryError::Metadata(_))),
        "{err:?}"
    );
    assert_eq!(log.last_seq(), 1);
    assert_eq!(log.append_fields(&fields(2)).unwrap().seq(), 2);
    assert_eq!(std::fs::read_to_string(&path).unwrap().lines().count(), 2);
}

#[test]
fn timestamps_never_go_backwards() {
    let dir = tempdir();
    let path = log_path(&dir);
    let log = AuditLog::open(&path, key(), AuditLogConfig::new(FsyncPolicy::None)).unwrap();
    let mut last = UnixTime::EPOCH;
    for i in 0..20 {
        log.append_fields(&fields(i)).unwrap();
        assert!(log.last_timestamp() >= last);
        last = log.last_timestamp();
    }
    assert!(last > UnixTime::EPOCH);
}
