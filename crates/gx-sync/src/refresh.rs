//! Refreshing a bundle without stranding entries: sync everything signed with the current
//! audit key, refresh, store the new bundle atomically, then switch the log to the new key.
//!
//! The server checks entry signatures with the bundle's newest audit key only, so an entry
//! signed with the old key and uploaded after the refresh would be refused for ever. So the
//! backlog is synced first without blocking anyone; then appends are held
//! ([`AuditLog::hold_appends`]) while the last few entries are synced, the refresh request
//! runs, the new bundle is stored and the log switches keys. Appenders wait for that one
//! round trip (or fail with `LOG_HELD` after `MAX_HOLD_WAIT`, writing nothing).

use core::fmt;

use gx_core::audit::AuditSigningKey;
use gx_storage::{AuditLog, BundleError, BundleFile, BundleKey, ConsentBundle};

use crate::{ClientError, GrantexClient, SyncError, SyncOptions, SyncReport};

/// What a safe refresh did.
#[derive(Debug)]
#[non_exhaustive]
pub struct RefreshOutcome {
    /// The sync run(s) made before refreshing, summed.
    pub sync: SyncReport,
    /// The new bundle, already stored in the bundle file. Holds the new audit private key.
    pub bundle: ConsentBundle,
}

/// Why a safe refresh failed. In every case but `Store`, the old bundle and key stay in use
/// and nothing is lost.
#[non_exhaustive]
#[derive(Debug)]
pub enum RefreshError {
    /// Syncing the entries signed with the current key failed; nothing was refreshed.
    Sync(SyncError),
    /// Entries were still unsynced after the last sync run, made with appends held;
    /// nothing was refreshed.
    Backlog {
        /// Entries still unsynced.
        unsynced: u64,
    },
    /// The server says the bundle is revoked; nothing was refreshed. Stop the agent.
    Revoked(Box<SyncReport>),
    /// The refresh call failed (`BUNDLE_REVOKED`, `BUNDLE_EXPIRED`, `GRANT_INACTIVE`, ...).
    Request(ClientError),
    /// The new bundle's audit private key cannot be read.
    NewKey(gx_core::audit::KeyError),
    /// The new bundle could not be stored; the log still signs with the old key, which the
    /// server no longer accepts: refresh again once storage works.
    Store(BundleError),
}

impl RefreshError {
    /// A stable code for this error.
    pub fn code(&self) -> &str {
        match self {
            Self::Sync(e) => e.code(),
            Self::Backlog { .. } => "SYNC_BACKLOG",
            Self::Revoked(_) => "BUNDLE_REVOKED",
            Self::Request(e) => e.last().code(),
            Self::NewKey(_) => "INVALID_AUDIT_KEY",
            Self::Store(e) => e.code(),
        }
    }
}

impl fmt::Display for RefreshError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Sync(e) => write!(f, "refresh not attempted: {e}"),
            Self::Backlog { unsynced } => write!(
                f,
                "refresh not attempted: {unsynced} entries still unsynced after the final sync"
            ),
            Self::Revoked(_) => f.write_str("refresh not attempted: the bundle is revoked"),
            Self::Request(e) => write!(f, "refresh failed: {e}"),
            Self::NewKey(e) => write!(f, "refreshed bundle has an unusable audit key: {e}"),
            Self::Store(e) => write!(f, "refreshed bundle could not be stored: {e}"),
        }
    }
}

impl core::error::Error for RefreshError {
    fn source(&self) -> Option<&(dyn core::error::Error + 'static)> {
        match self {
            Self::Sync(e) => Some(e),
            Self::Request(e) => Some(e),
            Self::Store(e) => Some(e),
            _ => None,
        }
    }
}

/// How many sync rounds a refresh makes to catch up with concurrent appends.
const CATCH_UP_ROUNDS: u32 = 5;

impl GrantexClient {
    /// Refreshes the bundle safely: syncs every entry of `log` (signed with the current audit
    /// key), asks the server for a fresh bundle, stores it in `file` under `key` (atomic
    /// replace), and switches `log` to the new audit key. The hash chain simply continues.
    ///
    /// # Errors
    /// [`RefreshError`]; see its variants for what state each leaves.
    pub async fn refresh_bundle(
        &self,
        log: &AuditLog,
        bundle_id: &str,
        file: &BundleFile,
        key: &BundleKey,
        options: &SyncOptions,
    ) -> Result<RefreshOutcome, RefreshError> {
        // Catch up without blocking appenders, then hold them and sync what is left.
        let mut total = None;
        for _ in 0..CATCH_UP_ROUNDS {
            total = Some(self.catch_up(log, bundle_id, options, total).await?);
            if log.unsynced_entries() == 0 {
                break;
            }
        }
        // From here to the key switch no entry may be signed with the old key.
        let hold = log.hold_appends();
        let sync = match total {
            Some(report) if log.unsynced_entries() == 0 => report,
            total => self.catch_up(log, bundle_id, options, total).await?,
        };
        if log.unsynced_entries() > 0 {
            return Err(RefreshError::Backlog {
                unsynced: log.unsynced_entries(),
            });
        }
        let bundle = self
            .request_refresh(bundle_id)
            .await
            .map_err(RefreshError::Request)?;
        let new_key =
            AuditSigningKey::from_pkcs8_pem(bundle.offline_audit_key().private_key.expose_pem())
                .map_err(RefreshError::NewKey)?;
        file.store(&bundle, key).map_err(RefreshError::Store)?;
        log.set_signing_key(new_key);
        drop(hold);
        Ok(RefreshOutcome { sync, bundle })
    }

    /// One sync run of `log`, added to `total`; a revoked bundle ends the refresh.
    async fn catch_up(
        &self,
        log: &AuditLog,
        bundle_id: &str,
        options: &SyncOptions,
        total: Option<SyncReport>,
    ) -> Result<SyncReport, RefreshError> {
        let report = self
            .sync(log, bundle_id, options, |_| {})
            .await
            .map_err(RefreshError::Sync)?;
        let report = match total {
            None => report,
            Some(sum) => merge(sum, report),
        };
        if report.is_revoked() {
            return Err(RefreshError::Revoked(Box::new(report)));
        }
        Ok(report)
    }
}

fn merge(mut a: SyncReport, b: SyncReport) -> SyncReport {
    a.accepted += b.accepted;
    a.batches += b.batches;
    a.retries += b.retries;
    a.already_stored += b.already_stored;
    a.revocation_status = b.revocation_status;
    a.revoked_at = b.revoked_at;
    a.cursor = b.cursor;
    a.elapsed += b.elapsed;
    if b.new_bundle.is_some() {
        a.new_bundle = b.new_bundle;
    }
    a
}
