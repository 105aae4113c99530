//! [`DeviceSession`]: the one owner of a device's offline state.
//!
//! A device acting offline needs, together: the bundle file and its key, the JWKS
//! snapshot parsed once into gx-core's [`JwksSnapshot`], the verifier's memo, the time
//! floor, the revocation marker, the refresh journal, the audit log and the audit key
//! history. The session holds all of them, and every offline action goes through it, so
//! every entry point (the Guard, each `gx` command, the demo) enforces the same rules:
//!
//! - revoked means refused, also after a restart ([`RevocationMarker`], read on every
//!   [`authorize`](DeviceSession::authorize));
//! - a pending refresh means refused (`REFRESH_PENDING`, see the `journal` module);
//! - the time used is never below the floor, and the floor is raised by the bundle's
//!   `checkpointAt`, the last entry and every clock reading; an entry is stamped with the
//!   time its grant was checked at;
//! - entries are appended through [`AuditLog::append_at`] with the verified grant;
//! - the log verifies across refreshes with the key history
//!   ([`verify_log`](DeviceSession::verify_log)).
//!
//! Call order: [`open`](DeviceSession::open) → for each action
//! [`authorize`](DeviceSession::authorize) then [`record`](DeviceSession::record) (or
//! [`append`](DeviceSession::append) for both) → online, a sync reports revocation with
//! [`learn_revoked`](DeviceSession::learn_revoked), and a refresh runs
//! [`begin_refresh`](DeviceSession::begin_refresh) → server →
//! [`complete_refresh`](DeviceSession::complete_refresh).
//!
//! Memory: the session owns the bundle (a few KiB), the parsed snapshot (about 3 KiB)
//! and borrows the caller's memo slots for `'m`; each verification decodes the token into
//! a fresh [`DECODE_BUF_LEN`] buffer. Files beside the bundle `b.gx`: `b.gx.revoked`,
//! `b.gx.floor`, `b.gx.refresh`; all small, all written by the one atomic helper.

mod clock;
mod error;
mod history;
mod journal;
mod revocation;

pub use clock::{Clock, ManualClock, SystemClock};
pub use error::{DeviceError, GrantError};
pub use history::{AuditKeyHistory, KeyHistoryError, KeyRecord, MAX_KEY_RECORDS};
pub use revocation::{RevocationError, RevocationMarker, Revoked};

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use gx_core::{
    AuditSigningKey, AuditVerifyingKey, CryptoProvider, DECODE_BUF_LEN, JwksSnapshot, MemoSlot,
    UnixTime, VerificationMemo, Verifier, VerifierOptions,
};
use zeroize::Zeroizing;

use crate::{
    AuditLog, AuditLogConfig, BundleError, BundleFile, BundleKey, ConsentBundle, KeySpan,
    LogRecord, TimeFloor, VerifyReport, verify_log_keys,
};
use journal::{Pending, RefreshJournal};

/// How many times [`DeviceSession::complete_refresh`] tries to store the new bundle.
const STORE_ATTEMPTS: u32 = 3;

/// How a [`DeviceSession`] is opened: clock, verifier settings, the log, memo slots.
pub struct DeviceOptions<'m> {
    clock: Arc<dyn Clock>,
    skew_secs: u64,
    max_depth: Option<u32>,
    log: Option<(PathBuf, AuditLogConfig)>,
    memo: &'m mut [MemoSlot],
}

impl DeviceOptions<'static> {
    /// The system clock, 30 s of skew, no delegation limit, no log, no memo.
    pub fn new() -> Self {
        Self {
            clock: Arc::new(SystemClock),
            skew_secs: 30,
            max_depth: None,
            log: None,
            memo: &mut [],
        }
    }
}

impl Default for DeviceOptions<'static> {
    fn default() -> Self {
        Self::new()
    }
}

