//! Each endpoint's success shape, and the request-level error codes (auth, validation, limits).

use core::time::Duration;

use base64ct::Encoding as _;
use gx_server::{RateLimit, RateLimits};
use hyper::{Method, StatusCode};
use serde_json::{Value, json};

use gx_core::UnixTime;

use crate::harness::{
    assert_enveloped, claims, pem_der, start, start_with, sync_body, verify_with_gx_core,
};

#[tokio::test]
async fn jwks_is_public() {
    let t = start().await;
    let anon = t.client.with_key("x");
    let r = anon
        .send_raw(Method::GET, "/.well-known/jwks.json", Vec::new(), None)
        .await;
    assert_eq!(r.status, StatusCode::OK);
    let keys = r.body["keys"].as_array().unwrap();
    assert_eq!(keys.len(), 1);
    assert_eq!(keys[0]["kty"], "RSA");
    assert_eq!(keys[0]["alg"], "RS256");
    assert_eq!(keys[0]["use"], "sig");
    assert_eq!(keys[0]["e"], "AQAB");
    assert!(keys[0]["kid"].as_str().unwrap().starts_with("grantex-20"));
    let r = anon
        .send_raw(Method::GET, "/healthz", Vec::new(), None)
        .await;
    assert_eq!(r.body["status"], "ok");
}

#[tokio::test]
async fn create_returns_the_protocol_bundle() {
    let t = start().await;
    let b = t.create_bundle().await;
    assert_enveloped(&b);
    let id = b["bundleId"].as_str().unwrap();
    assert!(id.starts_with("bundle_") && id.len() == 33, "{id}");
    let c = claims(b["grantToken"].as_str().unwrap());
    assert_eq!(c["iss"], t.server.base_url());
    assert_eq!(c["sub"], "user_1");
    assert_eq!(c["agt"], t.tenant.agent_did.as_str());
    assert_eq!(c["dev"], t.tenant.developer_id.as_str());
    assert_eq!(c["scp"], json!(["read:contacts", "write:calendar"]));
    assert!(c["jti"].as_str().unwrap().starts_with("tok_"));
    assert!(c["grnt"].as_str().unwrap().starts_with("grnt_"));
    let (iat, exp) = (c["iat"].as_u64().unwrap(), c["exp"].as_u64().unwrap());
    assert_eq!(exp - iat, 72 * 3600);
    assert_eq!(b["checkpointAt"].as_u64().unwrap(), iat * 1000);
    let snap = &b["jwksSnapshot"];
    assert_eq!(snap["validUntil"], b["offlineExpiresAt"]);
    assert_eq!(
        UnixTime::parse_iso(b["offlineExpiresAt"].as_str().unwrap())
            .unwrap()
            .as_secs(),
        exp
    );
    assert_eq!(
        b["syncEndpoint"],
        format!("{}/v1/audit/offline-sync", t.server.base_url())
    );
    let key = &b["offlineAuditKey"];
    assert_eq!(key["algorithm"], "Ed25519");
    assert_eq!(pem_der(key["publicKey"].as_str().unwrap()).len(), 44);
    assert_eq!(pem_der(key["privateKey"].as_str().unwrap()).len(), 48);
    // The token's kid is in the snapshot and in the live JWKS.
    let header: Value = serde_json::from_slice(
        &base64ct::Base64UrlUnpadded::decode_vec(
            b["grantToken"].as_str().unwrap().split('.').next().unwrap(),
        )
        .unwrap(),
    )
    .unwrap();
    assert_eq!(header["alg"], "RS256");
    assert_eq!(header["kid"], snap["keys"][0]["kid"]);
    // The device's verifier (gx-core) accepts it against the bundle's own snapshot.
    let now = UnixTime::from_secs(iat + 60);
    verify_with_gx_core(
        b["grantToken"].as_str().unwrap(),
        snap,
        t.server.base_url(),
        now,
    );
}

#[tokio::test]
async fn create_validation_errors() {
    let t = start().await;
    let c = &t.client;
    let ok = t.create_body(&["read:contacts"]);
    let with = |field: &str, v: Value| {
        let mut b = ok.clone();
        b[field] = v;
        b
    };
    let without = |field: &str| {
        let mut b = ok.clone();
        b.as_object_mut().unwrap().remove(field);
        b
    };
    let cases: Vec<(Value, StatusCode, &str)> = vec![
        (without("agentId"), StatusCode::BAD_REQUEST, "BAD_REQUEST"),
        (without("userId"), StatusCode::BAD_REQUEST, "BAD_REQUEST"),
        (without("scopes"), StatusCode::BAD_REQUEST, "BAD_REQUEST"),
        (
            with("scopes", json!([])),
            StatusCode::BAD_REQUEST,
            "BAD_REQUEST",
        ),
        (
            with("scopes", json!("read:contacts")),
            StatusCode::BAD_REQUEST,
            "BAD_REQUEST",
        ),
        (
            with("scopes", json!([""])),
            StatusCode::BAD_REQUEST,
            "BAD_REQUEST",
        ),
        (
            with("scopes", json!(["x".repeat(257)])),
            StatusCode::BAD_REQUEST,
            "BAD_REQUEST",
        ),
        (
            with("offlineTTL", json!("72x")),
            StatusCode::BAD_REQUEST,
            "INVALID_TTL",
        ),
        (
            with("offlineTTL", json!(72)),
            StatusCode::BAD_REQUEST,
            "INVALID_TTL",
        ),
        (
            with("offlineTTL", json!("169h")),
            StatusCode::UNPROCESSABLE_ENTITY,
            "INVALID_TTL",
        ),
        (
            with("offlineAuditKeyAlgorithm", json!("RSA")),
            StatusCode::BAD_REQUEST,
            "BAD_REQUEST",
        ),
        (
            with("scopes", json!(["read:contacts", "admin:all"])),
            StatusCode::UNPROCESSABLE_ENTITY,
            "INVALID_SCOPES",
        ),
        (
            with("agentId", json!("ag_01NOPE")),
            StatusCode::NOT_FOUND,
            "NOT_FOUND",
        ),
        (json!([1, 2]), StatusCode::BAD_REQUEST, "BAD_REQUEST"),
    ];
    for (body, status, code) in cases {
        let r = c.post("/v1/consent-bundles", &body).await;
        assert_eq!(
            (r.status, r.code()),
            (status, code),
            "{body} -> {:?}",
            r.body
        );
        assert!(r.body["message"].as_str().is_some_and(|m| !m.is_empty()));
        assert!(r.body["requestId"].as_str().unwrap().starts_with("req_"));
    }
    let r = c
        .send_raw(
            Method::POST,
            "/v1/consent-bundles",
            b"{not json".to_vec(),
            Some(&format!("Bearer {}", t.tenant.api_key.expose())),
        )
        .await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::BAD_REQUEST, "BAD_REQUEST")
    );
    // Defaults: no TTL means 72h.
    let r = c.post("/v1/consent-bundles", &without("offlineTTL")).await;
    assert_eq!(r.status, StatusCode::CREATED);
    let cl = claims(r.body["grantToken"].as_str().unwrap());
    assert_eq!(
        cl["exp"].as_u64().unwrap() - cl["iat"].as_u64().unwrap(),
        72 * 3600
    );
}

