//! Interop with the published TypeScript client: a chain it wrote is accepted by sync.

use gx_server::BundleRecord;
use hyper::{Method, StatusCode};

use crate::harness::{pem_der, start};

const CHAIN: &str = include_str!("../fixtures/ts-head_chain100.jsonl");
const KEY_PEM: &str = include_str!("../fixtures/audit_ed25519_public.pem");

#[tokio::test]
async fn typescript_client_chain_is_accepted() {
    let t = start().await;
    let spki = pem_der(KEY_PEM);
    let now = crate::harness::wall_clock().as_millis();
    let bundle = BundleRecord {
        id: String::from("bundle_01TSINTEROP0000000000000"),
        developer_id: t.tenant.developer_id.clone(),
        agent_id: t.tenant.agent_id.clone(),
        agent_did: String::from("did:grantex:agent_1"),
        grant_id: String::from("grnt_1"),
        user_id: String::from("user_1"),
        scopes: vec![
            String::from("read:contacts"),
            String::from("write:calendar"),
        ],
        offline_ttl: String::from("72h"),
        ttl_secs: 72 * 3600,
        device_id: None,
        device_platform: None,
        token_id: String::from("tok_1"),
        audit_public_key: spki[12..].try_into().unwrap(),
        offline_expires_at: now + 72 * 3_600_000,
        checkpoint_at: now,
        created_at: now,
        revoked_at: None,
        revoked_by: None,
        grant_revoked: false,
        grant_active: true,
        audit_entry_count: 0,
        last_sync_at: None,
    };
    t.store().insert_bundle(&bundle).unwrap();

    // The lines go up byte for byte as the client wrote them, in two batches.
    let lines: Vec<&str> = CHAIN.lines().collect();
    assert_eq!(lines.len(), 100);
    let auth = format!("Bearer {}", t.tenant.api_key.expose());
    for part in [&lines[..60], &lines[40..]] {
        let body = format!(
            r#"{{"bundleId":"{}","entries":[{}]}}"#,
            bundle.id,
            part.join(",")
        );
        let r = t
            .client
            .send_raw(
                Method::POST,
                "/v1/audit/offline-sync",
                body.into_bytes(),
                Some(&auth),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
        assert_eq!(r.body["accepted"].as_u64(), Some(part.len() as u64));
    }
    let s = t
        .client
        .get(&format!("/v1/consent-bundles/{}", bundle.id))
        .await
        .body;
    assert_eq!(s["auditEntryCount"], 100);
    // Stored entries come back as the client wrote them (plus syncedAt).
    let listed = t
        .client
        .get(&format!("/v1/consent-bundles/{}/audit?limit=1", bundle.id))
        .await
        .body;
    let mut first = listed["entries"][0].clone();
    first.as_object_mut().unwrap().remove("syncedAt");
    assert_eq!(
        first,
        serde_json::from_str::<serde_json::Value>(lines[0]).unwrap()
    );
}
