//! One writer: a second process or a second instance is refused with a typed error, and
//! the log never interleaves two writers' chains.

use std::io::{BufRead, BufReader, Write};

use core::time::Duration;
use std::collections::BTreeMap;
use std::time::Instant;

use gx_storage::{AuditLog, AuditLogConfig, FsyncPolicy, LogError, verify_log};

use super::child::CHILD_TEST;
use super::util::{fields, key, log_path, open, open_impatient, run_child, tempdir, verifying_key};

pub(crate) fn read_until(out: &mut impl BufRead, prefix: &str) -> String {
    let mut line = String::new();
    loop {
        line.clear();
        assert!(
            out.read_line(&mut line).unwrap() > 0,
            "child ended before {prefix}"
        );
        if line.starts_with(prefix) {
            return line.trim().to_owned();
        }
    }
}

#[test]
fn a_second_process_is_refused_and_nothing_interleaves() {
    let dir = tempdir();
    let path = log_path(&dir);
    let arg = |n: u32| format!("{}|{n}", path.display());

    let mut first = run_child(CHILD_TEST, "hold", &arg(20));
    let mut first_out = BufReader::new(first.stdout.take().unwrap());
    assert_eq!(read_until(&mut first_out, "OPEN"), "OPEN 0");

    // While the first holds the log, a second process and a second instance in this
    // process are both refused.
    let mut second = run_child(CHILD_TEST, "hold", &arg(20));
    let mut second_out = BufReader::new(second.stdout.take().unwrap());
    assert_eq!(read_until(&mut second_out, "LOCKED"), "LOCKED LOG_LOCKED");
    drop(second.stdin.take());
    assert!(second.wait().unwrap().success());

    let err = open_impatient(&path).unwrap_err();
    assert!(matches!(err, LogError::Locked { .. }), "{err:?}");
    assert!(err.to_string().contains("another writer"), "{err}");

    read_until(&mut first_out, "DONE");
    first.stdin.take().unwrap().flush().unwrap();
    assert!(first.wait().unwrap().success());

    // Once the holder is gone, the lock is free again and the chain is one chain.
    let log = open(&path, FsyncPolicy::None);
    assert_eq!(log.last_seq(), 20);
    log.append_fields(&fields(1)).unwrap();
    drop(log);
    let report = verify_log(&path, &verifying_key()).unwrap();
    assert_eq!(report.first_break(), None);
    assert_eq!(report.entries(), 21);
}

#[test]
fn a_second_instance_in_one_process_is_refused_until_the_first_drops() {
    let dir = tempdir();
    let path = log_path(&dir);
    let first = open(&path, FsyncPolicy::None);
    let err = open_impatient(&path).unwrap_err();
    assert_eq!(err.code(), "LOG_LOCKED");
    drop(first);
    let again = open(&path, FsyncPolicy::None);
    assert_eq!(again.last_seq(), 0);
}

#[test]
fn a_killed_holder_releases_the_lock() {
    let dir = tempdir();
    let path = log_path(&dir);
    let mut child = run_child(CHILD_TEST, "hold", &format!("{}|3", path.display()));
    let mut out = BufReader::new(child.stdout.take().unwrap());
    read_until(&mut out, "DONE");
    child.kill().unwrap();
    child.wait().unwrap();
    let log = open(&path, FsyncPolicy::None);
    assert_eq!(log.last_seq(), 3);
}

#[test]
fn a_waiting_writer_gets_in_once_the_holder_closes_within_the_timeout() {
    let dir = tempdir();
    let path = log_path(&dir);
    let first = open(&path, FsyncPolicy::None);
    first.append_fields(&fields(0)).unwrap();
    let opener = {
        let path = path.clone();
        std::thread::spawn(move || {
            let config =
                AuditLogConfig::new(FsyncPolicy::None).with_lock_timeout(Duration::from_secs(30));
            let log = AuditLog::open(&path, key(), config)?;
            log.append_fields(&fields(1)).map(|r| r.seq())
        })
    };
    // The opener is waiting for the lock (it cannot have it while `first` lives).
    std::thread::sleep(Duration::from_millis(50));
    assert_eq!(first.append_fields(&fields(2)).unwrap().seq(), 2);
    drop(first);
    assert_eq!(opener.join().unwrap().unwrap(), 3);
}

#[test]
fn the_lock_timeout_bounds_the_wait_and_the_error_says_how_long() {
    let dir = tempdir();
    let path = log_path(&dir);
    let _first = open(&path, FsyncPolicy::None);
    let started = Instant::now();
    let config =
        AuditLogConfig::new(FsyncPolicy::None).with_lock_timeout(Duration::from_millis(150));
    assert_eq!(config.lock_timeout(), Duration::from_millis(150));
    assert_eq!(
        AuditLogConfig::default().lock_timeout(),
        AuditLogConfig::DEFAULT_LOCK_TIMEOUT
    );
    let err = AuditLog::open(&path, key(), config).unwrap_err();
    let LogError::Locked { waited, .. } = err else {
        panic!("expected Locked, got {err:?}");
    };
    assert!(waited >= Duration::from_millis(150), "{waited:?}");
    assert!(started.elapsed() >= Duration::from_millis(150));
}