#[tokio::test]
async fn authentication_errors() {
    let t = start().await;
    let body = serde_json::to_vec(&t.create_body(&["read:contacts"])).unwrap();
    for auth in [
        None,
        Some("Bearer short"),
        Some("Basic abcdefghijklmnopqrstuvwxyz"),
        Some("Bearer gx_not_a_real_key_but_long_enough"),
    ] {
        let r = t
            .client
            .send_raw(Method::POST, "/v1/consent-bundles", body.clone(), auth)
            .await;
        assert_eq!(
            (r.status, r.code()),
            (StatusCode::UNAUTHORIZED, "UNAUTHORIZED"),
            "{auth:?}"
        );
    }
    let long = format!("Bearer {}", "k".repeat(513));
    let r = t
        .client
        .send_raw(Method::GET, "/v1/consent-bundles", Vec::new(), Some(&long))
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn routing_and_body_limits() {
    let t = start().await;
    let r = t.client.get("/v1/nothing-here").await;
    assert_eq!((r.status, r.code()), (StatusCode::NOT_FOUND, "NOT_FOUND"));
    let r = t
        .client
        .send(Method::DELETE, "/v1/consent-bundles", None)
        .await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::METHOD_NOT_ALLOWED, "METHOD_NOT_ALLOWED")
    );
    // 1 MiB + 1 byte of body: 413 before any parsing.
    let big = vec![b' '; gx_server::MAX_BODY_BYTES + 1];
    let auth = format!("Bearer {}", t.tenant.api_key.expose());
    let r = t
        .client
        .send_raw(Method::POST, "/v1/audit/offline-sync", big, Some(&auth))
        .await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::PAYLOAD_TOO_LARGE, "PAYLOAD_TOO_LARGE")
    );
    // More than 1000 entries (small enough to fit in 1 MiB): 413 PAYLOAD_TOO_LARGE.
    let b = t.create_bundle().await;
    let entries = vec![json!({}); 1001];
    let r = t
        .client
        .post(
            "/v1/audit/offline-sync",
            &sync_body(b["bundleId"].as_str().unwrap(), &entries),
        )
        .await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::PAYLOAD_TOO_LARGE, "PAYLOAD_TOO_LARGE")
    );
}

#[tokio::test]
async fn rate_limits_answer_429_with_retry_after() {
    let limits = RateLimits {
        create: Some(RateLimit::per_minute(10)),
        sync: Some(RateLimit::per_minute(20)),
        read: Some(RateLimit::per_minute(120)),
    };
    let t = start_with(limits).await;
    assert_eq!(RateLimits::default(), limits, "the protocol's defaults");
    let body = t.create_body(&["read:contacts"]);
    for _ in 0..10 {
        assert_eq!(
            t.client.post("/v1/consent-bundles", &body).await.status,
            StatusCode::CREATED
        );
    }
    let r = t.client.post("/v1/consent-bundles", &body).await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::TOO_MANY_REQUESTS, "RATE_LIMITED")
    );
    let wait: u64 = r.retry_after.unwrap().parse().unwrap();
    assert!((1..=60).contains(&wait));
    // Other routes are not limited by the create budget.
    assert_eq!(
        t.client.get("/v1/consent-bundles").await.status,
        StatusCode::OK
    );
    // Sync has its own budget of 20 (invalid requests count too).
    let junk = json!({"bundleId": "bundle_x", "entries": [{}]});
    for _ in 0..20 {
        assert_ne!(
            t.client.post("/v1/audit/offline-sync", &junk).await.status,
            StatusCode::TOO_MANY_REQUESTS
        );
    }
    assert_eq!(
        t.client.post("/v1/audit/offline-sync", &junk).await.status,
        StatusCode::TOO_MANY_REQUESTS
    );
    // The window passes (the server's clock, not a sleep).
    t.clock.advance(Duration::from_secs(wait));
    assert_eq!(
        t.client.post("/v1/consent-bundles", &body).await.status,
        StatusCode::CREATED
    );
}
