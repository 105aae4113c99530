//! The limits added by the security review: audit pages bounded by bytes (the `gx-server`
//! binary as a child, its peak memory read from `/proc`), reads rate-limited per key, the
//! per-developer storage quota, and the per-IP connection cap on an IPv6 listener.
//!
//! The /64 grouping of IPv6 clients itself needs several IPv6 source addresses, which a
//! loopback-only test cannot have without changing the host's interfaces; it is checked
//! by `admission::tests::ipv6_clients_are_counted_per_64`.

use core::time::Duration;
use std::sync::Arc;

use gx_server::{ConnectionLimits, ManualClock, RateLimit, RateLimits, SystemClock};
use serde_json::Value;

use crate::harness::{Chain, create_body_for, spawn_binary, start, sync_body};
use crate::wire::Target;

/// `n` entries with a metadata string of `pad` bytes each.
fn padded(chain: &mut Chain, n: usize, pad: usize) -> Vec<String> {
    (0..n)
        .map(|_| {
            let m = format!(r#"{{"pad":"{}"}}"#, "x".repeat(pad));
            chain.next_raw(&m, &m)
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn large_chains_come_back_in_bounded_pages_and_memory_stays_bounded() {
    let server = spawn_binary(&[]);
    let t = &server.target;
    let r = t
        .call(
            "POST",
            "/v1/consent-bundles",
            Some(&server.key),
            &server.create_body(),
        )
        .await;
    assert_eq!(r.status, 201);
    let bundle: Value = r.json();
    let id = bundle["bundleId"].as_str().unwrap().to_owned();
    let mut chain = Chain::for_bundle(&bundle);
    // 160 entries of ~60 KB: 9.6 MB stored, 19 MB as one reply with its `data` copy.
    for _ in 0..16 {
        let body = sync_body(&id, &padded(&mut chain, 10, 60_000));
        let r = t
            .call("POST", "/v1/audit/offline-sync", Some(&server.key), &body)
            .await;
        assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    }
    let before = server.status_kib("VmHWM");
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let (target, key, path) = (
            t.clone(),
            server.key.clone(),
            format!("/v1/consent-bundles/{id}/audit"),
        );
        tasks.push(tokio::spawn(async move {
            target.call("GET", &path, Some(&key), b"").await
        }));
    }
    for task in tasks {
        let r = task.await.unwrap();
        assert_eq!(r.status, 200);
        assert!(r.body.len() < 8_500_000, "a page of {} bytes", r.body.len());
        let v = r.json();
        let n = v["entries"].as_array().unwrap().len();
        assert!((60..160).contains(&n), "{n} entries in the first page");
        assert_eq!(v["nextAfterSeq"].as_u64(), Some(n as u64));
    }
    let grown_mib = server.status_kib("VmHWM").saturating_sub(before) / 1024;
    eprintln!("8 concurrent 8 MiB audit pages: peak RSS grew {grown_mib} MiB");
    // Eight pages of at most ~8.4 MiB each, plus the serialisation buffers: far below
    // the ~150 MiB that eight unbounded 19 MB replies (built twice) would take.
    assert!(grown_mib < 140, "peak memory grew {grown_mib} MiB");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_flood_is_429_per_key_while_other_keys_read() {
    use gx_server::Clock as _;
    let clock = ManualClock::new(SystemClock.now());
    let c = clock.clone();
    let t = start(move |config| {
        config.rate_limits = RateLimits {
            read: Some(RateLimit::per_minute(120)),
            ..RateLimits::DISABLED
        };
        config.clock = Arc::new(c);
        config.connections = ConnectionLimits {
            max: 4096,
            per_ip: 4096,
        };
    })
    .await;
    let (key_b, _) = t.second_tenant("reader");
    let mut tasks = Vec::new();
    for _ in 0..150 {
        let (target, key) = (t.target.clone(), t.key.clone());
        tasks.push(tokio::spawn(async move {
            target
                .call("GET", "/v1/consent-bundles", Some(&key), b"")
                .await
        }));
    }
    let (mut ok, mut limited) = (0, 0);
    for task in tasks {
        let r = task.await.unwrap();
        match r.status {
            200 => ok += 1,
            _ => {
                assert_eq!(r.verdict(), (429, "RATE_LIMITED".into()));
                assert!(r.header("retry-after").is_some());
                limited += 1;
            }
        }
    }
    assert_eq!((ok, limited), (120, 30));
    let r = t
        .target
        .call("GET", "/v1/consent-bundles", Some(&key_b), b"")
        .await;
    assert_eq!(r.status, 200);
    clock.advance(Duration::from_secs(60));
    let r = t
        .target
        .call("GET", "/v1/consent-bundles", Some(&t.key), b"")
        .await;
    assert_eq!(r.status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_quota_is_507_for_its_developer_only() {
    let t = start(|config| config.storage_quota = Some(64 * 1024)).await;
    let (key_b, agent_b) = t.second_tenant("quota");
    let bundle = t.create_bundle().await;
    let id = bundle["bundleId"].as_str().unwrap().to_owned();
    let mut chain = Chain::for_bundle(&bundle);
    let mut accepted = 0;
    let mut refused = None;
    for _ in 0..20 {
        let body = sync_body(&id, &padded(&mut chain, 1, 10_000));
        let r = t
            .target
            .call("POST", "/v1/audit/offline-sync", Some(&t.key), &body)
            .await;
        if r.status == 200 {
            accepted += 1;
        } else {
            refused = Some(r.verdict());
            break;
        }
    }
    assert_eq!(refused, Some((507, "STORAGE_QUOTA_EXCEEDED".into())));
    assert_eq!(accepted, 6, "six ~10.4 KB entries fit in 64 KiB");
    let r = t
        .target
        .call(
            "GET",
            &format!("/v1/consent-bundles/{id}"),
            Some(&t.key),
            b"",
        )
        .await;
    assert_eq!(r.json()["auditEntryCount"], 6);
    // Developer B has a quota of its own.
    let r = t
        .target
        .call(
            "POST",
            "/v1/consent-bundles",
            Some(&key_b),
            &create_body_for(&agent_b),
        )
        .await;
    let b_bundle = r.json();
    let b_body = sync_body(
        b_bundle["bundleId"].as_str().unwrap(),
        &padded(&mut Chain::for_bundle(&b_bundle), 3, 10_000),
    );
    let r = t
        .target
        .call("POST", "/v1/audit/offline-sync", Some(&key_b), &b_body)
        .await;
    assert_eq!(r.status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ipv6_listener_caps_connections_per_client() {
    let t = start(|config| {
        config.listen = "[::1]:0".parse().unwrap();
        config.connections = ConnectionLimits {
            max: 100,
            per_ip: 3,
        };
    })
    .await;
    let target: &Target = &t.target;
    let mut held = Vec::new();
    for _ in 0..3 {
        held.push(target.connect_from("::1".parse().unwrap()).await.unwrap());
    }
    // The fourth from the same client is closed at accept, before TLS.
    let refused = target.connect_from("::1".parse().unwrap()).await;
    assert!(
        refused.is_err(),
        "a fourth connection from ::1 was admitted"
    );
    drop(held);
    let mut ok = false;
    for _ in 0..100 {
        if let Ok(mut c) = target.connect_from("::1".parse().unwrap()).await {
            c.send(&crate::wire::request("GET", "/healthz", None, b""))
                .await
                .unwrap();
            ok = c.reply().await.is_ok_and(|r| r.status == 200);
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(ok, "served again once the connections closed");
}
