//! [`AuditLog`]: the one writer of a log: appends, group commit, rotation, the sync cursor.
//!
//! All state sits behind one mutex. An append builds, hashes and signs its lines under
//! the lock (the chain is sequential by nature), then:
//! - `EveryEntry` / `None`: writes them (and fsyncs) under the lock;
//! - `GroupCommit`: queues them, and waits on a condvar until a flush covers them. If no
//!   flush is running, the appender becomes the leader: it takes the whole queue, drops
//!   the lock, writes and fsyncs it, and wakes everyone. Appenders that arrive during the
//!   flush pile up in the queue and share the next one.
//!
//! A failed write is rolled back (the file truncated to its last committed byte, the
//! chain head reset) so that the next append continues from the last durable entry. Seqs
//! of failed appends are reused; they were never acknowledged.

use std::collections::VecDeque;
use std::fs::{self, File};
use std::path::Path;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};

use gx_core::{AuditSigningKey, EntryError, PrevHash, UnixTime, VerifiedGrant};

use super::codec::{self, ChainHead};
use super::lock::{self, LockFile, LockWait};
use super::reader::LogEntries;
use super::recover::{self, Segment};
use super::segment::{self, LogPaths};
use super::{
    AuditLogConfig, EntryFields, FsyncPolicy, LogError, LogRecord, MAX_ENTRY_BYTES, RepairReport,
};
use crate::SyncCursor;
use crate::fault::{self, FaultPoint};

mod hold;
pub use hold::{AppendHold, MAX_HOLD_WAIT};

/// A durable, crash-safe, hash-chained audit log with exactly one writer.
///
/// Open it with [`AuditLog::open`], append with [`AuditLog::append`] (a verified grant
/// supplies the entry's subject), [`AuditLog::append_fields`] or
/// [`AuditLog::append_batch`], stream entries to sync
/// with [`AuditLog::entries_after`], and record what the server confirmed with
/// [`AuditLog::mark_synced`]. `AuditLog` is `Sync`: share it between threads (in an
/// `Arc`) to let concurrent appends share flushes under [`FsyncPolicy::GroupCommit`].
///
/// See `docs/audit-log.md` for the file layout and the crash guarantees.
pub struct AuditLog {
    paths: LogPaths,
    config: AuditLogConfig,
    state: Mutex<State>,
    flushed: Condvar,
    repair: Option<RepairReport>,
    // Declared last so it is dropped last: the lock outlives every file operation.
    _lock: LockFile,
}

struct State {
    /// The active segment, opened for appending (shared with a group-commit leader).
    active: Arc<File>,
    /// Bytes written to the active segment.
    active_len: u64,
    /// Seq of the first entry written to the active segment.
    active_first: Option<u64>,
    /// Rotated segments, oldest first.
    segments: VecDeque<Segment>,
    /// The chain after the last entry built (queued or written).
    head: ChainHead,
    /// The chain after the last entry whose append may return (written, and flushed
    /// unless the policy is `None`).
    committed: ChainHead,
    /// Group commit: lines built but not yet written.
    pending: Vec<u8>,
    /// Seq of the first queued line.
    pending_first: u64,
    /// A group-commit leader is writing and flushing.
    flushing: bool,
    /// Failed writes that appenders still waiting may need to hear of:
    /// `failures[e - failures_base]` is what failure `e` rolled back to and why. Cleared
    /// whenever no appender waits, so a disk that keeps failing does not grow it.
    failures: Vec<Failure>,
    /// Number of failures forgotten before `failures[0]`.
    failures_base: u64,
    /// Group-commit appenders between queueing and returning.
    waiters: usize,
    /// A rotation renamed or created a segment but the directory `fsync` after it
    /// failed: the next append flushes the directory before it is acknowledged.
    dir_unsynced: bool,
    /// Last seq confirmed by the server.
    cursor: u64,
    key: AuditSigningKey,
    poisoned: bool,
    /// Appends are paused by an [`AppendHold`](hold::AppendHold).
    held: bool,
}

