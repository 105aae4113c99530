//! [`DeviceError`]: why the device may not act, or could not record what it did.

use core::fmt;
use std::io;
use std::path::PathBuf;

use super::history::KeyHistoryError;
use super::journal::JournalError;
use super::revocation::{RevocationError, Revoked};
use crate::{BundleError, LogError, TimeFloorError};

/// Why a [`DeviceSession`](crate::DeviceSession) operation failed.
///
/// Grouped by who must act: the refusals ([`Revoked`](Self::Revoked),
/// [`RefreshPending`](Self::RefreshPending), [`Grant`](Self::Grant)) are clean "no"s; the
/// others are damaged or unreachable files and misuse.
#[derive(Debug)]
#[non_exhaustive]
pub enum DeviceError {
    /// The device learned that the bundle was revoked: it must stop acting on it.
    Revoked(Revoked),
    /// A refresh asked the server for a new audit key and its bundle is not stored yet:
    /// nothing may be signed with the old key. Run the refresh again.
    RefreshPending {
        /// The refresh journal.
        path: PathBuf,
    },
    /// The grant token does not verify at the floor-bounded time.
    Grant(GrantError),
    /// The revocation marker exists but cannot be read (treated as revoked), or cannot
    /// be written.
    Revocation(RevocationError),
    /// The bundle file cannot be loaded or stored.
    Bundle(BundleError),
    /// The bundle's JWKS snapshot is unusable.
    Jwks(gx_core::JwksError),
    /// The bundle's audit key pair is unusable.
    AuditKey(gx_core::KeyError),
    /// The audit key history inside the bundle does not hold together.
    KeyHistory(KeyHistoryError),
    /// The audit log refused.
    Log(LogError),
    /// The time floor cannot be read or stored.
    Floor(TimeFloorError),
    /// The refresh journal cannot be read, written or removed.
    Journal {
        /// What was being done.
        op: &'static str,
        /// The journal file.
        path: PathBuf,
        /// The operating system's error.
        source: io::Error,
    },
    /// A refreshed bundle is for another bundle id than the device's.
    BundleMismatch {
        /// The device's bundle.
        expected: String,
    },
    /// Caller misuse: the session was opened without a log and the operation needs one.
    NoLog,
}

impl DeviceError {
    /// A stable, machine-readable code.
    pub fn code(&self) -> &str {
        match self {
            Self::Revoked(_) => "BUNDLE_REVOKED",
            Self::RefreshPending { .. } => "REFRESH_PENDING",
            Self::Grant(e) => e.code(),
            Self::Revocation(RevocationError::Unreadable { .. }) => "BUNDLE_REVOKED",
            Self::Revocation(e) => e.code(),
            Self::Bundle(e) => e.code(),
            Self::Jwks(e) => e.code(),
            Self::AuditKey(e) => e.code(),
            Self::KeyHistory(_) => "KEY_HISTORY_INVALID",
            Self::Log(e) => e.code(),
            Self::Floor(e) => e.code(),
            Self::Journal { .. } => "REFRESH_JOURNAL_IO",
            Self::BundleMismatch { .. } => "BUNDLE_MISMATCH",
            Self::NoLog => "NO_LOG",
        }
    }

    /// Whether this is a clean refusal to act (revoked, refresh pending, grant invalid),
    /// as opposed to a failure.
    pub fn is_refusal(&self) -> bool {
        matches!(
            self,
            Self::Revoked(_)
                | Self::RefreshPending { .. }
                | Self::Grant(_)
                | Self::Revocation(RevocationError::Unreadable { .. })
        )
    }
}

