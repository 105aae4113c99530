//! The server's persistence boundary: the [`Store`] trait, its records, and its two
//! backends (SQLite, PostgreSQL).
//!
//! Handlers never see SQL. Everything the server persists goes through [`Store`], a small,
//! blocking trait (the server calls it from `spawn_blocking`). The methods with a
//! concurrency contract take the bundle's lock (SQLite: one writer at a time; PostgreSQL:
//! the bundle row, `SELECT ... FOR UPDATE` or a conditional `UPDATE`) and re-check the
//! bundle's state inside it, so any number of replicas give the results one server gives:
//! [`Store::append_entries`] compares a batch with the stored chain ([`reconcile`], the
//! same code for both backends) and with the audit key it was verified under, and
//! [`Store::refresh_bundle`] refuses a bundle that a concurrent revoke just revoked.

mod chain;
mod postgres;
mod sqlite;

pub use chain::{ChainConflict, ConflictKind, NewEntry, reconcile};
pub use postgres::PgStore;
pub use sqlite::SqliteStore;

use crate::config::RateLimit;

use core::fmt;

/// A developer: the tenant that owns API keys, agents and bundles.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeveloperRecord {
    /// `dev_<ULID>`.
    pub id: String,
    /// Creation time, Unix milliseconds.
    pub created_at: u64,
}

/// An agent registered by a developer, with the scopes bundles may grant it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AgentRecord {
    /// `ag_<ULID>`.
    pub id: String,
    /// The owning developer.
    pub developer_id: String,
    /// The DID written into grant tokens (`agt`) and audit entries (`agentDID`).
    pub did: String,
    /// Scopes a bundle for this agent may carry.
    pub scopes: Vec<String>,
    /// Creation time, Unix milliseconds.
    pub created_at: u64,
}

/// One RS256 signing key of the issuer, current or retired.
///
/// The private key never appears in `Debug` output. A retired key's row is deleted (see
/// [`Store::delete_retired_signing_keys`]) once no token it signed can still be valid.
#[derive(Clone, PartialEq, Eq)]
pub struct SigningKeyRecord {
    /// The JWS `kid`, `grantex-YYYY-MM` (with a `-N` suffix when a month has several keys).
    pub kid: String,
    /// The RSA private key: PKCS#8 v1 DER, or that DER sealed with AES-256-GCM under the
    /// operator's key-encryption key (a `GXKEK1` header, see `docs/server.md`). The store
    /// keeps the bytes as given and never looks inside.
    pub private_key: zeroize::Zeroizing<Vec<u8>>,
    /// Creation time, Unix milliseconds.
    pub created_at: u64,
    /// When the key stopped signing, Unix milliseconds; `None` for the current key.
    pub retired_at: Option<u64>,
}

impl fmt::Debug for SigningKeyRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKeyRecord")
            .field("kid", &self.kid)
            .field("private_key", &"<redacted>")
            .field("created_at", &self.created_at)
            .field("retired_at", &self.retired_at)
            .finish()
    }
}

/// A consent bundle as the server keeps it (never its audit private key).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BundleRecord {
    /// `bundle_<ULID>`.
    pub id: String,
    /// The owning developer.
    pub developer_id: String,
    /// The agent the grant is for.
    pub agent_id: String,
    /// That agent's DID, as written in the token and expected in audit entries.
    pub agent_did: String,
    /// `grnt_<ULID>`: stays the same across refreshes.
    pub grant_id: String,
    /// The user who consented (`sub`).
    pub user_id: String,
    /// Granted scopes.
    pub scopes: Vec<String>,
    /// The `offlineTTL` text the bundle was created with (`72h`).
    pub offline_ttl: String,
    /// `offlineTTL` in seconds.
    pub ttl_secs: u64,
    /// Optional device id given at creation.
    pub device_id: Option<String>,
    /// Optional device platform given at creation.
    pub device_platform: Option<String>,
    /// `jti` of the latest grant token.
    pub token_id: String,
    /// The current raw 32-byte Ed25519 audit public key.
    pub audit_public_key: [u8; 32],
    /// When the latest token expires, Unix milliseconds.
    pub offline_expires_at: u64,
    /// When the latest token was issued, Unix milliseconds.
    pub checkpoint_at: u64,
    /// Creation time, Unix milliseconds.
    pub created_at: u64,
    /// When the bundle was revoked, Unix milliseconds.
    pub revoked_at: Option<u64>,
    /// Who revoked it (a developer id).
    pub revoked_by: Option<String>,
    /// Whether the grant itself was revoked with the bundle.
    pub grant_revoked: bool,
    /// Whether the grant is still active (false once revoked or deactivated).
    pub grant_active: bool,
    /// Number of audit entries stored for the bundle.
    pub audit_entry_count: u64,
    /// Last successful sync, Unix milliseconds.
    pub last_sync_at: Option<u64>,
}

