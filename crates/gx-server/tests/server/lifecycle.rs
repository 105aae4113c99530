//! Refresh, revoke, revocation status, get, list (cursor paging) and the audit listing.

use core::time::Duration;

use hyper::StatusCode;
use serde_json::{Value, json};

use crate::harness::{ChainWriter, assert_enveloped, claims, start, sync_body};

#[tokio::test]
async fn refresh_keeps_ids_and_changes_token_and_key() {
    let t = start().await;
    let b = t.create_bundle().await;
    let id = b["bundleId"].as_str().unwrap();
    let mut w = ChainWriter::for_bundle(&b);
    assert_eq!(
        t.client
            .post("/v1/audit/offline-sync", &sync_body(id, &w.batch(2)))
            .await
            .status,
        StatusCode::OK
    );
    t.clock.advance(Duration::from_secs(3600));
    let r = t
        .client
        .post(&format!("/v1/consent-bundles/{id}/refresh"), &json!({}))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_enveloped(&r.body);
    let (old, new) = (
        claims(b["grantToken"].as_str().unwrap()),
        claims(r.body["grantToken"].as_str().unwrap()),
    );
    assert_eq!(r.body["bundleId"], b["bundleId"]);
    assert_eq!(new["grnt"], old["grnt"]);
    assert_ne!(new["jti"], old["jti"]);
    assert_eq!(
        new["iat"].as_u64().unwrap(),
        old["iat"].as_u64().unwrap() + 3600
    );
    assert_ne!(
        r.body["offlineAuditKey"]["publicKey"],
        b["offlineAuditKey"]["publicKey"]
    );
    assert_ne!(r.body["offlineExpiresAt"], b["offlineExpiresAt"]);
    assert!(r.body["checkpointAt"].as_u64() > b["checkpointAt"].as_u64());
    // Old key: refused from now on. New key: the chain continues across the refresh.
    let stale = w.entry_at(3, &w.prev.clone(), "tool:late");
    let r2 = t
        .client
        .post("/v1/audit/offline-sync", &sync_body(id, &[stale]))
        .await;
    assert_eq!(r2.code(), "INVALID_AUDIT_ENTRIES");
    assert_eq!(r2.body["errors"][0]["code"], "INVALID_SIGNATURE");
    w.rekey(&r.body);
    let r3 = t
        .client
        .post("/v1/audit/offline-sync", &sync_body(id, &w.batch(2)))
        .await;
    assert_eq!(r3.status, StatusCode::OK, "{:?}", r3.body);
}

#[tokio::test]
async fn refresh_refusals() {
    let t = start().await;
    let refresh = |id: &str| format!("/v1/consent-bundles/{id}/refresh");
    let r = t.client.post(&refresh("bundle_01NOPE"), &json!({})).await;
    assert_eq!((r.status, r.code()), (StatusCode::NOT_FOUND, "NOT_FOUND"));

    let revoked = t.create_bundle().await;
    let rid = revoked["bundleId"].as_str().unwrap();
    t.client
        .post(
            &format!("/v1/consent-bundles/{rid}/revoke"),
            &json!({"revokeGrant": false}),
        )
        .await;
    let r = t.client.post(&refresh(rid), &json!({})).await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::CONFLICT, "BUNDLE_REVOKED")
    );

    let inactive = t.create_bundle().await;
    let grant = claims(inactive["grantToken"].as_str().unwrap())["grnt"]
        .as_str()
        .unwrap()
        .to_owned();
    // An operator deactivates the grant through the store (a second handle on the live database).
    assert!(t.store().set_grant_active(&grant, false).unwrap());
    let r = t
        .client
        .post(&refresh(inactive["bundleId"].as_str().unwrap()), &json!({}))
        .await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::CONFLICT, "GRANT_INACTIVE")
    );

    let expiring = t.create_bundle().await;
    let eid = expiring["bundleId"].as_str().unwrap();
    t.clock.advance(Duration::from_secs(72 * 3600));
    let r = t.client.post(&refresh(eid), &json!({})).await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::CONFLICT, "BUNDLE_EXPIRED")
    );
    assert_eq!(
        t.client
            .get(&format!("/v1/consent-bundles/{eid}"))
            .await
            .body["status"],
        "expired"
    );
}

