//! Revocation on the server is seen by the next sync and blocks the grant from then on.

use gx_storage::{BundleFile, BundleKey};
use gx_sync::{RevocationMarker, SyncOptions};

use super::harness::{self, Env};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revocation_is_seen_by_the_next_sync_and_sticks_offline() {
    let env = Env::start().await;
    let client = env.client();
    let bundle = env.bundle(&client).await;
    let id = bundle.bundle_id().to_owned();
    let file = BundleFile::new(env.path("bundle.gxb"));
    let key = BundleKey::from_hex(&"42".repeat(32)).unwrap();
    file.store(&bundle, &key).unwrap();
    let log = harness::open_log(&env.path("audit.jsonl"), &bundle);
    harness::append(&log, &bundle, 30);

    let report = client
        .sync(&log, &id, &SyncOptions::default(), |_| {})
        .await
        .unwrap();
    assert!(!report.is_revoked());
    let marker = RevocationMarker::beside(file.path());
    assert!(!marker.record_from_report(&id, &report).unwrap());
    assert!(RevocationMarker::load_unrevoked(&file, &key).is_ok());

    let revoked = client.revoke_bundle(&id, true).await.unwrap();
    assert_eq!(revoked.status, "revoked");
    // Revoking twice is fine.
    client.revoke_bundle(&id, true).await.unwrap();

    // Entries written meanwhile still upload; the answer says revoked.
    harness::append(&log, &bundle, 5);
    let report = client
        .sync(&log, &id, &SyncOptions::default(), |_| {})
        .await
        .unwrap();
    assert!(report.is_revoked());
    assert_eq!(report.cursor, 35);
    assert_eq!(
        serde_json::to_value(&report).unwrap()["revocationStatus"],
        "revoked"
    );
    assert!(marker.record_from_report(&id, &report).unwrap());

    // From now on the bundle is refused offline, by a loader that never touches the network.
    let err = RevocationMarker::load_unrevoked(&file, &key).unwrap_err();
    assert_eq!(err.code(), "BUNDLE_REVOKED");

    // With nothing to upload, sync still learns the status (from revocation-status).
    let report = client
        .sync(&log, &id, &SyncOptions::default(), |_| {})
        .await
        .unwrap();
    assert_eq!(report.batches, 0);
    assert!(report.is_revoked());
    assert!(client.revocation_status(&id).await.unwrap().is_revoked());

    // And a refresh of a revoked bundle is refused before anything changes.
    let err = client
        .refresh_bundle(&log, &id, &file, &key, &SyncOptions::default())
        .await
        .unwrap_err();
    assert_eq!(err.code(), "BUNDLE_REVOKED");
    env.server.shutdown().await;
}
