//! The HTTP/1.1-over-TLS transport: a pooled hyper client over rustls (aws-lc-rs), with
//! connect timeouts and `CONNECT` tunnelling through an HTTPS proxy.
//!
//! Memory: each answer body is read whole into one `Bytes` (capped at [`MAX_BODY`]); request
//! bodies are built by the caller and handed over without copying.

use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll};
use core::time::Duration;
use std::sync::Arc;
use std::time::SystemTime;

use bytes::Bytes;
use http::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, RETRY_AFTER, USER_AGENT};
use http::{HeaderValue, Method, Request, Uri};
use http_body_util::{BodyExt, Full, Limited};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::connect::dns::{GaiAddrs, GaiResolver, Name};
use hyper_util::client::legacy::connect::proxy::Tunnel;
use hyper_util::client::proxy::matcher::Matcher;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use rustls::RootCertStore;
use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;
use tokio::net::TcpStream;
use zeroize::Zeroizing;

use crate::error::{BoxError, ConnectTimedOut, DnsFailed};
use crate::retry::parse_retry_after;
use crate::url::is_loopback;
use crate::{ApiError, ApiKey, ClientError, ClientOptions, ProxyConfig, RootCertificates};

/// Largest answer body accepted (a page of 1000 stored entries is well under 2 MiB).
const MAX_BODY: usize = 32 * 1024 * 1024;

/// An answer with a 2xx status (error statuses become [`ClientError::Api`]).
pub(crate) struct Answer {
    pub(crate) status: u16,
    pub(crate) body: Bytes,
}

/// The pooled client and the fixed headers.
#[derive(Clone)]
pub(crate) struct Transport {
    client: Client<HttpsConnector<TcpConnector>, Full<Bytes>>,
    auth: HeaderValue,
    user_agent: HeaderValue,
    request_timeout: Duration,
}

impl Transport {
    pub(crate) fn new(options: &ClientOptions, key: &ApiKey) -> Result<Self, ClientError> {
        let tls = tls_config(&options.roots)?;
        let mut http = HttpConnector::new_with_resolver(Resolver(GaiResolver::new()));
        http.enforce_http(false);
        http.set_nodelay(true);
        http.set_connect_timeout(Some(options.connect_timeout));
        let proxy = match &options.proxy {
            ProxyConfig::FromEnv => Some(Matcher::from_env()),
            ProxyConfig::None => None,
            ProxyConfig::Url(url) => Some(Matcher::builder().https(url.clone()).build()),
        };
        let tcp = TcpConnector {
            http,
            proxy: proxy.map(Arc::new),
            connect_timeout: options.connect_timeout,
        };
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(tls)
            .https_or_http()
            .enable_http1()
            .wrap_connector(tcp);
        let client = Client::builder(TokioExecutor::new())
            .pool_timer(TokioTimer::new())
            .pool_idle_timeout(Duration::from_secs(30))
            .build(connector);
        let header = Zeroizing::new(format!("Bearer {}", key.expose()));
        let mut auth = HeaderValue::from_str(&header).map_err(|_| ClientError::InvalidApiKey)?;
        auth.set_sensitive(true);
        let user_agent =
            HeaderValue::from_str(&options.user_agent).map_err(|_| ClientError::InvalidUrl {
                reason: "user agent is not a valid header value",
            })?;
        Ok(Self {
            client,
            auth,
            user_agent,
            request_timeout: options.request_timeout,
        })
    }

    /// The configured per-request timeout.
    pub(crate) fn request_timeout(&self) -> Duration {
        self.request_timeout
    }

    /// Sends one request and reads the whole answer within `timeout`.
    pub(crate) async fn send(
        &self,
        method: Method,
        uri: Uri,
        body: Option<Bytes>,
        timeout: Duration,
    ) -> Result<Answer, ClientError> {
        let mut builder = Request::builder()
            .method(method)
            .uri(uri)
            .header(AUTHORIZATION, self.auth.clone())
            .header(USER_AGENT, self.user_agent.clone())
            .header(ACCEPT, "application/json");
        if body.is_some() {
            builder = builder.header(CONTENT_TYPE, "application/json");
        }
        let request = builder
            .body(Full::new(body.unwrap_or_default()))
            .map_err(|e| ClientError::Network(Box::new(e)))?;
        let exchange = async {
            let response = self.client.request(request).await.map_err(|e| {
                if crate::error::find_rustls(&e).is_some() {
                    ClientError::TlsHandshake(Box::new(e))
                } else if e.is_connect() {
                    ClientError::Connect(Box::new(e))
                } else {
                    ClientError::Network(Box::new(e))
                }
            })?;
            let status = response.status().as_u16();
            let retry_after = response
                .headers()
                .get(RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| parse_retry_after(v, SystemTime::now()));
            let body = Limited::new(response.into_body(), MAX_BODY)
                .collect()
                .await
                .map_err(ClientError::Network)?
                .to_bytes();
            if (200..300).contains(&status) {
                Ok(Answer { status, body })
            } else {
                Err(ClientError::Api(ApiError::from_response(
                    status,
                    retry_after,
                    &body,
                )))
            }
        };
        tokio::time::timeout(timeout, exchange)
            .await
            .unwrap_or(Err(ClientError::Timeout))
    }
}

