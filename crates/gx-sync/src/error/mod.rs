//! Errors of a single API call ([`ClientError`]) and the server's error answers ([`ApiError`]).

mod api;
pub use api::{ApiError, EntryError};

mod cause;
pub use cause::{ConnectCause, TlsCause};
pub(crate) use cause::{ConnectTimedOut, DnsFailed};

use core::fmt;

/// A boxed lower-level cause (I/O, TLS, HTTP framing) kept as the error's `source()`.
pub type BoxError = Box<dyn core::error::Error + Send + Sync>;

/// Why one call to the Grantex API failed.
///
/// Grouped by who must act: the caller's configuration (`InvalidUrl` .. `Tls`), the network
/// (`Network`, `Timeout`: worth retrying), the server's answer (`Api`, `InvalidResponse`), and
/// the retry budget (`DeadlineExceeded`, `RetriesExhausted`, which carry the last cause).
#[non_exhaustive]
#[derive(Debug)]
pub enum ClientError {
    /// The base URL does not parse or has no host.
    InvalidUrl {
        /// What is wrong with it.
        reason: &'static str,
    },
    /// Plain `http://` to a host that is not loopback: the API key would travel in clear.
    InsecureUrl,
    /// The API key is shorter than 16, longer than 512 or has characters a header cannot hold.
    InvalidApiKey,
    /// The given CA certificate PEM holds no usable certificate.
    InvalidCaCertificate {
        /// What went wrong while reading it.
        reason: String,
    },
    /// The system certificate store could not be read or holds no certificate.
    NoSystemRoots,
    /// The TLS configuration could not be built.
    Tls(rustls::Error),
    /// The connection (TCP, proxy tunnel or TLS handshake) could not be opened: the request
    /// was certainly not sent.
    Connect(BoxError),
    /// The TLS handshake failed (untrusted or invalid certificate, no common protocol):
    /// not retried, since trying again cannot help.
    TlsHandshake(BoxError),
    /// Sending or receiving failed (reset, closed early, truncated response). The request may or may not have reached the server.
    Network(BoxError),
    /// No complete answer within the request timeout (or what was left of the deadline).
    Timeout,
    /// The server answered with an error status.
    Api(ApiError),
    /// The server answered 2xx with a body that is not what the protocol says.
    InvalidResponse {
        /// The HTTP status of the answer.
        status: u16,
        /// What was missing or malformed.
        reason: String,
    },
    /// The caller's deadline passed before a retry could succeed; `last` is the last failure.
    DeadlineExceeded {
        /// How many attempts were made.
        attempts: u32,
        /// The failure of the last attempt.
        last: Box<ClientError>,
    },
    /// The retry policy's attempt limit was reached; `last` is the last failure.
    RetriesExhausted {
        /// How many attempts were made.
        attempts: u32,
        /// The failure of the last attempt.
        last: Box<ClientError>,
    },
}

impl ClientError {
    /// A stable code for this error. For [`ClientError::Api`] this is the server's code
    /// (`AUDIT_CHAIN_CONFLICT`, `NOT_FOUND`, ...); for retry-budget errors it is the code of
    /// the budget, see [`ClientError::last`] for the cause.
    pub fn code(&self) -> &str {
        match self {
            Self::InvalidUrl { .. } => "INVALID_URL",
            Self::InsecureUrl => "INSECURE_URL",
            Self::InvalidApiKey => "INVALID_API_KEY",
            Self::InvalidCaCertificate { .. } => "INVALID_CA_CERT",
            Self::NoSystemRoots => "NO_SYSTEM_ROOTS",
            Self::Tls(_) => "TLS_CONFIG",
            Self::Connect(_) => "CONNECT_FAILED",
            Self::TlsHandshake(_) => "TLS_HANDSHAKE",
            Self::Network(_) => "NETWORK",
            Self::Timeout => "TIMEOUT",
            Self::Api(api) => api.code(),
            Self::InvalidResponse { .. } => "INVALID_RESPONSE",
            Self::DeadlineExceeded { .. } => "DEADLINE_EXCEEDED",
            Self::RetriesExhausted { .. } => "RETRIES_EXHAUSTED",
        }
    }

    /// Whether the same request may succeed if tried again: network failures, timeouts,
    /// 429 and 5xx answers.
    pub fn is_transient(&self) -> bool {
        match self {
            Self::Connect(_) | Self::Network(_) | Self::Timeout => true,
            Self::Api(api) => api.is_transient(),
            _ => false,
        }
    }

    /// The server's error answer, looking through retry-budget errors.
    pub fn api(&self) -> Option<&ApiError> {
        match self.last() {
            Self::Api(api) => Some(api),
            _ => None,
        }
    }

