//! How an [`AuditLog`](crate::AuditLog) trades speed for durability, how big it grows, and
//! how long it waits for another writer.

use core::time::Duration;

/// When an append's bytes are forced to stable storage.
///
/// Every policy writes the whole line to the file before `append` returns, so a killed
/// process never loses an acknowledged entry. The policies differ in what a power cut
/// or kernel crash can take.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum FsyncPolicy {
    /// `fdatasync` after every append (or every [`append_batch`](crate::AuditLog::append_batch)):
    /// simple and durable, one disk flush per call.
    EveryEntry,
    /// Group commit: concurrent appenders queue their lines, one of them (the leader)
    /// writes the whole queue and issues one `fdatasync` for all, and each returns once a
    /// flush covering its entry has finished. Same guarantee as `EveryEntry`, far fewer
    /// flushes under load.
    GroupCommit,
    /// Never flush. An acknowledged entry survives the process being killed, but not a
    /// power cut. For tests and benchmarks only.
    None,
}

/// Settings of an [`AuditLog`](crate::AuditLog).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AuditLogConfig {
    pub(crate) fsync: FsyncPolicy,
    pub(crate) segment_max_bytes: u64,
    pub(crate) max_unsynced_bytes: Option<u64>,
    pub(crate) lock_timeout: Duration,
}

impl AuditLogConfig {
    /// Default size at which the active segment is rotated: 8 MiB.
    pub const DEFAULT_SEGMENT_MAX_BYTES: u64 = 8 << 20;

    /// Default time [`AuditLog::open`](crate::AuditLog::open) waits for another writer to
    /// release the log: 5 s.
    pub const DEFAULT_LOCK_TIMEOUT: Duration = Duration::from_secs(5);

    /// A configuration with the given policy, 8 MiB segments, no cap on unsynced data and
    /// a 5 s lock timeout.
    pub const fn new(fsync: FsyncPolicy) -> Self {
        Self {
            fsync,
            segment_max_bytes: Self::DEFAULT_SEGMENT_MAX_BYTES,
            max_unsynced_bytes: None,
            lock_timeout: Self::DEFAULT_LOCK_TIMEOUT,
        }
    }

    /// How long opening the log waits while another writer (another process, or another
    /// `AuditLog` in this one) holds it, before failing with
    /// [`LogError::Locked`](crate::LogError::Locked). Like SQLite's busy timeout: short
    /// writers such as `gx audit append` queue up instead of losing their entry.
    /// `Duration::ZERO` tries once.
    pub const fn with_lock_timeout(mut self, timeout: Duration) -> Self {
        self.lock_timeout = timeout;
        self
    }

    /// How long opening waits for the lock.
    pub const fn lock_timeout(&self) -> Duration {
        self.lock_timeout
    }

    /// Rotate the active segment once it holds at least `bytes` bytes (minimum 1: a
    /// segment always holds at least one entry).
    pub const fn with_segment_max_bytes(mut self, bytes: u64) -> Self {
        self.segment_max_bytes = if bytes == 0 { 1 } else { bytes };
        self
    }

    /// Refuse appends ([`LogError::LogFull`](crate::LogError::LogFull)) once the
    /// segments holding unsynced entries would exceed `bytes` bytes. `None` (the
    /// default) never refuses.
    pub const fn with_max_unsynced_bytes(mut self, bytes: Option<u64>) -> Self {
        self.max_unsynced_bytes = bytes;
        self
    }

    /// The policy in force.
    pub const fn fsync(&self) -> FsyncPolicy {
        self.fsync
    }

    /// The rotation size.
    pub const fn segment_max_bytes(&self) -> u64 {
        self.segment_max_bytes
    }

    /// The cap on unsynced data, if any.
    pub const fn max_unsynced_bytes(&self) -> Option<u64> {
        self.max_unsynced_bytes
    }
}

impl Default for AuditLogConfig {
    /// Group commit, 8 MiB segments, no cap, 5 s lock timeout.
    fn default() -> Self {
        Self::new(FsyncPolicy::GroupCommit)
    }
}
