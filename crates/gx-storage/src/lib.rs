//! gx-storage: everything gx keeps on a device's disk.
//!
//! - the consent bundle, encrypted at rest (AES-256-GCM) and replaced atomically;
//! - the audit log: JSONL in the wire format, durable, crash-safe, one writer at a time;
//! - the sync cursor and the time floor beside it;
//! - [`DeviceSession`]: the one owner of the device's offline state (bundle, parsed
//!   JWKS, verifier memo, time floor, revocation, refresh journal, log, key history),
//!   through which every offline action goes.
//!
//! Hashing, signing and verification are gx-core's; this crate adds the files.
#![warn(missing_docs)]
#![cfg_attr(
    not(test),
    warn(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

pub use gx_core;

// ---- I/O seam and fault injection ----
mod fault;
/// Unstable, for tests only: inject I/O errors at chosen points of the audit log and of
/// atomic file replacement (see `docs/audit-log.md`, "Faults"). Behind the
/// `_fault-injection` feature; not part of the stable API.
#[cfg(feature = "_fault-injection")]
pub mod fault_injection {
    pub use crate::fault::{Fault, FaultGuard, FaultPoint};
}

// ---- consent bundle file ----
mod atomic;
mod bundle;
pub use bundle::{
    Argon2Params, AuditPrivateKey, BundleError, BundleFile, BundleFormat, BundleJsonError,
    BundleKey, ConsentBundle, KeyDerivation, KeyError, OfflineAuditKey, TamperReason,
};

// ---- audit log, cursor, time floor ----
mod cursor;
mod log;
mod time_floor;
pub use cursor::SyncCursor;
pub use gx_core::{AuditSigningKey, AuditVerifyingKey, BreakCode, ChainBreak, EntryHash, PrevHash};
pub use log::{
    AppendHold, AuditLog, AuditLogConfig, EntryFields, FsyncPolicy, KeySpan, LogEntries, LogError,
    LogFormat, LogRecord, MAX_ENTRY_BYTES, MAX_HOLD_WAIT, RepairReport, SyncLog, TailKind,
    VerifyReport, verify_log, verify_log_as, verify_log_keys, verify_log_keys_with_progress,
    verify_log_with_progress,
};
pub use time_floor::{TimeFloor, TimeFloorError};

// ---- the device's offline state, one owner ----
mod device;
pub use device::{
    AuditKeyHistory, Authorization, Clock, DeviceError, DeviceOptions, DeviceSession, GrantError,
    KeyHistoryError, KeyRecord, MAX_KEY_RECORDS, ManualClock, RefreshTicket, RevocationError,
    RevocationMarker, Revoked, SystemClock,
};
