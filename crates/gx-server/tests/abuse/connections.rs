//! Thousands of concurrent connections against the `gx-server` binary (a child process,
//! so its memory is its own in `/proc`): it stays up, its memory per connection is
//! bounded, honest requests succeed; past its caps it refuses connections, logs it, and
//! recovers when they go away.

use core::net::IpAddr;
use core::time::Duration;
use std::sync::Arc;

use tokio::sync::Semaphore;
use tokio::time::Instant;

use crate::harness::{ChildServer, fd_limit, heavy, spawn_binary};
use crate::wire::{Conn, Target};

/// An honest client's round: create a bundle, sync 100 entries, read them back.
async fn honest_round(target: &Target, key: &str, create: &[u8]) -> Duration {
    let started = Instant::now();
    let r = target
        .call("POST", "/v1/consent-bundles", Some(key), create)
        .await;
    assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));
    let bundle = r.json();
    let id = bundle["bundleId"].as_str().unwrap();
    let mut chain = crate::harness::Chain::for_bundle(&bundle);
    let entries: Vec<String> = (0..100).map(|_| chain.next()).collect();
    let r = target
        .call(
            "POST",
            "/v1/audit/offline-sync",
            Some(key),
            &crate::harness::sync_body(id, &entries),
        )
        .await;
    assert_eq!((r.status, r.json()["accepted"].as_u64()), (200, Some(100)));
    let r = target
        .call(
            "GET",
            &format!("/v1/consent-bundles/{id}/audit"),
            Some(key),
            b"",
        )
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["entries"].as_array().map(Vec::len), Some(100));
    started.elapsed()
}

