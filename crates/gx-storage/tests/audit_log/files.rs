//! The log's files against hostile paths and crashes: symlinks are never followed, files are
//! created 0600 whatever the umask, a new log's directory entry is flushed, repair cuts only
//! what a crash can leave (never a synced entry) and says so, and lines are bounded.

use std::io::{BufReader, Write};
use std::os::unix::fs::PermissionsExt;

use gx_storage::fault_injection::{Fault, FaultPoint};
use gx_storage::{
    AuditLog, AuditLogConfig, FsyncPolicy, LogError, MAX_ENTRY_BYTES, TailKind, verify_log,
};

use super::child::CHILD_TEST;
use super::lock::read_until;
use super::util::{
    fields, key, log_path, open, open_impatient, run_child, run_child_with_umask, tempdir,
    verifying_key, write_entries,
};

#[test]
fn a_symlinked_log_onto_an_unrelated_file_is_refused_and_the_file_left_untouched() {
    let dir = tempdir();
    let victim = dir.path().join("victim.txt");
    // No newline at all: to a repair that follows links, the whole file is one torn line.
    std::fs::write(&victim, b"precious notes, no newline").unwrap();
    let path = log_path(&dir);
    std::os::unix::fs::symlink(&victim, &path).unwrap();
    let err = open_impatient(&path).unwrap_err();
    assert!(
        matches!(
            err,
            LogError::NotRegularFile {
                found: "a symbolic link",
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(err.code(), "LOG_NOT_REGULAR_FILE");
    assert_eq!(
        std::fs::read(&victim).unwrap(),
        b"precious notes, no newline"
    );
    // A dangling link is not created through either.
    std::fs::remove_file(&victim).unwrap();
    assert_eq!(
        open_impatient(&path).unwrap_err().code(),
        "LOG_NOT_REGULAR_FILE"
    );
    assert!(!victim.exists());
}

#[test]
fn symlinked_side_files_are_refused() {
    let dir = tempdir();
    let path = log_path(&dir);
    write_entries(&path, 2);
    let victim = dir.path().join("victim");
    std::fs::write(&victim, b"7").unwrap();
    for side in ["audit.jsonl.lock", "audit.jsonl.synced"] {
        let side = dir.path().join(side);
        let _ = std::fs::remove_file(&side);
        std::os::unix::fs::symlink(&victim, &side).unwrap();
        let err = open_impatient(&path).unwrap_err();
        assert_eq!(
            err.code(),
            "LOG_NOT_REGULAR_FILE",
            "{}: {err}",
            side.display()
        );
        std::fs::remove_file(&side).unwrap();
    }
    assert_eq!(std::fs::read(&victim).unwrap(), b"7");
    assert_eq!(open(&path, FsyncPolicy::None).last_seq(), 2);
}

fn modes_under_umask(umask: &str) {
    let dir = tempdir();
    let path = log_path(&dir);
    let mut child = run_child_with_umask(CHILD_TEST, "create", &path.display().to_string(), umask);
    let mut out = BufReader::new(child.stdout.take().unwrap());
    read_until(&mut out, "CREATED");
    assert!(child.wait().unwrap().success());
    let mut seen = Vec::new();
    for entry in std::fs::read_dir(dir.path()).unwrap() {
        let entry = entry.unwrap();
        let mode = entry.metadata().unwrap().permissions().mode() & 0o777;
        let name = entry.file_name().to_string_lossy().into_owned();
        assert_eq!(mode, 0o600, "{name} under umask {umask}: {mode:o}");
        seen.push(name);
    }
    seen.sort();
    // The active segment, rotated segments, the lock and the cursor were all made.
    assert!(seen.contains(&"audit.jsonl".to_owned()), "{seen:?}");
    assert!(seen.contains(&"audit.jsonl.lock".to_owned()), "{seen:?}");
    assert!(seen.contains(&"audit.jsonl.synced".to_owned()), "{seen:?}");
    assert!(
        seen.iter().any(|n| n.starts_with("audit.jsonl.000")),
        "{seen:?}"
    );
}

#[test]
fn every_file_is_created_0600_under_umask_022() {
    modes_under_umask("022");
}

#[test]
fn every_file_is_created_0600_under_umask_000() {
    modes_under_umask("000");
}

#[test]
fn a_new_logs_directory_entry_is_flushed() {
    let dir = tempdir();
    let path = log_path(&dir);
    // Creating the log must flush its directory: a failing directory fsync fails the open.
    let guard = Fault::new(FaultPoint::LogDirSync, &path, libc_eio()).arm();
    let err = AuditLog::open(&path, key(), AuditLogConfig::new(FsyncPolicy::None)).unwrap_err();
    assert_eq!(guard.fired(), 1);
    assert!(
        matches!(
            &err,
            LogError::Io {
                op: "fsync directory",
                ..
            }
        ),
        "{err:?}"
    );
    drop(guard);
    // Opening an existing log does not need to.
    let guard = Fault::new(FaultPoint::LogDirSync, &path, libc_eio()).arm();
    let log = open(&path, FsyncPolicy::None);
    assert_eq!(guard.fired(), 0);
    log.append_fields(&fields(0)).unwrap();
}

fn libc_eio() -> i32 {
    5
}

#[test]
fn a_torn_entry_is_repaired_and_reported() {
    let dir = tempdir();
    let path = log_path(&dir);
    write_entries(&path, 3);
    let whole = std::fs::read(&path).unwrap();
    let mut torn = whole.clone();
    torn.extend_from_slice(b"{\"seq\":4,\"timestamp\":\"2026-");
    std::fs::write(&path, &torn).unwrap();
    let log = open(&path, FsyncPolicy::None);
    let repair = log.repair().expect("a repair report").clone();
    assert_eq!(repair.kind(), TailKind::TornEntry);
    assert_eq!(repair.removed_bytes(), (torn.len() - whole.len()) as u64);
    assert_eq!(repair.offset(), whole.len() as u64);
    assert_eq!(repair.last_seq(), 3);
    assert_eq!(repair.path(), path);
    let text = repair.to_string();
    assert!(
        text.contains(&format!("removed {} bytes", torn.len() - whole.len())),
        "{text}"
    );
    assert!(text.contains("after seq 3"), "{text}");
    assert_eq!(log.append_fields(&fields(4)).unwrap().seq(), 4);
    drop(log);
    // A clean reopen reports nothing.
    assert!(open(&path, FsyncPolicy::None).repair().is_none());
}

#[test]
fn a_nul_run_after_the_last_entry_is_repaired_and_reported() {
    let dir = tempdir();
    let path = log_path(&dir);
    write_entries(&path, 2);
    let whole = std::fs::read(&path).unwrap();
    // Longer than any entry: a file system's zero-filled extension is not bounded by it.
    let file = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
    file.set_len(whole.len() as u64 + 2 * MAX_ENTRY_BYTES as u64)
        .unwrap();
    drop(file);
    let log = open(&path, FsyncPolicy::None);
    let repair = log.repair().expect("a repair report");
    assert_eq!(repair.kind(), TailKind::NulRun);
    assert_eq!(repair.removed_bytes(), 2 * MAX_ENTRY_BYTES as u64);
    assert_eq!(log.last_seq(), 2);
    drop(log);
    assert_eq!(std::fs::read(&path).unwrap(), whole);
}

#[test]
fn garbage_after_the_last_newline_is_refused_and_kept_not_cut() {
    let dir = tempdir();
    let path = log_path(&dir);
    write_entries(&path, 3);
    let mut bytes = std::fs::read(&path).unwrap();
    bytes.extend_from_slice(b"rm -rf / # not a torn entry");
    std::fs::write(&path, &bytes).unwrap();
    let err = open_impatient(&path).unwrap_err();
    assert!(
        matches!(
            err,
            LogError::CorruptLine {
                line: 4,
                code: "TAIL_NOT_TORN_WRITE",
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(std::fs::read(&path).unwrap(), bytes);
}

#[test]
fn a_torn_tail_longer_than_one_entry_is_refused() {
    let dir = tempdir();
    let path = log_path(&dir);
    write_entries(&path, 1);
    let mut bytes = std::fs::read(&path).unwrap();
    bytes.extend_from_slice(b"{\"seq\":2,\"metadata\":\"");
    bytes.resize(bytes.len() + MAX_ENTRY_BYTES + 10, b'x');
    std::fs::write(&path, &bytes).unwrap();
    let err = open_impatient(&path).unwrap_err();
    assert!(
        matches!(
            err,
            LogError::CorruptLine {
                code: "LINE_TOO_LONG",
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(std::fs::read(&path).unwrap().len(), bytes.len());
}

/// The cursor says 6 entries were synced; a crash (or worse) cut 40 bytes off entry 6.
/// Repairing would drop entry 6 and the next append would reissue seq 6 with another hash,
/// forking the chain the server holds; the log is refused and left as it was.
#[test]
fn a_synced_entry_cut_short_is_refused_not_reissued() {
    let dir = tempdir();
    let path = log_path(&dir);
    {
        let log = open(&path, FsyncPolicy::EveryEntry);
        for i in 0..6 {
            log.append_fields(&fields(i)).unwrap();
        }
        log.mark_synced(6).unwrap();
    }
    let whole = std::fs::read(&path).unwrap();
    let cut = &whole[..whole.len() - 40];
    std::fs::write(&path, cut).unwrap();
    let err = open_impatient(&path).unwrap_err();
    assert!(
        matches!(
            err,
            LogError::SyncedEntryDamaged {
                last_intact: 5,
                synced_seq: 6,
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(err.code(), "SYNCED_ENTRY_DAMAGED");
    assert!(err.to_string().contains("synced entry"), "{err}");
    assert_eq!(std::fs::read(&path).unwrap(), cut);
    // Cutting an unsynced entry is still an ordinary repair.
    std::fs::write(&path, &whole).unwrap();
    {
        let log = open(&path, FsyncPolicy::EveryEntry);
        log.append_fields(&fields(6)).unwrap();
    }
    let seven = std::fs::read(&path).unwrap();
    std::fs::write(&path, &seven[..seven.len() - 40]).unwrap();
    let log = open(&path, FsyncPolicy::None);
    assert_eq!(log.last_seq(), 6);
    assert!(log.repair().is_some());
}

#[test]
fn an_entry_too_large_to_ever_sync_is_refused_at_append() {
    let dir = tempdir();
    let path = log_path(&dir);
    let log = open(&path, FsyncPolicy::None);
    let meta = format!("{{\"blob\":\"{}\"}}", "x".repeat(MAX_ENTRY_BYTES));
    let mut big = fields(0);
    big.metadata = Some(&meta);
    let err = log.append_fields(&big).unwrap_err();
    assert!(
        matches!(err, LogError::EntryTooLarge { limit: MAX_ENTRY_BYTES, bytes } if bytes > MAX_ENTRY_BYTES),
        "{err:?}"
    );
    assert_eq!(err.code(), "ENTRY_TOO_LARGE");
    assert_eq!(log.last_seq(), 0);
    // Just under the limit is fine, and the log goes on.
    let fits = format!("{{\"blob\":\"{}\"}}", "x".repeat(MAX_ENTRY_BYTES - 1024));
    big.metadata = Some(&fits);
    assert_eq!(log.append_fields(&big).unwrap().seq(), 1);
    assert_eq!(log.append_fields(&fields(1)).unwrap().seq(), 2);
    drop(log);
    let report = verify_log(&path, &verifying_key()).unwrap();
    assert_eq!((report.entries(), report.first_break()), (2, None));
}

/// A 200 MB line: opening the log (in a child, so its peak memory is its own) is refused
/// without reading the line into memory.
#[test]
fn a_200_mb_line_is_refused_in_bounded_memory() {
    let dir = tempdir();
    let path = log_path(&dir);
    write_entries(&path, 1);
    {
        let mut file = std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap();
        let chunk = vec![b'x'; 1 << 20];
        file.write_all(b"{\"seq\":2,\"metadata\":\"").unwrap();
        for _ in 0..200 {
            file.write_all(&chunk).unwrap();
        }
        file.write_all(b"\"}\n").unwrap();
    }
    let mut child = run_child(CHILD_TEST, "open-rss", &path.display().to_string());
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let line = read_until(&mut out, "RSS");
    assert!(child.wait().unwrap().success());
    let words: Vec<&str> = line.split(' ').collect();
    assert_eq!(words[1], "CORRUPT_LOG", "{line}");
    assert_eq!(words[2], "LINE_TOO_LONG", "{line}");
    // `verify_log` stops at the line too, without holding it.
    assert_eq!(words[3], "IO_ERROR", "{line}");
    let peak_kib: u64 = words[4].parse().unwrap();
    assert!(peak_kib < 64 * 1024, "peak RSS {peak_kib} KiB: {line}");
}