    /// Why the connection could not be opened, for a [`ClientError::Connect`] (also as the
    /// last failure of a retry-budget error).
    pub fn connect_cause(&self) -> Option<ConnectCause> {
        match self.last() {
            Self::Connect(e) => Some(ConnectCause::of(e.as_ref())),
            _ => None,
        }
    }

    /// Which check of the TLS handshake failed, for a [`ClientError::TlsHandshake`] (also as
    /// the last failure of a retry-budget error).
    pub fn tls_cause(&self) -> Option<TlsCause> {
        match self.last() {
            Self::TlsHandshake(e) => {
                Some(find_rustls(e.as_ref()).map_or(TlsCause::Protocol, TlsCause::of))
            }
            _ => None,
        }
    }

    /// How many attempts were made: the count of a retry-budget error, else 1.
    pub fn attempts(&self) -> u32 {
        match self {
            Self::DeadlineExceeded { attempts, .. } | Self::RetriesExhausted { attempts, .. } => {
                *attempts
            }
            _ => 1,
        }
    }

    /// The innermost failure: the last attempt's error for retry-budget errors, else `self`.
    pub fn last(&self) -> &ClientError {
        match self {
            Self::DeadlineExceeded { last, .. } | Self::RetriesExhausted { last, .. } => {
                last.last()
            }
            other => other,
        }
    }
}

impl fmt::Display for ClientError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::InvalidUrl { reason } => write!(f, "invalid server URL: {reason}"),
            Self::InsecureUrl => f.write_str(
                "refusing plain http:// to a non-loopback host; use https:// (the API key would travel in clear)",
            ),
            Self::InvalidApiKey => f.write_str(
                "invalid API key: it must be 16 to 512 printable ASCII characters without spaces",
            ),
            Self::InvalidCaCertificate { reason } => {
                write!(f, "invalid CA certificate PEM: {reason}")
            }
            Self::NoSystemRoots => {
                f.write_str("no usable certificate in the system's certificate store")
            }
            Self::Tls(e) => write!(f, "TLS configuration failed: {e}"),
            Self::Connect(e) => match ConnectCause::of(e.as_ref()) {
                ConnectCause::Other => write!(f, "could not connect: {}", innermost(e.as_ref())),
                cause => write!(f, "could not connect: {cause}"),
            },
            Self::TlsHandshake(e) => match find_rustls(e.as_ref()) {
                Some(tls) => write!(f, "TLS handshake failed: {} ({tls})", TlsCause::of(tls)),
                None => write!(f, "TLS handshake failed: {e}"),
            },
            Self::Network(e) => write!(f, "network error: {e}"),
            Self::Timeout => f.write_str("request timed out"),
            Self::Api(api) => fmt::Display::fmt(api, f),
            Self::InvalidResponse { status, reason } => {
                write!(f, "unexpected answer from the server (HTTP {status}): {reason}")
            }
            Self::DeadlineExceeded { attempts, last } => {
                write!(f, "deadline passed after {attempts} attempts; last error: {last}")
            }
            Self::RetriesExhausted { attempts, last } => {
                write!(f, "gave up after {attempts} attempts; last error: {last}")
            }
        }
    }
}

impl core::error::Error for ClientError {
    fn source(&self) -> Option<&(dyn core::error::Error + 'static)> {
        match self {
            Self::Tls(e) => Some(e),
            Self::Connect(e) | Self::TlsHandshake(e) | Self::Network(e) => Some(e.as_ref()),
            Self::Api(e) => Some(e),
            Self::DeadlineExceeded { last, .. } | Self::RetriesExhausted { last, .. } => {
                Some(last.as_ref())
            }
            _ => None,
        }
    }
}

/// The rustls error somewhere in a chain of causes (also inside an `io::Error`, whose
/// `source()` skips the error it wraps).
pub(crate) fn find_rustls<'a>(
    e: &'a (dyn core::error::Error + 'static),
) -> Option<&'a rustls::Error> {
    let mut found = None;
    cause::walk(e, &mut |link| {
        found = link.downcast_ref::<rustls::Error>();
        found.is_some()
    });
    found
}

/// The message of the deepest cause in a chain: hyper's outer errors say only "client error
/// (Connect)", the useful words are at the bottom.
fn innermost(e: &(dyn core::error::Error + 'static)) -> String {
    let mut last = e.to_string();
    cause::walk(e, &mut |link| {
        last = link.to_string();
        false
    });
    last
}

impl From<ApiError> for ClientError {
    fn from(e: ApiError) -> Self {
        Self::Api(e)
    }
}

#[cfg(test)]
mod tests;