/// The lifecycle state of a bundle at a given instant.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BundleStatus {
    /// Usable: not revoked and not past `offlineExpiresAt`.
    Active,
    /// Revoked by its developer.
    Revoked,
    /// Past `offlineExpiresAt` (a refresh is refused).
    Expired,
}

impl BundleStatus {
    /// The protocol's text for the status.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Revoked => "revoked",
            Self::Expired => "expired",
        }
    }

    /// Reads the protocol's text for a status.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "active" => Some(Self::Active),
            "revoked" => Some(Self::Revoked),
            "expired" => Some(Self::Expired),
            _ => None,
        }
    }
}

impl BundleRecord {
    /// The bundle's status at `now_ms`.
    pub fn status(&self, now_ms: u64) -> BundleStatus {
        if self.revoked_at.is_some() {
            BundleStatus::Revoked
        } else if now_ms >= self.offline_expires_at {
            BundleStatus::Expired
        } else {
            BundleStatus::Active
        }
    }
}

/// What a refresh changes on a bundle.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BundleRefresh {
    /// `jti` of the new token.
    pub token_id: String,
    /// The new audit public key.
    pub audit_public_key: [u8; 32],
    /// New expiry, Unix milliseconds.
    pub offline_expires_at: u64,
    /// New issue time, Unix milliseconds.
    pub checkpoint_at: u64,
}

/// The result of [`Store::refresh_bundle`]: the state checks are made under the bundle's
/// lock, so a refresh and a revoke of one bundle never both win.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum RefreshOutcome {
    /// The refresh is stored.
    Refreshed,
    /// No such bundle for this developer.
    UnknownBundle,
    /// The bundle is revoked.
    Revoked,
    /// The bundle's grant is not active.
    GrantInactive,
    /// The bundle is past `offlineExpiresAt`.
    Expired,
}

/// Filters and paging for [`Store::list_bundles`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BundleQuery {
    /// Only bundles in this state (evaluated at `now_ms`).
    pub status: Option<BundleStatus>,
    /// Only bundles for this agent.
    pub agent_id: Option<String>,
    /// Only bundles created before this one (the page cursor: the last id of the previous page).
    pub before_id: Option<String>,
    /// At most this many.
    pub limit: u32,
    /// The instant used to tell active from expired.
    pub now_ms: u64,
}

/// A stored audit entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredEntry {
    /// The entry's `seq`.
    pub seq: u64,
    /// Its `hash` (64 lowercase hex).
    pub hash: String,
    /// The entry as a JSON object in the wire format.
    pub json: String,
    /// When it was stored, Unix milliseconds.
    pub synced_at: u64,
}

/// The result of [`Store::append_entries`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AppendOutcome {
    /// The whole batch is accepted: `stored` new entries were written, the rest were
    /// already stored with the same hash.
    Accepted {
        /// Entries newly written.
        stored: usize,
        /// The bundle's revocation time as read under the lock (for the reply).
        revoked_at: Option<u64>,
    },
    /// The bundle's audit key is no longer the one the batch was verified under (a
    /// refresh committed in between); nothing was written. Check the batch again.
    KeyChanged,
    /// The batch conflicts with the stored chain; nothing was written.
    Conflict(Vec<ChainConflict>),
    /// No such bundle.
    UnknownBundle,
    /// Storing the batch's new entries would take the developer past its storage quota;
    /// nothing was written.
    QuotaExceeded {
        /// Bytes of entry JSON the developer has stored.
        used: u64,
        /// The quota, in the same bytes.
        quota: u64,
    },
}

