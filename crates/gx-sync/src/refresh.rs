//! Refreshing a device's bundle without stranding entries, safe against a crash or a full
//! disk at every step.
//!
//! The server checks entry signatures with the bundle's newest audit key only, so an entry
//! signed with the old key and uploaded after the refresh would be refused for ever. So:
//!
//! 1. the backlog is synced without blocking anyone; then appends are held
//!    ([`AuditLog::hold_appends`](gx_storage::AuditLog::hold_appends)) and the last few
//!    entries are synced;
//! 2. the refresh is journaled ([`DeviceSession::begin_refresh`]): durably, before the
//!    request leaves, so that from the moment the server may switch keys no process
//!    signs anything with the old key (appends fail `REFRESH_PENDING`);
//! 3. the server answers with the new bundle;
//! 4. [`DeviceSession::complete_refresh`] records the old key in the key history, stores
//!    the bundle (retrying a failed store), switches the log's key and removes the journal.
//!
//! A crash or a failed store after step 2 leaves the journal: appends stay refused and the
//! next refresh runs all four steps again. Its backlog is empty (nothing was signed since
//! step 1), and the server simply issues another key, so the device always recovers. A
//! request the server certainly did not act on (it refused, or the connection never
//! opened) removes the journal at once.

use core::fmt;

use std::sync::Arc;

use gx_core::CryptoProvider;
use gx_storage::{ConsentBundle, DeviceError, DeviceSession};

use crate::{ClientError, GrantexClient, SyncError, SyncOptions, SyncReport};

/// What a safe refresh did.
#[derive(Debug)]
#[non_exhaustive]
pub struct RefreshOutcome {
    /// The sync run(s) made before refreshing, summed.
    pub sync: SyncReport,
    /// The new bundle, already stored in the bundle file and in force in the session.
    pub bundle: Arc<ConsentBundle>,
}

/// Why a safe refresh failed. Before the journal was written ([`Sync`](Self::Sync),
/// [`Backlog`](Self::Backlog), [`Revoked`](Self::Revoked), a [`Device`](Self::Device)
/// error of `begin_refresh`), the old bundle and key stay in use and nothing changed.
/// After it, appends are refused (`REFRESH_PENDING`) until a refresh completes: run it
/// again.
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
    /// The server says the bundle is revoked; nothing was refreshed, and the device
    /// recorded the revocation. Stop the agent.
    Revoked(Box<SyncReport>),
    /// The refresh call failed (`BUNDLE_REVOKED`, `BUNDLE_EXPIRED`, `GRANT_INACTIVE`, a
    /// network error, ...). When the server may have acted on it, the refresh stays
    /// pending.
    Request(ClientError),
    /// The device could not journal, store or switch to the new bundle (its code says
    /// why: a full disk, an unusable key, ...). The refresh stays pending.
    Device(DeviceError),
}

impl RefreshError {
    /// A stable code for this error.
    pub fn code(&self) -> &str {
        match self {
            Self::Sync(e) => e.code(),
            Self::Backlog { .. } => "SYNC_BACKLOG",
            Self::Revoked(_) => "BUNDLE_REVOKED",
            Self::Request(e) => e.last().code(),
            Self::Device(e) => e.code(),
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
            Self::Device(e) => write!(f, "refresh not completed: {e}"),
        }
    }
}

impl core::error::Error for RefreshError {
    fn source(&self) -> Option<&(dyn core::error::Error + 'static)> {
        match self {
            Self::Sync(e) => Some(e),
            Self::Request(e) => Some(e),
            Self::Device(e) => Some(e),
            _ => None,
        }
    }
}

/// Whether the server certainly did not switch keys on a failed refresh request: it
/// answered with a refusal, or no connection was ever made.
fn certainly_not_switched(e: &ClientError) -> bool {
    match e {
        ClientError::Api(api) => !api.is_transient(),
        ClientError::InvalidUrl { .. }
        | ClientError::InsecureUrl
        | ClientError::InvalidApiKey
        | ClientError::InvalidCaCertificate { .. }
        | ClientError::NoSystemRoots
        | ClientError::Tls(_)
        | ClientError::Connect(_)
        | ClientError::TlsHandshake(_) => true,
        _ => false,
    }
}

/// How many sync rounds a refresh makes to catch up with concurrent appends.
const CATCH_UP_ROUNDS: u32 = 5;

impl GrantexClient {
    /// Refreshes the device's bundle safely (see the module docs): syncs every entry of
    /// its log, journals the refresh, asks the server for a fresh bundle, and hands it to
    /// the device, which stores it and switches the log to the new audit key. The hash
    /// chain simply continues, and the key history lets the whole log verify.
    ///
    /// # Errors
    /// [`RefreshError`]; see its variants for what state each leaves.
    pub async fn refresh_device<P: CryptoProvider + Default>(
        &self,
        device: &DeviceSession<'_, P>,
        options: &SyncOptions,
    ) -> Result<RefreshOutcome, RefreshError> {
        let log = device.log().map_err(RefreshError::Device)?;
        let bundle_id = device.bundle().bundle_id().to_owned();
        // Catch up without blocking appenders, then hold them and sync what is left.
        let mut total = None;
        for _ in 0..CATCH_UP_ROUNDS {
            total = Some(self.catch_up(device, &bundle_id, options, total).await?);
            if log.unsynced_entries() == 0 {
                break;
            }
        }
        // From here to the key switch no entry may be signed with the old key.
        let hold = log.hold_appends();
        let sync = match total {
            Some(report) if log.unsynced_entries() == 0 => report,
            total => self.catch_up(device, &bundle_id, options, total).await?,
        };
        if log.unsynced_entries() > 0 {
            return Err(RefreshError::Backlog {
                unsynced: log.unsynced_entries(),
            });
        }
        let ticket = device.begin_refresh().map_err(RefreshError::Device)?;
        let refreshed = match self.request_refresh(&bundle_id).await {
            Ok(b) => b,
            Err(e) => {
                if certainly_not_switched(&e) {
                    // Failing to remove the journal only keeps appends refused until the
                    // next refresh: fail closed.
                    let _ = device.abort_refresh(ticket);
                }
                return Err(RefreshError::Request(e));
            }
        };
        let bundle = device
            .complete_refresh(ticket, refreshed)
            .map_err(RefreshError::Device)?;
        drop(hold);
        Ok(RefreshOutcome { sync, bundle })
    }

    /// One sync run of the device's log, added to `total`; a revoked bundle is recorded
    /// and ends the refresh.
    async fn catch_up<P: CryptoProvider + Default>(
        &self,
        device: &DeviceSession<'_, P>,
        bundle_id: &str,
        options: &SyncOptions,
        total: Option<SyncReport>,
    ) -> Result<SyncReport, RefreshError> {
        let log = device.log().map_err(RefreshError::Device)?;
        let report = self
            .sync(log, bundle_id, options, |_| {})
            .await
            .map_err(RefreshError::Sync)?;
        let report = match total {
            None => report,
            Some(sum) => merge(sum, report),
        };
        if report.is_revoked() {
            device
                .learn_revoked(report.revoked_at.clone())
                .map_err(RefreshError::Device)?;
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
