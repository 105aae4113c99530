//! Two gx-server replicas on one PostgreSQL database give the results one server gives:
//! one linear chain under concurrent, overlapping syncs through both, a bundle created on
//! one refreshing on the other, one JWKS, and rate limits counted across both.

use hyper::StatusCode;
use serde_json::{Value, json};

use crate::client::Client;
use crate::harness::{
    ChainWriter, SCOPES, TestServer, fresh_database, launch, start_with, sync_body,
    verify_with_gx_core, wall_clock,
};
use gx_server::{InitOptions, RateLimit, RateLimits, RunningServer, init_db};

/// A second replica on the first one's database.
async fn second_replica(t: &TestServer) -> (RunningServer, Client) {
    launch(&t.db, &t.clock, t.limits, t.tenant.api_key.expose()).await
}

#[tokio::test]
async fn concurrent_overlapping_syncs_through_two_replicas_store_one_chain() {
    let t = start_with(RateLimits::DISABLED).await;
    let (b, client_b) = second_replica(&t).await;
    let bundle = t.create_bundle().await;
    let id = bundle["bundleId"].as_str().unwrap().to_owned();
    let mut w = ChainWriter::for_bundle(&bundle);
    let chain: Vec<Value> = w.batch(400);
    // Overlapping windows of 60 entries every 40, in a fixed shuffled order.
    let mut batches: Vec<Vec<Value>> = (0..10)
        .map(|i| chain[i * 40..(i * 40 + 60).min(400)].to_vec())
        .collect();
    let order = [7, 2, 9, 0, 4, 1, 8, 3, 6, 5];
    batches = order.iter().map(|&i| batches[i].clone()).collect();
    let clients = [t.client.clone(), client_b.clone()];
    let mut pending: Vec<usize> = (0..batches.len()).collect();
    // Each round every pending batch goes out at once, alternately through A and B; the
    // batch holding the entry after the stored head always succeeds, so this ends.
    for _round in 0..=batches.len() {
        if pending.is_empty() {
            break;
        }
        let sends = pending.iter().enumerate().map(|(n, &i)| {
            let client = clients[n % 2].clone();
            let body = sync_body(&id, &batches[i]);
            async move { (i, client.post("/v1/audit/offline-sync", &body).await) }
        });
        let replies = futures_join_all(sends).await;
        let mut still = Vec::new();
        for (i, r) in replies {
            match r.status {
                StatusCode::OK => assert_eq!(r.body["accepted"], batches[i].len()),
                StatusCode::CONFLICT => {
                    assert_eq!(r.code(), "AUDIT_CHAIN_CONFLICT");
                    still.push(i);
                }
                other => panic!("unexpected {other}: {:?}", r.body),
            }
        }
        pending = still;
    }
    assert!(pending.is_empty(), "batches never accepted: {pending:?}");
    // One linear chain: seq 1..=400, each entry linked to the one before, no duplicate.
    let mut stored = Vec::new();
    let mut after = 0;
    loop {
        let r = client_b
            .get(&format!(
                "/v1/consent-bundles/{id}/audit?afterSeq={after}&limit=1000"
            ))
            .await;
        let entries = r.body["entries"].as_array().unwrap().clone();
        if entries.is_empty() {
            break;
        }
        after = entries.last().unwrap()["seq"].as_u64().unwrap();
        stored.extend(entries);
    }
    assert_eq!(stored.len(), 400);
    let mut prev = String::from("0000000000000000");
    for (i, e) in stored.iter().enumerate() {
        assert_eq!(e["seq"].as_u64().unwrap(), i as u64 + 1);
        assert_eq!(e["prevHash"].as_str().unwrap(), prev);
        assert_eq!(e["hash"], chain[i]["hash"]);
        prev = e["hash"].as_str().unwrap().to_owned();
    }
    let summary = t.client.get(&format!("/v1/consent-bundles/{id}")).await;
    assert_eq!(summary.body["auditEntryCount"], 400);
    b.shutdown().await;
}