impl AuditLog {
    /// Opens the log at `path` (creating it, mode 0600, if needed), takes its locks
    /// (waiting up to the configured lock timeout for another writer), repairs what a
    /// crash left after the last entry (see [`AuditLog::repair`]) and finds the chain head
    /// to continue from. Entries are signed with `key`.
    ///
    /// `path`'s last component is never followed if it is a symbolic link.
    ///
    /// # Errors
    /// [`LogError::Locked`] when another writer held the log for the whole timeout;
    /// [`LogError::NotRegularFile`] for a symlink or other non-file; [`LogError::Linked`]
    /// for a log with several hard links; [`LogError::CorruptLine`] when a complete line
    /// is damaged or the end of the file is not a torn write;
    /// [`LogError::SyncedEntryDamaged`] when an entry the cursor says was synced is cut
    /// short; [`LogError::HeadLost`] when the entries holding the chain head are gone;
    /// [`LogError::Io`] and [`LogError::CorruptCursor`].
    pub fn open(
        path: impl AsRef<Path>,
        key: AuditSigningKey,
        config: AuditLogConfig,
    ) -> Result<Self, LogError> {
        let paths = LogPaths::new(path.as_ref());
        let wait = LockWait::new(config.lock_timeout);
        let lock = LockFile::acquire(&paths.lock(), &wait)?;
        let rec = recover::recover(&paths, &wait)?;
        let mut state = State {
            active: Arc::new(rec.active),
            active_len: rec.active_len,
            active_first: rec.active_first,
            segments: rec.segments,
            head: rec.head,
            committed: rec.head,
            pending: Vec::new(),
            pending_first: 0,
            flushing: false,
            failures: Vec::new(),
            failures_base: 0,
            waiters: 0,
            dir_unsynced: false,
            cursor: rec.cursor,
            key,
            poisoned: false,
            held: false,
        };
        prune(&paths, config.fsync, &mut state)?;
        Ok(Self {
            paths,
            config,
            state: Mutex::new(state),
            flushed: Condvar::new(),
            repair: rec.repair,
            _lock: lock,
        })
    }

    /// Appends one entry for an action taken under a verified grant: the entry's
    /// `agentDID`, `grantId` and `scopes` are the grant's, the log adds `seq`,
    /// `timestamp`, `prevHash`, `hash` and the signature. Returns the entry once it is as
    /// durable as the policy promises.
    ///
    /// `metadata` is the text of a JSON object (or `None`).
    ///
    /// # Errors
    /// As [`AuditLog::append_fields`].
    pub fn append(
        &self,
        action: &str,
        grant: &VerifiedGrant<'_>,
        result: &str,
        metadata: Option<&str>,
    ) -> Result<LogRecord, LogError> {
        self.append_fields(&EntryFields {
            action,
            agent_did: grant.agent_did(),
            grant_id: grant.grant_id(),
            scopes: grant.scopes(),
            result,
            metadata,
        })
    }

    /// As [`AuditLog::append`], stamping the entry `at` (or the previous entry's
    /// timestamp, if later) instead of reading the system clock: the time its grant was
    /// checked at, so that no entry is stamped later than that check.
    ///
    /// # Errors
    /// As [`AuditLog::append_fields`].
    pub fn append_at(
        &self,
        at: UnixTime,
        action: &str,
        grant: &VerifiedGrant<'_>,
        result: &str,
        metadata: Option<&str>,
    ) -> Result<LogRecord, LogError> {
        let fields = EntryFields {
            action,
            agent_did: grant.agent_did(),
            grant_id: grant.grant_id(),
            scopes: grant.scopes(),
            result,
            metadata,
        };
        let mut records = self.append_batch_at(core::slice::from_ref(&fields), at)?;
        records.pop().ok_or(LogError::Poisoned)
    }

    /// Appends one entry whose subject fields the caller gives directly (tests, tools
    /// without a verified grant) and returns it once it is as durable as the policy
    /// promises.
    ///
    /// # Errors
    /// [`LogError::InvalidEntry`] (nothing written), [`LogError::LogFull`] (nothing
    /// written), [`LogError::Io`] / [`LogError::GroupCommitFailed`] (the entry was rolled
    /// back; the log stays usable), [`LogError::Poisoned`].
    pub fn append_fields(&self, fields: &EntryFields<'_>) -> Result<LogRecord, LogError> {
        let mut records = self.append_batch(core::slice::from_ref(fields))?;
        records.pop().ok_or(LogError::Poisoned)
    }

