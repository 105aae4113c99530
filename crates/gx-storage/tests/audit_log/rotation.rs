//! Rotation into numbered segments, the sync cursor, pruning of synced segments, the cap
//! on unsynced data, and streaming reads across segments.

use gx_storage::{
    AuditLog, AuditLogConfig, FsyncPolicy, LogError, LogFormat, SyncCursor, verify_log,
    verify_log_with_progress,
};

use super::util::{fields, key, log_path, tempdir, verifying_key};

fn small_segments(policy: FsyncPolicy) -> AuditLogConfig {
    AuditLogConfig::new(policy).with_segment_max_bytes(2000)
}

fn segment_files(dir: &std::path::Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.starts_with("audit.jsonl.") && n[12..].bytes().all(|b| b.is_ascii_digit()))
        .collect();
    names.sort();
    names
}

#[test]
fn the_chain_continues_across_segments_and_readers_see_all_of_them() {
    let dir = tempdir();
    let path = log_path(&dir);
    let log = AuditLog::open(&path, key(), small_segments(FsyncPolicy::EveryEntry)).unwrap();
    for i in 0..60 {
        log.append_fields(&fields(i)).unwrap();
    }
    let segments = segment_files(dir.path());
    assert!(segments.len() >= 5, "{segments:?}");
    assert_eq!(segments[0], "audit.jsonl.00000000000000000001");
    let seqs: Vec<u64> = log.entries_after(0).map(|r| r.unwrap().seq()).collect();
    assert_eq!(seqs, (1..=60).collect::<Vec<_>>());
    let tail: Vec<u64> = log.entries_after(42).map(|r| r.unwrap().seq()).collect();
    assert_eq!(tail, (43..=60).collect::<Vec<_>>());
    drop(log);
    let report = verify_log(&path, &verifying_key()).unwrap();
    assert_eq!(report.first_break(), None);
    assert_eq!(report.entries(), 60);
    // Progress counts the bytes of every segment, once per entry, up to their sum.
    let on_disk: u64 = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap())
        .filter(|e| e.file_name().to_string_lossy().starts_with("audit.jsonl"))
        .filter(|e| !e.file_name().to_string_lossy().ends_with(".synced"))
        .map(|e| e.metadata().unwrap().len())
        .sum();
    let mut seen = Vec::new();
    let again = verify_log_with_progress(&path, &verifying_key(), LogFormat::Wire, &mut |d, t| {
        seen.push((d, t))
    })
    .unwrap();
    assert_eq!(again, report);
    assert_eq!(seen.len(), 60);
    assert!(seen.windows(2).all(|w| w[0].0 < w[1].0), "bytes only grow");
    assert_eq!(seen.last(), Some(&(on_disk, on_disk)));
    // Reopening continues from the last segment's head.
    let log = AuditLog::open(&path, key(), small_segments(FsyncPolicy::EveryEntry)).unwrap();
    assert_eq!(log.append_fields(&fields(0)).unwrap().seq(), 61);
}

#[test]
fn segments_are_deleted_only_once_every_entry_in_them_is_synced() {
    let dir = tempdir();
    let path = log_path(&dir);
    let log = AuditLog::open(&path, key(), small_segments(FsyncPolicy::None)).unwrap();
    for i in 0..40 {
        log.append_fields(&fields(i)).unwrap();
    }
    let before = segment_files(dir.path());
    let second_first: u64 = before[1][12..].parse().unwrap();
    // Synced up to just before the second segment's start: only the first one goes.
    log.mark_synced(second_first - 1).unwrap();
    let after = segment_files(dir.path());
    assert_eq!(after, before[1..].to_vec());
    assert_eq!(
        SyncCursor::at(dir.path().join("audit.jsonl.synced"))
            .load()
            .unwrap(),
        second_first - 1
    );
    // One short of the end of the second segment: it stays.
    let third_first: u64 = before[2][12..].parse().unwrap();
    log.mark_synced(third_first - 2).unwrap();
    assert_eq!(segment_files(dir.path()), after);
    // Reading from the cursor still works; reading pruned entries is a typed error.
    let seqs: Vec<u64> = log
        .entries_after(log.synced_seq())
        .map(|r| r.unwrap().seq())
        .collect();
    assert_eq!(seqs, ((third_first - 1)..=40).collect::<Vec<_>>());
    let err = log.entries_after(0).next().unwrap().unwrap_err();
    assert!(
        matches!(err, LogError::EntriesPruned { requested: 1, .. }),
        "{err:?}"
    );
    // The cursor cannot pass the end, and going back is a no-op.
    assert!(matches!(
        log.mark_synced(41),
        Err(LogError::CursorAhead {
            requested: 41,
            last: 40
        })
    ));
    log.mark_synced(3).unwrap();
    assert_eq!(log.synced_seq(), third_first - 2);
    // Everything synced: all rotated segments but the one holding the head may go.
    log.mark_synced(40).unwrap();
    drop(log);
    let log = AuditLog::open(&path, key(), small_segments(FsyncPolicy::None)).unwrap();
    assert_eq!(log.synced_seq(), 40);
    assert_eq!(log.last_seq(), 40);
    assert_eq!(log.append_fields(&fields(0)).unwrap().seq(), 41);
    assert_eq!(log.entries_after(40).count(), 1);
}

