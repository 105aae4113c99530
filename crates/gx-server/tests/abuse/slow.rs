//! Slow clients: slowloris headers, a body trickled one byte per second, idle keep-alive
//! connections, silent and stalled TLS handshakes. The timeouts cut them off, and honest
//! clients are served at normal speed meanwhile.
//!
//! The sleeps here pace the attackers (that is the attack); no test waits on a sleep for
//! the server to do something: each waits for the server's own reply or hang-up, bounded.

use core::time::Duration;

use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio::time::Instant;

use crate::harness::{Abuse, short_timeouts, start};
use crate::wire::{Conn, raw_request};

/// Honest work while the attack runs: `n` creates, each answered 201 within `within`.
async fn honest_creates(t: &Abuse, n: usize, within: Duration) {
    for i in 0..n {
        let started = Instant::now();
        let r = t
            .target
            .call(
                "POST",
                "/v1/consent-bundles",
                Some(&t.key),
                &t.create_body(),
            )
            .await;
        assert_eq!(r.status, 201, "honest create {i}");
        let took = started.elapsed();
        assert!(took < within, "honest create {i} took {took:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slowloris_headers_are_cut_off_while_honest_clients_are_served() {
    let t = start(|c| c.timeouts = short_timeouts()).await;
    let header_read = short_timeouts().header_read;
    let attackers = 40;
    let mut tasks = Vec::new();
    for _ in 0..attackers {
        let mut c = t.target.connect().await;
        tasks.push(tokio::spawn(async move {
            let started = Instant::now();
            c.send(b"POST /v1/consent-bundles HTTP/1.1\r\nHost: localhost\r\n")
                .await
                .unwrap();
            // One more header line every 300 ms: never idle, never finished.
            for i in 0.. {
                if c.send(format!("X-Slow-{i}: a\r\n").as_bytes())
                    .await
                    .is_err()
                {
                    break;
                }
                if c.closed_within(Duration::from_millis(300)).await.is_some() {
                    break;
                }
                assert!(started.elapsed() < Duration::from_secs(15), "never cut off");
            }
            started.elapsed()
        }));
    }
    honest_creates(&t, 5, Duration::from_secs(3)).await;
    for task in tasks {
        let held = task.await.unwrap();
        assert!(held >= header_read - Duration::from_millis(100), "{held:?}");
        assert!(held < header_read + Duration::from_secs(3), "{held:?}");
    }
    honest_creates(&t, 1, Duration::from_secs(3)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn body_trickled_one_byte_per_second_is_408() {
    let t = start(|c| c.timeouts = short_timeouts()).await;
    let body_read = short_timeouts().body_read;
    let auth = format!("Authorization: Bearer {}", t.key);
    let mut c = t.target.connect().await;
    c.send(&raw_request(
        "POST /v1/consent-bundles HTTP/1.1",
        &[
            &auth,
            "Content-Type: application/json",
            "Content-Length: 64",
        ],
        b"",
    ))
    .await
    .unwrap();
    let started = Instant::now();
    let attacker = tokio::spawn(async move {
        // One byte per second; the reply shows up on the same connection.
        for _ in 0..64 {
            c.send(b" ").await.unwrap();
            if let Ok(r) = tokio::time::timeout(Duration::from_secs(1), c.reply()).await {
                return r.unwrap();
            }
        }
        panic!("the whole body was accepted at one byte per second");
    });
    honest_creates(&t, 3, Duration::from_secs(3)).await;
    let r = attacker.await.unwrap();
    let took = started.elapsed();
    assert_eq!(r.verdict(), (408, "REQUEST_TIMEOUT".into()));
    assert_eq!(r.header("connection"), Some("close"));
    assert!(took >= body_read - Duration::from_millis(100), "{took:?}");
    assert!(took < body_read + Duration::from_secs(3), "{took:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_keep_alive_connections_are_closed() {
    let t = start(|c| c.timeouts = short_timeouts()).await;
    let header_read = short_timeouts().header_read;
    let mut c = t.target.connect().await;
    // Two requests on one connection: keep-alive works...
    for _ in 0..2 {
        c.send(&crate::wire::request("GET", "/healthz", None, b""))
            .await
            .unwrap();
        assert_eq!(c.reply().await.unwrap().status, 200);
    }
    // ...and then silence: the server waits for the next request's headers at most
    // `header_read` (the 60 s idle timeout is not what closes it).
    let closed = c
        .closed_within(Duration::from_secs(10))
        .await
        .expect("idle keep-alive connection left open");
    assert!(
        closed >= header_read - Duration::from_millis(100),
        "{closed:?}"
    );
    assert!(closed < header_read + Duration::from_secs(3), "{closed:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn silent_and_stalled_tls_handshakes_are_cut_off() {
    let t = start(|c| c.timeouts = short_timeouts()).await;
    let handshake = short_timeouts().handshake;
    let mut conns = Vec::new();
    for i in 0..20 {
        let mut tcp = TcpStream::connect(t.target.addr).await.unwrap();
        if i % 2 == 1 {
            // The first bytes of a TLS record (a ClientHello that never comes).
            tcp.write_all(&[0x16, 0x03, 0x01, 0x02, 0x00, 0x01])
                .await
                .unwrap();
        }
        conns.push(Conn::new(tcp));
    }
    let started = Instant::now();
    honest_creates(&t, 3, Duration::from_secs(3)).await;
    for mut c in conns {
        let left = (handshake + Duration::from_secs(5)).saturating_sub(started.elapsed());
        assert!(
            c.closed_within(left).await.is_some(),
            "handshake never timed out"
        );
    }
    let took = started.elapsed();
    assert!(took < handshake + Duration::from_secs(5), "{took:?}");
}
