//! Refresh in the middle of a backlog: nothing is rejected for a stale key, the chain
//! continues under the new key, and the whole log verifies with the key history.

use core::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use gx_storage::{BundleFile, BundleKey, EntryFields};
use gx_sync::{SyncErrorKind, SyncOptions};

use super::harness::{self, Env};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refresh_mid_backlog_loses_nothing() {
    let env = Env::start().await;
    let client = env.client();
    let bundle = env.bundle(&client).await;
    let id = bundle.bundle_id().to_owned();
    let old_public = bundle.offline_audit_key().public_key.clone();
    let file = BundleFile::new(env.path("bundle.gxb"));
    let key = BundleKey::from_hex(&"17".repeat(32)).unwrap();
    let device = harness::device(&env, &bundle, "bundle.gxb", &"17".repeat(32));
    let log = device.log().unwrap();

    // Part of the backlog synced, the rest not: 300 entries, 120 confirmed.
    harness::append(log, &bundle, 120);
    client
        .sync(log, &id, &SyncOptions::default(), |_| {})
        .await
        .unwrap();
    harness::append(log, &bundle, 180);
    assert_eq!(log.unsynced_entries(), 180);

    let outcome = client
        .refresh_device(&device, &SyncOptions::default().with_batch_size(50))
        .await
        .unwrap();
    assert_eq!(outcome.sync.accepted, 180);
    assert_eq!(outcome.sync.cursor, 300);
    assert_eq!(outcome.bundle.bundle_id(), id);
    assert_ne!(outcome.bundle.offline_audit_key().public_key, old_public);
    // The stored bundle is the new one.
    let stored = file.load(&key).unwrap();
    assert_eq!(stored, *outcome.bundle);
    assert_eq!(stored.key_history().len(), 2);

    // New entries are signed with the new key and continue the chain.
    harness::append(log, &outcome.bundle, 200);
    let local_tail = harness::local_entries(log);
    let report = client
        .sync(log, &id, &SyncOptions::default(), |_| {})
        .await
        .unwrap();
    assert_eq!(report.accepted, 200);
    assert_eq!(report.cursor, 500);
    let stored = harness::server_chain(&client, &id).await;
    assert_eq!(stored.len(), 500);
    assert!(
        stored
            .windows(2)
            .all(|w| w[1].prev_hash == w[0].hash && w[1].seq == w[0].seq + 1)
    );
    // The tail the server holds is the local tail.
    for (s, (seq, hash, _)) in stored.iter().rev().zip(local_tail.iter().rev()) {
        assert_eq!((s.seq, &s.hash), (*seq, hash));
    }
    // Verified end to end with the key history: 300 entries under the old key, 200 under
    // the new one.
    let report = device.verify_log(env.path("audit.jsonl")).unwrap();
    assert!(report.is_intact(), "{:?}", report.first_break());
    assert_eq!(report.last_seq(), 500);
    env.server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bare_refresh_strands_unsynced_entries() {
    // Why refresh_device syncs first: after a bare refresh the server refuses the old key.
    let env = Env::start().await;
    let client = env.client();
    let bundle = env.bundle(&client).await;
    let log = harness::open_log(&env.path("audit.jsonl"), &bundle);
    harness::append(&log, &bundle, 10);
    client.request_refresh(bundle.bundle_id()).await.unwrap();
    let err = client
        .sync(&log, bundle.bundle_id(), &SyncOptions::default(), |_| {})
        .await
        .unwrap_err();
    match err.kind() {
        SyncErrorKind::Rejected(api) => {
            assert_eq!(api.code(), "INVALID_AUDIT_ENTRIES");
            assert!(
                api.errors().iter().any(|e| e.code == "INVALID_SIGNATURE"),
                "{api}"
            );
        }
        other => panic!("expected a rejection, got {other:?}"),
    }
    assert_eq!(log.synced_seq(), 0);
    env.server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn appends_during_a_refresh_are_never_stranded() {
    // Another thread keeps appending while the refresh runs. Entries it writes before the
    // key switch must reach the server under the old key; none may be signed with the old
    // key after the server stopped accepting it.
    let env = Env::start().await;
    let client = env.client();
    let bundle = env.bundle(&client).await;
    let id = bundle.bundle_id().to_owned();
    let file = BundleFile::new(env.path("bundle.gxb"));
    let key = BundleKey::from_hex(&"29".repeat(32)).unwrap();
    let device = harness::device(&env, &bundle, "bundle.gxb", &"29".repeat(32));
    let log = Arc::clone(device.log().unwrap());
    harness::append(&log, &bundle, 50);

    let stop = Arc::new(AtomicBool::new(false));
    let appender = {
        let (log, stop) = (Arc::clone(&log), Arc::clone(&stop));
        let (did, grant) = harness::subject(&bundle);
        std::thread::spawn(move || {
            let mut written = 0u64;
            while !stop.load(Ordering::Relaxed) {
                log.append_fields(&EntryFields {
                    action: "tool:read_contacts",
                    agent_did: &did,
                    grant_id: &grant,
                    scopes: &harness::SCOPES[..1],
                    result: "success",
                    metadata: None,
                })
                .unwrap();
                written += 1;
                // Pacing, so the refresh's catch-up rounds can finish.
                std::thread::sleep(core::time::Duration::from_millis(1));
            }
            written
        })
    };
    let outcome = client
        .refresh_device(&device, &SyncOptions::default())
        .await
        .unwrap();
    // Let the appender run on under the new key for a moment, then stop it.
    let target = log.last_seq() + 20;
    while log.last_seq() < target {
        tokio::time::sleep(core::time::Duration::from_millis(5)).await;
    }
    stop.store(true, Ordering::Relaxed);
    let written = tokio::task::spawn_blocking(move || appender.join().unwrap())
        .await
        .unwrap();
    assert!(
        written >= 20,
        "the appender ran during the refresh: {written}"
    );

    // Everything left syncs under the new key: nothing was stranded.
    let report = client
        .sync(&log, &id, &SyncOptions::default(), |_| {})
        .await
        .unwrap();
    assert_eq!(report.cursor, log.last_seq());
    assert_eq!(log.unsynced_entries(), 0);
    let stored = harness::server_chain(&client, &id).await;
    assert_eq!(stored.len() as u64, log.last_seq());
    assert!(
        stored
            .windows(2)
            .all(|w| w[1].prev_hash == w[0].hash && w[1].seq == w[0].seq + 1)
    );
    assert_eq!(file.load(&key).unwrap(), *outcome.bundle);
    assert!(device.verify_log(log.path()).unwrap().is_intact());
    env.server.shutdown().await;
}