#[test]
fn the_chain_head_survives_when_every_segment_is_synced_and_the_active_one_is_empty() {
    let dir = tempdir();
    let path = log_path(&dir);
    // Each entry overflows the segment: every append rotates, the active file stays empty.
    let config = AuditLogConfig::new(FsyncPolicy::EveryEntry).with_segment_max_bytes(1);
    let log = AuditLog::open(&path, key(), config).unwrap();
    for i in 0..5 {
        log.append_fields(&fields(i)).unwrap();
    }
    assert_eq!(std::fs::metadata(&path).unwrap().len(), 0);
    log.mark_synced(5).unwrap();
    let hash = log.last_hash();
    drop(log);
    // The newest segment is kept: it holds the head.
    assert_eq!(
        segment_files(dir.path()),
        vec!["audit.jsonl.00000000000000000005".to_owned()]
    );
    let log = AuditLog::open(&path, key(), config).unwrap();
    assert_eq!(log.last_seq(), 5);
    assert_eq!(log.last_hash(), hash);
    let r = log.append_fields(&fields(9)).unwrap();
    assert_eq!(r.seq(), 6);
    assert!(r.line().contains(&format!("\"prevHash\":\"{hash}\"")));
}

#[test]
fn a_full_log_refuses_appends_with_a_clear_error_until_synced() {
    let dir = tempdir();
    let path = log_path(&dir);
    let config = AuditLogConfig::new(FsyncPolicy::None)
        .with_segment_max_bytes(1500)
        .with_max_unsynced_bytes(Some(5000));
    let log = AuditLog::open(&path, key(), config).unwrap();
    let mut appended = 0;
    let err = loop {
        match log.append_fields(&fields(appended)) {
            Ok(_) => appended += 1,
            Err(e) => break e,
        }
        assert!(appended < 1000, "the cap never triggered");
    };
    assert!(
        matches!(err, LogError::LogFull { limit: 5000, .. }),
        "{err:?}"
    );
    assert_eq!(err.code(), "LOG_FULL");
    assert!(err.to_string().contains("sync"), "{err}");
    // Nothing of the refused append was written.
    assert_eq!(log.last_seq(), appended);
    assert_eq!(log.entries_after(0).count() as u64, appended);
    // Syncing frees room.
    log.mark_synced(appended).unwrap();
    assert_eq!(log.append_fields(&fields(0)).unwrap().seq(), appended + 1);
}

#[test]
fn switching_the_signing_key_keeps_the_chain() {
    let dir = tempdir();
    let path = log_path(&dir);
    let log = AuditLog::open(&path, key(), AuditLogConfig::new(FsyncPolicy::None)).unwrap();
    for i in 0..3 {
        log.append_fields(&fields(i)).unwrap();
    }
    let new_key = gx_storage::AuditSigningKey::from_bytes(&[9u8; 32]);
    let new_public = new_key.verifying_key();
    log.set_signing_key(new_key);
    for i in 3..6 {
        log.append_fields(&fields(i)).unwrap();
    }
    drop(log);
    // The old key verifies up to the switch; the new key fails at the first entry it
    // did not sign, not at a link: the chain itself is whole.
    let old = verify_log(&path, &verifying_key()).unwrap();
    let b = old.first_break().unwrap();
    assert_eq!(
        (b.index, b.seq, b.code.code()),
        (3, Some(4), "INVALID_SIGNATURE")
    );
    let new = verify_log(&path, &new_public).unwrap();
    let b = new.first_break().unwrap();
    assert_eq!((b.index, b.code.code()), (0, "INVALID_SIGNATURE"));
}
