//! The interleavings a review found racy, driven step by step against the store so that
//! they are deterministic: the state checks must hold under the bundle's lock.
//!
//! - A sync verifies its batch under the key it read, then appends. A refresh that
//!   commits in between replaces the key: the append must then store nothing
//!   (`KeyChanged`), and the handler checks the batch again under the new key.
//! - A refresh checks the bundle's state, then writes. A revoke that commits in between
//!   must win: the refresh's write is refused (`Revoked`) and changes nothing.

use gx_server::Clock as _;
use gx_server::{AppendOutcome, BundleRefresh, NewEntry, RefreshOutcome};
use hyper::StatusCode;
use serde_json::{Value, json};

use crate::harness::{ChainWriter, pem_der, start, sync_body};

/// The raw Ed25519 public key of a bundle body (the last 32 bytes of its SPKI).
fn audit_key(bundle: &Value) -> [u8; 32] {
    let der = pem_der(bundle["offlineAuditKey"]["publicKey"].as_str().unwrap());
    der[der.len() - 32..].try_into().unwrap()
}

fn new_entry(e: &Value) -> NewEntry {
    NewEntry {
        seq: e["seq"].as_u64().unwrap(),
        hash: e["hash"].as_str().unwrap().to_owned(),
        prev_hash: e["prevHash"].as_str().unwrap().to_owned(),
        json: e.to_string(),
    }
}

#[tokio::test]
async fn an_append_verified_under_a_replaced_key_stores_nothing() {
    let t = start().await;
    let bundle = t.create_bundle().await;
    let id = bundle["bundleId"].as_str().unwrap().to_owned();
    let old_key = audit_key(&bundle);
    let mut w = ChainWriter::for_bundle(&bundle);
    let batch: Vec<Value> = w.batch(5);
    // The sync has checked `batch` under `old_key`; now a refresh commits first.
    let r = t
        .client
        .post(&format!("/v1/consent-bundles/{id}/refresh"), &json!({}))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_ne!(audit_key(&r.body), old_key);
    let store = t.store();
    let ready: Vec<NewEntry> = batch.iter().map(new_entry).collect();
    let now = t.clock.now().as_millis();
    let out = tokio::task::spawn_blocking(move || {
        let out = store
            .append_entries(&id, &old_key, &ready, now, None)
            .unwrap();
        (
            out,
            store
                .entries(&id, 0, 100, usize::MAX)
                .unwrap()
                .entries
                .len(),
        )
    })
    .await
    .unwrap();
    assert_eq!(out, (AppendOutcome::KeyChanged, 0));

    // Through HTTP the same batch is checked again under the new key, and refused.
    let r = t
        .client
        .post(
            "/v1/audit/offline-sync",
            &sync_body(bundle["bundleId"].as_str().unwrap(), &batch),
        )
        .await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::BAD_REQUEST, "INVALID_AUDIT_ENTRIES")
    );
    assert_eq!(r.body["errors"][0]["code"], "INVALID_SIGNATURE");
}

#[tokio::test]
async fn a_refresh_that_loses_to_a_revoke_changes_nothing() {
    let t = start().await;
    let bundle = t.create_bundle().await;
    let id = bundle["bundleId"].as_str().unwrap().to_owned();
    let key = audit_key(&bundle);
    // The refresh has found the bundle active; now a revoke commits first.
    let r = t
        .client
        .post(&format!("/v1/consent-bundles/{id}/revoke"), &json!({}))
        .await;
    assert_eq!(r.status, StatusCode::OK);
    let store = t.store();
    let dev = t.tenant.developer_id.clone();
    let now = t.clock.now().as_millis();
    let refresh = BundleRefresh {
        token_id: String::from("tok_RACE"),
        audit_public_key: [7; 32],
        offline_expires_at: now + 3_600_000,
        checkpoint_at: now,
    };
    let (outcome, after) = tokio::task::spawn_blocking(move || {
        let outcome = store.refresh_bundle(&dev, &id, &refresh, now).unwrap();
        (outcome, store.bundle(&dev, &id).unwrap().unwrap())
    })
    .await
    .unwrap();
    assert_eq!(outcome, RefreshOutcome::Revoked);
    assert_eq!(after.audit_public_key, key);
    assert_ne!(after.token_id, "tok_RACE");
}

#[tokio::test]
async fn a_refresh_checks_grant_and_expiry_under_the_lock_too() {
    let t = start().await;
    let bundle = t.create_bundle().await;
    let id = bundle["bundleId"].as_str().unwrap().to_owned();
    let grant = crate::harness::claims(bundle["grantToken"].as_str().unwrap())["grnt"]
        .as_str()
        .unwrap()
        .to_owned();
    let store = t.store();
    let dev = t.tenant.developer_id.clone();
    let now = t.clock.now().as_millis();
    let refresh = BundleRefresh {
        token_id: String::from("tok_RACE"),
        audit_public_key: [7; 32],
        offline_expires_at: now + 3_600_000,
        checkpoint_at: now,
    };
    let outcomes = tokio::task::spawn_blocking(move || {
        let late = now + 73 * 3_600_000;
        let expired = store.refresh_bundle(&dev, &id, &refresh, late).unwrap();
        store.set_grant_active(&grant, false).unwrap();
        let inactive = store.refresh_bundle(&dev, &id, &refresh, now).unwrap();
        let unknown = store
            .refresh_bundle(&dev, "bundle_NOPE", &refresh, now)
            .unwrap();
        (expired, inactive, unknown)
    })
    .await
    .unwrap();
    assert_eq!(
        outcomes,
        (
            RefreshOutcome::Expired,
            RefreshOutcome::GrantInactive,
            RefreshOutcome::UnknownBundle
        )
    );
}
