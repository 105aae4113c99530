//! The guard's errors: why a tool call was refused or failed, with stable codes.

use core::fmt;

use gx_storage::{DeviceError, GrantError, LogError};

/// Why [`Guard::run`](crate::Guard::run) did not return the tool's value.
///
/// `E` is the tool's own error type, handed back untouched in [`GuardError::Action`].
#[derive(Debug)]
#[non_exhaustive]
pub enum GuardError<E> {
    /// The device learned that the bundle was revoked
    /// ([`Guard::mark_revoked`](crate::Guard::mark_revoked), or a sync in any process):
    /// the agent must stop. No entry is written.
    Revoked,
    /// The grant token does not verify (expired, bad signature, snapshot expired, ...).
    /// No entry is written: there is no verified grant to attribute it to.
    Grant(GrantError),
    /// The grant lacks the tool's scope; a `denied` entry with this `seq` was written.
    Denied {
        /// The tool, as given to `run`.
        tool: String,
        /// The scope the tool needs.
        scope: String,
        /// The seq of the `denied` entry.
        seq: u64,
    },
    /// The tool ran and failed; an `error` entry was written.
    Action(E),
    /// The metadata is not a JSON object (nothing ran, nothing written).
    InvalidMetadata,
    /// The audit log refused the entry. When this follows a tool that ran, the tool's
    /// effect happened but is not recorded; the caller should stop.
    Log(LogError),
    /// The device may not act for another reason (a refresh is pending:
    /// `REFRESH_PENDING`; a damaged file), or could not record the entry.
    Device(DeviceError),
}

impl<E> GuardError<E> {
    /// Sorts a device session's error into the guard's variants.
    pub(crate) fn from_device(e: DeviceError) -> Self {
        match e {
            DeviceError::Revoked(_) => Self::Revoked,
            DeviceError::Grant(e) => Self::Grant(e),
            DeviceError::Log(e) => Self::Log(e),
            other if other.code() == "BUNDLE_REVOKED" => Self::Revoked,
            other => Self::Device(other),
        }
    }
}

impl<E> GuardError<E> {
    /// A stable code: `BUNDLE_REVOKED`, the token's code, `SCOPE_VIOLATION`,
    /// `ACTION_FAILED`, `INVALID_METADATA`, or the log's code.
    pub fn code(&self) -> &str {
        match self {
            Self::Revoked => "BUNDLE_REVOKED",
            Self::Grant(e) => e.code(),
            Self::Denied { .. } => "SCOPE_VIOLATION",
            Self::Action(_) => "ACTION_FAILED",
            Self::InvalidMetadata => "INVALID_METADATA",
            Self::Log(e) => e.code(),
            Self::Device(e) => e.code(),
        }
    }

    /// Whether the call was refused before the tool ran.
    pub fn is_refusal(&self) -> bool {
        match self {
            Self::Revoked | Self::Grant(_) | Self::Denied { .. } | Self::InvalidMetadata => true,
            Self::Device(e) => e.is_refusal(),
            _ => false,
        }
    }
}

impl<E: fmt::Display> fmt::Display for GuardError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Revoked => f.write_str("the consent bundle was revoked; the agent must stop"),
            Self::Grant(e) => write!(f, "the grant does not verify: {e}"),
            Self::Denied { tool, scope, seq } => {
                write!(
                    f,
                    "{tool} needs scope `{scope}`, which the grant lacks (denied, entry seq {seq})"
                )
            }
            Self::Action(e) => write!(f, "the tool failed: {e}"),
            Self::InvalidMetadata => f.write_str("tool metadata must be a JSON object"),
            Self::Log(e) => write!(f, "the audit log refused the entry: {e}"),
            Self::Device(e) => write!(f, "the device may not act: {e}"),
        }
    }
}

impl<E: core::error::Error + 'static> core::error::Error for GuardError<E> {
    fn source(&self) -> Option<&(dyn core::error::Error + 'static)> {
        match self {
            Self::Grant(e) => Some(e),
            Self::Action(e) => Some(e),
            Self::Log(e) => Some(e),
            Self::Device(e) => Some(e),
            _ => None,
        }
    }
}
