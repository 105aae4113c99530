//! The sync driver: uploads the log's unconfirmed entries batch by batch and moves the cursor
//! only past what the server confirmed.
//!
//! One run: read the cursor `c` and the last seq `t`; stream entries `c+1..=t` from disk
//! (across rotated segments, one batch in memory); send each batch, retrying transient
//! failures (an entry the server already holds with the same hash is accepted again, so a
//! retry after a lost answer is safe); on a 200 answer store the cursor at the batch's last
//! seq; on a 409 compare with the server's stored chain (see `conflict`). The log's file I/O
//! (a buffered read per batch and one atomic cursor write) runs inline on the calling task.
//!
//! The log is either an open [`AuditLog`] (its process holds the writer lock anyway) or a
//! [`SyncLog`], which takes the lock only to read the cursor and target and to store the
//! cursor, never across a network exchange, so other processes can append meanwhile.

mod conflict;
mod error;
mod options;

pub use error::{SyncError, SyncErrorKind};
pub use options::SyncOptions;

use std::time::Instant;

use gx_storage::{AuditLog, LogEntries, LogError, LogRecord, SyncLog};

use crate::{
    BatchFull, ClientError, GrantexClient, RevocationState, SyncBatch, SyncProgress, SyncReport,
};

/// The batch being sent, with what conflict resolution needs to compare.
pub(crate) struct PendingBatch {
    pub(crate) body: SyncBatch,
    /// `(seq, hash)` of each entry, in order.
    pub(crate) hashes: Vec<(u64, String)>,
    /// `prevHash` of the first entry: the hash the server must hold at `first_seq - 1`.
    pub(crate) first_prev: String,
}

impl GrantexClient {
    /// Uploads every entry of `log` after its sync cursor to the bundle `bundle_id`, and
    /// reports what happened. `progress` is called after every confirmed batch.
    ///
    /// The cursor advances only after the server confirmed a batch, so it is never ahead of
    /// the server; a failure at any point leaves a log that the next run resumes. When there
    /// is nothing to upload, the revocation status is read with
    /// [`revocation_status`](Self::revocation_status) instead, so a revocation is seen either
    /// way.
    ///
    /// # Errors
    /// [`SyncError`], carrying the progress made; see [`SyncErrorKind`] for the causes.
    pub async fn sync<F: FnMut(&SyncProgress)>(
        &self,
        log: &AuditLog,
        bundle_id: &str,
        options: &SyncOptions,
        mut progress: F,
    ) -> Result<SyncReport, SyncError> {
        self.sync_source(log, bundle_id, options, &mut progress)
            .await
    }

    /// As [`sync`](Self::sync), for a log this process does not hold open: the log's lock
    /// is taken only to read where the log stands and to store the cursor after each
    /// confirmed batch, never while a request is in flight, so appends by other processes
    /// go on during the whole run (against a server that never answers, too).
    ///
    /// # Errors
    /// [`SyncError`], carrying the progress made; see [`SyncErrorKind`] for the causes
    /// ([`SyncErrorKind::Log`] with [`LogError::Locked`] when a writer held the log for
    /// the whole lock timeout at one of those moments).
    pub async fn sync_unlocked<F: FnMut(&SyncProgress)>(
        &self,
        log: &SyncLog,
        bundle_id: &str,
        options: &SyncOptions,
        mut progress: F,
    ) -> Result<SyncReport, SyncError> {
        self.sync_source(log, bundle_id, options, &mut progress)
            .await
    }

    async fn sync_source(
        &self,
        log: &dyn Source,
        bundle_id: &str,
        options: &SyncOptions,
        progress: &mut dyn FnMut(&SyncProgress),
    ) -> Result<SyncReport, SyncError> {
        let started = Instant::now();
        let (cursor, target) = match log.position() {
            Ok(p) => p,
            Err(e) => {
                return Err(SyncError::new(
                    SyncErrorKind::Log(e),
                    SyncReport::starting(0),
                ));
            }
        };
        let mut run = Run {
            client: self,
            log,
            bundle_id,
            options,
            report: SyncReport::starting(cursor),
            target,
            started,
        };
        let result = run.drive(progress).await;
        run.report.elapsed = started.elapsed();
        match result {
            Ok(()) => Ok(run.report),
            Err(kind) => Err(SyncError::new(kind, run.report)),
        }
    }
}

/// What a sync run needs of a log.
trait Source: Sync {
    /// The cursor and the last seq, read together.
    fn position(&self) -> Result<(u64, u64), LogError>;
    /// The entries after `seq`, up to `upto` at least.
    fn entries(&self, seq: u64, upto: u64) -> LogEntries;
    /// Stores the cursor.
    fn confirm(&self, seq: u64) -> Result<(), LogError>;
}

impl Source for AuditLog {
    fn position(&self) -> Result<(u64, u64), LogError> {
        Ok((self.synced_seq(), self.last_seq()))
    }

    fn entries(&self, seq: u64, _upto: u64) -> LogEntries {
        self.entries_after(seq)
    }

    fn confirm(&self, seq: u64) -> Result<(), LogError> {
        self.mark_synced(seq)
    }
}

impl Source for SyncLog {
    fn position(&self) -> Result<(u64, u64), LogError> {
        SyncLog::position(self)
    }

    fn entries(&self, seq: u64, upto: u64) -> LogEntries {
        self.entries_after(seq, upto)
    }

    fn confirm(&self, seq: u64) -> Result<(), LogError> {
        self.mark_synced(seq)
    }
}

