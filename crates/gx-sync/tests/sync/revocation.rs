//! Revocation on the server is seen by the next sync and blocks the grant from then on.

use gx_sync::SyncOptions;

use super::harness::{self, Env};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revocation_is_seen_by_the_next_sync_and_sticks_offline() {
    let env = Env::start().await;
    let client = env.client();
    let bundle = env.bundle(&client).await;
    let id = bundle.bundle_id().to_owned();
    let device = harness::device(&env, &bundle, "bundle.gxb", &"42".repeat(32));
    let log = device.log().unwrap();
    harness::append(log, &bundle, 30);

    let report = client
        .sync(log, &id, &SyncOptions::default(), |_| {})
        .await
        .unwrap();
    assert!(!report.is_revoked());
    assert!(device.authorize(None, None).is_ok());

    let revoked = client.revoke_bundle(&id, true).await.unwrap();
    assert_eq!(revoked.status, "revoked");
    // Revoking twice is fine.
    client.revoke_bundle(&id, true).await.unwrap();

    // Entries written meanwhile still upload; the answer says revoked.
    harness::append(log, &bundle, 5);
    let report = client
        .sync(log, &id, &SyncOptions::default(), |_| {})
        .await
        .unwrap();
    assert!(report.is_revoked());
    assert_eq!(report.cursor, 35);
    assert_eq!(
        serde_json::to_value(&report).unwrap()["revocationStatus"],
        "revoked"
    );
    device.learn_revoked(report.revoked_at.clone()).unwrap();

    // From now on the device refuses to act, offline, without touching the network.
    let err = device.authorize(None, None).unwrap_err();
    assert_eq!(err.code(), "BUNDLE_REVOKED");

    // With nothing to upload, sync still learns the status (from revocation-status).
    let report = client
        .sync(log, &id, &SyncOptions::default(), |_| {})
        .await
        .unwrap();
    assert_eq!(report.batches, 0);
    assert!(report.is_revoked());
    assert!(client.revocation_status(&id).await.unwrap().is_revoked());

    // And a refresh of a revoked bundle is refused before anything changes.
    let err = client
        .refresh_device(&device, &SyncOptions::default())
        .await
        .unwrap_err();
    assert_eq!(err.code(), "BUNDLE_REVOKED");
    env.server.shutdown().await;
}