/// Builds the rustls configuration with the aws-lc-rs provider and the chosen roots.
fn tls_config(roots: &RootCertificates) -> Result<rustls::ClientConfig, ClientError> {
    let mut store = RootCertStore::empty();
    match roots {
        RootCertificates::WebPki => {
            store.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        }
        RootCertificates::System => {
            let found = rustls_native_certs::load_native_certs();
            let (added, _ignored) = store.add_parsable_certificates(found.certs);
            if added == 0 {
                return Err(ClientError::NoSystemRoots);
            }
        }
        RootCertificates::CaPem(pem) => {
            let mut any = false;
            for cert in CertificateDer::pem_slice_iter(pem) {
                let cert = cert.map_err(|e| ClientError::InvalidCaCertificate {
                    reason: e.to_string(),
                })?;
                store
                    .add(cert)
                    .map_err(|e| ClientError::InvalidCaCertificate {
                        reason: e.to_string(),
                    })?;
                any = true;
            }
            if !any {
                return Err(ClientError::InvalidCaCertificate {
                    reason: "no CERTIFICATE block found".to_owned(),
                });
            }
        }
    }
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    Ok(rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(ClientError::Tls)?
        .with_root_certificates(store)
        .with_no_client_auth())
}

/// Opens the TCP connection, directly or through a `CONNECT` tunnel, within the connect
/// timeout. TLS is layered on top by `hyper-rustls`.
#[derive(Clone)]
pub(crate) struct TcpConnector {
    http: HttpConnector<Resolver>,
    proxy: Option<Arc<Matcher>>,
    connect_timeout: Duration,
}

type Connecting = Pin<Box<dyn Future<Output = Result<TokioIo<TcpStream>, BoxError>> + Send>>;

impl tower_service::Service<Uri> for TcpConnector {
    type Response = TokioIo<TcpStream>;
    type Error = BoxError;
    type Future = Connecting;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, dst: Uri) -> Self::Future {
        let direct = dst.host().is_none_or(is_loopback) || dst.scheme_str() != Some("https");
        let intercept = if direct {
            None
        } else {
            self.proxy.as_ref().and_then(|m| m.intercept(&dst))
        };
        let timeout = self.connect_timeout;
        let mut http = self.http.clone();
        Box::pin(async move {
            let connecting = async move {
                match intercept {
                    Some(proxy) => {
                        let mut tunnel = Tunnel::new(proxy.uri().clone(), http);
                        if let Some(auth) = proxy.basic_auth() {
                            tunnel = tunnel.with_auth(auth.clone());
                        }
                        tunnel.call(dst).await.map_err(|e| Box::new(e) as BoxError)
                    }
                    None => http.call(dst).await.map_err(|e| Box::new(e) as BoxError),
                }
            };
            tokio::time::timeout(timeout, connecting)
                .await
                .unwrap_or_else(|_| Err(Box::new(ConnectTimedOut) as BoxError))
        })
    }
}

/// The system resolver (`getaddrinfo` on a blocking thread), with its failures marked as
/// [`DnsFailed`] so a failed lookup can be told apart from a refused connection.
#[derive(Clone)]
pub(crate) struct Resolver(GaiResolver);

type Resolving = Pin<Box<dyn Future<Output = Result<GaiAddrs, DnsFailed>> + Send>>;

impl tower_service::Service<Name> for Resolver {
    type Response = GaiAddrs;
    type Error = DnsFailed;
    type Future = Resolving;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.0.poll_ready(cx).map_err(DnsFailed)
    }

    fn call(&mut self, name: Name) -> Self::Future {
        let resolving = self.0.call(name);
        Box::pin(async move { resolving.await.map_err(DnsFailed) })
    }
}