impl fmt::Display for DeviceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Revoked(r) => {
                write!(f, "bundle {} was revoked", r.bundle_id)?;
                if let Some(at) = &r.revoked_at {
                    write!(f, " at {at}")?;
                }
                f.write_str("; the device must stop acting on its grant")
            }
            Self::RefreshPending { path } => write!(
                f,
                "a refresh is pending ({}): the new audit key is not stored yet, so nothing may be signed; run the refresh again",
                path.display()
            ),
            Self::Grant(e) => write!(f, "the grant does not verify: {e}"),
            Self::Revocation(e) => write!(f, "{e}"),
            Self::Bundle(e) => write!(f, "{e}"),
            Self::Jwks(e) => write!(f, "the bundle's JWKS snapshot is unusable: {e}"),
            Self::AuditKey(e) => write!(f, "the bundle's audit key is unusable: {e}"),
            Self::KeyHistory(e) => write!(f, "the bundle's audit key history is invalid: {e}"),
            Self::Log(e) => write!(f, "{e}"),
            Self::Floor(e) => write!(f, "{e}"),
            Self::Journal { op, path, source } => {
                write!(f, "refresh journal {}: {op}: {source}", path.display())
            }
            Self::BundleMismatch { expected } => {
                write!(f, "the refreshed bundle is not {expected}")
            }
            Self::NoLog => f.write_str("the device session was opened without an audit log"),
        }
    }
}

impl core::error::Error for DeviceError {
    fn source(&self) -> Option<&(dyn core::error::Error + 'static)> {
        match self {
            Self::Grant(e) => Some(e),
            Self::Revocation(e) => Some(e),
            Self::Bundle(e) => Some(e),
            Self::Jwks(e) => Some(e),
            Self::AuditKey(e) => Some(e),
            Self::KeyHistory(e) => Some(e),
            Self::Log(e) => Some(e),
            Self::Floor(e) => Some(e),
            Self::Journal { source, .. } => Some(source),
            _ => None,
        }
    }
}

/// Why the grant token does not verify: gx-core's verdict, owned.
///
/// gx-core's [`VerifyError`](gx_core::VerifyError) borrows the token it rejects (a `kid`,
/// an `alg`, the missing scopes), so it cannot outlive the call; this keeps its stable
/// code and its message. Options that gx-core refuses keep their typed cause.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum GrantError {
    /// gx-core refused the token.
    Token {
        /// gx-core's stable code, e.g. `TOKEN_EXPIRED`.
        code: &'static str,
        /// gx-core's message, starting with the code.
        message: String,
    },
    /// The session's verifier options are unusable (caller misuse).
    Options(gx_core::OptionsError),
}

impl GrantError {
    /// gx-core's stable code: the token's (e.g. `TOKEN_EXPIRED`), or `INVALID_OPTIONS`.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Token { code, .. } => code,
            Self::Options(_) => "INVALID_OPTIONS",
        }
    }
}

impl fmt::Display for GrantError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Token { message, .. } => f.write_str(message),
            Self::Options(e) => write!(f, "{}: {e}", self.code()),
        }
    }
}

impl core::error::Error for GrantError {
    fn source(&self) -> Option<&(dyn core::error::Error + 'static)> {
        match self {
            Self::Options(e) => Some(e),
            Self::Token { .. } => None,
        }
    }
}

impl From<gx_core::VerifyError<'_>> for GrantError {
    fn from(e: gx_core::VerifyError<'_>) -> Self {
        Self::Token {
            code: e.code(),
            message: e.to_string(),
        }
    }
}

impl From<gx_core::OptionsError> for GrantError {
    fn from(e: gx_core::OptionsError) -> Self {
        Self::Options(e)
    }
}

impl From<GrantError> for DeviceError {
    fn from(e: GrantError) -> Self {
        Self::Grant(e)
    }
}

impl From<RevocationError> for DeviceError {
    fn from(e: RevocationError) -> Self {
        match e {
            RevocationError::Revoked(r) => Self::Revoked(r),
            other => Self::Revocation(other),
        }
    }
}

impl From<JournalError> for DeviceError {
    fn from(e: JournalError) -> Self {
        Self::Journal {
            op: e.op,
            path: e.path,
            source: e.source,
        }
    }
}

impl From<LogError> for DeviceError {
    fn from(e: LogError) -> Self {
        Self::Log(e)
    }
}

impl From<BundleError> for DeviceError {
    fn from(e: BundleError) -> Self {
        Self::Bundle(e)
    }
}

impl From<TimeFloorError> for DeviceError {
    fn from(e: TimeFloorError) -> Self {
        Self::Floor(e)
    }
}
