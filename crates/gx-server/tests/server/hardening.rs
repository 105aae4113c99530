//! The findings of the server's security review, one test each (each fails on the server
//! before the fixes): bounded audit pages, per-entry metadata limit, storage quota, read
//! rate limit, API keys with roles, expiry and revocation across replicas, refusal of an
//! uninitialised database, signing keys sealed at rest and rotated on a timer, 400 for
//! out-of-range numbers, case-insensitive `Bearer`, and `Debug` without key hashes.

use core::time::Duration;

use gx_server::{
    ApiKeyRole, KeyEncryptionKey, NewKeyOptions, RateLimit, RateLimits, Server, ServerConfig,
    Store, create_api_key, revoke_api_key,
};
use hyper::{Method, StatusCode};
use serde_json::Value;

use crate::harness::{ChainWriter, launch_with, start, start_configured, sync_body};

fn bundle_id(b: &Value) -> String {
    b["bundleId"].as_str().unwrap().to_owned()
}

/// 80 stored entries of ~60 KB each (4.8 MB, 9.6 MB with the `data` copy) come back in
/// pages of at most 4 MiB of entries, the reply under 8.5 MiB, with a cursor to the rest.
#[tokio::test]
async fn audit_pages_are_bounded_by_bytes_with_a_cursor() {
    let t = start().await;
    let b = t.create_bundle().await;
    let id = bundle_id(&b);
    let mut w = ChainWriter::for_bundle(&b);
    for _ in 0..8 {
        let batch: Vec<Value> = (0..10).map(|_| w.next_padded(60_000)).collect();
        let r = t
            .client
            .post("/v1/audit/offline-sync", &sync_body(&id, &batch))
            .await;
        assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    }
    let mut after = 0u64;
    let mut seen = 0u64;
    let mut pages = 0;
    loop {
        let r = t
            .client
            .get(&format!("/v1/consent-bundles/{id}/audit?afterSeq={after}"))
            .await;
        assert_eq!(r.status, StatusCode::OK);
        let size = serde_json::to_vec(&r.body).unwrap().len();
        assert!(size < 8_500_000, "a page of {size} bytes");
        let entries = r.body["entries"].as_array().unwrap();
        assert!(!entries.is_empty());
        for e in entries {
            seen += 1;
            assert_eq!(e["seq"].as_u64(), Some(seen));
        }
        pages += 1;
        match r.body["nextAfterSeq"].as_u64() {
            Some(next) => {
                assert_eq!(next, seen);
                after = next;
            }
            None => break,
        }
        assert!(pages < 10);
    }
    assert_eq!((seen, pages), (80, 2));
}

#[tokio::test]
async fn metadata_above_64_kib_is_an_invalid_entry() {
    let t = start().await;
    let b = t.create_bundle().await;
    let id = bundle_id(&b);
    let mut w = ChainWriter::for_bundle(&b);
    let big = w.next_padded(70_000);
    let r = t
        .client
        .post("/v1/audit/offline-sync", &sync_body(&id, &[big]))
        .await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::BAD_REQUEST, "INVALID_AUDIT_ENTRIES")
    );
    assert_eq!(r.body["errors"][0]["code"], "INVALID_ENTRY");
    assert!(
        r.body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("metadata")
    );
}

#[tokio::test]
async fn a_developer_past_its_storage_quota_gets_507_and_nothing_is_stored() {
    let t = start_configured(RateLimits::DISABLED, |c| c.storage_quota = Some(20_000)).await;
    let b = t.create_bundle().await;
    let id = bundle_id(&b);
    let mut w = ChainWriter::for_bundle(&b);
    let first: Vec<Value> = (0..2).map(|_| w.next_padded(8_000)).collect();
    let r = t
        .client
        .post("/v1/audit/offline-sync", &sync_body(&id, &first))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    let over: Vec<Value> = (0..2).map(|_| w.next_padded(8_000)).collect();
    let r = t
        .client
        .post("/v1/audit/offline-sync", &sync_body(&id, &over))
        .await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::INSUFFICIENT_STORAGE, "STORAGE_QUOTA_EXCEEDED")
    );
    // A re-upload of what is stored costs nothing and still succeeds.
    let r = t
        .client
        .post("/v1/audit/offline-sync", &sync_body(&id, &first))
        .await;
    assert_eq!(r.status, StatusCode::OK);
    let summary = t.client.get(&format!("/v1/consent-bundles/{id}")).await;
    assert_eq!(summary.body["auditEntryCount"], 2);
}