/// Why the store failed. The server answers 500 for all of these.
#[derive(Debug)]
#[non_exhaustive]
pub enum StoreError {
    /// The database reported an error.
    Database(rusqlite::Error),
    /// A stored value could not be read back (corrupt or foreign database).
    Corrupt(&'static str),
    /// The database was written by a newer gx-server (its schema version is unknown).
    SchemaTooNew(i64),
    /// PostgreSQL reported an error.
    Postgres(tokio_postgres::Error),
    /// No connection to PostgreSQL could be had from the pool (named in the text).
    Pool(String),
    /// The database was never initialised (or at an older schema version): run `init`.
    NotInitialised,
    /// The backend's runtime went away while a call was under way.
    Task,
    /// A lock was poisoned by a panic in another thread.
    Poisoned,
    /// The database files could not be created with, or narrowed to, mode 0600.
    Permissions(std::io::Error),
}

impl StoreError {
    /// A stable code for logs.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Database(_) => "DATABASE",
            Self::Corrupt(_) => "CORRUPT_DATABASE",
            Self::SchemaTooNew(_) => "SCHEMA_TOO_NEW",
            Self::Postgres(_) => "POSTGRES",
            Self::Pool(_) => "DATABASE_POOL",
            Self::NotInitialised => "NOT_INITIALISED",
            Self::Task => "DATABASE_TASK",
            Self::Poisoned => "POISONED_LOCK",
            Self::Permissions(_) => "DATABASE_PERMISSIONS",
        }
    }
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Database(e) => write!(f, "database error: {e}"),
            Self::Corrupt(what) => write!(f, "corrupt database: {what}"),
            Self::SchemaTooNew(v) => write!(
                f,
                "database schema version {v} is newer than this gx-server"
            ),
            Self::Poisoned => f.write_str("database lock poisoned"),
            Self::Permissions(e) => {
                write!(f, "cannot create the database files with mode 0600: {e}")
            }
            Self::Postgres(e) => write!(f, "postgresql: {e}"),
            Self::Pool(why) => write!(f, "no postgresql connection: {why}"),
            Self::NotInitialised => f.write_str(
                "the database is not initialised at this version: run `gx server init` first",
            ),
            Self::Task => f.write_str("the database task ended unexpectedly"),
        }
    }
}

impl core::error::Error for StoreError {
    fn source(&self) -> Option<&(dyn core::error::Error + 'static)> {
        match self {
            Self::Database(e) => Some(e),
            Self::Permissions(e) => Some(e),
            Self::Postgres(e) => Some(e),
            _ => None,
        }
    }
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        Self::Database(e)
    }
}