#[tokio::test]
async fn revoke_and_revocation_status() {
    let t = start().await;
    let b = t.create_bundle().await;
    let id = b["bundleId"].as_str().unwrap();
    let status = t
        .client
        .get(&format!("/v1/consent-bundles/{id}/revocation-status"))
        .await;
    assert_eq!(status.status, StatusCode::OK);
    assert_enveloped(&status.body);
    assert_eq!(status.body["data"]["bundleId"], id);
    assert_eq!(status.body["data"]["status"], "active");
    assert_eq!(status.body["data"]["revokedAt"], Value::Null);
    assert_eq!(status.body["data"]["revokedBy"], Value::Null);
    assert_eq!(status.body["data"]["grantRevoked"], false);
    assert_eq!(status.body["data"]["checkpointAt"], b["checkpointAt"]);

    let revoke = format!("/v1/consent-bundles/{id}/revoke");
    let r = t.client.post(&revoke, &json!({"revokeGrant": "yes"})).await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::BAD_REQUEST, "BAD_REQUEST")
    );
    let r = t.client.post(&revoke, &json!({"revokeGrant": true})).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_enveloped(&r.body);
    assert_eq!(r.body["bundleId"], id);
    assert_eq!(r.body["status"], "revoked");
    let at = r.body["revokedAt"].clone();
    assert!(at.is_string());
    // Twice is not an error, and the first time stands.
    t.clock.advance(Duration::from_secs(5));
    let again = t.client.send(hyper::Method::POST, &revoke, None).await;
    assert_eq!(
        (again.status, &again.body["revokedAt"]),
        (StatusCode::OK, &at)
    );

    let s = t
        .client
        .get(&format!("/v1/consent-bundles/{id}/revocation-status"))
        .await
        .body;
    assert_eq!(s["data"]["status"], "revoked");
    assert_eq!(s["data"]["revokedAt"], at);
    assert_eq!(s["data"]["revokedBy"], t.tenant.developer_id.as_str());
    assert_eq!(s["data"]["grantRevoked"], true);
    for path in ["revocation-status"] {
        let r = t
            .client
            .get(&format!("/v1/consent-bundles/bundle_01NOPE/{path}"))
            .await;
        assert_eq!((r.status, r.code()), (StatusCode::NOT_FOUND, "NOT_FOUND"));
    }
    let r = t
        .client
        .post("/v1/consent-bundles/bundle_01NOPE/revoke", &json!({}))
        .await;
    assert_eq!((r.status, r.code()), (StatusCode::NOT_FOUND, "NOT_FOUND"));
}

