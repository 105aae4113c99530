//! Syncing a log the syncing process does not hold open ([`SyncLog`]): the writer lock is
//! taken only around reading the position and storing the cursor, so other writers append
//! during the whole network exchange, even against a server that never answers.

use core::sync::atomic::{AtomicBool, Ordering};
use core::time::Duration;
use std::sync::Arc;
use std::time::Instant;

use gx_storage::{AuditLog, AuditLogConfig, EntryFields, FsyncPolicy, SyncLog, verify_log};
use gx_sync::{ApiKey, ClientOptions, GrantexClient, ProxyConfig, SyncErrorKind, SyncOptions};
use tokio::net::TcpListener;

use super::harness::{self, Env};

const ENTRY: EntryFields<'static> = EntryFields {
    action: "tool:read_contacts",
    agent_did: "did:grantex:ag_1",
    grant_id: "grnt_1",
    scopes: &["read:contacts"],
    result: "success",
    metadata: None,
};

fn key() -> gx_storage::AuditSigningKey {
    gx_storage::AuditSigningKey::from_bytes(&[3; 32])
}

/// Opens the log as one `gx audit append` would, waiting at most 2 s for the lock.
fn open_writer(path: &std::path::Path) -> Result<AuditLog, gx_storage::LogError> {
    let config =
        AuditLogConfig::new(FsyncPolicy::EveryEntry).with_lock_timeout(Duration::from_secs(2));
    AuditLog::open(path, key(), config)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn appends_go_on_while_a_sync_waits_on_a_server_that_never_answers() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.jsonl");
    {
        let log = open_writer(&path).unwrap();
        for _ in 0..5 {
            log.append_fields(&ENTRY).unwrap();
        }
    }

    // A server that accepts connections and never says a word.
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let (accepted_tx, mut accepted) = tokio::sync::mpsc::unbounded_channel();
    let silent = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((stream, _)) = listener.accept().await {
            held.push(stream);
            let _ = accepted_tx.send(());
        }
    });

    let options = ClientOptions::default()
        .with_proxy(ProxyConfig::None)
        .with_request_timeout(Duration::from_secs(60));
    let client = GrantexClient::with_options(
        &format!("http://127.0.0.1:{port}"),
        ApiKey::new("gx_test_key_0123456789abcdef".to_owned()).unwrap(),
        options,
    )
    .unwrap();
    let sync_log = SyncLog::open(&path, AuditLogConfig::default()).unwrap();
    let sync_options =
        SyncOptions::default().with_deadline(Instant::now() + Duration::from_secs(5));
    let sync_done = Arc::new(AtomicBool::new(false));

    let sync = {
        let sync_done = Arc::clone(&sync_done);
        let client = &client;
        let sync_log = &sync_log;
        let sync_options = &sync_options;
        async move {
            let result = client
                .sync_unlocked(sync_log, "bundle_01SILENT", sync_options, |_| {})
                .await;
            sync_done.store(true, Ordering::SeqCst);
            result
        }
    };
    let appends = {
        let path = path.clone();
        let sync_done = Arc::clone(&sync_done);
        async move {
            // The sync's request is on the wire now.
            accepted.recv().await.unwrap();
            let seqs = tokio::task::spawn_blocking(move || {
                (0..3)
                    .map(|_| {
                        let log = open_writer(&path)?;
                        log.append_fields(&ENTRY).map(|r| r.seq())
                    })
                    .collect::<Result<Vec<_>, _>>()
            })
            .await
            .unwrap();
            // They all returned while the sync was still waiting on the silent server.
            let still_syncing = !sync_done.load(Ordering::SeqCst);
            (seqs, still_syncing)
        }
    };
    let (sync_result, (seqs, still_syncing)) = tokio::join!(sync, appends);
    silent.abort();

    assert_eq!(seqs.unwrap(), [6, 7, 8]);
    assert!(still_syncing, "the appends waited for the sync to give up");
    let err = sync_result.unwrap_err();
    assert!(matches!(err.kind(), SyncErrorKind::Client(_)), "{err}");
    assert_eq!(err.report().cursor, 0);
    // Nothing was confirmed, so the cursor did not move, and the chain is whole.
    assert_eq!(sync_log.position().unwrap(), (0, 8));
    let report = verify_log(&path, &key().verifying_key()).unwrap();
    assert_eq!((report.entries(), report.first_break()), (8, None));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unlocked_sync_uploads_everything_and_moves_the_cursor() {
    let env = Env::start().await;
    let client = env.client();
    let bundle = env.bundle(&client).await;
    let path = env.path("audit.jsonl");
    let local = {
        let log = harness::open_log(&path, &bundle);
        harness::append(&log, &bundle, 250);
        harness::local_entries(&log)
    };
    let sync_log = SyncLog::open(&path, AuditLogConfig::default()).unwrap();
    let options = SyncOptions::default().with_batch_size(100);
    let report = client
        .sync_unlocked(&sync_log, bundle.bundle_id(), &options, |_| {})
        .await
        .unwrap();
    assert_eq!(
        (report.accepted, report.batches, report.cursor),
        (250, 3, 250)
    );
    assert_eq!(sync_log.position().unwrap(), (250, 250));
    harness::assert_server_equals(&client, bundle.bundle_id(), &local).await;

    // A writer opening afterwards sees the cursor, and the next run has nothing to send.
    let log = harness::open_log(&path, &bundle);
    assert_eq!(log.synced_seq(), 250);
    harness::append(&log, &bundle, 7);
    drop(log);
    let report = client
        .sync_unlocked(&sync_log, bundle.bundle_id(), &options, |_| {})
        .await
        .unwrap();
    assert_eq!((report.accepted, report.cursor), (7, 257));
    // The cursor never goes past the log.
    assert_eq!(
        sync_log.mark_synced(300).unwrap_err().code(),
        "CURSOR_AHEAD"
    );
}

/// The log refuses entries longer than `MAX_ENTRY_BYTES`, so the sync's batch must take
/// one of that size on its own, with a bundle id and a device id around it.
#[test]
fn the_largest_entry_the_log_accepts_fits_a_batch_of_its_own() {
    let metadata = format!(
        "{{\"blob\":\"{}\"}}",
        "x".repeat(gx_storage::MAX_ENTRY_BYTES - 400)
    );
    let line =
        format!("{{\"seq\":1,\"timestamp\":\"2026-11-27T10:00:00.000Z\",\"metadata\":{metadata}}}");
    let line = &line[..line.len().min(gx_storage::MAX_ENTRY_BYTES)];
    assert!(line.len() > gx_storage::MAX_ENTRY_BYTES - 400);
    let mut batch = gx_sync::SyncBatch::new(
        "bundle_01JDEVICEFILESXXXXXXXXXXXXX",
        Some(&"d".repeat(1024)),
        1000,
    );
    assert_eq!(batch.push_line(1, line), Ok(()));
}
