//! The child side of the multi-process tests: this binary re-run with `GX_AUDIT_LOG_CHILD`.

use std::io::{Read, Write};
use std::path::PathBuf;
use std::sync::Arc;

use gx_storage::{AuditLog, AuditLogConfig, FsyncPolicy, LogError, LogRecord};

use super::util::{child_mode, fields, key};

/// The full test name the parents pass to `--exact`.
pub(crate) const CHILD_TEST: &str = "audit_log::child::child_main";

pub(crate) fn policy_from(name: &str) -> FsyncPolicy {
    match name {
        "every" => FsyncPolicy::EveryEntry,
        "group" => FsyncPolicy::GroupCommit,
        _ => FsyncPolicy::None,
    }
}

fn ack(r: &LogRecord) {
    // stdout is line-buffered: each ACK is out of the process before the next append.
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "ACK {} {}", r.seq(), r.hash());
    let _ = out.flush();
}

/// Not a test of its own: it does nothing unless a parent test started it as a child.
#[test]
fn child_main() {
    let Some((mode, args)) = child_mode() else {
        return;
    };
    let parts: Vec<&str> = args.split('|').collect();
    let path = PathBuf::from(parts[0]);
    match mode.as_str() {
        "append-loop" => append_loop(path, policy_from(parts[1]), parts[2].parse().unwrap()),
        "hold" => hold(path, parts[1].parse().unwrap()),
        "append-each" => append_each(path, parts[1].parse().unwrap()),
        "create" => create(path),
        "open-rss" => open_rss(path),
        other => panic!("unknown child mode {other}"),
    }
}

/// Appends until killed (or 100k entries, should the parent vanish), printing `ACK seq`
/// for every entry once its append has returned. Rotates every few KiB so that kills
/// land inside rotations too.
fn append_loop(path: PathBuf, policy: FsyncPolicy, seed: u64) {
    let config = AuditLogConfig::new(policy).with_segment_max_bytes(4096);
    let log = Arc::new(AuditLog::open(&path, key(), config).expect("child open"));
    println!("OPEN {}", log.last_seq());
    let mut rng = seed;
    let mut next = || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng
    };
    if policy == FsyncPolicy::GroupCommit {
        // Concurrent appenders sharing flushes.
        let threads: Vec<_> = (0..3)
            .map(|t| {
                let log = Arc::clone(&log);
                std::thread::spawn(move || {
                    for i in 0..100_000u64 {
                        let r = log.append_fields(&fields(i * 3 + t)).expect("append");
                        ack(&r);
                    }
                })
            })
            .collect();
        for t in threads {
            let _ = t.join();
        }
        return;
    }
    for i in 0..100_000u64 {
        let n = next() % 4;
        if n == 0 {
            let batch: Vec<_> = (0..1 + next() % 5).map(|j| fields(i * 10 + j)).collect();
            for r in log.append_batch(&batch).expect("batch") {
                ack(&r);
            }
        } else {
            let r = log.append_fields(&fields(i)).expect("append");
            ack(&r);
        }
    }
}

/// Opens the log (printing `OPEN` or `LOCKED`), appends `n` entries printing ACKs, then
/// holds the lock until its stdin closes. Waits at most 200 ms for the lock.
fn hold(path: PathBuf, n: u64) {
    let config = AuditLogConfig::new(FsyncPolicy::EveryEntry)
        .with_lock_timeout(core::time::Duration::from_millis(200));
    match AuditLog::open(&path, key(), config) {
        Ok(log) => {
            println!("OPEN {}", log.last_seq());
            for i in 0..n {
                let r = log.append_fields(&fields(i)).expect("append");
                ack(&r);
            }
            println!("DONE");
            let mut sink = Vec::new();
            let _ = std::io::stdin().read_to_end(&mut sink);
        }
        Err(e @ LogError::Locked { .. }) => println!("LOCKED {}", e.code()),
        Err(e) => panic!("unexpected open error: {e}"),
    }
}

/// `n` times: opens the log (default lock timeout), appends one entry and closes it, as
/// one `gx audit append` does. Prints `ACK seq hash`, or `REFUSED code` for a refused open.
fn append_each(path: PathBuf, n: u64) {
    for i in 0..n {
        match AuditLog::open(&path, key(), AuditLogConfig::new(FsyncPolicy::EveryEntry)) {
            Ok(log) => ack(&log.append_fields(&fields(i)).expect("append")),
            Err(e) => {
                println!("REFUSED {}", e.code());
                let _ = std::io::stdout().flush();
            }
        }
    }
    println!("END");
}

/// Creates a log with two rotated segments and a cursor, under whatever umask the parent
/// gave this process.
fn create(path: PathBuf) {
    let config = AuditLogConfig::new(FsyncPolicy::EveryEntry).with_segment_max_bytes(1);
    let log = AuditLog::open(&path, key(), config).expect("open");
    for i in 0..3 {
        log.append_fields(&fields(i)).expect("append");
    }
    log.mark_synced(1).expect("cursor");
    println!("CREATED");
}

/// Opens the log and verifies it, then prints `RSS <open error code> <its line code>
/// <verify error code> <peak resident set in KiB>`.
fn open_rss(path: PathBuf) {
    let config = AuditLogConfig::new(FsyncPolicy::None);
    let (code, line_code) = match AuditLog::open(&path, key(), config) {
        Ok(_) => ("OPENED", "-"),
        Err(e @ LogError::CorruptLine { code, .. }) => (e.code(), code),
        Err(e) => (e.code(), "-"),
    };
    let verify = match gx_storage::verify_log(&path, &super::util::verifying_key()) {
        Ok(_) => "VERIFIED",
        Err(e) => e.code(),
    };
    let status = std::fs::read_to_string("/proc/self/status").expect("status");
    let peak = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .expect("VmHWM");
    println!("RSS {code} {line_code} {verify} {peak}");
}
