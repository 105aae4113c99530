//! Floods past the rate limits (create 10/min, sync 20/min, per API key and route): the
//! excess gets 429 `RATE_LIMITED` with `Retry-After`, exactly the limit gets through even
//! when the flood is concurrent, and other keys are still served.

use core::time::Duration;
use std::sync::Arc;

use gx_server::{ConnectionLimits, ManualClock, RateLimits, SystemClock};

use crate::harness::{Abuse, Chain, create_body_for, heavy, start, sync_body};
use crate::wire::Reply;

async fn limited_server() -> (Abuse, ManualClock) {
    use gx_server::Clock as _;
    let clock = ManualClock::new(SystemClock.now());
    let c = clock.clone();
    let t = start(move |config| {
        config.rate_limits = RateLimits::default();
        config.clock = Arc::new(c);
        // The floods come from one address and may be more than the per-IP cap.
        config.connections = ConnectionLimits {
            max: 4096,
            per_ip: 4096,
        };
    })
    .await;
    (t, clock)
}

/// Sends `n` copies of a request at once, each on its own connection.
async fn flood(t: &Abuse, n: usize, path: &str, key: &str, body: &[u8]) -> Vec<Reply> {
    let mut tasks = Vec::with_capacity(n);
    for _ in 0..n {
        let (target, path, key, body) = (
            t.target.clone(),
            path.to_owned(),
            key.to_owned(),
            body.to_vec(),
        );
        tasks.push(tokio::spawn(async move {
            target.call("POST", &path, Some(&key), &body).await
        }));
    }
    let mut replies = Vec::with_capacity(n);
    for task in tasks {
        replies.push(task.await.unwrap());
    }
    replies
}

/// Counts the replies per status and checks every 429.
fn tally(replies: &[Reply], ok: u16) -> (usize, usize) {
    let mut counts = (0, 0);
    for r in replies {
        if r.status == ok {
            counts.0 += 1;
        } else {
            assert_eq!(r.verdict(), (429, "RATE_LIMITED".into()));
            let wait: u64 = r
                .header("retry-after")
                .expect("Retry-After")
                .parse()
                .unwrap();
            assert!((1..=60).contains(&wait), "Retry-After {wait}");
            counts.1 += 1;
        }
    }
    counts
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_flood_is_429_per_key_while_other_keys_are_served() {
    let (t, clock) = limited_server().await;
    let (key_b, agent_b) = t.second_tenant("b");
    let n = if heavy() { 300 } else { 30 };
    let replies = flood(&t, n, "/v1/consent-bundles", &t.key, &t.create_body()).await;
    assert_eq!(tally(&replies, 201), (10, n - 10));

    // Another key has its own budget, and the flooded key's other routes are not limited.
    let replies = flood(
        &t,
        10,
        "/v1/consent-bundles",
        &key_b,
        &create_body_for(&agent_b),
    )
    .await;
    assert_eq!(tally(&replies, 201), (10, 0));
    let r = t
        .target
        .call("GET", "/v1/consent-bundles", Some(&t.key), b"")
        .await;
    assert_eq!(r.status, 200);

    // A minute later the key is served again.
    clock.advance(Duration::from_secs(60));
    let replies = flood(&t, 11, "/v1/consent-bundles", &t.key, &t.create_body()).await;
    assert_eq!(tally(&replies, 201), (10, 1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_flood_is_429_per_key_while_other_keys_sync() {
    let (t, clock) = limited_server().await;
    let (key_b, agent_b) = t.second_tenant("b");
    let bundle = t.create_bundle().await;
    let mut chain = Chain::for_bundle(&bundle);
    // The same one-entry batch again and again: every accepted one is an idempotent 200.
    let body = sync_body(bundle["bundleId"].as_str().unwrap(), &[chain.next()]);
    let n = if heavy() { 400 } else { 40 };
    let replies = flood(&t, n, "/v1/audit/offline-sync", &t.key, &body).await;
    assert_eq!(tally(&replies, 200), (20, n - 20));

    // Developer B creates and syncs meanwhile.
    let r = t
        .target
        .call(
            "POST",
            "/v1/consent-bundles",
            Some(&key_b),
            &create_body_for(&agent_b),
        )
        .await;
    assert_eq!(r.status, 201);
    let b_bundle = r.json();
    let b_body = sync_body(
        b_bundle["bundleId"].as_str().unwrap(),
        &[Chain::for_bundle(&b_bundle).next()],
    );
    let replies = flood(&t, 20, "/v1/audit/offline-sync", &key_b, &b_body).await;
    assert_eq!(tally(&replies, 200), (20, 0));

    clock.advance(Duration::from_secs(61));
    let r = t
        .target
        .call("POST", "/v1/audit/offline-sync", Some(&t.key), &body)
        .await;
    assert_eq!(r.status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unauthenticated_flood_is_401_and_spends_no_honest_budget() {
    let (t, _clock) = limited_server().await;
    let n = if heavy() { 1000 } else { 100 };
    let mut tasks = Vec::new();
    for i in 0..n {
        let target = t.target.clone();
        let body = t.create_body();
        tasks.push(tokio::spawn(async move {
            // Wrong keys of every shape: unknown, too short, too long, not a bearer.
            let key = match i % 3 {
                0 => format!("gx_not_a_real_key_{i:032}"),
                1 => String::from("short"),
                _ => "k".repeat(600),
            };
            target
                .call("POST", "/v1/consent-bundles", Some(&key), &body)
                .await
        }));
    }
    for task in tasks {
        assert_eq!(task.await.unwrap().verdict(), (401, "UNAUTHORIZED".into()));
    }
    let replies = flood(&t, 10, "/v1/consent-bundles", &t.key, &t.create_body()).await;
    assert_eq!(tally(&replies, 201), (10, 0));
}
