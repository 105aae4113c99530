//! Hostile JSON and headers: deep nesting, invalid UTF-8, wrong or missing content types,
//! duplicate keys, numbers out of range, huge arrays. Each gets its status and code.

use core::time::Duration;

use serde_json::Value;
use tokio::time::Instant;

use crate::harness::{Abuse, Chain, replace_field, start, sync_body};
use crate::wire::{Reply, raw_request};

const CREATE: &str = "/v1/consent-bundles";
const SYNC: &str = "/v1/audit/offline-sync";

/// POSTs `body` with the given `Content-Type` (none if `None`).
async fn post_as(t: &Abuse, path: &str, content_type: Option<&str>, body: &[u8]) -> Reply {
    let auth = format!("Authorization: Bearer {}", t.key);
    let len = format!("Content-Length: {}", body.len());
    let ct = content_type.map(|c| format!("Content-Type: {c}"));
    let mut headers = vec![auth.as_str(), len.as_str()];
    if let Some(ct) = &ct {
        headers.push(ct);
    }
    let mut c = t.target.connect().await;
    c.send(&raw_request(
        &format!("POST {path} HTTP/1.1"),
        &headers,
        body,
    ))
    .await
    .unwrap();
    c.reply().await.unwrap()
}

async fn post(t: &Abuse, path: &str, body: &[u8]) -> Reply {
    post_as(t, path, Some("application/json"), body).await
}

/// The per-entry codes of an `INVALID_AUDIT_ENTRIES` reply.
fn entry_codes(r: &Reply) -> Vec<String> {
    r.json()["errors"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|e| e["code"].as_str().unwrap_or("").to_owned())
                .collect()
        })
        .unwrap_or_default()
}

fn deep_array(levels: usize) -> String {
    "[".repeat(levels) + &"]".repeat(levels)
}

