//! One writer: a second process or a second instance is refused with a typed error, and
//! the log never interleaves two writers' chains.

use std::io::{BufRead, BufReader, Write};

use gx_storage::{AuditLog, AuditLogConfig, FsyncPolicy, LogError, verify_log};

use super::child::CHILD_TEST;
use super::util::{fields, key, log_path, open, run_child, tempdir, verifying_key};

fn read_until(out: &mut impl BufRead, prefix: &str) -> String {
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

    let err = AuditLog::open(&path, key(), AuditLogConfig::new(FsyncPolicy::None)).unwrap_err();
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
    let err = AuditLog::open(&path, key(), AuditLogConfig::default()).unwrap_err();
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
