//! [`SyncError`]: why a sync run stopped, with the progress it made before stopping.

use core::fmt;

use gx_storage::LogError;

use crate::{ApiError, ClientError, SyncReport};

/// Why a sync run stopped early. The cursor is never ahead of the server, whatever the cause:
/// [`SyncError::report`] gives the confirmed progress, and running sync again resumes there.
#[derive(Debug)]
pub struct SyncError {
    kind: SyncErrorKind,
    report: Box<SyncReport>,
}

/// The cause of a [`SyncError`], one variant per cause.
#[non_exhaustive]
#[derive(Debug)]
pub enum SyncErrorKind {
    /// A request failed for good (not transient, or retries/deadline exhausted).
    Client(ClientError),
    /// The server refused a batch's entries (400 `INVALID_AUDIT_ENTRIES`); see
    /// [`ApiError::errors`] for which entry and why (`INVALID_SIGNATURE` after a refresh
    /// means entries signed with the old audit key were not synced before it).
    Rejected(ApiError),
    /// The server holds a different entry at `seq` than the local log: the chains forked.
    /// Syncing cannot continue without an operator deciding which chain is right.
    Fork {
        /// The first seq where the chains differ.
        seq: u64,
        /// The local entry's hash at `seq`.
        local_hash: String,
        /// The server's stored hash at `seq`.
        server_hash: String,
    },
    /// The server holds fewer entries than the cursor says were confirmed (its database was
    /// reset or restored, or this is another server).
    ServerBehind {
        /// The last seq the server holds (0: none).
        server_last: u64,
        /// The local cursor.
        cursor: u64,
    },
    /// The server answered 409 `AUDIT_CHAIN_CONFLICT` but its stored chain agrees with the
    /// batch: nothing to fix from here, so the run stops instead of looping.
    UnexplainedConflict(ApiError),
    /// The server confirmed fewer entries than the batch held.
    PartialAck {
        /// Entries in the batch.
        sent: u64,
        /// Entries the server said it accepted.
        accepted: u64,
    },
    /// One entry is larger than a request body may be; it can never be synced.
    EntryTooLarge {
        /// The entry's seq.
        seq: u64,
    },
    /// Reading the log or storing the cursor failed.
    Log(LogError),
}

impl SyncError {
    pub(crate) fn new(kind: SyncErrorKind, report: SyncReport) -> Self {
        Self {
            kind,
            report: Box::new(report),
        }
    }

    /// The cause.
    pub fn kind(&self) -> &SyncErrorKind {
        &self.kind
    }

    /// The progress confirmed before the run stopped.
    pub fn report(&self) -> &SyncReport {
        &self.report
    }

    /// Takes the cause out.
    pub fn into_kind(self) -> SyncErrorKind {
        self.kind
    }

    /// A stable code: the server's code for `Client`/`Rejected`, else the cause's own.
    pub fn code(&self) -> &str {
        match &self.kind {
            SyncErrorKind::Client(e) => e.last().code(),
            SyncErrorKind::Rejected(e) => e.code(),
            SyncErrorKind::Fork { .. } => "CHAIN_FORK",
            SyncErrorKind::ServerBehind { .. } => "SERVER_BEHIND",
            SyncErrorKind::UnexplainedConflict(_) => "AUDIT_CHAIN_CONFLICT",
            SyncErrorKind::PartialAck { .. } => "PARTIAL_ACK",
            SyncErrorKind::EntryTooLarge { .. } => "ENTRY_TOO_LARGE",
            SyncErrorKind::Log(e) => e.code(),
        }
    }
}

impl fmt::Display for SyncError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            SyncErrorKind::Client(e) => write!(f, "sync failed: {e}")?,
            SyncErrorKind::Rejected(e) => write!(f, "server rejected the entries: {e}")?,
            SyncErrorKind::Fork {
                seq,
                local_hash,
                server_hash,
            } => write!(
                f,
                "audit chain forked at seq {seq}: local hash {local_hash}, server hash {server_hash}"
            )?,
            SyncErrorKind::ServerBehind {
                server_last,
                cursor,
            } => write!(
                f,
                "server holds entries up to seq {server_last} but the cursor says {cursor} were confirmed"
            )?,
            SyncErrorKind::UnexplainedConflict(e) => write!(
                f,
                "server reported a chain conflict its stored chain does not show: {e}"
            )?,
            SyncErrorKind::PartialAck { sent, accepted } => write!(
                f,
                "server accepted {accepted} of {sent} entries of an all-or-nothing batch"
            )?,
            SyncErrorKind::EntryTooLarge { seq } => write!(
                f,
                "entry {seq} is larger than a sync request may be (1 MiB)"
            )?,
            SyncErrorKind::Log(e) => write!(f, "audit log: {e}")?,
        }
        write!(f, " (cursor at seq {})", self.report.cursor)
    }
}

impl core::error::Error for SyncError {
    fn source(&self) -> Option<&(dyn core::error::Error + 'static)> {
        match &self.kind {
            SyncErrorKind::Client(e) => Some(e),
            SyncErrorKind::Rejected(e) | SyncErrorKind::UnexplainedConflict(e) => Some(e),
            SyncErrorKind::Log(e) => Some(e),
            _ => None,
        }
    }
}