fn deep_object(levels: usize) -> String {
    "{\"a\":".repeat(levels) + "1" + &"}".repeat(levels)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deep_json_nesting_is_400_and_the_server_survives() {
    let t = start(|_| {}).await;
    let bundle = t.create_bundle().await;
    let id = bundle["bundleId"].as_str().unwrap();
    let levels = 100_000;
    let bad_request = (400, String::from("BAD_REQUEST"));
    let cases: Vec<(&str, &str, Vec<u8>)> = vec![
        ("create: 100k '['", CREATE, "[".repeat(levels).into_bytes()),
        (
            "create: nested field",
            CREATE,
            format!(r#"{{"agentId":{}}}"#, deep_array(levels)).into_bytes(),
        ),
        ("sync: 100k '['", SYNC, "[".repeat(levels).into_bytes()),
        (
            "sync: nested bundleId",
            SYNC,
            format!(r#"{{"bundleId":{},"entries":[]}}"#, deep_object(levels)).into_bytes(),
        ),
        (
            "revoke: nested",
            "/v1/consent-bundles/x/revoke",
            format!(r#"{{"revokeGrant":{}}}"#, deep_array(levels)).into_bytes(),
        ),
    ];
    for (what, path, body) in cases {
        let path = path.replace("/x/", &format!("/{id}/"));
        assert_eq!(
            post(&t, &path, &body).await.verdict(),
            bad_request,
            "{what}"
        );
    }

    // Inside an entry: a whole entry that is 100k nested arrays, and metadata nested 100k
    // deep (gx-core allows 32 levels). The batch is refused entry by entry.
    let mut chain = Chain::for_bundle(&bundle);
    let deep_meta = chain.peek().replace(
        r#""metadata":{"i":1}"#,
        &format!(r#""metadata":{}"#, deep_object(levels)),
    );
    for (what, entry) in [("entry", deep_array(levels)), ("metadata", deep_meta)] {
        let r = post(&t, SYNC, &sync_body(id, &[entry])).await;
        assert_eq!(r.verdict(), (400, "INVALID_AUDIT_ENTRIES".into()), "{what}");
        assert_eq!(entry_codes(&r), ["INVALID_ENTRY"], "{what}");
    }
    // 33 levels: one past gx-core's limit; 32 would be accepted.
    let m33 = format!(r#""metadata":{}"#, deep_object(33));
    let r = post(
        &t,
        SYNC,
        &sync_body(id, &[chain.peek().replace(r#""metadata":{"i":1}"#, &m33)]),
    )
    .await;
    assert_eq!(entry_codes(&r), ["INVALID_ENTRY"]);

    // Still serving, and storing.
    let r = post(&t, SYNC, &sync_body(id, &[chain.next()])).await;
    assert_eq!(r.verdict(), (200, String::new()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_utf8_in_bodies_and_headers() {
    let t = start(|_| {}).await;
    let bundle = t.create_bundle().await;
    let id = bundle["bundleId"].as_str().unwrap();

    // In a create body's string.
    let mut create = t.create_body();
    let at = create.windows(6).position(|w| w == b"user_1").unwrap();
    create[at + 2] = 0xff;
    assert_eq!(
        post(&t, CREATE, &create).await.verdict(),
        (400, "BAD_REQUEST".into())
    );
    // Overlong encoding and a lone surrogate escape.
    let mut overlong = t.create_body();
    overlong.splice(at..at + 1, [0xc0, 0xaf]);
    assert_eq!(
        post(&t, CREATE, &overlong).await.verdict(),
        (400, "BAD_REQUEST".into())
    );
    let surrogate = String::from_utf8(t.create_body())
        .unwrap()
        .replace("user_1", "\\ud800");
    assert_eq!(
        post(&t, CREATE, surrogate.as_bytes()).await.verdict(),
        (400, "BAD_REQUEST".into())
    );

    // In a sync entry's action: the body is not UTF-8, so the whole request is refused.
    let chain = Chain::for_bundle(&bundle);
    let mut body = sync_body(id, &[chain.peek()]);
    let at = body.windows(9).position(|w| w == b"tool:read").unwrap();
    body[at + 4] = 0xfe;
    assert_eq!(
        post(&t, SYNC, &body).await.verdict(),
        (400, "BAD_REQUEST".into())
    );

    // In header values: an API key that is not UTF-8 is no key (401); a content type
    // that is not UTF-8 is not JSON (415).
    let mut c = t.target.connect().await;
    c.send(b"GET /v1/consent-bundles HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer gx_\xff\xfe\xfd0123456789abcdef\r\n\r\n")
        .await
        .unwrap();
    assert_eq!(
        c.reply().await.unwrap().verdict(),
        (401, "UNAUTHORIZED".into())
    );
    let mut c = t.target.connect().await;
    let mut req = format!(
        "POST {CREATE} HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer {}\r\nContent-Length: {}\r\nContent-Type: application/json\u{ff}\r\n\r\n",
        t.key,
        t.create_body().len()
    )
    .into_bytes();
    // format! wrote U+00FF as two bytes; put a single raw 0xff byte there instead.
    let at = req.windows(2).position(|w| w == [0xc3, 0xbf]).unwrap();
    req.splice(at..at + 2, [0xff]);
    req.extend_from_slice(&t.create_body());
    c.send(&req).await.unwrap();
    assert_eq!(
        c.reply().await.unwrap().verdict(),
        (415, "UNSUPPORTED_MEDIA_TYPE".into())
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_or_missing_content_type_is_415() {
    let t = start(|_| {}).await;
    let bundle = t.create_bundle().await;
    let id = bundle["bundleId"].as_str().unwrap();
    let revoke = format!("/v1/consent-bundles/{id}/revoke");
    let sync = sync_body(id, &[Chain::for_bundle(&bundle).next()]);
    let unsupported = (415, String::from("UNSUPPORTED_MEDIA_TYPE"));
    for ct in [
        Some("text/plain"),
        Some("application/x-www-form-urlencoded"),
        Some("multipart/form-data; boundary=x"),
        Some("application/jsonx"),
        Some(""),
        None,
    ] {
        assert_eq!(
            post_as(&t, CREATE, ct, &t.create_body()).await.verdict(),
            unsupported,
            "{ct:?}"
        );
        assert_eq!(
            post_as(&t, SYNC, ct, &sync).await.verdict(),
            unsupported,
            "{ct:?}"
        );
        assert_eq!(
            post_as(&t, &revoke, ct, br#"{"revokeGrant":false}"#)
                .await
                .verdict(),
            unsupported,
            "{ct:?}"
        );
    }
    // JSON in any case and with parameters is fine; so is a revoke with no body at all.
    for ct in ["application/json; charset=utf-8", "APPLICATION/JSON"] {
        assert_eq!(
            post_as(&t, CREATE, Some(ct), &t.create_body()).await.status,
            201,
            "{ct}"
        );
    }
    assert_eq!(
        post_as(&t, SYNC, Some("Application/Json"), &sync)
            .await
            .status,
        200
    );
    assert_eq!(
        post_as(&t, &revoke, None, b"").await.verdict(),
        (200, String::new())
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn duplicate_keys() {
    let t = start(|_| {}).await;
    let bundle = t.create_bundle().await;
    let id = bundle["bundleId"].as_str().unwrap();
    let bad_request = (400, String::from("BAD_REQUEST"));

    // Request objects: a repeated key is ambiguous, so it is refused.
    let create = String::from_utf8(t.create_body()).unwrap();
    let twice = create.replacen('{', r#"{"agentId":"ag_someone_else","#, 1);
    assert_eq!(
        post(&t, CREATE, twice.as_bytes()).await.verdict(),
        bad_request
    );
    let mut chain = Chain::for_bundle(&bundle);
    let entry = chain.peek();
    let twice = format!(r#"{{"bundleId":"{id}","bundleId":"{id}","entries":[{entry}]}}"#);
    assert_eq!(
        post(&t, SYNC, twice.as_bytes()).await.verdict(),
        bad_request
    );
    let twice = format!(r#"{{"bundleId":"{id}","entries":[],"entries":[{entry}]}}"#);
    assert_eq!(
        post(&t, SYNC, twice.as_bytes()).await.verdict(),
        bad_request
    );
    let revoke = format!("/v1/consent-bundles/{id}/revoke");
    let r = post(&t, &revoke, br#"{"revokeGrant":false,"revokeGrant":true}"#).await;
    assert_eq!(r.verdict(), bad_request);

    // An entry field twice: the entry is malformed.
    let dup_seq = entry.replacen(r#""seq":1,"#, r#""seq":1,"seq":1,"#, 1);
    let r = post(&t, SYNC, &sync_body(id, &[dup_seq])).await;
    assert_eq!(r.verdict(), (400, "INVALID_AUDIT_ENTRIES".into()));
    assert_eq!(entry_codes(&r), ["INVALID_ENTRY"]);

    // Inside metadata the protocol defines it (JSON.parse: first position, last value),
    // so an entry hashed over {"i":2} is accepted with {"i":1,"i":2} on the wire.
    let e = chain.next_raw(r#"{"i":1,"i":2}"#, r#"{"i":2}"#);
    let r = post(&t, SYNC, &sync_body(id, &[e])).await;
    assert_eq!(r.verdict(), (200, String::new()), "{:?}", r.json());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn numbers_out_of_range() {
    let t = start(|_| {}).await;
    let bundle = t.create_bundle().await;
    let id = bundle["bundleId"].as_str().unwrap();
    let entry = Chain::for_bundle(&bundle).peek();
    for seq in [
        "0",
        "-1",
        "1.5",
        "1e400",
        "-1e400",
        "9007199254740992",
        "18446744073709551616",
        "123456789012345678901234567890",
        "\"1\"",
    ] {
        let r = post(
            &t,
            SYNC,
            &sync_body(id, &[replace_field(&entry, "seq", seq)]),
        )
        .await;
        assert_eq!(
            r.verdict(),
            (400, "INVALID_AUDIT_ENTRIES".into()),
            "seq {seq}"
        );
        assert_eq!(entry_codes(&r), ["INVALID_ENTRY"], "seq {seq}");
    }

    let create = String::from_utf8(t.create_body()).unwrap();
    for (ttl, verdict) in [
        ("\"99999999999999999999999h\"", (422, "INVALID_TTL")),
        ("\"169h\"", (422, "INVALID_TTL")),
        ("\"1e3h\"", (400, "INVALID_TTL")),
        ("1e400", (400, "BAD_REQUEST")),
        ("72", (400, "INVALID_TTL")),
    ] {
        let body = replace_field(&create, "offlineTTL", ttl);
        let r = post(&t, CREATE, body.as_bytes()).await;
        assert_eq!(
            r.verdict(),
            (verdict.0, verdict.1.into()),
            "offlineTTL {ttl}"
        );
    }
    let revoke = format!("/v1/consent-bundles/{id}/revoke");
    let r = post(&t, &revoke, br#"{"revokeGrant":1e999}"#).await;
    assert_eq!(r.verdict(), (400, "BAD_REQUEST".into()));

    for query in [
        "/v1/consent-bundles?limit=0",
        "/v1/consent-bundles?limit=101",
        "/v1/consent-bundles?limit=18446744073709551616",
        "/v1/consent-bundles?limit=1e2",
        "/v1/consent-bundles?limit=-5",
    ]
    .into_iter()
    .map(String::from)
    .chain(
        ["-1", "1e400", "18446744073709551616", "0x10"]
            .map(|s| format!("/v1/consent-bundles/{id}/audit?afterSeq={s}")),
    ) {
        let r = t.target.call("GET", &query, Some(&t.key), b"").await;
        assert_eq!(r.verdict(), (400, "BAD_REQUEST".into()), "{query}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn huge_arrays() {
    let t = start(|_| {}).await;
    let bundle = t.create_bundle().await;
    let id = bundle["bundleId"].as_str().unwrap();
    let too_large = (413, String::from("PAYLOAD_TOO_LARGE"));

    // 1001 entries.
    let mut chain = Chain::for_bundle(&bundle);
    let entries: Vec<String> = (0..1001).map(|_| chain.next()).collect();
    assert_eq!(
        post(&t, SYNC, &sync_body(id, &entries)).await.verdict(),
        too_large
    );
    // 1000 of them are fine.
    let r = post(&t, SYNC, &sync_body(id, &entries[..1000])).await;
    assert_eq!(r.verdict(), (200, String::new()));
    assert_eq!(r.json()["accepted"], 1000);

    // Half a million tiny elements in 1 MiB: refused after 1001 of them, quickly.
    let tiny = vec!["0"; 520_000].join(",");
    let body = format!(r#"{{"bundleId":"{id}","entries":[{tiny}]}}"#);
    assert!(body.len() <= 1024 * 1024);
    let started = Instant::now();
    assert_eq!(post(&t, SYNC, body.as_bytes()).await.verdict(), too_large);
    assert!(started.elapsed() < Duration::from_secs(10));

    // Scopes: 101 in a create, 200k in a create (within 1 MiB), 101 in an entry.
    let create: Value = serde_json::from_slice(&t.create_body()).unwrap();
    for n in [101, 200_000] {
        let mut c = create.clone();
        c["scopes"] = Value::from(vec!["a"; n]);
        let r = post(&t, CREATE, &serde_json::to_vec(&c).unwrap()).await;
        assert_eq!(r.verdict(), (400, "BAD_REQUEST".into()), "{n} scopes");
    }
    let many = format!("[{}]", vec!["\"read:contacts\""; 101].join(","));
    let entry = chain.peek().replace(
        r#""scopes":["read:contacts"]"#,
        &format!(r#""scopes":{many}"#),
    );
    let r = post(&t, SYNC, &sync_body(id, &[entry])).await;
    assert_eq!(r.verdict(), (400, "INVALID_AUDIT_ENTRIES".into()));
    assert_eq!(entry_codes(&r), ["INVALID_ENTRY"]);
}
