//! HTTPS through a `CONNECT` proxy: the client tunnels to a server name only the proxy can
//! resolve, and TLS runs end to end through the tunnel.

use core::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use gx_server::TlsMode;
use gx_sync::{GrantexClient, ProxyConfig, SyncOptions};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use super::harness::{self, Env, TestCert};

/// A CA and a leaf for `gx.test`, written as PEM files; returns (cert, key, CA PEM).
fn cert_for_gx_test(dir: &std::path::Path) -> (std::path::PathBuf, std::path::PathBuf, String) {
    let TestCert { leaf, leaf_key, ca } = harness::test_cert("proxy test CA", &["gx.test"]);
    let cert = dir.join("gx-test.crt");
    let key = dir.join("gx-test.key");
    std::fs::write(&cert, format!("{}{}", leaf.pem(), ca.pem())).unwrap();
    std::fs::write(&key, leaf_key.serialize_pem()).unwrap();
    (cert, key, ca.pem())
}

/// A minimal `CONNECT` proxy that resolves `gx.test` to loopback and counts tunnels.
async fn connect_proxy(tunnels: Arc<AtomicU64>) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        loop {
            let Ok((mut client, _)) = listener.accept().await else {
                return;
            };
            let tunnels = Arc::clone(&tunnels);
            tokio::spawn(async move {
                let mut head = Vec::new();
                while !head.ends_with(b"\r\n\r\n") {
                    let mut byte = [0u8; 1];
                    if client.read_exact(&mut byte).await.is_err() {
                        return;
                    }
                    head.push(byte[0]);
                }
                let head = String::from_utf8(head).unwrap();
                let target = head
                    .strip_prefix("CONNECT ")
                    .and_then(|r| r.split(' ').next())
                    .unwrap()
                    .to_owned();
                let (host, port) = target.rsplit_once(':').unwrap();
                assert_eq!(host, "gx.test");
                let mut upstream = TcpStream::connect(("127.0.0.1", port.parse::<u16>().unwrap()))
                    .await
                    .unwrap();
                tunnels.fetch_add(1, Ordering::SeqCst);
                client
                    .write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")
                    .await
                    .unwrap();
                let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
            });
        }
    });
    port
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_through_a_connect_proxy() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key, ca_pem) = cert_for_gx_test(dir.path());
    let env = Env::start_with(TlsMode::Files { cert, key }).await;
    let port = env.server.local_addr().port();
    let tunnels = Arc::new(AtomicU64::new(0));
    let proxy_port = connect_proxy(Arc::clone(&tunnels)).await;
    let client = GrantexClient::with_options(
        &format!("https://gx.test:{port}"),
        env.api_key(),
        env.options()
            .with_ca_pem(ca_pem.as_bytes())
            .with_proxy(ProxyConfig::Url(format!("http://127.0.0.1:{proxy_port}"))),
    )
    .unwrap();
    let bundle = env.bundle(&client).await;
    let log = harness::open_log(&env.path("audit.jsonl"), &bundle);
    harness::append(&log, &bundle, 20);
    let report = client
        .sync(&log, bundle.bundle_id(), &SyncOptions::default(), |_| {})
        .await
        .unwrap();
    assert_eq!(report.cursor, 20);
    assert!(
        tunnels.load(Ordering::SeqCst) >= 1,
        "requests must go through the proxy"
    );
    env.server.shutdown().await;
}
