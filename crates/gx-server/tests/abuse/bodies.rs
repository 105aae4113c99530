//! Oversized and mis-framed bodies: just over 1 MiB (with and without `Content-Length`),
//! chunked bodies that never end or stall, lengths that lie, broken framing, huge headers.

use core::time::Duration;

use tokio::time::Instant;

use crate::harness::{Chain, heavy, short_timeouts, start, sync_body};
use crate::wire::{raw_request, request};

const MIB: usize = 1024 * 1024;
const SYNC: &str = "POST /v1/audit/offline-sync HTTP/1.1";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn body_of_exactly_1_mib_is_served_and_one_byte_more_is_413() {
    let t = start(|_| {}).await;
    let bundle = t.create_bundle().await;
    let id = bundle["bundleId"].as_str().unwrap();
    let mut body = sync_body(id, &[Chain::for_bundle(&bundle).next()]);
    body.resize(MIB, b' ');
    let r = t
        .target
        .call("POST", "/v1/audit/offline-sync", Some(&t.key), &body)
        .await;
    assert_eq!(r.verdict(), (200, String::new()), "{:?}", r.json());
    assert_eq!(r.json()["accepted"], 1);

    // One byte more, declared up front: refused before the body is read.
    body.push(b' ');
    for path in ["/v1/audit/offline-sync", "/v1/consent-bundles"] {
        let bytes = request("POST", path, Some(&t.key), &body);
        let (r, _) = t.target.connect().await.send_while_reading(bytes).await;
        let r = r.unwrap();
        assert_eq!(r.verdict(), (413, "PAYLOAD_TOO_LARGE".into()), "{path}");
        assert_eq!(r.header("connection"), Some("close"));
    }
}