    /// Appends several entries with one write and one flush; all or none are written.
    ///
    /// # Errors
    /// As [`AuditLog::append_fields`].
    pub fn append_batch(&self, entries: &[EntryFields<'_>]) -> Result<Vec<LogRecord>, LogError> {
        self.append_batch_at(entries, UnixTime::now())
    }

    /// [`append_batch`](Self::append_batch) with the entries stamped `now` (or the
    /// previous entry's timestamp, if later).
    fn append_batch_at(
        &self,
        entries: &[EntryFields<'_>],
        now: UnixTime,
    ) -> Result<Vec<LogRecord>, LogError> {
        if entries.is_empty() {
            return Ok(Vec::new());
        }
        let st = self.lock_state();
        let mut st = self.wait_unheld(st)?;
        if st.poisoned {
            return Err(LogError::Poisoned);
        }
        let first_seq = st.head.seq.saturating_add(1);
        let mut buf = Vec::with_capacity(entries.len() * 512);
        let mut records = Vec::with_capacity(entries.len());
        let mut head = st.head;
        for fields in entries {
            let start = buf.len();
            let (next, hash) =
                codec::encode_entry(&head, now.max(head.timestamp), fields, &st.key, &mut buf)?;
            head = next;
            let bytes = buf.len() - start - 1;
            if bytes > MAX_ENTRY_BYTES {
                return Err(LogError::EntryTooLarge {
                    bytes,
                    limit: MAX_ENTRY_BYTES,
                });
            }
            let line = buf
                .get(start..buf.len().saturating_sub(1))
                .and_then(|l| core::str::from_utf8(l).ok())
                .ok_or(LogError::InvalidEntry(EntryError::NotUtf8))?;
            records.push(LogRecord {
                seq: head.seq,
                hash,
                line: line.to_owned(),
            });
        }
        self.check_cap(&st, buf.len() as u64)?;
        st.head = head;
        match self.config.fsync {
            FsyncPolicy::GroupCommit => self.group_commit(st, &buf, first_seq, head.seq)?,
            policy => self.write_direct(&mut st, &buf, first_seq, policy)?,
        }
        Ok(records)
    }

    /// Replaces the key that signs new entries, e.g. after a bundle refresh brought a new
    /// audit key pair. The chain continues: the next entry links to the last one as
    /// always. Sync every entry signed with the old key before refreshing (the service
    /// checks signatures with the current key only).
    pub fn set_signing_key(&self, key: AuditSigningKey) {
        self.lock_state().key = key;
    }

    /// Forces everything written so far to stable storage. Only useful with
    /// [`FsyncPolicy::None`]; the other policies flush before an append returns.
    ///
    /// # Errors
    /// [`LogError::Io`].
    pub fn sync(&self) -> Result<(), LogError> {
        let file = Arc::clone(&self.lock_state().active);
        let base = self.paths.base();
        fault::call(FaultPoint::LogSync, base, || file.sync_data())
            .map_err(|e| LogError::io("fsync", base, e))
    }

    /// Records that the server confirmed every entry up to `seq`, durably and atomically,
    /// then deletes segments whose entries are all confirmed. A `seq` at or below the
    /// current cursor changes nothing.
    ///
    /// # Errors
    /// [`LogError::CursorAhead`] when `seq` is past the last entry; [`LogError::Io`].
    pub fn mark_synced(&self, seq: u64) -> Result<(), LogError> {
        let mut st = self.lock_state();
        if seq > st.committed.seq {
            return Err(LogError::CursorAhead {
                requested: seq,
                last: st.committed.seq,
            });
        }
        if seq <= st.cursor {
            return Ok(());
        }
        SyncCursor::at(self.paths.cursor()).store(seq)?;
        st.cursor = seq;
        prune(&self.paths, self.config.fsync, &mut st)
    }

    /// Streams the entries after `seq` (up to the last one committed when called), one
    /// line at a time, across segments. Pass [`AuditLog::synced_seq`] to get what still
    /// needs syncing.
    pub fn entries_after(&self, seq: u64) -> LogEntries {
        let upto = self.lock_state().committed.seq;
        LogEntries::new(self.paths.clone(), seq, upto)
    }

    /// The seq of the last committed entry (0 for an empty chain).
    pub fn last_seq(&self) -> u64 {
        self.lock_state().committed.seq
    }

    /// The hash the next entry will link to ([`PrevHash::Genesis`] for an empty chain).
    pub fn last_hash(&self) -> PrevHash {
        self.lock_state().committed.hash
    }

    /// The timestamp of the last committed entry (the epoch for an empty chain). Entry
    /// timestamps never go backwards, so this is a floor for the device's clock.
    pub fn last_timestamp(&self) -> UnixTime {
        self.lock_state().committed.timestamp
    }

    /// The last seq the server confirmed.
    pub fn synced_seq(&self) -> u64 {
        self.lock_state().cursor
    }

    /// How many committed entries the server has not confirmed yet.
    pub fn unsynced_entries(&self) -> u64 {
        let st = self.lock_state();
        st.committed.seq.saturating_sub(st.cursor)
    }

    /// Bytes of torn last line removed when the log was opened (0 after a clean close).
    pub fn torn_bytes_repaired(&self) -> u64 {
        self.repair.as_ref().map_or(0, RepairReport::removed_bytes)
    }

    /// The repair made when the log was opened, if any: what was cut from the end of the
    /// active segment and why. Print it; a repair should never go unnoticed.
    pub fn repair(&self) -> Option<&RepairReport> {
        self.repair.as_ref()
    }

    /// The active segment's path (the path the log was opened with).
    pub fn path(&self) -> &Path {
        self.paths.base()
    }

    /// The configuration in force.
    pub fn config(&self) -> &AuditLogConfig {
        &self.config
    }

    fn lock_state(&self) -> MutexGuard<'_, State> {
        // No code path panics while holding the lock; if one ever did, every field is
        // still valid on its own (updates are single assignments), so keep going.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn check_cap(&self, st: &State, add: u64) -> Result<(), LogError> {
        let Some(limit) = self.config.max_unsynced_bytes else {
            return Ok(());
        };
        let mut unsynced: u64 = st
            .segments
            .iter()
            .filter(|s| s.last > st.cursor)
            .map(|s| s.len)
            .sum();
        if st.head.seq > st.cursor {
            unsynced = unsynced
                .saturating_add(st.active_len)
                .saturating_add(st.pending.len() as u64);
        }
        if unsynced.saturating_add(add) > limit {
            return Err(LogError::LogFull {
                unsynced_bytes: unsynced,
                limit,
            });
        }
        Ok(())
    }

    fn write_direct(
        &self,
        st: &mut State,
        buf: &[u8],
        first_seq: u64,
        policy: FsyncPolicy,
    ) -> Result<(), LogError> {
        let start_len = st.active_len;
        let file = Arc::clone(&st.active);
        match self.flush_lines(&file, buf, policy, st.dir_unsynced) {
            Ok(()) => {
                self.committed_write(st, buf.len() as u64, first_seq, st.head);
                Ok(())
            }
            Err(e) => {
                self.roll_back(st, start_len, &e);
                if st.waiters == 0 {
                    forget_failures(st);
                }
                Err(e)
            }
        }
    }

    /// Writes `buf` to the active segment and makes it as durable as `policy` says
    /// (flushing the directory first if a rotation left it unflushed).
    fn flush_lines(
        &self,
        file: &File,
        buf: &[u8],
        policy: FsyncPolicy,
        dir_unsynced: bool,
    ) -> Result<(), LogError> {
        let base = self.paths.base();
        fault::write_all(FaultPoint::LogWrite, base, file, buf)
            .map_err(|e| LogError::io("write", base, e))?;
        if policy == FsyncPolicy::None {
            return Ok(());
        }
        fault::call(FaultPoint::LogSync, base, || file.sync_data())
            .map_err(|e| LogError::io("fsync", base, e))?;
        if dir_unsynced {
            self.sync_log_dir()?;
        }
        Ok(())
    }

    /// Makes renames and new files in the log's directory durable.
    fn sync_log_dir(&self) -> Result<(), LogError> {
        segment::sync_dir(&self.paths)
    }

    fn group_commit<'a>(
        &'a self,
        mut st: MutexGuard<'a, State>,
        buf: &[u8],
        first_seq: u64,
        my_last: u64,
    ) -> Result<(), LogError> {
        if st.pending.is_empty() {
            st.pending_first = first_seq;
        }
        st.pending.extend_from_slice(buf);
        let my_epoch = st.failures_base + st.failures.len() as u64;
        st.waiters += 1;
        let (mut st, res) = self.await_flush(st, my_epoch, my_last);
        st.waiters -= 1;
        if st.waiters == 0 {
            forget_failures(&mut st);
        }
        res
    }

