//! Sync through a fault-injecting proxy: drops, resets, delays, truncated answers, injected
//! 500 and 429 on about 30 % of requests. Every entry must end up stored exactly once, the
//! cursor must never run ahead of the server, and nothing may be skipped.
//!
//! The proxy terminates TLS (its own test CA, trusted by the client) so that it can see
//! request boundaries and forge HTTP answers, and forwards plain HTTP to a gx-server
//! listening on loopback.

use core::sync::atomic::{AtomicU64, Ordering};
use core::time::Duration;
use std::sync::Arc;

use gx_server::TlsMode;
use gx_sync::{GrantexClient, ProxyConfig, SyncOptions};
use rand::{Rng, SeedableRng};
use rustls_pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use super::harness::{self, Env, TestCert};

#[derive(Default, Debug)]
struct Stats {
    requests: AtomicU64,
    dropped: AtomicU64,
    reset_after: AtomicU64,
    delayed: AtomicU64,
    truncated: AtomicU64,
    error_500_before: AtomicU64,
    error_500_after: AtomicU64,
    error_429: AtomicU64,
}

impl Stats {
    fn faults(&self) -> u64 {
        [
            &self.dropped,
            &self.reset_after,
            &self.truncated,
            &self.error_500_before,
            &self.error_500_after,
            &self.error_429,
        ]
        .iter()
        .map(|c| c.load(Ordering::Relaxed))
        .sum()
    }
}

struct FaultProxy {
    port: u16,
    ca_pem: String,
    stats: Arc<Stats>,
}

fn proxy_tls() -> (tokio_rustls::TlsAcceptor, String) {
    let TestCert { leaf, leaf_key, ca } =
        harness::test_cert("fault proxy test CA", &["localhost", "127.0.0.1"]);
    let chain: Vec<CertificateDer<'static>> = vec![leaf.der().clone(), ca.der().clone()];
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(leaf_key.serialize_der()));
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .unwrap();
    (tokio_rustls::TlsAcceptor::from(Arc::new(config)), ca.pem())
}

impl FaultProxy {
    async fn start(upstream: u16, fault_rate: f64, seed: u64) -> Self {
        let (acceptor, ca_pem) = proxy_tls();
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let stats = Arc::new(Stats::default());
        let shared = Arc::clone(&stats);
        tokio::spawn(async move {
            let mut conn_no = 0u64;
            loop {
                let Ok((tcp, _)) = listener.accept().await else {
                    return;
                };
                conn_no += 1;
                let acceptor = acceptor.clone();
                let stats = Arc::clone(&shared);
                let rng =
                    rand::rngs::StdRng::seed_from_u64(seed ^ conn_no.wrapping_mul(0x9e37_79b9));
                tokio::spawn(async move {
                    let _ = tcp.set_nodelay(true);
                    let Ok(tls) = acceptor.accept(tcp).await else {
                        return;
                    };
                    serve(tls, upstream, fault_rate, rng, &stats).await;
                });
            }
        });
        Self {
            port,
            ca_pem,
            stats,
        }
    }
}

/// Reads one HTTP/1.1 message (head + Content-Length body). `None` on a clean EOF.
async fn read_message<S: AsyncRead + Unpin>(s: &mut S, buf: &mut Vec<u8>) -> Option<Vec<u8>> {
    loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
            assert!(
                !head.contains("transfer-encoding: chunked"),
                "proxy expects Content-Length"
            );
            let len: usize = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .map_or(0, |v| v.trim().parse().unwrap());
            let total = end + 4 + len;
            while buf.len() < total {
                let mut chunk = [0u8; 16 * 1024];
                let n = s.read(&mut chunk).await.ok()?;
                if n == 0 {
                    return None;
                }
                buf.extend_from_slice(&chunk[..n]);
            }
            let rest = buf.split_off(total);
            return Some(core::mem::replace(buf, rest));
        }
        let mut chunk = [0u8; 16 * 1024];
        let n = s.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