impl<'m> DeviceOptions<'m> {
    /// Reads `clock` instead of the system clock (tests, simulations).
    #[must_use]
    pub fn with_clock(mut self, clock: impl Clock + 'static) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// Allows `secs` of clock skew on the token's times (default 30).
    #[must_use]
    pub fn with_clock_skew_secs(mut self, secs: u64) -> Self {
        self.skew_secs = secs;
        self
    }

    /// Refuses grants delegated more than `max` times.
    #[must_use]
    pub fn with_max_delegation_depth(mut self, max: u32) -> Self {
        self.max_depth = Some(max);
        self
    }

    /// Opens the audit log at `path` with the session (taking its lock): needed to
    /// append, sync and refresh.
    #[must_use]
    pub fn with_log(mut self, path: impl Into<PathBuf>, config: AuditLogConfig) -> Self {
        self.log = Some((path.into(), config));
        self
    }

    /// Remembers verified tokens in `slots` (4 are plenty: one token, plus one per
    /// refresh while it is in flight), so the RSA check is paid once.
    pub fn with_memo<'n>(self, slots: &'n mut [MemoSlot]) -> DeviceOptions<'n> {
        DeviceOptions {
            clock: self.clock,
            skew_secs: self.skew_secs,
            max_depth: self.max_depth,
            log: self.log,
            memo: slots,
        }
    }
}

/// The bundle in force and what is derived from it.
struct Current<P: CryptoProvider> {
    bundle: Arc<ConsentBundle>,
    snapshot: Arc<JwksSnapshot<P>>,
    public_key: AuditVerifyingKey,
}

/// Proof that the grant verified at a time: what [`DeviceSession::record`] stamps the
/// entry with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Authorization {
    at: UnixTime,
    scope_granted: bool,
}

impl Authorization {
    /// The floor-bounded time the grant was checked at.
    pub fn at(&self) -> UnixTime {
        self.at
    }

    /// Whether the grant holds the scope asked for (always true when none was).
    pub fn scope_granted(&self) -> bool {
        self.scope_granted
    }
}

/// A refresh that was journaled: the server may switch keys from here on.
#[derive(Debug)]
#[must_use = "complete or abort the refresh"]
pub struct RefreshTicket {
    from_seq: u64,
}

impl RefreshTicket {
    /// The seq the new key will sign from.
    pub fn from_seq(&self) -> u64 {
        self.from_seq
    }
}

/// The one owner of a device's offline state (see the module docs).
///
/// `P` is gx-core's RSA provider (`AwsLcRs` on std targets). The session is `Sync`:
/// share it (in an `Arc`) between the threads of an agent.
pub struct DeviceSession<'m, P: CryptoProvider> {
    file: BundleFile,
    key: BundleKey,
    current: Mutex<Current<P>>,
    memo: Mutex<VerificationMemo<'m>>,
    floor: Mutex<TimeFloor>,
    marker: RevocationMarker,
    journal: RefreshJournal,
    log: Option<Arc<AuditLog>>,
    clock: Arc<dyn Clock>,
    skew_secs: u64,
    max_depth: Option<u32>,
}

