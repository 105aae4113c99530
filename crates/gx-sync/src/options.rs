//! How a [`GrantexClient`](crate::GrantexClient) connects: timeouts, trusted roots, proxy,
//! user agent and retry policy.

use core::fmt;
use core::time::Duration;

use std::sync::Arc;

use crate::retry::RetryObserver;
use crate::{RetryNotice, RetryPolicy};

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
///
/// `Debug` hides the `user:password@` part of a proxy URL: it is a credential.
#[non_exhaustive]
#[derive(Clone, Default)]
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

impl fmt::Debug for ProxyConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::FromEnv => f.write_str("FromEnv"),
            Self::None => f.write_str("None"),
            Self::Url(url) => f.debug_tuple("Url").field(&redact_userinfo(url)).finish(),
        }
    }
}

/// `scheme://<redacted>@host...` for a URL with `user:password@`, else the URL unchanged.
fn redact_userinfo(url: &str) -> String {
    let start = url.find("://").map_or(0, |i| i + 3);
    let rest = url.get(start..).unwrap_or_default();
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    match rest.get(..authority_end).and_then(|a| a.rfind('@')) {
        Some(at) => format!(
            "{}<redacted>{}",
            url.get(..start).unwrap_or_default(),
            rest.get(at..).unwrap_or_default()
        ),
        None => url.to_owned(),
    }
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
    pub(crate) observer: Option<RetryObserver>,
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
            observer: None,
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

    /// Calls `observer` before every wait between two attempts, with what failed and how
    /// long the wait is: a command line prints "retrying" from it. Default none.
    #[must_use]
    pub fn with_retry_observer(
        mut self,
        observer: impl Fn(&RetryNotice<'_>) + Send + Sync + 'static,
    ) -> Self {
        self.observer = Some(RetryObserver(Arc::new(observer)));
        self
    }

    /// The retry policy in use.
    pub fn retry(&self) -> &RetryPolicy {
        &self.retry
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proxy_credentials_stay_out_of_debug() {
        let cases = [
            (
                "http://user:s3cret@proxy:3128",
                "Url(\"http://<redacted>@proxy:3128\")",
            ),
            (
                "http://u:p@ss@proxy/x@y",
                "Url(\"http://<redacted>@proxy/x@y\")",
            ),
            ("user:s3cret@proxy:3128", "Url(\"<redacted>@proxy:3128\")"),
            ("http://proxy:3128/a@b", "Url(\"http://proxy:3128/a@b\")"),
        ];
        for (url, shown) in cases {
            assert_eq!(format!("{:?}", ProxyConfig::Url(url.to_owned())), shown);
        }
        let options = ClientOptions::default()
            .with_proxy(ProxyConfig::Url("http://user:s3cret@proxy:3128".to_owned()));
        assert!(!format!("{options:?}").contains("s3cret"));
    }
}
