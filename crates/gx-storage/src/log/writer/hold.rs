//! [`AppendHold`]: pausing appends while the key that signs them is replaced.
//!
//! A bundle refresh must sync every entry signed with the old audit key, ask the server
//! for the new bundle, then switch the log to the new key; the server refuses old-key
//! entries from then on. An entry appended between the last sync and the switch would be
//! stranded, so the refresh holds appends for that window (one round trip). Appenders
//! wait, up to [`MAX_HOLD_WAIT`]; past that they get [`LogError::Held`] and nothing is
//! written, so an appender that shares a single-threaded runtime with the refresh cannot
//! deadlock it.

use core::fmt;
use core::time::Duration;
use std::sync::{MutexGuard, PoisonError};
use std::time::Instant;

use super::{AuditLog, State};
use crate::LogError;

/// The longest an append waits for a hold to end before failing with [`LogError::Held`].
pub const MAX_HOLD_WAIT: Duration = Duration::from_secs(10);

/// While this guard lives, appends to its log wait (see [`AuditLog::hold_appends`]).
/// Dropping it lets them go on.
#[must_use = "appends resume as soon as the hold is dropped"]
pub struct AppendHold<'a> {
    log: &'a AuditLog,
}

impl fmt::Debug for AppendHold<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AppendHold")
            .field("log", &self.log.path())
            .finish()
    }
}

impl Drop for AppendHold<'_> {
    fn drop(&mut self) {
        self.log.lock_state().held = false;
        self.log.flushed.notify_all();
    }
}

impl AuditLog {
    /// Pauses appends until the returned guard is dropped: appenders wait (at most
    /// [`MAX_HOLD_WAIT`], then [`LogError::Held`]). Reading, syncing and
    /// [`AuditLog::mark_synced`] go on. A second hold waits for the first to end.
    ///
    /// Used by a bundle refresh around "sync the rest, refresh, switch the key", so no
    /// entry can be signed with a key the server has just stopped accepting.
    pub fn hold_appends(&self) -> AppendHold<'_> {
        let mut st = self.lock_state();
        while st.held {
            st = self
                .flushed
                .wait(st)
                .unwrap_or_else(PoisonError::into_inner);
        }
        st.held = true;
        AppendHold { log: self }
    }

    /// Waits while appends are held; the state lock is held again on return.
    pub(super) fn wait_unheld<'a>(
        &'a self,
        mut st: MutexGuard<'a, State>,
    ) -> Result<MutexGuard<'a, State>, LogError> {
        let deadline = Instant::now() + MAX_HOLD_WAIT;
        while st.held {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(LogError::Held {
                    waited: MAX_HOLD_WAIT,
                });
            }
            st = self
                .flushed
                .wait_timeout(st, left)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
        Ok(st)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::mpsc;

    use gx_core::AuditSigningKey;

    use super::super::tests::fields;
    use crate::{AuditLog, AuditLogConfig, FsyncPolicy};

    #[test]
    fn appends_wait_for_the_hold_and_reads_do_not() {
        let dir = tempfile::tempdir().unwrap();
        let key = AuditSigningKey::from_bytes(&[5; 32]);
        let log = AuditLog::open(
            dir.path().join("audit.jsonl"),
            key,
            AuditLogConfig::new(FsyncPolicy::None),
        )
        .unwrap();
        log.append_fields(&fields()).unwrap();
        let (done_tx, done_rx) = mpsc::channel();
        std::thread::scope(|scope| {
            let hold = log.hold_appends();
            scope.spawn(|| {
                let seq = log.append_fields(&fields()).map(|r| r.seq());
                done_tx.send(seq).unwrap();
            });
            // While held: the append has not happened, reading and marking go on.
            assert!(
                done_rx
                    .recv_timeout(core::time::Duration::from_millis(200))
                    .is_err()
            );
            assert_eq!(log.last_seq(), 1);
            assert_eq!(log.entries_after(0).count(), 1);
            log.mark_synced(1).unwrap();
            drop(hold);
            assert_eq!(done_rx.recv().unwrap().unwrap(), 2);
        });
        assert_eq!(log.last_seq(), 2);
    }
}