impl<P: CryptoProvider> core::fmt::Debug for DeviceSession<'_, P> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("DeviceSession")
            .field("bundle", &self.file.path())
            .field("log", &self.log.as_ref().map(|l| l.path().to_path_buf()))
            .finish_non_exhaustive()
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // No code path panics while holding these locks; each value stays valid on its own.
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl<'m, P: CryptoProvider + Default> DeviceSession<'m, P> {
    /// Opens the device state of the bundle file at `bundle_path`, decrypted with `key`:
    /// loads and checks the bundle (its key history must end in its audit key), parses
    /// the JWKS snapshot, opens the floor, and the log when `options` name one. A
    /// journal left by a refresh that completed before a crash is removed.
    ///
    /// The log is opened (its lock taken) before the bundle is read a second time: a
    /// refresh by another process holds the lock while it replaces the bundle, so the
    /// log always signs with the bundle's current key.
    ///
    /// # Errors
    /// [`DeviceError::Bundle`], [`DeviceError::KeyHistory`], [`DeviceError::Jwks`],
    /// [`DeviceError::AuditKey`], [`DeviceError::Log`], [`DeviceError::Floor`],
    /// [`DeviceError::Journal`].
    pub fn open(
        bundle_path: impl Into<PathBuf>,
        key: BundleKey,
        options: DeviceOptions<'m>,
    ) -> Result<Self, DeviceError> {
        let file = BundleFile::new(bundle_path);
        let (mut bytes, mut bundle) = load(&file, &key)?;
        let log = match options.log {
            None => None,
            Some((path, config)) => {
                let log = AuditLog::open(&path, signing_key(&bundle)?, config)?;
                let again = Zeroizing::new(read_file(&file)?);
                if *again != *bytes {
                    // Replaced between the first read and the lock: use the new one.
                    let (b, reloaded) = load(&file, &key)?;
                    bytes = b;
                    bundle = reloaded;
                    log.set_signing_key(signing_key(&bundle)?);
                }
                Some(Arc::new(log))
            }
        };
        drop(bytes);
        let current = derive(bundle)?;
        let bundle_path = file.path().to_path_buf();
        let mut floor = TimeFloor::open(beside(&bundle_path, ".floor"))?;
        floor.raise(current.bundle.checkpoint_at());
        if let Some(log) = &log {
            floor.raise(log.last_timestamp());
        }
        // Best effort: every source of this floor is durable already (the bundle, the log),
        // and a read-only directory must not stop a read-only command.
        let _ = floor.persist();
        let session = Self {
            marker: RevocationMarker::beside(&bundle_path),
            journal: RefreshJournal::beside(&bundle_path),
            file,
            key,
            current: Mutex::new(current),
            memo: Mutex::new(VerificationMemo::new(options.memo)),
            floor: Mutex::new(floor),
            log,
            clock: options.clock,
            skew_secs: options.skew_secs,
            max_depth: options.max_depth,
        };
        session.clear_stale_journal()?;
        Ok(session)
    }
}

impl<'m, P: CryptoProvider + Default> DeviceSession<'m, P> {
    /// The bundle in force (it changes when a refresh completes).
    pub fn bundle(&self) -> Arc<ConsentBundle> {
        Arc::clone(&lock(&self.current).bundle)
    }

    /// The parsed JWKS snapshot of the bundle in force.
    pub fn jwks(&self) -> Arc<JwksSnapshot<P>> {
        Arc::clone(&lock(&self.current).snapshot)
    }

    /// The bundle file.
    pub fn bundle_file(&self) -> &BundleFile {
        &self.file
    }

    /// The audit log.
    ///
    /// # Errors
    /// [`DeviceError::NoLog`] when the session was opened without one.
    pub fn log(&self) -> Result<&Arc<AuditLog>, DeviceError> {
        self.log.as_ref().ok_or(DeviceError::NoLog)
    }

    /// The audit keys the log was signed with and where each starts (the key history of
    /// the bundle in force).
    pub fn key_spans(&self) -> Vec<KeySpan> {
        let cur = lock(&self.current);
        cur.bundle.key_history().spans(&cur.public_key)
    }

    /// Verifies the log at `path` (all its segments) under the key history: a log that
    /// lived through any number of refreshes verifies end to end.
    ///
    /// # Errors
    /// As [`verify_log_keys`].
    pub fn verify_log(&self, path: impl AsRef<Path>) -> Result<VerifyReport, crate::LogError> {
        verify_log_keys(path, &self.key_spans())
    }

    /// The current floor.
    pub fn floor(&self) -> UnixTime {
        lock(&self.floor).floor()
    }

