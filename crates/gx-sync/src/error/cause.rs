//! What exactly went wrong beneath a failed connection: [`ConnectCause`] for a connection that
//! could not be opened and [`TlsCause`] for a handshake that failed, read from the chain of
//! lower-level errors (an `io::Error` kind, gx-sync's own marker types, the rustls error), so a
//! caller can tell a person what happened and what to do without parsing messages.

use core::fmt;
use std::io;

use rustls::CertificateError;

/// Why a connection could not be opened ([`ClientError::Connect`](crate::ClientError::Connect)).
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConnectCause {
    /// Nothing listens at the address: the host answered the TCP handshake with a reset.
    Refused,
    /// No answer to the TCP handshake within the connect timeout.
    TimedOut,
    /// The host name does not resolve (no such name, or no resolver answered).
    Dns,
    /// No route to the host or its network.
    NoRoute,
    /// Anything else: a proxy tunnel that was refused, an address that cannot be used, ...
    Other,
}

impl ConnectCause {
    /// A stable code: `CONNECTION_REFUSED`, `CONNECT_TIMEOUT`, `DNS_FAILED`, `NO_ROUTE` or
    /// `CONNECT_FAILED`.
    pub fn code(self) -> &'static str {
        match self {
            Self::Refused => "CONNECTION_REFUSED",
            Self::TimedOut => "CONNECT_TIMEOUT",
            Self::Dns => "DNS_FAILED",
            Self::NoRoute => "NO_ROUTE",
            Self::Other => "CONNECT_FAILED",
        }
    }

    /// Whether waiting a few seconds is unlikely to help: nothing listens, the name does not
    /// resolve, there is no route. Such failures get the short
    /// [`unreachable budget`](crate::RetryPolicy::with_max_unreachable_attempts).
    pub fn is_unreachable(self) -> bool {
        matches!(self, Self::Refused | Self::Dns | Self::NoRoute)
    }

    /// Reads the cause from the chain of errors beneath a connect failure.
    pub(crate) fn of(e: &(dyn core::error::Error + 'static)) -> Self {
        let mut cause = Self::Other;
        walk(e, &mut |link| {
            if link.downcast_ref::<DnsFailed>().is_some() {
                cause = Self::Dns;
                return true;
            }
            if link.downcast_ref::<ConnectTimedOut>().is_some() {
                cause = Self::TimedOut;
                return true;
            }
            if let Some(io) = link.downcast_ref::<io::Error>() {
                let found = match io.kind() {
                    io::ErrorKind::ConnectionRefused => Some(Self::Refused),
                    io::ErrorKind::TimedOut => Some(Self::TimedOut),
                    io::ErrorKind::HostUnreachable | io::ErrorKind::NetworkUnreachable => {
                        Some(Self::NoRoute)
                    }
                    _ => None,
                };
                if let Some(found) = found {
                    cause = found;
                    return true;
                }
            }
            false
        });
        cause
    }
}

impl fmt::Display for ConnectCause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Refused => "connection refused (nothing listens at that address)",
            Self::TimedOut => "connection timed out (no answer from the host)",
            Self::Dns => "the host name does not resolve",
            Self::NoRoute => "no route to the host",
            Self::Other => "the connection could not be opened",
        })
    }
}

/// Which check of the TLS handshake failed ([`ClientError::TlsHandshake`](crate::ClientError::TlsHandshake)).
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TlsCause {
    /// The server's certificate is not signed by a trusted certificate authority (a
    /// self-signed or private CA the client was not given).
    UnknownIssuer,
    /// The server's certificate has expired.
    Expired,
    /// The server's certificate is not valid yet (or the device clock is behind).
    NotYetValid,
    /// The server's certificate is not for the host name that was dialled.
    NameMismatch {
        /// The host the client asked for, when rustls said.
        expected: Option<String>,
        /// The names the certificate holds, when rustls said.
        presented: Vec<String>,
    },
    /// The server's certificate was revoked by its CA.
    Revoked,
    /// The certificate is malformed, badly signed or not for a TLS server.
    BadCertificate,
    /// The peer does not speak TLS as expected (plain HTTP on the port, no common version or
    /// cipher suite, an alert).
    Protocol,
}

