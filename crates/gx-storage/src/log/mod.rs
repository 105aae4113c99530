//! The durable audit log: JSONL in the wire format, one writer, group commit, rotation,
//! crash repair, and streaming reads and verification.
//!
//! Every file of a log is opened without following a symlink and created with mode 0600
//! (see `open`); the one-writer rule is tied to the files, not to how their path is
//! spelled (see `lock`).
//!
//! Memory: an append holds its own lines until written; group commit queues the lines of
//! waiting appenders (one allocation, reused); readers and the verifier hold one line at a
//! time, and stop at [`MAX_ENTRY_BYTES`] plus its newline, so a huge line costs that much
//! memory, never its size. Nothing ever loads a whole segment.

mod codec;
mod config;
mod error;
mod lock;
mod open;
mod reader;
mod record;
mod recover;
mod repair;
mod segment;
mod sync_log;
mod verify;
mod writer;

pub use config::{AuditLogConfig, FsyncPolicy};
pub use error::LogError;
pub(crate) use open::open_read;
pub use reader::LogEntries;
pub use record::{EntryFields, LogRecord, MAX_ENTRY_BYTES};
pub use repair::{RepairReport, TailKind};
pub use sync_log::SyncLog;
pub use verify::{
    KeySpan, LogFormat, VerifyReport, verify_log, verify_log_as, verify_log_keys,
    verify_log_keys_with_progress, verify_log_with_progress,
};
pub use writer::{AppendHold, AuditLog, MAX_HOLD_WAIT};
