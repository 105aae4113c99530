//! Serving one accepted TCP connection: TLS handshake, HTTP/1.1, idle and header timeouts.

use core::pin::Pin;
use core::task::{Context, Poll};
use core::time::Duration;
use std::io;
use std::sync::Arc;

use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::Watcher;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::time::{Instant, Sleep};
use tokio_rustls::TlsAcceptor;

use crate::body::BodyBudget;
use crate::config::Timeouts;
use crate::router::handle_within;
use crate::state::AppState;

/// Largest read buffer of one connection.
const MAX_CONN_BUFFER: usize = 64 * 1024;

/// Largest request line plus headers (an API key is at most 512 characters).
const MAX_HEADER_BYTES: usize = 32 * 1024;

/// A stream that fails with `TimedOut` when nothing moves in either direction for `idle`.
struct IdleTimeout<T> {
    inner: T,
    idle: Duration,
    deadline: Pin<Box<Sleep>>,
}

impl<T> IdleTimeout<T> {
    fn new(inner: T, idle: Duration) -> Self {
        Self {
            inner,
            idle,
            deadline: Box::pin(tokio::time::sleep(idle)),
        }
    }

    fn touch(&mut self) {
        let at = Instant::now() + self.idle;
        self.deadline.as_mut().reset(at);
    }

    fn expired(&mut self, cx: &mut Context<'_>) -> bool {
        self.deadline.as_mut().poll(cx).is_ready()
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for IdleTimeout<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = &mut *self;
        match Pin::new(&mut this.inner).poll_read(cx, buf) {
            Poll::Ready(r) => {
                this.touch();
                Poll::Ready(r)
            }
            Poll::Pending if this.expired(cx) => {
                Poll::Ready(Err(io::Error::new(io::ErrorKind::TimedOut, "idle timeout")))
            }
            Poll::Pending => Poll::Pending,
        }
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for IdleTimeout<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        match Pin::new(&mut this.inner).poll_write(cx, buf) {
            Poll::Ready(r) => {
                this.touch();
                Poll::Ready(r)
            }
            Poll::Pending if this.expired(cx) => {
                Poll::Ready(Err(io::Error::new(io::ErrorKind::TimedOut, "idle timeout")))
            }
            Poll::Pending => Poll::Pending,
        }
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// Serves `tcp` until the client leaves, a timeout fires, or a graceful shutdown completes.
pub(crate) async fn serve(
    tcp: TcpStream,
    acceptor: Option<TlsAcceptor>,
    state: Arc<AppState>,
    budget: Arc<BodyBudget>,
    timeouts: Timeouts,
    watcher: Watcher,
) {
    let _ = tcp.set_nodelay(true);
    let io = IdleTimeout::new(tcp, timeouts.idle);
    match acceptor {
        Some(acceptor) => match tokio::time::timeout(timeouts.handshake, acceptor.accept(io)).await
        {
            Ok(Ok(tls)) => http(TokioIo::new(tls), state, budget, timeouts, watcher).await,
            Ok(Err(e)) => tracing::debug!(error = %e, "TLS handshake failed"),
            Err(_) => tracing::debug!("TLS handshake timed out"),
        },
        None => http(TokioIo::new(io), state, budget, timeouts, watcher).await,
    }
}

async fn http<I>(
    io: I,
    state: Arc<AppState>,
    budget: Arc<BodyBudget>,
    timeouts: Timeouts,
    watcher: Watcher,
) where
    I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let service = service_fn(move |req| {
        let (state, budget) = (Arc::clone(&state), Arc::clone(&budget));
        async move { handle_within(state, req, &budget).await }
    });
    let conn = http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(timeouts.header_read)
        // Bound what one connection can make the server buffer (hyper's default is about
        // 400 KiB): request line and headers above MAX_HEADER_BYTES answer 431.
        .max_header_size(MAX_HEADER_BYTES)
        .max_buf_size(MAX_CONN_BUFFER)
        .keep_alive(true)
        .serve_connection(io, service);
    if let Err(e) = watcher.watch(conn).await {
        tracing::debug!(error = %e, "connection ended with an error");
    }
}
