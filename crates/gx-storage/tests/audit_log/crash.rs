//! kill -9 at random moments: every acknowledged entry survives, the chain verifies,
//! and seqs have no gap and no reuse.

use core::time::Duration;
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::time::Instant;

use gx_storage::{FsyncPolicy, verify_log};

use super::child::CHILD_TEST;
use super::util::{log_path, open, run_child, tempdir, verifying_key};

fn iterations() -> u32 {
    std::env::var("GX_CRASH_ITERATIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200)
}

#[test]
fn kill_9_at_random_moments_loses_no_acknowledged_entry() {
    let dir = tempdir();
    let path = log_path(&dir);
    let mut rng: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut rand = move |n: u64| {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng % n
    };
    let mut acked = BTreeMap::new();
    let mut last_seq = 0;
    let mut torn_repairs = 0;
    for round in 0..iterations() {
        let policy = ["none", "every", "group"][round as usize % 3];
        let seed = rand(u64::MAX - 1) + 1;
        let mut child = run_child(
            CHILD_TEST,
            "append-loop",
            &format!("{}|{policy}|{seed}", path.display()),
        );
        let mut out = BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        // Wait until the child has the log open, then let it run for a random number of
        // acknowledged appends plus a random sliver of time, and kill it.
        let want = rand(12);
        let mut seen = 0;
        let mut opened = false;
        while !opened || seen < want {
            line.clear();
            if out.read_line(&mut line).unwrap() == 0 {
                panic!("child exited early in round {round}");
            }
            if let Some(ack) = line.trim().strip_prefix("ACK ") {
                record(&mut acked, ack, round);
                seen += 1;
            } else if let Some(at) = line.trim().strip_prefix("OPEN ") {
                let at: u64 = at.parse().unwrap();
                assert!(
                    at >= last_seq,
                    "round {round}: reopened at {at}, was {last_seq}"
                );
                opened = true;
            }
        }
        let spin = Duration::from_micros(rand(400));
        let start = Instant::now();
        while start.elapsed() < spin {
            core::hint::spin_loop();
        }
        child.kill().unwrap();
        // Collect the ACKs the child printed before it died.
        loop {
            line.clear();
            if out.read_line(&mut line).unwrap() == 0 {
                break;
            }
            if let Some(ack) = line.trim().strip_prefix("ACK ") {
                record(&mut acked, ack, round);
            }
        }
        child.wait().unwrap();

        let log = open(&path, FsyncPolicy::None);
        if log.torn_bytes_repaired() > 0 {
            torn_repairs += 1;
        }
        let max_acked = acked.keys().last().copied().unwrap_or(0);
        assert!(
            log.last_seq() >= max_acked,
            "round {round}: log ends at {} but seq {max_acked} was acknowledged",
            log.last_seq()
        );
        assert!(
            log.last_seq() >= last_seq,
            "round {round}: entries vanished"
        );
        last_seq = log.last_seq();
    }
    // Every acknowledged seq is in the log exactly once, in order, and the chain holds.
    let log = open(&path, FsyncPolicy::None);
    let records: Vec<_> = log.entries_after(0).map(Result::unwrap).collect();
    let seqs: Vec<u64> = records.iter().map(|r| r.seq()).collect();
    let expected: Vec<u64> = (1..=log.last_seq()).collect();
    assert_eq!(seqs, expected, "seq gap or reuse");
    for (seq, hash) in &acked {
        let on_disk = records[*seq as usize - 1].hash().to_string();
        assert_eq!(&on_disk, hash, "acknowledged seq {seq} was replaced");
    }
    drop(log);
    let report = verify_log(&path, &verifying_key()).unwrap();
    assert_eq!(report.first_break(), None, "chain broken after crashes");
    assert_eq!(report.entries(), last_seq);
    // With hundreds of kills, some must have landed mid-line; the repair path ran.
    eprintln!(
        "{} rounds, {last_seq} entries, {torn_repairs} torn-line repairs",
        iterations()
    );
}

/// Adds one `ACK <seq> <hash>` to the map; a seq acknowledged twice must carry the same
/// hash (a seq reused after a crash would show here first).
fn record(acked: &mut BTreeMap<u64, String>, ack: &str, round: u32) {
    let (seq, hash) = ack.split_once(' ').unwrap();
    let seq: u64 = seq.parse().unwrap();
    if let Some(old) = acked.insert(seq, hash.to_owned()) {
        assert_eq!(
            old, hash,
            "round {round}: seq {seq} acknowledged twice with different entries"
        );
    }
}