    /// Waits (leading a flush when none runs) until a flush covers `my_last` or a
    /// failure at or after `my_epoch` rolls it back.
    fn await_flush<'a>(
        &'a self,
        mut st: MutexGuard<'a, State>,
        my_epoch: u64,
        my_last: u64,
    ) -> (MutexGuard<'a, State>, Result<(), LogError>) {
        let mut own_error = None;
        loop {
            // `my_epoch >= failures_base`: failures are forgotten only with no waiter.
            let index =
                usize::try_from(my_epoch.saturating_sub(st.failures_base)).unwrap_or(usize::MAX);
            if let Some(&failure) = st.failures.get(index) {
                // A write failed after we queued: we survived only if it came after ours.
                if my_last <= failure.floor {
                    return (st, Ok(()));
                }
                if let Some(e) = own_error {
                    return (st, Err(e));
                }
                let err = LogError::GroupCommitFailed {
                    op: failure.op,
                    path: self.paths.base().to_path_buf(),
                    kind: failure.kind,
                };
                return (st, Err(err));
            }
            if st.committed.seq >= my_last {
                return (st, Ok(()));
            }
            if !st.flushing && !st.pending.is_empty() {
                let (guard, err) = self.lead(st);
                st = guard;
                if err.is_some() {
                    own_error = err;
                }
                continue;
            }
            st = self
                .flushed
                .wait(st)
                .unwrap_or_else(PoisonError::into_inner);
        }
    }

    /// Writes and flushes the whole queue with the lock released, then wakes everyone.
    fn lead<'a>(
        &'a self,
        mut st: MutexGuard<'a, State>,
    ) -> (MutexGuard<'a, State>, Option<LogError>) {
        let batch = core::mem::take(&mut st.pending);
        let batch_head = st.head;
        let batch_first = st.pending_first;
        let start_len = st.active_len;
        let file = Arc::clone(&st.active);
        let dir_unsynced = st.dir_unsynced;
        st.flushing = true;
        drop(st);
        let res = self.flush_lines(&file, &batch, FsyncPolicy::GroupCommit, dir_unsynced);
        let mut st = self.lock_state();
        st.flushing = false;
        let err = match res {
            Ok(()) => {
                self.committed_write(&mut st, batch.len() as u64, batch_first, batch_head);
                None
            }
            Err(e) => {
                self.roll_back(&mut st, start_len, &e);
                Some(e)
            }
        };
        if st.pending.is_empty() {
            // Hand the allocation back for the next group.
            let mut batch = batch;
            batch.clear();
            st.pending = batch;
        }
        self.flushed.notify_all();
        (st, err)
    }

    fn committed_write(&self, st: &mut State, len: u64, first_seq: u64, head: ChainHead) {
        if self.config.fsync != FsyncPolicy::None {
            st.dir_unsynced = false;
        }
        st.active_len = st.active_len.saturating_add(len);
        st.active_first.get_or_insert(first_seq);
        st.committed = head;
        if st.active_len >= self.config.segment_max_bytes {
            // The entries are durable whatever happens here. A failed rotation leaves the
            // active segment in place (or poisons the log if it cannot reopen it); the
            // next commit tries again.
            let _ = self.rotate(st);
        }
    }

    /// Undoes a failed write: truncate to the last committed byte, drop queued lines,
    /// reset the chain head, and tell waiters their group failed.
    fn roll_back(&self, st: &mut State, len: u64, cause: &LogError) {
        let (op, kind) = match cause {
            LogError::Io { op, source, .. } => (*op, source.kind()),
            _ => ("write", std::io::ErrorKind::Other),
        };
        st.failures.push(Failure {
            floor: st.committed.seq,
            op,
            kind,
        });
        st.head = st.committed;
        st.pending.clear();
        let active = Arc::clone(&st.active);
        if fault::call(FaultPoint::LogTruncate, self.paths.base(), || {
            active.set_len(len)?;
            active.sync_data()
        })
        .is_err()
        {
            st.poisoned = true;
        }
    }

    /// Renames the active segment to `<log>.<first seq>` and starts a new one.
    fn rotate(&self, st: &mut State) -> Result<(), LogError> {
        let Some(first) = st.active_first else {
            return Ok(());
        };
        let base = self.paths.base();
        // Make the segment complete on disk before it gets its final name: only the
        // active segment may ever end in a torn line.
        let active = Arc::clone(&st.active);
        fault::call(FaultPoint::RotateSync, base, || active.sync_all())
            .map_err(|e| LogError::io("fsync", base, e))?;
        let seg_path = self.paths.segment(first);
        fault::rename(FaultPoint::RotateRename, base, base, &seg_path)
            .map_err(|e| LogError::io("rename", base, e))?;
        let new = match fault::call(FaultPoint::RotateOpen, base, || {
            open_successor(base).map_err(|e| match e {
                LogError::Io { source, .. } => source,
                other => std::io::Error::other(other.to_string()),
            })
        }) {
            Ok(f) => f,
            Err(e) => {
                // Appends would go to the renamed file; reopening the log sorts it out.
                st.poisoned = true;
                return Err(LogError::io("open", base, e));
            }
        };
        // The state follows the files before anything else can fail: appends must go
        // to the new active segment, and a later rotation must never rename another
        // file over this segment.
        st.segments.push_back(Segment {
            last: st.committed.seq,
            len: st.active_len,
            path: seg_path,
        });
        st.active = Arc::new(new);
        st.active_len = 0;
        st.active_first = None;
        if let Err(e) = self.sync_log_dir() {
            // The rename may not survive a power cut yet: flush the directory before the
            // next append is acknowledged.
            st.dir_unsynced = true;
            return Err(e);
        }
        prune(&self.paths, self.config.fsync, st)
    }
}