    /// The time to act at: `explicit` (an operator's `--now`) or a clock reading, never
    /// earlier than the floor, the last entry or the bundle's `checkpointAt`. A clock
    /// reading raises the floor (in memory; it is stored at a refusal, a refresh and
    /// when the session closes): a time once seen is never undone, so a later reading
    /// in the past cannot revive a grant. An explicit time is bounded by the floor but
    /// does not raise it (an operator asking "what if" must not expire the bundle); an
    /// entry written at it does, through the log.
    pub fn now(&self, explicit: Option<UnixTime>) -> UnixTime {
        let reading = explicit.unwrap_or_else(|| self.clock.now());
        let checkpoint = lock(&self.current).bundle.checkpoint_at();
        let last = self
            .log
            .as_ref()
            .map_or(UnixTime::EPOCH, |l| l.last_timestamp());
        let mut floor = lock(&self.floor);
        floor.raise(checkpoint.max(last));
        let at = reading.max(floor.floor());
        if explicit.is_none() {
            floor.raise(at);
        }
        at
    }

    /// What the revocation marker says about the bundle in force.
    ///
    /// # Errors
    /// [`DeviceError::Revoked`], or [`DeviceError::Revocation`] when the marker cannot
    /// be read (treated as revoked).
    pub fn check_revoked(&self) -> Result<(), DeviceError> {
        let id = self.bundle();
        Ok(self.marker.ensure_not_revoked(id.bundle_id())?)
    }

    /// Whether the device learned that its bundle was revoked (an unreadable marker
    /// counts as revoked).
    pub fn is_revoked(&self) -> bool {
        self.check_revoked().is_err()
    }

    /// Records, durably, that the server said the bundle is revoked (a sync or a status
    /// call): from now on every action is refused, also after a restart.
    ///
    /// # Errors
    /// [`DeviceError::Revocation`] when the marker cannot be written.
    pub fn learn_revoked(&self, revoked_at: Option<String>) -> Result<(), DeviceError> {
        let bundle = self.bundle();
        self.marker
            .record(&Revoked::new(bundle.bundle_id(), revoked_at))?;
        Ok(())
    }

    /// The revocation marker file.
    pub fn revocation_marker(&self) -> &RevocationMarker {
        &self.marker
    }

    /// Whether a refresh is pending (its journal exists and names the key in force).
    pub fn refresh_pending(&self) -> bool {
        self.check_no_refresh().is_err()
    }

    /// Checks that the device may act now and that the grant verifies, at
    /// [`now(at)`](Self::now): not revoked, no refresh pending, the token valid (with
    /// `required_scope` looked up, not enforced: see
    /// [`Authorization::scope_granted`]). A refusal stores the floor, so a clock set back
    /// later cannot undo it.
    ///
    /// # Errors
    /// [`DeviceError::Revoked`], [`DeviceError::RefreshPending`], [`DeviceError::Grant`],
    /// and the I/O errors of the marker and the journal.
    pub fn authorize(
        &self,
        required_scope: Option<&str>,
        at: Option<UnixTime>,
    ) -> Result<Authorization, DeviceError> {
        self.check_revoked()?;
        self.check_no_refresh()?;
        let at = self.now(at);
        let mut granted = true;
        let verified = self.with_grant(at, |grant| {
            granted = required_scope.is_none_or(|s| grant.has_scope(s));
        });
        if let Err(e) = verified {
            // The reading proved the time is at least `at`: keep that across restarts.
            let _ = lock(&self.floor).persist();
            return Err(e);
        }
        Ok(Authorization {
            at,
            scope_granted: granted,
        })
    }

    /// Writes one entry for an action authorized by `auth`: the grant's subject, stamped
    /// at `auth.at()`, signed with the audit key in force. `metadata` is one JSON
    /// object's text. The grant is verified again at `auth.at()` (a memo hit: no RSA).
    ///
    /// # Errors
    /// [`DeviceError::NoLog`], [`DeviceError::Grant`], [`DeviceError::Log`].
    pub fn record(
        &self,
        auth: &Authorization,
        action: &str,
        result: &str,
        metadata: Option<&str>,
    ) -> Result<LogRecord, DeviceError> {
        let log = self.log()?;
        let mut out = None;
        self.with_grant(auth.at, |grant| {
            out = Some(log.append_at(auth.at, action, grant, result, metadata));
        })?;
        match out {
            Some(r) => Ok(r?),
            None => Err(DeviceError::NoLog),
        }
    }

