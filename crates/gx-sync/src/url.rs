//! The server's base URL: parsed once, HTTPS enforced except to loopback, joined with API paths.

use core::fmt;
use core::net::IpAddr;

use http::Uri;

use crate::ClientError;

/// A validated Grantex API base URL such as `https://api.grantex.dev` or
/// `https://127.0.0.1:8443/prefix`.
///
/// `https` is required, except for loopback hosts (`localhost`, `127.0.0.0/8`, `::1`) where
/// plain `http` is allowed for local development and tests.
#[derive(Clone, PartialEq, Eq)]
pub struct BaseUrl {
    scheme: &'static str,
    authority: String,
    host: String,
    prefix: String,
}

impl BaseUrl {
    /// Parses and checks `url`. A trailing `/`, a query or a fragment are not allowed to
    /// carry meaning: the path is kept as a prefix for every API path.
    ///
    /// # Errors
    /// [`ClientError::InvalidUrl`] when it does not parse, has no host, or is not http(s);
    /// [`ClientError::InsecureUrl`] for `http://` to a host that is not loopback.
    pub fn parse(url: &str) -> Result<Self, ClientError> {
        let uri: Uri = url.trim().parse().map_err(|_| ClientError::InvalidUrl {
            reason: "not a valid absolute URL",
        })?;
        let scheme = match uri.scheme_str() {
            Some("https") => "https",
            Some("http") => "http",
            Some(_) => {
                return Err(ClientError::InvalidUrl {
                    reason: "scheme must be https (or http to loopback)",
                });
            }
            None => {
                return Err(ClientError::InvalidUrl {
                    reason: "missing scheme (https://...)",
                });
            }
        };
        let authority = uri.authority().ok_or(ClientError::InvalidUrl {
            reason: "missing host",
        })?;
        if authority.as_str().contains('@') {
            return Err(ClientError::InvalidUrl {
                reason: "credentials in the URL are not allowed; use the API key",
            });
        }
        let host = authority.host().to_owned();
        if host.is_empty() {
            return Err(ClientError::InvalidUrl {
                reason: "missing host",
            });
        }
        if scheme == "http" && !is_loopback(&host) {
            return Err(ClientError::InsecureUrl);
        }
        if uri.query().is_some() {
            return Err(ClientError::InvalidUrl {
                reason: "a base URL cannot have a query",
            });
        }
        let prefix = uri.path().trim_end_matches('/').to_owned();
        Ok(Self {
            scheme,
            authority: authority.as_str().to_owned(),
            host,
            prefix,
        })
    }

    /// Whether the host is loopback (`localhost`, `127.0.0.0/8`, `::1`).
    pub fn is_loopback(&self) -> bool {
        is_loopback(&self.host)
    }

    /// Whether requests go over TLS.
    pub fn is_https(&self) -> bool {
        self.scheme == "https"
    }

    /// The host name or address.
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The absolute URI of an API `path` (which starts with `/`).
    pub(crate) fn join(&self, path: &str) -> Result<Uri, ClientError> {
        let full = format!(
            "{}://{}{}{}",
            self.scheme, self.authority, self.prefix, path
        );
        full.parse().map_err(|_| ClientError::InvalidUrl {
            reason: "API path does not form a valid URL",
        })
    }
}

impl fmt::Display for BaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}://{}{}", self.scheme, self.authority, self.prefix)
    }
}

impl fmt::Debug for BaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "BaseUrl({self})")
    }
}

/// Loopback test on a URI host (IPv6 hosts come bracketed).
pub(crate) fn is_loopback(host: &str) -> bool {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    if bare.eq_ignore_ascii_case("localhost") {
        return true;
    }
    bare.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// Percent-encodes one path segment (an id from the server) so it cannot change the path.
pub(crate) fn segment(id: &str) -> String {
    let mut out = String::with_capacity(id.len());
    for b in id.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn https_anywhere_http_only_to_loopback() {
        assert!(BaseUrl::parse("https://api.grantex.dev").is_ok());
        assert!(BaseUrl::parse("http://127.0.0.1:8080").is_ok());
        assert!(BaseUrl::parse("http://127.5.0.1:8080").is_ok());
        assert!(BaseUrl::parse("http://localhost:1").is_ok());
        assert!(BaseUrl::parse("http://[::1]:1").is_ok());
        assert!(matches!(
            BaseUrl::parse("http://api.grantex.dev"),
            Err(ClientError::InsecureUrl)
        ));
        assert!(matches!(
            BaseUrl::parse("http://10.0.0.1"),
            Err(ClientError::InsecureUrl)
        ));
        assert!(matches!(
            BaseUrl::parse("ftp://x"),
            Err(ClientError::InvalidUrl { .. })
        ));
        assert!(matches!(
            BaseUrl::parse("api.grantex.dev"),
            Err(ClientError::InvalidUrl { .. })
        ));
        assert!(matches!(
            BaseUrl::parse("https://user:pw@host"),
            Err(ClientError::InvalidUrl { .. })
        ));
    }

    #[test]
    fn joins_paths_under_the_prefix() {
        let b = BaseUrl::parse("https://h.example:8443/api/").unwrap();
        assert_eq!(
            b.join("/v1/consent-bundles").unwrap().to_string(),
            "https://h.example:8443/api/v1/consent-bundles"
        );
        let b = BaseUrl::parse("https://h.example").unwrap();
        assert_eq!(
            b.join("/v1/x").unwrap().to_string(),
            "https://h.example/v1/x"
        );
        assert_eq!(b.to_string(), "https://h.example");
    }

    #[test]
    fn segments_are_escaped() {
        assert_eq!(segment("bundle_01ABC"), "bundle_01ABC");
        assert_eq!(segment("../x?y"), "%2E%2E%2Fx%3Fy");
    }
}