/// Creates and locks the active segment that follows a rotated one. The name was just
/// renamed away, so anything found there now (a file, a link) was planted, or another
/// writer got in after the lock file was deleted: either way this writer stops.
fn open_successor(base: &Path) -> Result<File, LogError> {
    let opened = recover::open_active(base)?;
    let taken = opened.created
        && lock::try_lock(&opened.file).map_err(|e| LogError::io("lock", base, e))?;
    if !taken {
        return Err(LogError::Locked {
            path: base.to_path_buf(),
            waited: core::time::Duration::ZERO,
        });
    }
    Ok(opened.file)
}

/// Drops the failures no appender waits to hear of.
fn forget_failures(st: &mut State) {
    st.failures_base = st.failures_base.saturating_add(st.failures.len() as u64);
    st.failures.clear();
}

/// A failed write and what it rolled back to.
#[derive(Clone, Copy, Debug)]
struct Failure {
    /// `committed.seq` when the failure rolled back: appends up to it survived.
    floor: u64,
    /// The operation that failed.
    op: &'static str,
    /// Its error kind.
    kind: std::io::ErrorKind,
}

impl core::fmt::Debug for AuditLog {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("AuditLog")
            .field("path", &self.paths.base())
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

/// Deletes the oldest segments once every entry in them is confirmed, keeping the one
/// that holds the chain head until a later entry is durable elsewhere.
fn prune(paths: &LogPaths, policy: FsyncPolicy, st: &mut State) -> Result<(), LogError> {
    let mut removed = false;
    while let Some(seg) = st.segments.front() {
        if seg.last > st.cursor || seg.last >= st.committed.seq {
            break;
        }
        if !removed && policy == FsyncPolicy::None {
            // Under `None` the later entries may not be on disk yet.
            st.active
                .sync_data()
                .map_err(|e| LogError::io("fsync", paths.base(), e))?;
        }
        fs::remove_file(&seg.path).map_err(|e| LogError::io("remove", &seg.path, e))?;
        st.segments.pop_front();
        removed = true;
    }
    if removed {
        segment::sync_dir(paths)?;
    }
    Ok(())
}

#[cfg(all(test, feature = "_fault-injection"))]
mod tests;
