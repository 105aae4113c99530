//! The durable audit log: JSONL in the wire format, one writer, group commit, rotation,
//! crash repair, and streaming reads and verification.
//!
//! Memory: an append holds its own lines until written; group commit queues the lines of
//! waiting appenders (one allocation, reused); readers and the verifier hold one line at a
//! time. Nothing ever loads a whole segment.

mod codec;
mod config;
mod error;
mod lock;
mod reader;
mod record;
mod recover;
mod segment;
mod verify;
mod writer;

pub use config::{AuditLogConfig, FsyncPolicy};
pub use error::LogError;
pub use reader::LogEntries;
pub use record::{EntryFields, LogRecord};
pub use verify::{LogFormat, VerifyReport, verify_log, verify_log_as, verify_log_with_progress};
pub use writer::{AppendHold, AuditLog, MAX_HOLD_WAIT};