/// Chunked framing, so no length is declared: the server stops reading at 1 MiB.
fn chunked(key: &str, total: usize, terminate: bool) -> Vec<u8> {
    let auth = format!("Authorization: Bearer {key}");
    let mut bytes = raw_request(
        SYNC,
        &[
            &auth,
            "Content-Type: application/json",
            "Transfer-Encoding: chunked",
        ],
        b"",
    );
    let chunk = vec![b' '; 64 * 1024];
    for _ in 0..total / chunk.len() {
        bytes.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
        bytes.extend_from_slice(&chunk);
        bytes.extend_from_slice(b"\r\n");
    }
    if terminate {
        bytes.extend_from_slice(b"0\r\n\r\n");
    }
    bytes
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chunked_body_just_over_1_mib_is_413() {
    let t = start(|_| {}).await;
    let bytes = chunked(&t.key, MIB + 64 * 1024, true);
    let (r, _) = t.target.connect().await.send_while_reading(bytes).await;
    assert_eq!(r.unwrap().verdict(), (413, "PAYLOAD_TOO_LARGE".into()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chunked_body_that_never_ends_is_413_and_not_read_to_the_end() {
    let t = start(|_| {}).await;
    // 64 MiB of chunks and no last chunk: to the server, a body that never ends.
    let total = 64 * MIB;
    let bytes = chunked(&t.key, total, false);
    let (r, sent) = t.target.connect().await.send_while_reading(bytes).await;
    assert_eq!(r.unwrap().verdict(), (413, "PAYLOAD_TOO_LARGE".into()));
    // The server hung up: the rest could not be written (kernel buffers hold a few MiB).
    assert!(sent < total / 2, "wrote {sent} of {total} bytes");
    // And it is still serving.
    let r = t.target.call("GET", "/healthz", None, b"").await;
    assert_eq!(r.status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chunked_body_that_stalls_is_408() {
    let t = start(|c| c.timeouts = short_timeouts()).await;
    let auth = format!("Authorization: Bearer {}", t.key);
    let mut c = t.target.connect().await;
    let head = raw_request(
        SYNC,
        &[
            &auth,
            "Content-Type: application/json",
            "Transfer-Encoding: chunked",
        ],
        b"5\r\n{\"bun\r\n",
    );
    c.send(&head).await.unwrap();
    let started = Instant::now();
    let r = tokio::time::timeout(Duration::from_secs(20), c.reply())
        .await
        .expect("no answer to a stalled body")
        .unwrap();
    assert_eq!(r.verdict(), (408, "REQUEST_TIMEOUT".into()));
    assert_eq!(r.header("connection"), Some("close"));
    let waited = started.elapsed();
    assert!(waited >= Duration::from_millis(1900), "{waited:?}");
    // The connection is closed after the 408.
    assert!(c.closed_within(Duration::from_secs(5)).await.is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn huge_content_length_with_a_small_body_is_413_at_once() {
    // Default timeouts: the answer must not wait for the (60 s) body deadline.
    let t = start(|_| {}).await;
    let auth = format!("Authorization: Bearer {}", t.key);
    for length in ["1048577", "10737418240", "18446744073709551613"] {
        let mut c = t.target.connect().await;
        let cl = format!("Content-Length: {length}");
        c.send(&raw_request(
            SYNC,
            &[&auth, "Content-Type: application/json", &cl],
            b"{\"bundleId\"",
        ))
        .await
        .unwrap();
        let r = tokio::time::timeout(Duration::from_secs(10), c.reply())
            .await
            .expect("413 is immediate")
            .unwrap();
        assert_eq!(r.verdict(), (413, "PAYLOAD_TOO_LARGE".into()), "{length}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn content_length_longer_than_the_body_is_408() {
    let t = start(|c| c.timeouts = short_timeouts()).await;
    let auth = format!("Authorization: Bearer {}", t.key);
    let mut c = t.target.connect().await;
    c.send(&raw_request(
        "POST /v1/consent-bundles HTTP/1.1",
        &[
            &auth,
            "Content-Type: application/json",
            "Content-Length: 100",
        ],
        b"{\"agentId\"",
    ))
    .await
    .unwrap();
    let r = tokio::time::timeout(Duration::from_secs(20), c.reply())
        .await
        .expect("answered")
        .unwrap();
    assert_eq!(r.verdict(), (408, "REQUEST_TIMEOUT".into()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broken_framing_is_refused_by_the_http_layer() {
    // These never become a request, so hyper answers with a bare status and closes; the
    // body carries no JSON code (documented in docs/server.md).
    let t = start(|_| {}).await;
    let big = format!("X-Big: {}", "a".repeat(33 * 1024));
    let many: Vec<String> = (0..200).map(|i| format!("X-H{i}: v")).collect();
    let many: Vec<&str> = many.iter().map(String::as_str).collect();
    let cases: Vec<(&str, Vec<u8>, u16)> = vec![
        (
            "unparseable length",
            raw_request(SYNC, &["Content-Length: 99999999999999999999999"], b""),
            400,
        ),
        (
            "length past hyper's u64 range",
            raw_request(SYNC, &["Content-Length: 18446744073709551615"], b""),
            431,
        ),
        (
            "negative length",
            raw_request(SYNC, &["Content-Length: -1"], b""),
            400,
        ),
        (
            "two different lengths",
            raw_request(SYNC, &["Content-Length: 5", "Content-Length: 6"], b"{}"),
            400,
        ),
        (
            "headers above 32 KiB",
            raw_request("GET /healthz HTTP/1.1", &[&big], b""),
            431,
        ),
        (
            "200 headers",
            raw_request("GET /healthz HTTP/1.1", &many, b""),
            431,
        ),
        (
            "raw 0xff in the path",
            b"GET /v1/consent-bundles/\xff HTTP/1.1\r\nHost: localhost\r\n\r\n".to_vec(),
            400,
        ),
        (
            "0xff in a header name",
            b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nX-\xff: 1\r\n\r\n".to_vec(),
            400,
        ),
    ];
    for (what, bytes, status) in cases {
        let (r, _) = t.target.connect().await.send_while_reading(bytes).await;
        let r = r.unwrap_or_else(|e| panic!("{what}: {e}"));
        assert_eq!(r.status, status, "{what}");
        assert!(r.body.is_empty(), "{what}");
    }
    assert_eq!(
        t.target.call("GET", "/healthz", None, b"").await.status,
        200
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn big_declared_bodies_are_refused_before_reading() {
    let t = start(|_| {}).await;
    // Without a valid key nothing is read: 401 even with 50 MiB announced.
    let mut c = t.target.connect().await;
    c.send(&raw_request(
        "POST /v1/consent-bundles HTTP/1.1",
        &["Content-Type: application/json", "Content-Length: 52428800"],
        b"",
    ))
    .await
    .unwrap();
    let r = tokio::time::timeout(Duration::from_secs(10), c.reply())
        .await
        .expect("answered without the body")
        .unwrap();
    assert_eq!(r.verdict(), (401, "UNAUTHORIZED".into()));
    // A GET that announces a 2 MiB body: 413, not read either.
    let auth = format!("Authorization: Bearer {}", t.key);
    let mut c = t.target.connect().await;
    c.send(&raw_request(
        "GET /v1/consent-bundles HTTP/1.1",
        &[&auth, "Content-Length: 2097152"],
        b"",
    ))
    .await
    .unwrap();
    let r = tokio::time::timeout(Duration::from_secs(10), c.reply())
        .await
        .expect("answered without the body")
        .unwrap();
    assert_eq!(r.verdict(), (413, "PAYLOAD_TOO_LARGE".into()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bodies_past_the_memory_budget_are_503_and_the_budget_comes_back() {
    let t = start(|c| {
        c.body_memory = 4 * MIB;
        c.timeouts = short_timeouts();
    })
    .await;
    let auth = format!("Authorization: Bearer {}", t.key);
    // Eight stalled bodies of 900 KiB each: at most four fit in 4 MiB.
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let mut c = t.target.connect().await;
        let mut bytes = raw_request(
            SYNC,
            &[
                &auth,
                "Content-Type: application/json",
                "Content-Length: 1000000",
            ],
            b"",
        );
        bytes.resize(bytes.len() + 900 * 1024, b' ');
        tasks.push(tokio::spawn(async move {
            let _ = c.send(&bytes).await;
            c.reply()
                .await
                .map(|r| (r.verdict(), r.header("retry-after").map(str::to_owned)))
        }));
    }
    // Honest small requests still fit (they retry on 503, as gx-sync does).
    let mut created = false;
    for _ in 0..50 {
        let r = t
            .target
            .call(
                "POST",
                "/v1/consent-bundles",
                Some(&t.key),
                &t.create_body(),
            )
            .await;
        if r.status == 201 {
            created = true;
            break;
        }
        assert_eq!(r.verdict(), (503, "SERVER_BUSY".into()));
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(created, "an honest create never fit");
    // Every stalled body ends: 503 at once when it does not fit, 408 at the deadline.
    let (mut busy, mut timed_out) = (0, 0);
    for task in tasks {
        match task.await.unwrap().unwrap() {
            ((503, code), retry) => {
                assert_eq!(
                    (code.as_str(), retry.as_deref()),
                    ("SERVER_BUSY", Some("1"))
                );
                busy += 1;
            }
            ((408, code), _) => {
                assert_eq!(code, "REQUEST_TIMEOUT");
                timed_out += 1;
            }
            other => panic!("{other:?}"),
        }
    }
    assert!(
        busy >= 4 && timed_out <= 4,
        "{busy} busy, {timed_out} timed out"
    );
    // All of the budget is back: a full 1 MiB body is accepted.
    let bundle = t.create_bundle().await;
    let mut body = sync_body(
        bundle["bundleId"].as_str().unwrap(),
        &[Chain::for_bundle(&bundle).next()],
    );
    body.resize(MIB, b' ');
    let r = t
        .target
        .call("POST", "/v1/audit/offline-sync", Some(&t.key), &body)
        .await;
    assert_eq!(r.verdict(), (200, String::new()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_chunked_framing_is_400() {
    // The headers were fine, so a request exists: a body whose chunk framing breaks
    // answers the protocol's 400 BAD_REQUEST (not the HTTP layer's bare one).
    let t = start(|_| {}).await;
    let auth = format!("Authorization: Bearer {}", t.key);
    for (what, chunks) in [
        ("size not hex", &b"zz\r\n{}\r\n0\r\n\r\n"[..]),
        (
            "size overflows",
            b"fffffffffffffffffffff\r\n{}\r\n0\r\n\r\n",
        ),
        ("data longer than its size", b"1\r\n{}\r\n0\r\n\r\n"),
    ] {
        let bytes = raw_request(
            SYNC,
            &[
                &auth,
                "Content-Type: application/json",
                "Transfer-Encoding: chunked",
            ],
            chunks,
        );
        let (r, _) = t.target.connect().await.send_while_reading(bytes).await;
        assert_eq!(r.unwrap().verdict(), (400, "BAD_REQUEST".into()), "{what}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pipelined_requests_are_answered_one_by_one_in_order() {
    // 500 requests in one write: answered in order on the one connection, no more.
    let t = start(|_| {}).await;
    let n = if heavy() { 5000 } else { 500 };
    let mut bytes = Vec::new();
    for i in 0..n {
        let path = if i % 2 == 0 { "/healthz" } else { "/nope" };
        bytes.extend(request("GET", path, None, b""));
    }
    let mut c = t.target.connect().await;
    c.send(&bytes).await.unwrap();
    for i in 0..n {
        let r = c.reply().await.unwrap();
        let want = if i % 2 == 0 {
            (200, "")
        } else {
            (404, "NOT_FOUND")
        };
        assert_eq!(r.verdict(), (want.0, want.1.into()), "request {i}");
    }
    assert_eq!(
        t.target.call("GET", "/healthz", None, b"").await.status,
        200
    );
}