#[tokio::test]
async fn get_and_list_with_cursor_paging() {
    let t = start().await;
    let mut ids = Vec::new();
    for _ in 0..5 {
        ids.push(
            t.create_bundle().await["bundleId"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    let g = t
        .client
        .get(&format!("/v1/consent-bundles/{}", ids[0]))
        .await;
    assert_eq!(g.status, StatusCode::OK);
    assert_enveloped(&g.body);
    let s = &g.body;
    assert_eq!(s["id"], ids[0].as_str());
    assert_eq!(s["agentId"], t.tenant.agent_id.as_str());
    assert!(s["grantId"].as_str().unwrap().starts_with("grnt_"));
    assert_eq!(s["userId"], "user_1");
    assert_eq!(s["scopes"], json!(["read:contacts", "write:calendar"]));
    assert_eq!(s["status"], "active");
    assert_eq!(s["deviceId"], "dev-1");
    assert_eq!(s["devicePlatform"], "linux");
    assert_eq!(s["offlineTTL"], "72h");
    assert!(s["offlineExpiresAt"].is_string() && s["createdAt"].is_string());
    assert!(s["checkpointAt"].is_u64());
    assert_eq!(s["auditEntryCount"], 0);
    assert_eq!(
        (&s["lastSyncAt"], &s["revokedAt"]),
        (&Value::Null, &Value::Null)
    );
    let r = t.client.get("/v1/consent-bundles/bundle_01NOPE").await;
    assert_eq!((r.status, r.code()), (StatusCode::NOT_FOUND, "NOT_FOUND"));

    // Newest first, two per page.
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/v1/consent-bundles?limit=2&cursor={c}"),
            None => String::from("/v1/consent-bundles?limit=2"),
        };
        let page = t.client.get(&path).await;
        assert_eq!(page.status, StatusCode::OK);
        assert_enveloped(&page.body);
        let bundles = page.body["bundles"].as_array().unwrap();
        assert!(bundles.len() <= 2);
        seen.extend(bundles.iter().map(|b| b["id"].as_str().unwrap().to_owned()));
        match page.body.get("nextCursor").and_then(Value::as_str) {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    let mut expected = ids.clone();
    expected.reverse();
    assert_eq!(seen, expected);

    t.client
        .post(
            &format!("/v1/consent-bundles/{}/revoke", ids[1]),
            &json!({}),
        )
        .await;
    let revoked = t
        .client
        .get("/v1/consent-bundles?status=revoked")
        .await
        .body;
    assert_eq!(revoked["bundles"].as_array().unwrap().len(), 1);
    assert_eq!(revoked["bundles"][0]["id"], ids[1].as_str());
    let active = t
        .client
        .get(&format!(
            "/v1/consent-bundles?status=active&agentId={}",
            t.tenant.agent_id
        ))
        .await
        .body;
    assert_eq!(active["bundles"].as_array().unwrap().len(), 4);
    let none = t
        .client
        .get("/v1/consent-bundles?agentId=ag_01OTHER")
        .await
        .body;
    assert_eq!(none["bundles"], json!([]));
    for bad in ["?limit=0", "?limit=101", "?limit=x", "?status=sleeping"] {
        let r = t.client.get(&format!("/v1/consent-bundles{bad}")).await;
        assert_eq!(
            (r.status, r.code()),
            (StatusCode::BAD_REQUEST, "BAD_REQUEST"),
            "{bad}"
        );
    }
}

#[tokio::test]
async fn audit_listing_pages_in_ascending_seq() {
    let t = start().await;
    let b = t.create_bundle().await;
    let id = b["bundleId"].as_str().unwrap();
    let mut w = ChainWriter::for_bundle(&b);
    let sent = w.batch(5);
    assert_eq!(
        t.client
            .post("/v1/audit/offline-sync", &sync_body(id, &sent))
            .await
            .status,
        StatusCode::OK
    );
    let all = t
        .client
        .get(&format!("/v1/consent-bundles/{id}/audit"))
        .await;
    assert_eq!(all.status, StatusCode::OK);
    assert_enveloped(&all.body);
    let entries = all.body["entries"].as_array().unwrap();
    assert_eq!(entries.len(), 5);
    assert!(all.body.get("nextAfterSeq").is_none());
    for (got, want) in entries.iter().zip(&sent) {
        let mut got = got.clone();
        let synced = got.as_object_mut().unwrap().remove("syncedAt").unwrap();
        assert!(gx_core::UnixTime::parse_iso(synced.as_str().unwrap()).is_ok());
        assert_eq!(&got, want);
    }
    let page = t
        .client
        .get(&format!(
            "/v1/consent-bundles/{id}/audit?afterSeq=2&limit=2"
        ))
        .await
        .body;
    let seqs: Vec<u64> = page["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["seq"].as_u64().unwrap())
        .collect();
    assert_eq!(seqs, [3, 4]);
    assert_eq!(page["nextAfterSeq"], 4);
    let last = t
        .client
        .get(&format!("/v1/consent-bundles/{id}/audit?afterSeq=4"))
        .await
        .body;
    assert_eq!(last["entries"].as_array().unwrap().len(), 1);
    for bad in ["?afterSeq=-1", "?limit=1001", "?limit=0"] {
        let r = t
            .client
            .get(&format!("/v1/consent-bundles/{id}/audit{bad}"))
            .await;
        assert_eq!(
            (r.status, r.code()),
            (StatusCode::BAD_REQUEST, "BAD_REQUEST"),
            "{bad}"
        );
    }
    let r = t
        .client
        .get("/v1/consent-bundles/bundle_01NOPE/audit")
        .await;
    assert_eq!((r.status, r.code()), (StatusCode::NOT_FOUND, "NOT_FOUND"));
}
