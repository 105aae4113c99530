//! A large backlog synced end to end: the server's chain equals the local log.

use std::time::Instant;

use gx_storage::{AuditLog, AuditLogConfig, FsyncPolicy};
use gx_sync::{SyncOptions, SyncProgress};

use super::harness::{self, Env};

/// User + system CPU seconds this process has used (Linux `/proc/self/stat`, 100 Hz
/// ticks); 0 elsewhere.
fn process_cpu_secs() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command name, which is in parentheses and may hold spaces.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    // utime and stime are fields 14 and 15 of the line: indexes 11 and 12 after the name.
    (ticks(11) + ticks(12)) / 100.0
}

fn entries() -> usize {
    std::env::var("GX_SYNC_ENTRIES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backlog_syncs_end_to_end_across_segments() {
    let env = Env::start().await;
    let client = env.client();
    let bundle = env.bundle(&client).await;
    let n = entries();
    // Small segments so the backlog spans many rotated files.
    let log = AuditLog::open(
        env.path("audit.jsonl"),
        harness::signing_key(&bundle),
        AuditLogConfig::new(FsyncPolicy::None).with_segment_max_bytes(256 * 1024),
    )
    .unwrap();
    harness::append(&log, &bundle, n);
    let local = harness::local_entries(&log);
    assert_eq!(local.len(), n);

    let mut seen: Vec<SyncProgress> = Vec::new();
    let started = Instant::now();
    let cpu_before = process_cpu_secs();
    let report = client
        .sync(
            &log,
            bundle.bundle_id(),
            &SyncOptions::default().with_batch_size(1000),
            |p| seen.push(*p),
        )
        .await
        .unwrap();
    let elapsed = started.elapsed();
    // CPU time of client and server together (both run in this process): on a shared
    // machine it says more than the wall clock.
    let cpu = process_cpu_secs() - cpu_before;
    eprintln!(
        "synced {n} entries in {elapsed:?} ({:.0} entries/s), {cpu:.2} s CPU (client + server)",
        n as f64 / elapsed.as_secs_f64()
    );
    assert_eq!(report.accepted, n as u64);
    assert_eq!(report.cursor, n as u64);
    assert_eq!(report.batches, n.div_ceil(1000) as u64);
    assert!(!report.is_revoked());
    assert_eq!(log.synced_seq(), n as u64);
    assert_eq!(log.unsynced_entries(), 0);
    // Progress is reported after each batch, cursor strictly increasing to the target.
    assert_eq!(seen.len() as u64, report.batches);
    assert!(seen.windows(2).all(|w| w[0].cursor < w[1].cursor));
    assert_eq!(seen.last().unwrap().cursor, n as u64);
    assert_eq!(seen[0].target, n as u64);

    harness::assert_server_equals(&client, bundle.bundle_id(), &local).await;
    let summary = client.get_bundle(bundle.bundle_id()).await.unwrap();
    assert_eq!(summary.audit_entry_count, Some(n as u64));

    // A second run has nothing to send and still learns the revocation status.
    let again = client
        .sync(&log, bundle.bundle_id(), &SyncOptions::default(), |_| {})
        .await
        .unwrap();
    assert_eq!((again.accepted, again.batches), (0, 0));
    assert_eq!(again.cursor, n as u64);
    env.server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lost_cursor_is_recovered_as_already_stored() {
    // The server stored entries but the device never recorded it (a crash between the
    // answer and the cursor write): re-uploading is accepted again, and the cursor catches up.
    let env = Env::start().await;
    let client = env.client();
    let bundle = env.bundle(&client).await;
    let path = env.path("audit.jsonl");
    let log = harness::open_log(&path, &bundle);
    harness::append(&log, &bundle, 250);
    let local = harness::local_entries(&log);
    client
        .sync(&log, bundle.bundle_id(), &SyncOptions::default(), |_| {})
        .await
        .unwrap();
    drop(log);
    std::fs::remove_file(env.path("audit.jsonl.synced")).unwrap();
    let log = harness::open_log(&path, &bundle);
    assert_eq!(log.synced_seq(), 0);
    harness::append(&log, &bundle, 50);
    let mut local = local;
    local.extend(harness::local_entries(&log).into_iter().skip(250));
    let report = client
        .sync(
            &log,
            bundle.bundle_id(),
            &SyncOptions::default().with_batch_size(100),
            |_| {},
        )
        .await
        .unwrap();
    assert_eq!(report.cursor, 300);
    assert_eq!(report.accepted, 300);
    harness::assert_server_equals(&client, bundle.bundle_id(), &local).await;
    env.server.shutdown().await;
}
