//! [`SyncOptions`]: batch size, deadline and device id of a sync run.

use std::time::Instant;

use crate::MAX_BATCH_ENTRIES;

/// How a sync run batches and how long it may take.
#[derive(Clone, Debug)]
pub struct SyncOptions {
    pub(crate) batch_size: usize,
    pub(crate) deadline: Option<Instant>,
    pub(crate) device_id: Option<String>,
}

impl Default for SyncOptions {
    fn default() -> Self {
        Self {
            batch_size: Self::DEFAULT_BATCH,
            deadline: None,
            device_id: None,
        }
    }
}

impl SyncOptions {
    /// Entries per batch unless changed.
    pub const DEFAULT_BATCH: usize = 100;

    /// Entries per request, clamped to 1..=1000 (the protocol's limit). Batches are also
    /// cut short to keep each request under 1 MiB.
    #[must_use]
    pub fn with_batch_size(mut self, entries: usize) -> Self {
        self.batch_size = entries.clamp(1, MAX_BATCH_ENTRIES);
        self
    }

    /// Stop retrying, and stop the run, once this instant has passed. Confirmed batches stay
    /// confirmed; the next run resumes at the cursor.
    #[must_use]
    pub fn with_deadline(mut self, deadline: Instant) -> Self {
        self.deadline = Some(deadline);
        self
    }

    /// The `deviceId` sent with each batch.
    #[must_use]
    pub fn with_device_id(mut self, device_id: impl Into<String>) -> Self {
        self.device_id = Some(device_id.into());
        self
    }

    /// Entries per batch.
    pub fn batch_size(&self) -> usize {
        self.batch_size
    }
}