/// Opens `n` connections from `source` that stay silent at the TCP level; with `mixed`,
/// every other one finishes TLS and sends half a request instead. Returns those that
/// opened (a TLS connection the server refuses does not).
async fn open_many(target: &Target, source: IpAddr, n: usize, mixed: bool) -> Vec<Held> {
    let gate = Arc::new(Semaphore::new(64));
    let mut tasks = Vec::with_capacity(n);
    for i in 0..n {
        let (target, gate) = (target.clone(), Arc::clone(&gate));
        tasks.push(tokio::spawn(async move {
            let _permit = gate.acquire().await.unwrap();
            if !mixed || i % 2 == 0 {
                target
                    .tcp_from(source)
                    .await
                    .ok()
                    .map(|t| Held::Tcp(Conn::new(t)))
            } else {
                let mut c = target.connect_from(source).await.ok()?;
                c.send(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n")
                    .await
                    .ok()?;
                Some(Held::Tls(Box::new(c)))
            }
        }));
    }
    let mut held = Vec::with_capacity(n);
    for task in tasks {
        if let Some(h) = task.await.unwrap() {
            held.push(h);
        }
    }
    held
}

enum Held {
    Tcp(Conn<tokio::net::TcpStream>),
    Tls(Box<Conn<tokio_rustls::client::TlsStream<tokio::net::TcpStream>>>),
}

impl Held {
    /// Whether the server has closed this connection (checked for up to `wait`).
    async fn refused(&mut self, wait: Duration) -> bool {
        match self {
            Self::Tcp(c) => c.closed_within(wait).await.is_some(),
            Self::Tls(c) => c.closed_within(wait).await.is_some(),
        }
    }
}

/// Of `held`, how many the server closed within `wait` (all checked at once).
async fn count_refused(held: Vec<Held>, wait: Duration) -> (usize, Vec<Held>) {
    let tasks: Vec<_> = held
        .into_iter()
        .map(|mut h| tokio::spawn(async move { (h.refused(wait).await, h) }))
        .collect();
    let (mut refused, mut open) = (0, Vec::new());
    for t in tasks {
        let (closed, h) = t.await.unwrap();
        if closed {
            refused += 1;
        } else {
            open.push(h);
        }
    }
    (refused, open)
}

fn loopback(last: u8) -> IpAddr {
    [127, 0, 0, last].into()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thousands_of_connections_keep_memory_bounded_and_honest_clients_served() {
    // Both processes hold one descriptor per connection; stay under the soft limit.
    let want = if heavy() { 10_000 } else { 2_000 };
    let n = want.min(fd_limit().saturating_sub(256));
    assert!(
        n >= 500,
        "RLIMIT_NOFILE too low for this test: {}",
        fd_limit()
    );
    let cap = (n + 64).to_string();
    let mut s: ChildServer = spawn_binary(&[
        "--max-connections",
        &cap,
        "--max-connections-per-ip",
        &cap,
        "--handshake-timeout",
        "120",
        "--header-timeout",
        "120",
    ]);
    let create = s.create_body();
    // Warm up (database, key ring, TLS, allocator), then take the baseline.
    honest_round(&s.target, &s.key, &create).await;
    let before = s.status_kib("VmRSS");

    let started = Instant::now();
    let held = open_many(&s.target, loopback(1), n, true).await;
    let opened_in = started.elapsed();
    assert_eq!(held.len(), n, "every connection opened");
    let fds = s.open_fds();
    assert!(
        fds >= n,
        "server holds {fds} descriptors for {n} connections"
    );
    let during = s.status_kib("VmRSS");
    let honest = honest_round(&s.target, &s.key, &create).await;
    let peak = s.status_kib("VmHWM");
    let per_conn = during.saturating_sub(before) * 1024 / n as u64;
    eprintln!(
        "{n} connections opened in {opened_in:?}; server RSS {before} KiB -> {during} KiB \
         ({per_conn} B per connection), peak {peak} KiB; honest round with them open: {honest:?}"
    );
    assert!(per_conn < 64 * 1024, "{per_conn} bytes per held connection");
    let peak_per_conn = peak.saturating_sub(before) * 1024 / n as u64;
    assert!(
        peak_per_conn < 64 * 1024,
        "peak RSS {peak} KiB from {before} KiB"
    );
    assert!(
        honest < Duration::from_secs(20),
        "honest round took {honest:?}"
    );

    drop(held);
    assert!(s.alive());
    honest_round(&s.target, &s.key, &create).await;
    assert!(s.alive());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connection_caps_refuse_the_excess_log_it_and_recover() {
    let mut s = spawn_binary(&[
        "--max-connections",
        "300",
        "--max-connections-per-ip",
        "200",
        "--handshake-timeout",
        "120",
        "--header-timeout",
        "120",
    ]);
    let create = s.create_body();
    let wait = Duration::from_secs(2);

    // One client takes 250: 200 are held, 50 are closed at once.
    let flood = open_many(&s.target, loopback(1), 250, false).await;
    assert_eq!(flood.len(), 250);
    let (refused, mut held) = count_refused(flood, wait).await;
    assert_eq!((refused, held.len()), (50, 200));

    // The per-IP cap leaves room for everyone else.
    let honest = s.target.from(loopback(2));
    honest_round(&honest, &s.key, &create).await;

    // A second client fills the rest; past 300 in total everyone is refused.
    let second = open_many(&s.target, loopback(3), 150, false).await;
    let (refused, open) = count_refused(second, wait).await;
    assert!(
        refused >= 50 && open.len() <= 100,
        "{refused} refused, {} open",
        open.len()
    );
    // (One or two slots may still have been held by the honest client's last
    // connections while the second client raced for them; those are free now.)
    let free = 100 - open.len();
    held.extend(open);
    let third = open_many(&s.target, loopback(4), 10, false).await;
    let (refused, open) = count_refused(third, wait).await;
    assert_eq!(refused, 10 - free, "past the total cap");
    held.extend(open);

    let log = s.log();
    assert!(log.contains("connection limit reached"), "{log}");
    assert!(log.contains("per-ip") && log.contains("total"), "{log}");

    // The attackers leave: honest clients get in again (bounded wait for the server to
    // notice the closed sockets).
    drop(held);
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Ok(mut c) = s.target.connect_from(loopback(4)).await {
            c.send(&crate::wire::request("GET", "/healthz", None, b""))
                .await
                .unwrap();
            if c.reply().await.is_ok_and(|r| r.status == 200) {
                break;
            }
        }
        assert!(
            Instant::now() < deadline,
            "still refused after the flood left"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    honest_round(&honest, &s.key, &create).await;
    assert!(s.alive());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_large_bodies_at_once_stay_within_the_body_budget() {
    // 200 clients each send 1 MiB minus 1 KiB of a 1 MiB body, then stall. Without a
    // budget the server would hold ~200 MiB; with 16 MiB it holds about that and tells
    // the others 503 SERVER_BUSY.
    let clients = if heavy() { 800 } else { 200 };
    let s = spawn_binary(&[
        "--max-body-memory-mib",
        "16",
        "--max-connections-per-ip",
        "4096",
        "--max-connections",
        "4096",
        "--body-timeout",
        "120",
    ]);
    let create = s.create_body();
    honest_round(&s.target, &s.key, &create).await;
    let before = s.status_kib("VmRSS");

    let gate = Arc::new(Semaphore::new(32));
    let mut tasks = Vec::new();
    for _ in 0..clients {
        let (target, key, gate) = (s.target.clone(), s.key.clone(), Arc::clone(&gate));
        tasks.push(tokio::spawn(async move {
            let _permit = gate.acquire().await.unwrap();
            let mut c = target.connect().await;
            let auth = format!("Authorization: Bearer {key}");
            let mut bytes = crate::wire::raw_request(
                "POST /v1/audit/offline-sync HTTP/1.1",
                &[
                    &auth,
                    "Content-Type: application/json",
                    "Content-Length: 1048576",
                ],
                b"",
            );
            bytes.resize(bytes.len() + 1024 * 1024 - 1024, b' ');
            // The server may refuse (and close) before all of it is written.
            let _ = c.send(&bytes).await;
            let reply = tokio::time::timeout(Duration::from_secs(2), c.reply()).await;
            (reply.ok().and_then(Result::ok).map(|r| r.verdict()), c)
        }));
    }
    let (mut busy, mut held) = (0, Vec::new());
    for task in tasks {
        let (verdict, conn) = task.await.unwrap();
        match verdict {
            Some(v) => {
                assert_eq!(v, (503, String::from("SERVER_BUSY")));
                busy += 1;
            }
            None => held.push(conn),
        }
    }
    let during = s.status_kib("VmRSS");
    let growth_mib = during.saturating_sub(before) / 1024;
    eprintln!(
        "{clients} bodies of ~1 MiB at once: {} held, {busy} answered 503; server RSS {before} KiB -> {during} KiB (+{growth_mib} MiB)",
        held.len()
    );
    assert!(
        held.len() <= 16,
        "{} bodies held with a 16 MiB budget",
        held.len()
    );
    assert!(busy >= clients - 16);
    assert!(growth_mib < 64, "server grew {growth_mib} MiB");
    drop(held);
    honest_round(&s.target, &s.key, &create).await;
}
