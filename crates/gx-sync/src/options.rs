//! How a [`GrantexClient`](crate::GrantexClient) connects: timeouts, trusted roots, proxy,
//! user agent and retry policy.

use core::time::Duration;

use crate::RetryPolicy;

/// Which certificate authorities the client trusts for HTTPS.
#[non_exhaustive]
#[derive(Clone, Debug, Default)]
pub enum RootCertificates {
    /// The Mozilla root program, compiled in (`webpki-roots`). Works the same on every device.
    #[default]
    WebPki,
    /// The operating system's certificate store (`rustls-native-certs`).
    System,
    /// Only the certificates in this PEM text: for a self-hosted server with its own CA.
    CaPem(Vec<u8>),
}

/// Where the client finds an HTTPS proxy.
#[non_exhaustive]
#[derive(Clone, Debug, Default)]
pub enum ProxyConfig {
    /// `HTTPS_PROXY` / `ALL_PROXY` and `NO_PROXY` (either case), like curl. Loopback
    /// destinations never go through a proxy.
    #[default]
    FromEnv,
    /// Never use a proxy.
    None,
    /// Tunnel every non-loopback HTTPS request through this proxy (`http://host:port`,
    /// optionally with `user:password@`) with `CONNECT`.
    Url(String),
}

/// Options for [`GrantexClient::with_options`](crate::GrantexClient::with_options).
///
/// Start from `ClientOptions::default()` and change what you need:
/// ```
/// # use core::time::Duration;
/// use gx_sync::{ClientOptions, RootCertificates};
/// let options = ClientOptions::default()
///     .with_request_timeout(Duration::from_secs(10))
///     .with_roots(RootCertificates::System)
///     .with_user_agent("my-edge-agent/1.2");
/// ```
#[derive(Clone, Debug)]
pub struct ClientOptions {
    pub(crate) connect_timeout: Duration,
    pub(crate) request_timeout: Duration,
    pub(crate) roots: RootCertificates,
    pub(crate) proxy: ProxyConfig,
    pub(crate) user_agent: String,
    pub(crate) retry: RetryPolicy,
}

impl Default for ClientOptions {
    fn default() -> Self {
        Self {
            connect_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(30),
            roots: RootCertificates::default(),
            proxy: ProxyConfig::default(),
            user_agent: concat!("gx-sync/", env!("CARGO_PKG_VERSION")).to_owned(),
            retry: RetryPolicy::default(),
        }
    }
}

impl ClientOptions {
    /// Time allowed to open the TCP connection (and the proxy tunnel). Default 10 s.
    #[must_use]
    pub fn with_connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Time allowed for one request, from sending to the last byte of the answer. Default 30 s.
    #[must_use]
    pub fn with_request_timeout(mut self, timeout: Duration) -> Self {
        self.request_timeout = timeout;
        self
    }

    /// Which certificate authorities to trust. Default [`RootCertificates::WebPki`].
    #[must_use]
    pub fn with_roots(mut self, roots: RootCertificates) -> Self {
        self.roots = roots;
        self
    }

    /// Trust only the CA certificate(s) in this PEM text (a self-hosted server).
    #[must_use]
    pub fn with_ca_pem(self, pem: impl Into<Vec<u8>>) -> Self {
        self.with_roots(RootCertificates::CaPem(pem.into()))
    }

    /// Where to find an HTTPS proxy. Default [`ProxyConfig::FromEnv`].
    #[must_use]
    pub fn with_proxy(mut self, proxy: ProxyConfig) -> Self {
        self.proxy = proxy;
        self
    }

    /// The `User-Agent` header. Default `gx-sync/<version>`.
    #[must_use]
    pub fn with_user_agent(mut self, user_agent: impl Into<String>) -> Self {
        self.user_agent = user_agent.into();
        self
    }

    /// How transient failures are retried. Default [`RetryPolicy::default`].
    #[must_use]
    pub fn with_retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// The retry policy in use.
    pub fn retry(&self) -> &RetryPolicy {
        &self.retry
    }
}