#[tokio::test]
async fn reads_are_rate_limited_per_key() {
    let limits = RateLimits {
        read: Some(RateLimit::per_minute(3)),
        ..RateLimits::DISABLED
    };
    let t = start_configured(limits, |_| {}).await;
    let b = t.create_bundle().await;
    let path = format!("/v1/consent-bundles/{}/audit", bundle_id(&b));
    for _ in 0..3 {
        assert_eq!(t.client.get(&path).await.status, StatusCode::OK);
    }
    let r = t.client.get(&path).await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::TOO_MANY_REQUESTS, "RATE_LIMITED")
    );
    assert!(r.retry_after.is_some());
    // Another key of the same developer has its own budget.
    let store = t.store();
    let other = admin_key(&*store);
    assert_eq!(
        t.client.with_key(&other).get(&path).await.status,
        StatusCode::OK
    );
    t.clock.advance(Duration::from_secs(60));
    assert_eq!(t.client.get(&path).await.status, StatusCode::OK);
}

fn admin_key(store: &dyn Store) -> String {
    let k = create_api_key(
        store,
        NewKeyOptions {
            role: ApiKeyRole::Admin,
            label: None,
            expires_in: None,
            developer_id: None,
        },
    )
    .unwrap();
    k.api_key.expose().to_owned()
}

/// A sync key reaches sync and revocation status only; revoking a key (here the initial
/// admin key) is refused from the next request on by every server on the database.
#[tokio::test]
async fn sync_keys_are_limited_and_revocation_holds_in_every_replica() {
    let t = start().await;
    let b = t.create_bundle().await;
    let id = bundle_id(&b);
    let store = t.store();
    let sync = create_api_key(
        &*store,
        NewKeyOptions {
            role: ApiKeyRole::Sync,
            label: Some(String::from("fleet")),
            expires_in: None,
            developer_id: None,
        },
    )
    .unwrap();
    let device = t.client.with_key(sync.api_key.expose());
    let mut w = ChainWriter::for_bundle(&b);
    let r = device
        .post("/v1/audit/offline-sync", &sync_body(&id, &w.batch(3)))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    let r = device
        .get(&format!("/v1/consent-bundles/{id}/revocation-status"))
        .await;
    assert_eq!(r.status, StatusCode::OK);
    for (method, path) in [
        (Method::POST, String::from("/v1/consent-bundles")),
        (Method::GET, format!("/v1/consent-bundles/{id}")),
        (Method::GET, format!("/v1/consent-bundles/{id}/audit")),
        (Method::POST, format!("/v1/consent-bundles/{id}/refresh")),
        (Method::POST, format!("/v1/consent-bundles/{id}/revoke")),
        (Method::GET, String::from("/v1/consent-bundles")),
    ] {
        let body = (method == Method::POST).then(|| t.create_body(&["read:contacts"]));
        let r = device.send(method.clone(), &path, body.as_ref()).await;
        assert_eq!(
            (r.status, r.code()),
            (StatusCode::FORBIDDEN, "FORBIDDEN"),
            "{method} {path}"
        );
    }

    // A second server on the same database.
    let (replica, replica_client) = launch_with(
        &t.db,
        &t.clock,
        RateLimits::DISABLED,
        t.tenant.api_key.expose(),
        |_| {},
    )
    .await;
    let summary = format!("/v1/consent-bundles/{id}");
    assert_eq!(t.client.get(&summary).await.status, StatusCode::OK);
    assert_eq!(replica_client.get(&summary).await.status, StatusCode::OK);
    let admin_id = store
        .api_keys()
        .unwrap()
        .into_iter()
        .find(|k| k.role == ApiKeyRole::Admin)
        .unwrap()
        .id;
    revoke_api_key(&*store, &admin_id).unwrap();
    for client in [&t.client, &replica_client] {
        let r = client.get(&summary).await;
        assert_eq!(
            (r.status, r.code()),
            (StatusCode::UNAUTHORIZED, "UNAUTHORIZED")
        );
    }
    // The sync key is unaffected.
    let r = device
        .post("/v1/audit/offline-sync", &sync_body(&id, &w.batch(1)))
        .await;
    assert_eq!(r.status, StatusCode::OK);
    replica.shutdown().await;
}