fn forged(status: &str, extra: &str) -> Vec<u8> {
    let body = r#"{"code":"INJECTED","message":"fault injected by the test proxy","requestId":"req_proxy"}"#;
    format!(
        "HTTP/1.1 {status}\r\ncontent-type: application/json\r\n{extra}content-length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

async fn serve(
    mut client: tokio_rustls::server::TlsStream<TcpStream>,
    upstream: u16,
    fault_rate: f64,
    mut rng: rand::rngs::StdRng,
    stats: &Stats,
) {
    let mut from_client = Vec::new();
    let mut server: Option<(TcpStream, Vec<u8>)> = None;
    while let Some(request) = read_message(&mut client, &mut from_client).await {
        stats.requests.fetch_add(1, Ordering::Relaxed);
        let fault = if rng.random_bool(fault_rate) {
            rng.random_range(0..7u8)
        } else {
            u8::MAX
        };
        match fault {
            0 => {
                stats.dropped.fetch_add(1, Ordering::Relaxed);
                return;
            }
            5 => {
                stats.error_500_before.fetch_add(1, Ordering::Relaxed);
                let _ = client
                    .write_all(&forged("500 Internal Server Error", ""))
                    .await;
                continue;
            }
            6 => {
                stats.error_429.fetch_add(1, Ordering::Relaxed);
                let _ = client
                    .write_all(&forged("429 Too Many Requests", "retry-after: 0\r\n"))
                    .await;
                continue;
            }
            2 => {
                stats.delayed.fetch_add(1, Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(rng.random_range(1..40))).await;
            }
            _ => {}
        }
        // Forward to the server (reconnecting if it closed the previous connection).
        let answer = loop {
            if server.is_none() {
                let tcp = TcpStream::connect(("127.0.0.1", upstream)).await.unwrap();
                tcp.set_nodelay(true).unwrap();
                server = Some((tcp, Vec::new()));
            }
            let (up, buf) = server.as_mut().unwrap();
            if up.write_all(&request).await.is_ok()
                && let Some(answer) = read_message(up, buf).await
            {
                break answer;
            }
            server = None;
        };
        match fault {
            1 => {
                // The server processed the request; the answer is lost in a reset.
                stats.reset_after.fetch_add(1, Ordering::Relaxed);
                let _ = client.get_ref().0.set_zero_linger();
                return;
            }
            3 => {
                stats.truncated.fetch_add(1, Ordering::Relaxed);
                let cut = rng.random_range(1..answer.len());
                let _ = client.write_all(&answer[..cut]).await;
                let _ = client.flush().await;
                return;
            }
            4 => {
                // Processed, but the client is told it failed.
                stats.error_500_after.fetch_add(1, Ordering::Relaxed);
                let _ = client.write_all(&forged("502 Bad Gateway", "")).await;
                continue;
            }
            _ => {}
        }
        if client.write_all(&answer).await.is_err() {
            return;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_entry_stored_exactly_once_through_faults() {
    let env = Env::start_with(TlsMode::PlainHttp).await;
    let upstream = env.server.local_addr().port();
    let proxy = FaultProxy::start(upstream, 0.3, 0x5eed).await;
    let direct = env.client();
    let via_proxy = GrantexClient::with_options(
        &format!("https://127.0.0.1:{}", proxy.port),
        env.api_key(),
        env.options()
            .with_ca_pem(proxy.ca_pem.as_bytes())
            .with_proxy(ProxyConfig::None)
            .with_request_timeout(Duration::from_secs(10)),
    )
    .unwrap();
    let bundle = env.bundle(&direct).await;
    let log = harness::open_log(&env.path("audit.jsonl"), &bundle);
    let n = 3000;
    harness::append(&log, &bundle, n);
    let local = harness::local_entries(&log);

    let handle = tokio::runtime::Handle::current();
    let bundle_id = bundle.bundle_id().to_owned();
    let mut checks = 0u32;
    let report = via_proxy
        .sync(
            &log,
            &bundle_id,
            &SyncOptions::default().with_batch_size(50),
            |p| {
                // The cursor must never be ahead of what the server holds.
                let held =
                    tokio::task::block_in_place(|| handle.block_on(direct.get_bundle(&bundle_id)))
                        .unwrap()
                        .audit_entry_count
                        .unwrap();
                assert!(
                    p.cursor <= held,
                    "cursor {} ahead of server {held}",
                    p.cursor
                );
                checks += 1;
            },
        )
        .await
        .unwrap();
    eprintln!("fault proxy: {:?}; report: {report:?}", proxy.stats);
    assert!(checks > 0);
    assert_eq!(report.cursor, n as u64);
    assert_eq!(log.synced_seq(), n as u64);
    assert!(report.retries > 0, "faults must have caused retries");
    let requests = proxy.stats.requests.load(Ordering::Relaxed);
    let faults = proxy.stats.faults();
    assert!(
        faults * 100 >= requests * 15,
        "too few faults injected: {faults} of {requests}"
    );
    assert!(proxy.stats.reset_after.load(Ordering::Relaxed) > 0);
    assert!(proxy.stats.truncated.load(Ordering::Relaxed) > 0);
    assert!(proxy.stats.error_429.load(Ordering::Relaxed) > 0);
    // Exactly once: the server's chain is the local log, seq 1..=n, no gap, no duplicate.
    harness::assert_server_equals(&direct, &bundle_id, &local).await;
    env.server.shutdown().await;
}