/// Everything gx-server persists. Implementations must be safe to call from many threads.
///
/// All methods block; the server calls them on tokio's blocking pool. Lookups take the
/// developer id so that a tenant can only ever see its own rows.
pub trait Store: Send + Sync + 'static {
    /// Whether a developer exists (the database was initialised).
    ///
    /// # Errors
    /// [`StoreError`] on database failure.
    fn is_initialised(&self) -> Result<bool, StoreError>;

    /// Creates a developer with one API key and one agent, in one transaction.
    ///
    /// # Errors
    /// [`StoreError`] on database failure.
    fn create_tenant(
        &self,
        developer: &DeveloperRecord,
        key: &ApiKeyRecord,
        agent: &AgentRecord,
    ) -> Result<(), StoreError>;

    /// One of the developer's agents.
    ///
    /// # Errors
    /// [`StoreError`] on database failure.
    fn agent(&self, developer_id: &str, agent_id: &str) -> Result<Option<AgentRecord>, StoreError>;

    /// Every signing key, oldest first.
    ///
    /// # Errors
    /// [`StoreError`] on database failure.
    fn signing_keys(&self) -> Result<Vec<SigningKeyRecord>, StoreError>;

    /// Adds `key` as the new current signing key and retires the current one at
    /// `key.created_at`, but only when the current key's `kid` is still `expected_current`
    /// (`None`: there is no current key). Returns `false`, changing nothing, when another
    /// process rotated first: replicas that rotate at the same moment add one key, not two.
    ///
    /// # Errors
    /// [`StoreError`] on database failure.
    fn add_signing_key(
        &self,
        key: &SigningKeyRecord,
        expected_current: Option<&str>,
    ) -> Result<bool, StoreError>;

    /// Stores a new bundle.
    ///
    /// # Errors
    /// [`StoreError`] on database failure.
    fn insert_bundle(&self, bundle: &BundleRecord) -> Result<(), StoreError>;

    /// One of the developer's bundles.
    ///
    /// # Errors
    /// [`StoreError`] on database failure.
    fn bundle(
        &self,
        developer_id: &str,
        bundle_id: &str,
    ) -> Result<Option<BundleRecord>, StoreError>;

    /// The developer's bundles, newest first (in creation order, even within one
    /// millisecond), filtered and paged by `query`.
    ///
    /// # Errors
    /// [`StoreError`] on database failure.
    fn list_bundles(
        &self,
        developer_id: &str,
        query: &BundleQuery,
    ) -> Result<Vec<BundleRecord>, StoreError>;

    /// Applies a refresh to the developer's bundle if, under the bundle's lock, it is
    /// still not revoked, its grant active and it is not expired at `now_ms`.
    ///
    /// # Errors
    /// [`StoreError`] on database failure.
    fn refresh_bundle(
        &self,
        developer_id: &str,
        bundle_id: &str,
        refresh: &BundleRefresh,
        now_ms: u64,
    ) -> Result<RefreshOutcome, StoreError>;

    /// Revokes the developer's bundle (keeping the first revocation time) and, when
    /// `revoke_grant`, its grant; returns the bundle afterwards.
    ///
    /// # Errors
    /// [`StoreError`] on database failure.
    fn revoke_bundle(
        &self,
        developer_id: &str,
        bundle_id: &str,
        revoke_grant: bool,
        now_ms: u64,
    ) -> Result<Option<BundleRecord>, StoreError>;

    /// Marks a grant active or inactive (an operator action; an inactive grant cannot be
    /// refreshed). Returns whether a bundle carries that grant.
    ///
    /// # Errors
    /// [`StoreError`] on database failure.
    fn set_grant_active(&self, grant_id: &str, active: bool) -> Result<bool, StoreError>;

    /// Atomically checks `batch` against the bundle's stored chain with [`reconcile`] and
    /// stores its new entries, under a lock on the bundle. All or nothing. `audit_key` is
    /// the key the batch's signatures were checked under: when the bundle's key is another
    /// one by the time the lock is held, nothing is stored ([`AppendOutcome::KeyChanged`]).
    ///
    /// With `quota_bytes`, the new entries' JSON bytes plus what the bundle's developer
    /// already stores must stay within it, else [`AppendOutcome::QuotaExceeded`] (checked
    /// inside the same transaction, so concurrent batches cannot overshoot it together).
    ///
    /// # Errors
    /// [`StoreError`] on database failure.
    fn append_entries(
        &self,
        bundle_id: &str,
        audit_key: &[u8; 32],
        batch: &[NewEntry],
        now_ms: u64,
        quota_bytes: Option<u64>,
    ) -> Result<AppendOutcome, StoreError>;

    /// Counts one request of the API key `key_id` on `route` against `limit` (a fixed window);
    /// `Ok(Err(seconds))` when the window is full, with the seconds until it frees up.
    /// SQLite counts in the process (one process serves it); PostgreSQL counts in the
    /// database, so a limit holds across every replica.
    ///
    /// # Errors
    /// [`StoreError`] on database failure.
    fn count_request(
        &self,
        key_id: &str,
        route: &'static str,
        limit: RateLimit,
        now_ms: u64,
    ) -> Result<Result<(), u64>, StoreError>;

    /// Stored entries with `seq > after_seq`, ascending: at most `limit` of them and at most
    /// `max_bytes` of entry JSON in total, but always the first one when there is one (an
    /// entry is far smaller than any page budget; see [`EntryPage`]).
    ///
    /// # Errors
    /// [`StoreError`] on database failure.
    fn entries(
        &self,
        bundle_id: &str,
        after_seq: u64,
        limit: u32,
        max_bytes: usize,
    ) -> Result<EntryPage, StoreError>;

    // API keys and the signing-key lifecycle (schema v2).

    /// The API key with this SHA-256 (hex), whatever its state: the caller checks
    /// [`ApiKeyRecord::usable_at`]. Called on every request, so a revocation takes effect on
    /// the next request in every process that shares the database.
    ///
    /// # Errors
    /// [`StoreError`] on database failure.
    fn api_key(&self, key_sha256: &str) -> Result<Option<ApiKeyRecord>, StoreError>;

    /// Adds an API key to an existing developer.
    ///
    /// # Errors
    /// [`StoreError`] on database failure (also when the developer does not exist).
    fn insert_api_key(&self, key: &ApiKeyRecord) -> Result<(), StoreError>;

    /// Every API key of every developer, oldest first.
    ///
    /// # Errors
    /// [`StoreError`] on database failure.
    fn api_keys(&self) -> Result<Vec<ApiKeyRecord>, StoreError>;

    /// Revokes an API key at `now_ms` (a second revocation keeps the first time). Returns
    /// the key afterwards, `None` when there is no key with that id.
    ///
    /// # Errors
    /// [`StoreError`] on database failure.
    fn revoke_api_key(&self, key_id: &str, now_ms: u64)
    -> Result<Option<ApiKeyRecord>, StoreError>;

    /// Every developer, oldest first.
    ///
    /// # Errors
    /// [`StoreError`] on database failure.
    fn developers(&self) -> Result<Vec<DeveloperRecord>, StoreError>;

    /// Replaces the stored private key bytes of signing key `kid` (sealing a plain key
    /// under a newly configured key-encryption key). Returns whether the key exists.
    ///
    /// # Errors
    /// [`StoreError`] on database failure.
    fn reseal_signing_key(&self, kid: &str, private_key: &[u8]) -> Result<bool, StoreError>;

    /// Deletes every signing key retired before `retired_before_ms` (private and public
    /// half): the caller passes `now - longest token lifetime`, so no token a deleted key
    /// signed can still be valid. Returns how many were deleted.
    ///
    /// # Errors
    /// [`StoreError`] on database failure.
    fn delete_retired_signing_keys(&self, retired_before_ms: u64) -> Result<usize, StoreError>;
}