#[tokio::test]
async fn an_expired_key_answers_401() {
    let t = start().await;
    let store = t.store();
    let k = create_api_key(
        &*store,
        NewKeyOptions {
            role: ApiKeyRole::Admin,
            label: None,
            expires_in: Some(Duration::from_secs(3600)),
            developer_id: None,
        },
    )
    .unwrap();
    let c = t.client.with_key(k.api_key.expose());
    assert_eq!(c.get("/v1/consent-bundles").await.status, StatusCode::OK);
    t.clock.advance(Duration::from_secs(3601));
    assert_eq!(
        c.get("/v1/consent-bundles").await.status,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn run_refuses_an_uninitialised_database_and_creates_no_file() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("new.db");
    let mut config = ServerConfig::new(&db, "127.0.0.1:0".parse().unwrap());
    config.rate_limits = RateLimits::DISABLED;
    let e = Server::start(config).await.unwrap_err();
    assert_eq!(e.code(), "NOT_INITIALISED");
    assert!(!db.exists());
}

#[tokio::test]
async fn signing_keys_are_sealed_at_rest_and_need_the_kek() {
    let kek = KeyEncryptionKey::from_hex(&"5a".repeat(32)).unwrap();
    let k = kek.clone();
    let t = start_configured(RateLimits::DISABLED, move |c| c.kek = Some(k.clone())).await;
    let b = t.create_bundle().await;
    assert!(b["grantToken"].as_str().is_some());
    let store = t.store();
    for key in store.signing_keys().unwrap() {
        assert!(
            key.private_key.starts_with(b"GXKEK1"),
            "{} is not sealed",
            key.kid
        );
    }
    let mut config = ServerConfig::new(&t.db, "127.0.0.1:0".parse().unwrap());
    config.kek = None;
    assert_eq!(
        Server::start(config).await.unwrap_err().code(),
        "KEK_MISSING"
    );
}

/// A server left running rotates when the month changes, publishes both keys, and deletes
/// the retired key once no token it signed can still be valid.
#[tokio::test]
async fn the_maintenance_timer_rotates_and_forgets_old_keys() {
    let t = start_configured(RateLimits::DISABLED, |c| {
        c.key_maintenance = Duration::from_millis(20);
    })
    .await;
    let kids = |jwks: &Value| -> Vec<String> {
        jwks["keys"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| k["kid"].as_str().unwrap().to_owned())
            .collect()
    };
    let before = kids(&t.client.get("/.well-known/jwks.json").await.body);
    assert_eq!(before.len(), 1);
    t.clock.advance(Duration::from_secs(32 * 86_400));
    let mut rotated = Vec::new();
    for _ in 0..500 {
        rotated = kids(&t.client.get("/.well-known/jwks.json").await.body);
        if rotated.len() == 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(rotated.len(), 2, "{rotated:?}");
    assert_eq!(rotated[1], before[0]);
    t.clock.advance(Duration::from_secs(8 * 86_400));
    let store = t.store();
    for _ in 0..500 {
        if store.signing_keys().unwrap().len() == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let left: Vec<String> = store
        .signing_keys()
        .unwrap()
        .into_iter()
        .map(|k| k.kid)
        .collect();
    assert_eq!(left, [rotated[0].clone()]);
    assert_eq!(
        kids(&t.client.get("/.well-known/jwks.json").await.body),
        left
    );
}

#[tokio::test]
async fn out_of_range_query_numbers_are_400() {
    let t = start().await;
    let b = t.create_bundle().await;
    let id = bundle_id(&b);
    for q in [
        "afterSeq=9223372036854775808",
        "afterSeq=9007199254740992",
        "afterSeq=-1",
        "limit=4294967296",
        "cursor=99999999999999999999",
    ] {
        let r = t
            .client
            .get(&format!("/v1/consent-bundles/{id}/audit?{q}"))
            .await;
        assert_eq!(
            (r.status, r.code()),
            (StatusCode::BAD_REQUEST, "BAD_REQUEST"),
            "{q}"
        );
    }
    let r = t
        .client
        .get(&format!(
            "/v1/consent-bundles/{id}/audit?afterSeq=9007199254740991"
        ))
        .await;
    assert_eq!(r.status, StatusCode::OK);
}

#[tokio::test]
async fn the_bearer_scheme_is_case_insensitive() {
    let t = start().await;
    let key = t.tenant.api_key.expose();
    for scheme in ["Bearer", "bearer", "BEARER", "bEaReR"] {
        let auth = format!("{scheme} {key}");
        let r = t
            .client
            .send_raw(Method::GET, "/v1/consent-bundles", Vec::new(), Some(&auth))
            .await;
        assert_eq!(r.status, StatusCode::OK, "{scheme}");
    }
    let r = t
        .client
        .send_raw(
            Method::GET,
            "/v1/consent-bundles",
            Vec::new(),
            Some(&format!("Basic {key}")),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn debug_output_holds_no_api_key_hash() {
    let t = start_configured(RateLimits::default(), |_| {}).await;
    // A rate-limited request puts the key into the limiter's table (in the store).
    t.create_bundle().await;
    let hash: String = aws_lc_rs::digest::digest(
        &aws_lc_rs::digest::SHA256,
        t.tenant.api_key.expose().as_bytes(),
    )
    .as_ref()
    .iter()
    .map(|b| format!("{b:02x}"))
    .collect();
    let debug = format!("{:?}", t.server);
    assert!(debug.contains("AppState"), "{debug}");
    assert!(!debug.contains(&hash), "{debug}");
    assert!(!debug.contains(t.tenant.api_key.expose()));
    let store = t.store();
    let keys = store.api_keys().unwrap();
    assert!(!format!("{keys:?}").contains(&hash));
}
