//! TLS modes, plain HTTP on loopback only, the CA file, and the idle timeout.

use core::time::Duration;
use std::sync::Arc;

use gx_server::{RateLimits, Server, ServerConfig, Timeouts, TlsMode, init_db};
use http_body_util::{BodyExt, Empty};
use hyper::StatusCode;
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::client::Client;

fn config(dir: &std::path::Path, tls: TlsMode) -> ServerConfig {
    let db = dir.join("gx.db");
    if !db.exists() {
        init_db(&db, gx_server::InitOptions::default()).unwrap();
    }
    let mut c = ServerConfig::new(db, "127.0.0.1:0".parse().unwrap());
    c.tls = tls;
    c.rate_limits = RateLimits::DISABLED;
    c
}

#[tokio::test]
async fn certificate_files_are_served() {
    let dir = tempfile::tempdir().unwrap();
    let rcgen::CertifiedKey { cert, signing_key } =
        rcgen::generate_simple_self_signed(vec![String::from("localhost")]).unwrap();
    let (cert_path, key_path) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    std::fs::write(&cert_path, cert.pem()).unwrap();
    std::fs::write(&key_path, signing_key.serialize_pem()).unwrap();
    let server = Server::start(config(
        dir.path(),
        TlsMode::Files {
            cert: cert_path,
            key: key_path.clone(),
        },
    ))
    .await
    .unwrap();
    assert!(server.base_url().starts_with("https://127.0.0.1:"));
    assert!(server.ca_cert_pem().is_none());
    let client = Client::new(server.local_addr(), &cert.pem(), None);
    let r = client.get("/.well-known/jwks.json").await;
    assert_eq!(r.status, StatusCode::OK);
    server.shutdown().await;

    // A key file that is not a key: a typed error, not a panic.
    std::fs::write(&key_path, "not a key").unwrap();
    let bad = Server::start(config(
        dir.path(),
        TlsMode::Files {
            cert: dir.path().join("cert.pem"),
            key: key_path,
        },
    ))
    .await
    .unwrap_err();
    assert_eq!(bad.code(), "TLS_FILES");
}

#[tokio::test]
async fn self_signed_ca_is_written_for_clients() {
    let dir = tempfile::tempdir().unwrap();
    let ca_out = dir.path().join("ca.pem");
    let server = Server::start(config(
        dir.path(),
        TlsMode::SelfSigned {
            ca_out: Some(ca_out.clone()),
        },
    ))
    .await
    .unwrap();
    let written = std::fs::read_to_string(&ca_out).unwrap();
    assert_eq!(Some(written.as_str()), server.ca_cert_pem());
    assert!(written.starts_with("-----BEGIN CERTIFICATE-----"));
    let r = Client::new(server.local_addr(), &written, None)
        .get("/healthz")
        .await;
    assert_eq!(r.status, StatusCode::OK);
    server.shutdown().await;
}

#[tokio::test]
async fn plain_http_only_on_loopback() {
    let dir = tempfile::tempdir().unwrap();
    let mut off_loopback = config(dir.path(), TlsMode::PlainHttp);
    off_loopback.listen = "0.0.0.0:0".parse().unwrap();
    assert_eq!(
        Server::start(off_loopback).await.unwrap_err().code(),
        "PLAIN_HTTP_NOT_LOOPBACK"
    );

    let server = Server::start(config(dir.path(), TlsMode::PlainHttp))
        .await
        .unwrap();
    assert!(server.base_url().starts_with("http://127.0.0.1:"));
    let tcp = TcpStream::connect(server.local_addr()).await.unwrap();
    let (mut send, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tcp))
        .await
        .unwrap();
    tokio::spawn(conn);
    let req = hyper::Request::get("/.well-known/jwks.json")
        .header("host", "localhost")
        .body(Empty::<Bytes>::new())
        .unwrap();
    let resp = send.send_request(req).await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let body = resp.into_body().collect().await.unwrap().to_bytes();
    assert!(body.starts_with(b"{\"keys\":["));
    server.shutdown().await;
}

#[tokio::test]
async fn idle_connections_are_closed() {
    let dir = tempfile::tempdir().unwrap();
    let mut c = config(dir.path(), TlsMode::PlainHttp);
    c.timeouts = Timeouts {
        idle: Duration::from_millis(300),
        ..Timeouts::default()
    };
    c.clock = Arc::new(gx_server::SystemClock);
    let server = Server::start(c).await.unwrap();
    let mut tcp = TcpStream::connect(server.local_addr()).await.unwrap();
    // Send nothing: the server must hang up by itself (bounded wait, not a sleep).
    let mut buf = [0u8; 16];
    let n = tokio::time::timeout(Duration::from_secs(10), tcp.read(&mut buf))
        .await
        .expect("server closed the idle connection");
    assert!(matches!(n, Ok(0) | Err(_)));
    server.shutdown().await;
}

#[tokio::test]
async fn slow_request_headers_are_cut_off() {
    let dir = tempfile::tempdir().unwrap();
    let mut c = config(dir.path(), TlsMode::PlainHttp);
    c.timeouts = Timeouts {
        header_read: Duration::from_millis(300),
        ..Timeouts::default()
    };
    c.clock = Arc::new(gx_server::SystemClock);
    let server = Server::start(c).await.unwrap();
    let mut tcp = TcpStream::connect(server.local_addr()).await.unwrap();
    // Half a request, then silence (a slowloris): the server must give up on it well
    // before the 60 s idle timeout.
    tcp.write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n")
        .await
        .unwrap();
    let mut rest = Vec::new();
    let closed = tokio::time::timeout(Duration::from_secs(10), tcp.read_to_end(&mut rest)).await;
    assert!(closed.is_ok(), "connection still open after 10 s");
    assert!(!String::from_utf8_lossy(&rest).contains("200 OK"));
    server.shutdown().await;
}
