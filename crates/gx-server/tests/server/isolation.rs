//! Tenant isolation: developer B's key cannot see or touch developer A's bundles (404).

use gx_server::{AgentRecord, ApiKeyRecord, ApiKeyRole, DeveloperRecord};
use hyper::StatusCode;
use serde_json::json;

use crate::harness::{ChainWriter, start, sync_body};

#[tokio::test]
async fn another_developer_gets_404_everywhere() {
    let t = start().await;
    let a_bundle = t.create_bundle().await;
    let id = a_bundle["bundleId"].as_str().unwrap();

    // A second developer, created through the store (init_db makes one per database).
    let key_b = "gx_second_developer_key_for_isolation_tests";
    let hash = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, key_b.as_bytes());
    let hash: String = hash.as_ref().iter().map(|b| format!("{b:02x}")).collect();
    let store = t.store();
    let dev_b = DeveloperRecord {
        id: String::from("dev_B"),
        created_at: 0,
    };
    let agent_b = AgentRecord {
        id: String::from("ag_B"),
        developer_id: dev_b.id.clone(),
        did: String::from("did:grantex:ag_B"),
        scopes: vec![String::from("read:contacts")],
        created_at: 0,
    };
    let key = ApiKeyRecord {
        id: String::from("key_B"),
        developer_id: dev_b.id.clone(),
        key_sha256: hash,
        label: None,
        role: ApiKeyRole::Admin,
        created_at: 0,
        expires_at: None,
        revoked_at: None,
    };
    store.create_tenant(&dev_b, &key, &agent_b).unwrap();
    let b = t.client.with_key(key_b);

    for path in ["", "/revocation-status", "/audit"] {
        let r = b.get(&format!("/v1/consent-bundles/{id}{path}")).await;
        assert_eq!(
            (r.status, r.code()),
            (StatusCode::NOT_FOUND, "NOT_FOUND"),
            "GET {path}"
        );
    }
    for path in ["/refresh", "/revoke"] {
        let r = b
            .post(&format!("/v1/consent-bundles/{id}{path}"), &json!({}))
            .await;
        assert_eq!(
            (r.status, r.code()),
            (StatusCode::NOT_FOUND, "NOT_FOUND"),
            "POST {path}"
        );
    }
    let mut w = ChainWriter::for_bundle(&a_bundle);
    let r = b
        .post("/v1/audit/offline-sync", &sync_body(id, &w.batch(1)))
        .await;
    assert_eq!((r.status, r.code()), (StatusCode::NOT_FOUND, "NOT_FOUND"));
    // B cannot issue for A's agent either.
    let r = b
        .post("/v1/consent-bundles", &t.create_body(&["read:contacts"]))
        .await;
    assert_eq!((r.status, r.code()), (StatusCode::NOT_FOUND, "NOT_FOUND"));
    // B's list is empty; A's bundle is untouched.
    assert_eq!(
        b.get("/v1/consent-bundles").await.body["bundles"],
        json!([])
    );
    let a = t
        .client
        .get(&format!("/v1/consent-bundles/{id}"))
        .await
        .body;
    assert_eq!(
        (a["status"].as_str(), a["auditEntryCount"].as_u64()),
        (Some("active"), Some(0))
    );
    // And B works for its own agent.
    let own = json!({"agentId": "ag_B", "userId": "u", "scopes": ["read:contacts"]});
    assert_eq!(
        b.post("/v1/consent-bundles", &own).await.status,
        StatusCode::CREATED
    );
    assert_eq!(
        t.client.get("/v1/consent-bundles").await.body["bundles"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
}