    /// [`authorize`](Self::authorize) then [`record`](Self::record): one audited action
    /// at `at` (or now), as `gx audit append` does.
    ///
    /// # Errors
    /// As the two.
    pub fn append(
        &self,
        action: &str,
        result: &str,
        metadata: Option<&str>,
        at: Option<UnixTime>,
    ) -> Result<LogRecord, DeviceError> {
        let auth = self.authorize(None, at)?;
        self.record(&auth, action, result, metadata)
    }

    /// Verifies the grant in force at `at` and hands it to `f`.
    fn with_grant(
        &self,
        at: UnixTime,
        f: impl FnOnce(&gx_core::VerifiedGrant<'_>),
    ) -> Result<(), DeviceError> {
        let (bundle, snapshot) = {
            let cur = lock(&self.current);
            (Arc::clone(&cur.bundle), Arc::clone(&cur.snapshot))
        };
        let mut options = VerifierOptions::new().with_clock_skew_secs(self.skew_secs);
        if let Some(max) = self.max_depth {
            options = options.with_max_delegation_depth(max);
        }
        let verifier = Verifier::new(&snapshot, options).map_err(GrantError::from)?;
        let mut buf = vec![0u8; DECODE_BUF_LEN];
        let verified = {
            let mut memo = lock(&self.memo);
            verifier.verify_memoized(bundle.grant_token(), at, &mut buf, &mut memo)
        };
        match verified {
            Ok(grant) => {
                f(&grant);
                Ok(())
            }
            Err(e) => Err(GrantError::from(e).into()),
        }
    }

    /// Refuses while a refresh journal names the key in force; removes a journal left by
    /// a refresh that completed (its key is no longer in force).
    fn check_no_refresh(&self) -> Result<(), DeviceError> {
        if !self.journal.exists() {
            return Ok(());
        }
        let current = lock(&self.current).public_key;
        match self.journal.load()? {
            None => Ok(()),
            Some(Some(p)) if !p.replaces(&current) => {
                self.journal.finish()?;
                Ok(())
            }
            Some(_) => Err(DeviceError::RefreshPending {
                path: self.journal.path().to_path_buf(),
            }),
        }
    }

    fn clear_stale_journal(&self) -> Result<(), DeviceError> {
        match self.check_no_refresh() {
            Err(DeviceError::RefreshPending { .. }) | Ok(()) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Journals a refresh: after this returns, every append is refused until
    /// [`complete_refresh`](Self::complete_refresh) stores the new bundle (or
    /// [`abort_refresh`](Self::abort_refresh) says the server did not switch keys). Call
    /// it with the log's appends held and every entry synced, just before asking the
    /// server.
    ///
    /// # Errors
    /// [`DeviceError::NoLog`], [`DeviceError::Revoked`], [`DeviceError::Journal`] (then
    /// nothing changed: do not ask the server).
    pub fn begin_refresh(&self) -> Result<RefreshTicket, DeviceError> {
        self.check_revoked()?;
        let log = self.log()?;
        let from_seq = log.last_seq().saturating_add(1);
        let (id, public_key) = {
            let cur = lock(&self.current);
            (cur.bundle.bundle_id().to_owned(), cur.public_key)
        };
        self.journal
            .begin(&Pending::new(&id, &public_key, from_seq))?;
        Ok(RefreshTicket { from_seq })
    }

    /// Undoes [`begin_refresh`](Self::begin_refresh) when the server certainly did not
    /// switch keys (it refused, or the request never left).
    ///
    /// # Errors
    /// [`DeviceError::Journal`]: the refresh stays pending (fail closed).
    pub fn abort_refresh(&self, ticket: RefreshTicket) -> Result<(), DeviceError> {
        let _ = ticket;
        Ok(self.journal.finish()?)
    }

    /// Makes the refreshed bundle the device's: records the key it replaces in the key
    /// history (endorsed by the old key), stores it in the bundle file (retrying a failed
    /// store), raises the floor to its `checkpointAt`, switches the log to the new key and
    /// removes the journal. If the store still fails, the journal stays and appends stay
    /// refused: refresh again (the server issues yet another key; nothing was signed with
    /// the lost one).
    ///
    /// # Errors
    /// [`DeviceError::BundleMismatch`], [`DeviceError::AuditKey`], [`DeviceError::Jwks`],
    /// [`DeviceError::Bundle`] (the store failed every time), [`DeviceError::Journal`]
    /// (stored and switched, but the journal could not be removed; the next action or
    /// open removes it).
    pub fn complete_refresh(
        &self,
        ticket: RefreshTicket,
        refreshed: ConsentBundle,
    ) -> Result<Arc<ConsentBundle>, DeviceError> {
        let old = self.bundle();
        if refreshed.bundle_id() != old.bundle_id() {
            return Err(DeviceError::BundleMismatch {
                expected: old.bundle_id().to_owned(),
            });
        }
        let old_signing = signing_key(&old)?;
        let new_signing = signing_key(&refreshed)?;
        let history = old.key_history().rotated(
            old.bundle_id(),
            &old_signing,
            new_signing.verifying_key(),
            ticket.from_seq,
        );
        let refreshed = refreshed.with_key_history(history);
        let next = derive(refreshed)?;
        let mut last = None;
        for _ in 0..STORE_ATTEMPTS {
            match self.file.store(&next.bundle, &self.key) {
                Ok(()) => {
                    last = None;
                    break;
                }
                Err(e) => last = Some(e),
            }
        }
        if let Some(e) = last {
            return Err(DeviceError::Bundle(e));
        }
        {
            let mut floor = lock(&self.floor);
            floor.raise(next.bundle.checkpoint_at());
            // The bundle itself carries the checkpoint; failing to store the floor
            // loses nothing.
            let _ = floor.persist();
        }
        if let Some(log) = &self.log {
            log.set_signing_key(new_signing);
        }
        let bundle = Arc::clone(&next.bundle);
        *lock(&self.current) = next;
        lock(&self.memo).clear();
        self.journal.finish()?;
        Ok(bundle)
    }
}

impl<P: CryptoProvider> Drop for DeviceSession<'_, P> {
    fn drop(&mut self) {
        // Clock readings raised the floor in memory; keep them (best effort).
        let _ = lock(&self.floor).persist();
    }
}

/// Reads and decrypts the bundle file; returns the raw bytes too (to detect a
/// replacement later).
fn load(
    file: &BundleFile,
    key: &BundleKey,
) -> Result<(Zeroizing<Vec<u8>>, ConsentBundle), DeviceError> {
    let bytes = Zeroizing::new(read_file(file)?);
    let mut plain = Zeroizing::new(bytes.to_vec());
    let (bundle, _) = BundleFile::unseal(&mut plain, key)?;
    Ok((bytes, bundle))
}

fn read_file(file: &BundleFile) -> Result<Vec<u8>, DeviceError> {
    fs::read(file.path()).map_err(|e| DeviceError::Bundle(BundleError::io(file.path(), e)))
}

/// The audit signing key of a bundle.
fn signing_key(bundle: &ConsentBundle) -> Result<AuditSigningKey, DeviceError> {
    AuditSigningKey::from_pkcs8_pem(bundle.offline_audit_key().private_key.expose_pem())
        .map_err(DeviceError::AuditKey)
}

/// Checks a bundle's key history and parses its snapshot.
fn derive<P: CryptoProvider + Default>(bundle: ConsentBundle) -> Result<Current<P>, DeviceError> {
    let public_key = signing_key(&bundle)?.verifying_key();
    bundle
        .key_history()
        .check(bundle.bundle_id(), &public_key)
        .map_err(DeviceError::KeyHistory)?;
    let snapshot = JwksSnapshot::<P>::parse(bundle.jwks_snapshot_json().as_bytes())
        .map_err(DeviceError::Jwks)?;
    Ok(Current {
        bundle: Arc::new(bundle),
        snapshot: Arc::new(snapshot),
        public_key,
    })
}

/// `<path><suffix>`.
fn beside(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

#[cfg(test)]
mod tests;