#[test]
fn deleting_the_lock_file_does_not_let_a_second_writer_in() {
    let dir = tempdir();
    let path = log_path(&dir);
    let first = open(&path, FsyncPolicy::None);
    first.append_fields(&fields(0)).unwrap();
    std::fs::remove_file(dir.path().join("audit.jsonl.lock")).unwrap();
    let err = open_impatient(&path).unwrap_err();
    assert_eq!(err.code(), "LOG_LOCKED", "{err}");
    // The holder goes on, and the chain is one chain.
    first.append_fields(&fields(1)).unwrap();
    drop(first);
    let report = verify_log(&path, &verifying_key()).unwrap();
    assert_eq!((report.entries(), report.first_break()), (2, None));
}

#[test]
fn a_hard_linked_log_is_refused_through_every_name_and_left_untouched() {
    let dir = tempdir();
    let path = log_path(&dir);
    drop(open(&path, FsyncPolicy::None));
    super::util::write_entries(&path, 2);
    let other = dir.path().join("other.jsonl");
    std::fs::hard_link(&path, &other).unwrap();
    let before = std::fs::read(&path).unwrap();
    for name in [&path, &other] {
        let err = open_impatient(name).unwrap_err();
        assert!(matches!(err, LogError::Linked { links: 2, .. }), "{err:?}");
        assert_eq!(err.code(), "LOG_HARD_LINKED");
    }
    assert_eq!(std::fs::read(&path).unwrap(), before);
    // A writer that already holds the log keeps the lock on its inode: a link made
    // meanwhile is still refused, and the holder goes on.
    std::fs::remove_file(&other).unwrap();
    let holder = open(&path, FsyncPolicy::None);
    std::fs::hard_link(&path, &other).unwrap();
    assert_eq!(
        open_impatient(&other).unwrap_err().code(),
        "LOG_HARD_LINKED"
    );
    assert_eq!(holder.append_fields(&fields(9)).unwrap().seq(), 3);
}

/// Writers through the log's own name, a symlink to it and (in a second round) a hard
/// link to it, as separate processes at once: no seq is ever acknowledged twice, the log
/// verifies, and every writer that did not write was refused with a code saying why.
#[test]
fn writers_through_a_symlink_and_a_hard_link_at_once_never_share_a_seq() {
    let dir = tempdir();
    let path = log_path(&dir);
    let link = dir.path().join("via-symlink.jsonl");
    std::os::unix::fs::symlink(&path, &link).unwrap();
    let hard = dir.path().join("via-hardlink.jsonl");
    let mut acked: BTreeMap<u64, String> = BTreeMap::new();
    let mut refusals: BTreeMap<String, u32> = BTreeMap::new();
    for round in 0..2 {
        let names = if round == 0 {
            [&path, &link, &path]
        } else {
            std::fs::hard_link(&path, &hard).unwrap();
            [&path, &link, &hard]
        };
        let children: Vec<_> = names
            .iter()
            .map(|p| run_child(CHILD_TEST, "append-each", &format!("{}|10", p.display())))
            .collect();
        for mut child in children {
            let out = BufReader::new(child.stdout.take().unwrap());
            for line in out.lines() {
                let line = line.unwrap();
                let mut words = line.split(' ');
                match words.next() {
                    Some("ACK") => {
                        let seq: u64 = words.next().unwrap().parse().unwrap();
                        let hash = words.next().unwrap().to_owned();
                        assert!(acked.insert(seq, hash).is_none(), "seq {seq} acked twice");
                    }
                    Some("REFUSED") => *refusals.entry(line.clone()).or_default() += 1,
                    _ => {}
                }
            }
            assert!(child.wait().unwrap().success());
        }
    }
    // Round 1: the two writers on the log's own name wrote 20 entries; round 2: none.
    assert_eq!(acked.len(), 20);
    assert_eq!(
        acked.keys().copied().collect::<Vec<_>>(),
        (1..=20).collect::<Vec<_>>()
    );
    let codes: Vec<&str> = refusals.keys().map(String::as_str).collect();
    for code in &codes {
        assert!(
            matches!(
                *code,
                "REFUSED LOG_NOT_REGULAR_FILE" | "REFUSED LOG_HARD_LINKED" | "REFUSED IO_ERROR"
            ),
            "{refusals:?}"
        );
    }
    assert!(
        codes.contains(&"REFUSED LOG_NOT_REGULAR_FILE"),
        "{refusals:?}"
    );
    assert!(codes.contains(&"REFUSED LOG_HARD_LINKED"), "{refusals:?}");
    std::fs::remove_file(&hard).unwrap();
    let report = verify_log(&path, &verifying_key()).unwrap();
    assert_eq!((report.entries(), report.first_break()), (20, None));
}