impl TlsCause {
    /// A stable code: `TLS_UNKNOWN_ISSUER`, `TLS_CERT_EXPIRED`, `TLS_CERT_NOT_YET_VALID`,
    /// `TLS_NAME_MISMATCH`, `TLS_CERT_REVOKED`, `TLS_BAD_CERT` or `TLS_HANDSHAKE`.
    pub fn code(&self) -> &'static str {
        match self {
            Self::UnknownIssuer => "TLS_UNKNOWN_ISSUER",
            Self::Expired => "TLS_CERT_EXPIRED",
            Self::NotYetValid => "TLS_CERT_NOT_YET_VALID",
            Self::NameMismatch { .. } => "TLS_NAME_MISMATCH",
            Self::Revoked => "TLS_CERT_REVOKED",
            Self::BadCertificate => "TLS_BAD_CERT",
            Self::Protocol => "TLS_HANDSHAKE",
        }
    }

    /// Reads the cause from the rustls error of a failed handshake.
    pub(crate) fn of(e: &rustls::Error) -> Self {
        match e {
            rustls::Error::InvalidCertificate(cert) => match cert {
                CertificateError::UnknownIssuer => Self::UnknownIssuer,
                CertificateError::Expired | CertificateError::ExpiredContext { .. } => {
                    Self::Expired
                }
                CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. } => {
                    Self::NotYetValid
                }
                CertificateError::NotValidForName => Self::NameMismatch {
                    expected: None,
                    presented: Vec::new(),
                },
                CertificateError::NotValidForNameContext {
                    expected,
                    presented,
                } => Self::NameMismatch {
                    expected: Some(expected.to_str().into_owned()),
                    presented: presented.clone(),
                },
                CertificateError::Revoked => Self::Revoked,
                _ => Self::BadCertificate,
            },
            _ => Self::Protocol,
        }
    }
}

impl fmt::Display for TlsCause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::UnknownIssuer => {
                f.write_str("the server's certificate is not signed by a trusted CA")
            }
            Self::Expired => f.write_str("the server's certificate has expired"),
            Self::NotYetValid => f.write_str(
                "the server's certificate is not valid yet (or this device's clock is behind)",
            ),
            Self::NameMismatch {
                expected,
                presented,
            } => {
                f.write_str("the server's certificate is not for this host name")?;
                if let Some(expected) = expected {
                    write!(f, " (asked for {expected}")?;
                    if !presented.is_empty() {
                        write!(f, ", the certificate names {}", presented.join(", "))?;
                    }
                    f.write_str(")")?;
                }
                Ok(())
            }
            Self::Revoked => f.write_str("the server's certificate was revoked"),
            Self::BadCertificate => f.write_str("the server's certificate is invalid"),
            Self::Protocol => f.write_str(
                "the TLS handshake failed (is the server speaking plain HTTP, or an old TLS?)",
            ),
        }
    }
}

/// Marks a host name that did not resolve, so [`ConnectCause::of`] can tell DNS apart from
/// the other connect failures (hyper's own error says only "dns error").
#[derive(Debug)]
pub(crate) struct DnsFailed(pub(crate) io::Error);

impl fmt::Display for DnsFailed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "the host name does not resolve: {}", self.0)
    }
}

impl core::error::Error for DnsFailed {
    fn source(&self) -> Option<&(dyn core::error::Error + 'static)> {
        Some(&self.0)
    }
}

/// Marks a connection (TCP and proxy tunnel) that took longer than the connect timeout.
#[derive(Debug)]
pub(crate) struct ConnectTimedOut;

impl fmt::Display for ConnectTimedOut {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("connect timed out")
    }
}

impl core::error::Error for ConnectTimedOut {}

/// Calls `visit` on `e` and each of its causes until it returns true, stepping into the error
/// an `io::Error` wraps (its `source()` skips it).
pub(crate) fn walk<'a>(
    mut e: &'a (dyn core::error::Error + 'static),
    visit: &mut dyn FnMut(&'a (dyn core::error::Error + 'static)) -> bool,
) {
    // A chain is finite, but a bound keeps a cyclic `source()` from looping for ever.
    for _ in 0..64 {
        if visit(e) {
            return;
        }
        e = match e.downcast_ref::<io::Error>().and_then(io::Error::get_ref) {
            Some(inner) => inner,
            None => match e.source() {
                Some(next) => next,
                None => return,
            },
        };
    }
}