/// `futures::future::join_all` without the dependency: spawn each, await in order.
async fn futures_join_all<F, T>(futs: impl Iterator<Item = F>) -> Vec<T>
where
    F: Future<Output = T> + Send + 'static,
    T: Send + 'static,
{
    let handles: Vec<_> = futs.map(tokio::spawn).collect();
    let mut out = Vec::with_capacity(handles.len());
    for h in handles {
        out.push(h.await.unwrap());
    }
    out
}

#[tokio::test]
async fn a_bundle_created_on_one_replica_refreshes_and_syncs_on_the_other() {
    let t = start_with(RateLimits::DISABLED).await;
    let (b, client_b) = second_replica(&t).await;
    let bundle = t.create_bundle().await;
    let id = bundle["bundleId"].as_str().unwrap().to_owned();
    let mut w = ChainWriter::for_bundle(&bundle);
    let r = client_b
        .post("/v1/audit/offline-sync", &sync_body(&id, &w.batch(3)))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    let r = client_b
        .post(&format!("/v1/consent-bundles/{id}/refresh"), &json!({}))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(r.body["bundleId"], id.as_str());
    w.rekey(&r.body);
    // Replica A checks signatures with the key B handed out.
    let r = t
        .client
        .post("/v1/audit/offline-sync", &sync_body(&id, &w.batch(2)))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    // A revoke on A is what B reports.
    let r = t
        .client
        .post(&format!("/v1/consent-bundles/{id}/revoke"), &json!({}))
        .await;
    assert_eq!(r.status, StatusCode::OK);
    let r = client_b
        .post(&format!("/v1/consent-bundles/{id}/refresh"), &json!({}))
        .await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::CONFLICT, "BUNDLE_REVOKED")
    );
    b.shutdown().await;
}

#[tokio::test]
async fn a_token_issued_by_one_replica_verifies_against_the_others_jwks() {
    let t = start_with(RateLimits::DISABLED).await;
    let (b, client_b) = second_replica(&t).await;
    let jwks_a = t.client.get("/.well-known/jwks.json").await.body;
    let jwks_b = client_b.get("/.well-known/jwks.json").await.body;
    assert_eq!(jwks_a, jwks_b);
    let bundle = t.create_bundle().await;
    verify_with_gx_core(
        bundle["grantToken"].as_str().unwrap(),
        &jwks_b,
        t.server.public_url(),
        wall_clock(),
    );
    b.shutdown().await;
}

#[tokio::test]
async fn rate_limits_hold_across_replicas() {
    let limits = RateLimits {
        create: Some(RateLimit::per_minute(3)),
        sync: None,
        read: None,
    };
    let t = start_with(limits).await;
    let (b, client_b) = second_replica(&t).await;
    let body = t.create_body(&["read:contacts"]);
    let mut statuses = Vec::new();
    for client in [&t.client, &client_b, &t.client, &client_b] {
        let r = client.post("/v1/consent-bundles", &body).await;
        statuses.push(r.status);
        if r.status == StatusCode::TOO_MANY_REQUESTS {
            assert!(r.retry_after.is_some());
        }
    }
    assert_eq!(
        statuses,
        [
            StatusCode::CREATED,
            StatusCode::CREATED,
            StatusCode::CREATED,
            StatusCode::TOO_MANY_REQUESTS
        ]
    );
    b.shutdown().await;
}

#[test]
fn run_refuses_an_uninitialised_database_and_init_is_idempotent() {
    let dir = tempfile::tempdir().unwrap();
    let db = fresh_database(dir.path());
    let err = db.open().unwrap_err();
    assert_eq!(err.code(), "NOT_INITIALISED");
    let options = || InitOptions {
        agent_did: None,
        scopes: SCOPES.iter().map(|s| s.to_string()).collect(),
        force: false,
    };
    init_db(&db, options()).unwrap();
    assert_eq!(
        init_db(&db, options()).unwrap_err().code(),
        "ALREADY_INITIALISED"
    );
    let forced = init_db(
        &db,
        InitOptions {
            force: true,
            ..options()
        },
    )
    .unwrap();
    assert!(db.open().unwrap().is_initialised().unwrap());
    assert!(forced.developer_id.starts_with("dev_"));
}