struct Run<'a> {
    client: &'a GrantexClient,
    log: &'a dyn Source,
    bundle_id: &'a str,
    options: &'a SyncOptions,
    report: SyncReport,
    target: u64,
    started: Instant,
}

impl Run<'_> {
    async fn drive(
        &mut self,
        progress: &mut dyn FnMut(&SyncProgress),
    ) -> Result<(), SyncErrorKind> {
        let mut entries = self.log.entries(self.report.cursor, self.target);
        let mut carry: Option<LogRecord> = None;
        let mut pending = PendingBatch {
            body: SyncBatch::new(
                self.bundle_id,
                self.options.device_id.as_deref(),
                self.options.batch_size,
            ),
            hashes: Vec::with_capacity(self.options.batch_size),
            first_prev: String::new(),
        };
        let mut sent_any = false;
        loop {
            fill(&mut pending, &mut entries, &mut carry, self.target)?;
            if pending.body.is_empty() {
                break;
            }
            sent_any = true;
            let mut retries = 0u32;
            let answer = self
                .client
                .sync_batch(&pending.body, self.options.deadline, &mut retries)
                .await;
            self.report.retries += u64::from(retries);
            let confirmed = match answer {
                Ok(ack) => {
                    let sent = pending.body.len() as u64;
                    if ack.accepted < sent {
                        return Err(SyncErrorKind::PartialAck {
                            sent,
                            accepted: ack.accepted,
                        });
                    }
                    self.report.accepted += sent;
                    self.report.revocation_status = ack.revocation_status;
                    self.report.revoked_at = ack.revoked_at;
                    if ack.new_bundle.is_some() {
                        self.report.new_bundle = ack.new_bundle;
                    }
                    pending.body.last_seq()
                }
                Err(error) => match classify(error) {
                    Failure::Conflict(api) => {
                        let mut retries = 0u32;
                        let upto = conflict::resolve(
                            self.client,
                            self.bundle_id,
                            &pending,
                            api,
                            self.options.deadline,
                            &mut retries,
                        )
                        .await;
                        self.report.retries += u64::from(retries);
                        let upto = upto?;
                        self.report.already_stored += upto + 1 - pending.body.first_seq();
                        if upto < pending.body.last_seq() {
                            // The rest of the batch goes again, from the first unconfirmed
                            // entry: read it afresh from disk.
                            entries = self.log.entries(upto, self.target);
                            carry = None;
                        }
                        upto
                    }
                    Failure::Other(kind) => return Err(kind),
                },
            };
            self.log.confirm(confirmed).map_err(SyncErrorKind::Log)?;
            self.report.cursor = confirmed;
            self.report.batches += 1;
            self.report.elapsed = self.started.elapsed();
            progress(&SyncProgress {
                cursor: confirmed,
                target: self.target,
                accepted: self.report.accepted,
                batches: self.report.batches,
            });
            pending.body.clear();
            pending.hashes.clear();
        }
        if !sent_any {
            let mut retries = 0u32;
            let status = self
                .client
                .revocation_status_within(self.bundle_id, self.options.deadline, &mut retries)
                .await;
            self.report.retries += u64::from(retries);
            let status = status.map_err(SyncErrorKind::Client)?;
            self.report.revocation_status = status.state();
            self.report.revoked_at = status.revoked_at;
        }
        Ok(())
    }
}

/// Moves entries from the log into the batch until it is full or the target is reached.
fn fill(
    pending: &mut PendingBatch,
    entries: &mut LogEntries,
    carry: &mut Option<LogRecord>,
    target: u64,
) -> Result<(), SyncErrorKind> {
    loop {
        let record = match carry.take() {
            Some(r) => r,
            None => match entries.next() {
                Some(Ok(r)) => r,
                Some(Err(e)) => return Err(SyncErrorKind::Log(e)),
                None => return Ok(()),
            },
        };
        if record.seq() > target {
            return Ok(());
        }
        match pending.body.push_line(record.seq(), record.line()) {
            Ok(()) => {
                if pending.hashes.is_empty() {
                    pending.first_prev = prev_hash_of(record.line()).unwrap_or_default();
                }
                pending
                    .hashes
                    .push((record.seq(), record.hash().to_string()));
            }
            Err(BatchFull::Bytes) if pending.body.is_empty() => {
                return Err(SyncErrorKind::EntryTooLarge { seq: record.seq() });
            }
            Err(_) => {
                *carry = Some(record);
                return Ok(());
            }
        }
    }
}

/// The `prevHash` field of one wire-format line.
fn prev_hash_of(line: &str) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct Prev {
        #[serde(rename = "prevHash")]
        prev_hash: String,
    }
    serde_json::from_str::<Prev>(line).ok().map(|p| p.prev_hash)
}

enum Failure {
    Conflict(crate::ApiError),
    Other(SyncErrorKind),
}

fn classify(error: ClientError) -> Failure {
    match error {
        ClientError::Api(api) if api.status() == 409 => Failure::Conflict(api),
        ClientError::Api(api) if api.status() == 400 && api.code() == "INVALID_AUDIT_ENTRIES" => {
            Failure::Other(SyncErrorKind::Rejected(api))
        }
        other => Failure::Other(SyncErrorKind::Client(other)),
    }
}

impl RevocationState {
    /// Whether this is [`RevocationState::Revoked`].
    pub fn is_revoked(self) -> bool {
        self == Self::Revoked
    }
}