// API keys, storage quota and bounded pages (schema v2).

/// What an API key may do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ApiKeyRole {
    /// Everything: issue, refresh, revoke, list and read bundles, and sync.
    Admin,
    /// What a device needs: `POST /v1/audit/offline-sync` and
    /// `GET /v1/consent-bundles/{id}/revocation-status`. Every other route answers 403.
    Sync,
}

impl ApiKeyRole {
    /// The role's name, as stored and as the CLI takes it (`admin`, `sync`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Admin => "admin",
            Self::Sync => "sync",
        }
    }

    /// Reads a role's name.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "admin" => Some(Self::Admin),
            "sync" => Some(Self::Sync),
            _ => None,
        }
    }
}

/// One API key of a developer. The store keeps the SHA-256 of the key, never the key.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKeyRecord {
    /// `key_<ULID>`: names the key in `gx server key list` and `revoke`; not a secret.
    pub id: String,
    /// The developer the key acts for.
    pub developer_id: String,
    /// SHA-256 of the key, lowercase hex (redacted in `Debug`: it identifies the secret).
    pub key_sha256: String,
    /// A free-text label (`fleet-2026-12`).
    pub label: Option<String>,
    /// What the key may do.
    pub role: ApiKeyRole,
    /// Creation time, Unix milliseconds.
    pub created_at: u64,
    /// After this instant (Unix milliseconds) the key answers 401.
    pub expires_at: Option<u64>,
    /// When the key was revoked, Unix milliseconds; a revoked key answers 401.
    pub revoked_at: Option<u64>,
}

impl ApiKeyRecord {
    /// Whether the key authenticates a request at `now_ms`: not revoked, not expired.
    pub fn usable_at(&self, now_ms: u64) -> bool {
        self.revoked_at.is_none() && self.expires_at.is_none_or(|e| now_ms < e)
    }
}

impl fmt::Debug for ApiKeyRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ApiKeyRecord")
            .field("id", &self.id)
            .field("developer_id", &self.developer_id)
            .field("key_sha256", &"<redacted>")
            .field("label", &self.label)
            .field("role", &self.role)
            .field("created_at", &self.created_at)
            .field("expires_at", &self.expires_at)
            .field("revoked_at", &self.revoked_at)
            .finish()
    }
}

/// One page of [`Store::entries`].
///
/// Memory: the page holds at most the `limit` and `max_bytes` the caller asked for (plus
/// one entry when the first alone is larger), never the whole chain.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EntryPage {
    /// The entries, ascending `seq`.
    pub entries: Vec<StoredEntry>,
    /// Whether entries with a higher `seq` are stored.
    pub more: bool,
}

impl EntryPage {
    /// Fills a page from `rows` (ascending `seq`, the query asked for `limit + 1`): at most
    /// `limit` entries and `max_bytes` of their JSON, but at least one; `more` when a row
    /// was left over. Rows are taken one at a time, so a lazy iterator is never drained
    /// past the page. PostgreSQL's streamed page applies the same rule.
    ///
    /// # Errors
    /// The first error `rows` yields.
    pub(crate) fn fill<E>(
        rows: impl IntoIterator<Item = Result<StoredEntry, E>>,
        limit: u32,
        max_bytes: usize,
    ) -> Result<Self, E> {
        let mut page = Self::default();
        let mut bytes = 0usize;
        for row in rows {
            let entry = row?;
            let full = page.entries.len() >= limit as usize
                || (!page.entries.is_empty() && bytes.saturating_add(entry.json.len()) > max_bytes);
            if full {
                page.more = true;
                break;
            }
            bytes = bytes.saturating_add(entry.json.len());
            page.entries.push(entry);
        }
        Ok(page)
    }
}

impl fmt::Debug for dyn Store {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Store")
    }
}
