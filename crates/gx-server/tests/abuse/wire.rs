//! A byte-level HTTPS client for the abuse tests: it sends exactly the bytes a test
//! writes (broken framing, lying lengths, invalid UTF-8, stalls) and parses the reply.

use core::net::{IpAddr, SocketAddr};
use core::time::Duration;
use std::io;
use std::sync::Arc;

use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, ServerName};
use serde_json::Value;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;

/// Where the server listens and how to trust it.
#[derive(Clone)]
pub(crate) struct Target {
    pub(crate) addr: SocketAddr,
    tls: TlsConnector,
    /// The loopback address `connect` and `call` use as the client's.
    source: IpAddr,
}

/// One parsed HTTP/1.1 response.
#[derive(Debug)]
pub(crate) struct Reply {
    pub(crate) status: u16,
    headers: Vec<(String, String)>,
    pub(crate) body: Vec<u8>,
}

impl Reply {
    /// The body as JSON (`Null` when it is not JSON, e.g. the HTTP layer's bare errors).
    pub(crate) fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }

    /// The error body's `code` ("" when there is none).
    pub(crate) fn code(&self) -> String {
        self.json()["code"].as_str().unwrap_or("").to_owned()
    }

    /// (status, code): what every abuse test asserts.
    pub(crate) fn verdict(&self) -> (u16, String) {
        (self.status, self.code())
    }

    /// A header's value (names compared case-insensitively).
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// The bytes of a request: `head` lines (without CRLF) then the body as given. No
/// `Content-Length` is added: the test writes the framing it wants.
pub(crate) fn raw_request(start: &str, headers: &[&str], body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(body.len() + 256);
    out.extend_from_slice(start.as_bytes());
    out.extend_from_slice(b"\r\nHost: localhost\r\n");
    for h in headers {
        out.extend_from_slice(h.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(body);
    out
}

/// A well-formed request with `Content-Length` and, when a body is given,
/// `Content-Type: application/json`.
pub(crate) fn request(method: &str, path: &str, key: Option<&str>, body: &[u8]) -> Vec<u8> {
    let auth = key.map(|k| format!("Authorization: Bearer {k}"));
    let len = format!("Content-Length: {}", body.len());
    let mut headers: Vec<&str> = vec![&len];
    if let Some(a) = &auth {
        headers.push(a);
    }
    if !body.is_empty() {
        headers.push("Content-Type: application/json");
    }
    raw_request(&format!("{method} {path} HTTP/1.1"), &headers, body)
}

impl Target {
    pub(crate) fn new(addr: SocketAddr, ca_pem: &str) -> Self {
        let mut roots = rustls::RootCertStore::empty();
        for cert in CertificateDer::pem_slice_iter(ca_pem.as_bytes()) {
            roots.add(cert.unwrap()).unwrap();
        }
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth();
        Self {
            addr,
            tls: TlsConnector::from(Arc::new(config)),
            source: IpAddr::from([127, 0, 0, 1]),
        }
    }

    /// The same target, reached from another loopback address (another client).
    pub(crate) fn from(&self, source: IpAddr) -> Self {
        Self {
            source,
            ..self.clone()
        }
    }

    /// A TCP connection from a chosen loopback source address (127.0.0.x), so tests can
    /// play several clients.
    pub(crate) async fn tcp_from(&self, source: IpAddr) -> io::Result<TcpStream> {
        let socket = match source {
            IpAddr::V4(_) => TcpSocket::new_v4()?,
            IpAddr::V6(_) => TcpSocket::new_v6()?,
        };
        socket.bind(SocketAddr::new(source, 0))?;
        socket.connect(self.addr).await
    }

    /// A TLS connection from this target's client address.
    pub(crate) async fn connect(&self) -> Conn<TlsStream<TcpStream>> {
        self.connect_from(self.source).await.unwrap()
    }

    /// A TLS connection from `source`.
    pub(crate) async fn connect_from(
        &self,
        source: IpAddr,
    ) -> io::Result<Conn<TlsStream<TcpStream>>> {
        let tcp = self.tcp_from(source).await?;
        let tls = self
            .tls
            .connect(ServerName::try_from("localhost").unwrap(), tcp)
            .await?;
        Ok(Conn::new(tls))
    }

    /// One request on a fresh connection.
    pub(crate) async fn call(
        &self,
        method: &str,
        path: &str,
        key: Option<&str>,
        body: &[u8],
    ) -> Reply {
        let mut c = self.connect().await;
        c.send(&request(method, path, key, body)).await.unwrap();
        c.reply().await.unwrap()
    }
}

/// One connection, with what has been read but not yet parsed.
pub(crate) struct Conn<S> {
    stream: S,
    buf: Vec<u8>,
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

impl<S: AsyncRead + AsyncWrite + Unpin> Conn<S> {
    pub(crate) fn new(stream: S) -> Self {
        Self {
            stream,
            buf: Vec::new(),
        }
    }

    pub(crate) async fn send(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.stream.write_all(bytes).await?;
        self.stream.flush().await
    }

    /// Writes `bytes` while reading the reply: the server may answer (and close) before
    /// it has read everything, and a blocked write must not hide its answer. Returns the
    /// reply and how many bytes were written before the server stopped reading
    /// (`usize::MAX` if the writer was still blocked 10 s after the reply).
    pub(crate) async fn send_while_reading(self, bytes: Vec<u8>) -> (io::Result<Reply>, usize)
    where
        S: Send + 'static,
    {
        let Self { stream, buf } = self;
        let (mut rd, mut wr) = tokio::io::split(stream);
        let writer = tokio::spawn(async move {
            let mut sent = 0usize;
            for chunk in bytes.chunks(16 * 1024) {
                if wr.write_all(chunk).await.is_err() || wr.flush().await.is_err() {
                    break;
                }
                sent += chunk.len();
            }
            sent
        });
        let mut reader = Conn {
            stream: &mut rd,
            buf,
        };
        let reply = reader.reply().await;
        let sent = match tokio::time::timeout(Duration::from_secs(10), writer).await {
            Ok(Ok(sent)) => sent,
            _ => usize::MAX,
        };
        (reply, sent)
    }
}

impl<S: AsyncRead + Unpin> Conn<S> {
    async fn fill(&mut self) -> io::Result<usize> {
        let mut chunk = [0u8; 16 * 1024];
        let n = self.stream.read(&mut chunk).await?;
        self.buf.extend_from_slice(&chunk[..n]);
        Ok(n)
    }

    /// Reads one response (body framed by `Content-Length`, else up to EOF).
    pub(crate) async fn reply(&mut self) -> io::Result<Reply> {
        let head_end = loop {
            if let Some(i) = find(&self.buf, b"\r\n\r\n") {
                break i;
            }
            if self.fill().await? == 0 {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    format!("closed before a response ({} bytes)", self.buf.len()),
                ));
            }
        };
        let head = String::from_utf8_lossy(&self.buf[..head_end]).into_owned();
        let mut lines = head.split("\r\n");
        let status_line = lines.next().unwrap_or_default();
        let status: u16 = status_line
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, head.clone()))?;
        let headers: Vec<(String, String)> = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(n, v)| (n.trim().to_owned(), v.trim().to_owned()))
            .collect();
        self.buf.drain(..head_end + 4);
        let length = headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case("content-length"))
            .and_then(|(_, v)| v.parse::<usize>().ok());
        let body = match length {
            Some(n) => {
                while self.buf.len() < n {
                    if self.fill().await? == 0 {
                        return Err(io::ErrorKind::UnexpectedEof.into());
                    }
                }
                self.buf.drain(..n).collect()
            }
            None => {
                while self.fill().await.unwrap_or(0) > 0 {}
                core::mem::take(&mut self.buf)
            }
        };
        Ok(Reply {
            status,
            headers,
            body,
        })
    }

    /// Whether the server closes the connection (EOF or reset) within `limit`, reading
    /// and discarding whatever it sends meanwhile. Returns the time it took.
    pub(crate) async fn closed_within(&mut self, limit: Duration) -> Option<Duration> {
        let started = tokio::time::Instant::now();
        let closed = tokio::time::timeout(limit, async {
            loop {
                match self.fill().await {
                    Ok(0) | Err(_) => break,
                    Ok(_) => {}
                }
            }
        })
        .await;
        closed.ok().map(|()| started.elapsed())
    }
}
