//! Many faults in a row, at random points (seeded, reproducible), under every policy and
//! with rotation every few entries: whatever the sequence, every acknowledged entry
//! survives byte for byte, seqs never repeat or skip, and the chain verifies. (After a
//! failed roll-back, whole lines of the failed append may survive as valid entries; see
//! `log::a_poisoned_batch_keeps_whole_lines_and_cuts_the_torn_rest`.)
//!
//! `GX_FAULT_SOAK_ROUNDS` raises the number of appends (default 150 per policy).

use gx_storage::fault_injection::{Fault, FaultPoint};
use gx_storage::{AuditLogConfig, LogError};

use super::util::{
    Acked, EDQUOT, EIO, ENOSPC, POLICIES, check_reopen, fields, log_path, open, tempdir,
};

const POINTS: [FaultPoint; 8] = [
    FaultPoint::LogWrite,
    FaultPoint::LogSync,
    FaultPoint::LogTruncate,
    FaultPoint::RotateSync,
    FaultPoint::RotateRename,
    FaultPoint::RotateOpen,
    FaultPoint::LogDirSync,
    FaultPoint::LogWrite,
];

fn rounds() -> u64 {
    std::env::var("GX_FAULT_SOAK_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(150)
}

#[test]
fn random_faults_never_lose_an_acknowledged_entry() {
    for (p, policy) in POLICIES.into_iter().enumerate() {
        let mut rng: u64 = 0x2545_f491_4f6c_dd1d ^ (p as u64 + 1);
        let mut rand = move |n: u64| {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            rng % n
        };
        let dir = tempdir();
        let path = log_path(&dir);
        let config = AuditLogConfig::new(policy).with_segment_max_bytes(1500);
        let mut log = open(&path, config);
        let mut acked = Acked::default();
        let (mut failed, mut reopened) = (0, 0);
        for i in 0..rounds() {
            let guards: Vec<_> = (0..rand(3))
                .map(|_| {
                    let point = POINTS[rand(POINTS.len() as u64) as usize];
                    let errno = [ENOSPC, EIO, EDQUOT][rand(3) as usize];
                    let mut fault = Fault::new(point, &path, errno);
                    if rand(2) == 0 {
                        // Less than one line (~300 bytes): never a whole unacknowledged line.
                        fault = fault.short_write(rand(200) as usize);
                    }
                    fault.arm()
                })
                .collect();
            match log.append_fields(&fields(i)) {
                Ok(r) => {
                    assert!(r.seq() > acked.last_seq(), "{policy:?} round {i}");
                    acked.push(r);
                }
                Err(LogError::Poisoned) => {
                    drop(guards);
                    drop(log);
                    // Reopening repairs; `check_reopen` also appends one entry. A roll-back
                    // that failed after a whole line was written (the flush failed) leaves
                    // that line as a valid, unacknowledged entry: allowed from here on.
                    (log, _) = check_reopen(&path, config, &mut acked, true);
                    reopened += 1;
                    continue;
                }
                Err(e) => {
                    assert!(
                        matches!(e.code(), "IO_ERROR" | "GROUP_COMMIT_FAILED"),
                        "{e:?}"
                    );
                    assert!(log.last_seq() >= acked.last_seq());
                    failed += 1;
                }
            }
        }
        drop(log);
        check_reopen(&path, config, &mut acked, reopened > 0);
        assert!(
            failed > 10 && reopened > 0,
            "{policy:?}: {failed} failed, {reopened} reopened"
        );
    }
}
