//! Restarting on the same database: bundles, chains and keys survive; old tokens verify
//! against the new JWKS; key rotation keeps retired keys published.

use hyper::StatusCode;
use serde_json::{Value, json};

use gx_server::Clock as _;

use crate::harness::{ChainWriter, claims, start, sync_body, verify_with_gx_core};

fn kids(jwks: &Value) -> Vec<String> {
    jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap().to_owned())
        .collect()
}

fn token_kid(token: &str) -> String {
    use base64ct::Encoding as _;
    let header: Value = serde_json::from_slice(
        &base64ct::Base64UrlUnpadded::decode_vec(token.split('.').next().unwrap()).unwrap(),
    )
    .unwrap();
    header["kid"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn state_survives_a_restart() {
    let t = start().await;
    let b = t.create_bundle().await;
    let id = b["bundleId"].as_str().unwrap().to_owned();
    let token = b["grantToken"].as_str().unwrap().to_owned();
    let mut w = ChainWriter::for_bundle(&b);
    assert_eq!(
        t.client
            .post("/v1/audit/offline-sync", &sync_body(&id, &w.batch(10)))
            .await
            .status,
        StatusCode::OK
    );
    let jwks_before = t.client.get("/.well-known/jwks.json").await.body;
    let old_port = t.server.local_addr().port();

    let t = t.restart().await;
    assert_ne!(t.server.local_addr().port(), old_port);
    let jwks_after = t.client.get("/.well-known/jwks.json").await.body;
    assert_eq!(jwks_after, jwks_before, "the signing key is persisted");
    assert!(kids(&jwks_after).contains(&token_kid(&token)));
    verify_token(&token, &jwks_after, &claims(&token));
    // The issuer is the URL the token was issued under (port 0 moved; --public-url pins it).
    let iss = claims(&token)["iss"].as_str().unwrap().to_owned();
    assert_ne!(iss, t.server.public_url());
    verify_with_gx_core(&token, &jwks_after, &iss, t.clock.now());

    let s = t
        .client
        .get(&format!("/v1/consent-bundles/{id}"))
        .await
        .body;
    assert_eq!(s["auditEntryCount"], 10);
    // The chain and the audit public key survived: the chain continues at seq 11.
    let r = t
        .client
        .post("/v1/audit/offline-sync", &sync_body(&id, &w.batch(3)))
        .await;
    assert_eq!(
        (r.status, r.body["accepted"].as_u64()),
        (StatusCode::OK, Some(3)),
        "{:?}",
        r.body
    );
    let entries = t
        .client
        .get(&format!("/v1/consent-bundles/{id}/audit"))
        .await
        .body;
    assert_eq!(entries["entries"].as_array().unwrap().len(), 13);
    // The API key still works (it was only ever stored hashed).
    assert_eq!(
        t.client.get("/v1/consent-bundles").await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn rotation_keeps_old_tokens_verifiable() {
    let t = start().await;
    let before = t.create_bundle().await;
    let old_token = before["grantToken"].as_str().unwrap().to_owned();
    let new_kid = t.server.rotate_signing_key().await.unwrap();
    let jwks = t.client.get("/.well-known/jwks.json").await.body;
    assert_eq!(kids(&jwks)[0], new_kid);
    assert!(kids(&jwks).contains(&token_kid(&old_token)));
    let after = t.create_bundle().await;
    assert_eq!(token_kid(after["grantToken"].as_str().unwrap()), new_kid);
    assert_eq!(after["jwksSnapshot"]["keys"].as_array().unwrap().len(), 2);
    // Survives a restart too.
    let t = t.restart().await;
    let jwks = t.client.get("/.well-known/jwks.json").await.body;
    verify_token(&old_token, &jwks, &claims(&old_token));
    let iss = claims(&old_token)["iss"].as_str().unwrap().to_owned();
    verify_with_gx_core(&old_token, &jwks, &iss, t.clock.now());
    verify_token(
        after["grantToken"].as_str().unwrap(),
        &jwks,
        &claims(after["grantToken"].as_str().unwrap()),
    );
    // After the longest token lifetime, the retired key is no longer published.
    t.clock.advance(core::time::Duration::from_secs(
        gx_server::MAX_TOKEN_LIFETIME_SECS + 1,
    ));
    let jwks = t.client.get("/.well-known/jwks.json").await.body;
    assert_eq!(kids(&jwks), vec![new_kid]);
    let _ = json!(null);
}

/// Verifies an RS256 token against a JWKS with an independent RSA check (aws-lc-rs).
pub(crate) fn verify_token(token: &str, jwks: &Value, claims: &Value) {
    use aws_lc_rs::signature::{RSA_PKCS1_2048_8192_SHA256, RsaPublicKeyComponents};
    use base64ct::{Base64UrlUnpadded, Encoding as _};
    let kid = token_kid(token);
    let jwk = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["kid"] == kid.as_str())
        .expect("kid published");
    let n = Base64UrlUnpadded::decode_vec(jwk["n"].as_str().unwrap()).unwrap();
    let e = Base64UrlUnpadded::decode_vec(jwk["e"].as_str().unwrap()).unwrap();
    assert_eq!(n.len(), 256, "RSA-2048");
    let (input, sig) = token.rsplit_once('.').unwrap();
    let sig = Base64UrlUnpadded::decode_vec(sig).unwrap();
    RsaPublicKeyComponents { n: &n, e: &e }
        .verify(&RSA_PKCS1_2048_8192_SHA256, input.as_bytes(), &sig)
        .expect("signature verifies");
    assert!(claims["exp"].as_u64().unwrap() > claims["iat"].as_u64().unwrap());
}
