//! The embedded SQLite backend of [`Store`]: one WAL-mode database file.
//!
//! One connection behind a mutex serves every call, which makes each method, and in
//! particular [`Store::append_entries`], a critical section: SQLite has one writer at a
//! time anyway, so a pool would buy nothing for writes. Schema migrations are numbered in
//! [`MIGRATIONS`] and tracked with `PRAGMA user_version`.
//!
//! The file holds private signing keys, so [`SqliteStore::open`] creates the database and
//! its `-wal` and `-shm` files with mode 0600 before SQLite writes a byte to any of them.

use std::path::Path;
use std::sync::{Mutex, MutexGuard};

use rusqlite::{Connection, OptionalExtension, Row, TransactionBehavior, params};

use super::{
    AgentRecord, ApiKeyRecord, ApiKeyRole, AppendOutcome, BundleQuery, BundleRecord, BundleRefresh,
    BundleStatus, DeveloperRecord, EntryPage, NewEntry, RefreshOutcome, SigningKeyRecord, Store,
    StoreError, StoredEntry, reconcile,
};
use crate::config::RateLimit;
use crate::rate_limit::RateLimiter;

/// Schema migrations: entry `i` takes the database from version `i` to `i + 1`.
const MIGRATIONS: &[&str] = &[
    // v1: tenants, keys, bundles, audit chains.
    "CREATE TABLE developers (
        id TEXT PRIMARY KEY,
        created_at INTEGER NOT NULL
    );
    CREATE TABLE api_keys (
        key_sha256 TEXT PRIMARY KEY,
        developer_id TEXT NOT NULL REFERENCES developers(id),
        created_at INTEGER NOT NULL
    );
    CREATE TABLE agents (
        id TEXT PRIMARY KEY,
        developer_id TEXT NOT NULL REFERENCES developers(id),
        did TEXT NOT NULL,
        scopes TEXT NOT NULL,
        created_at INTEGER NOT NULL
    );
    CREATE TABLE signing_keys (
        kid TEXT PRIMARY KEY,
        pkcs8 BLOB NOT NULL,
        created_at INTEGER NOT NULL,
        retired_at INTEGER
    );
    CREATE TABLE bundles (
        id TEXT PRIMARY KEY,
        developer_id TEXT NOT NULL REFERENCES developers(id),
        agent_id TEXT NOT NULL REFERENCES agents(id),
        agent_did TEXT NOT NULL,
        grant_id TEXT NOT NULL UNIQUE,
        user_id TEXT NOT NULL,
        scopes TEXT NOT NULL,
        offline_ttl TEXT NOT NULL,
        ttl_secs INTEGER NOT NULL,
        device_id TEXT,
        device_platform TEXT,
        token_id TEXT NOT NULL,
        audit_public_key BLOB NOT NULL,
        offline_expires_at INTEGER NOT NULL,
        checkpoint_at INTEGER NOT NULL,
        created_at INTEGER NOT NULL,
        revoked_at INTEGER,
        revoked_by TEXT,
        grant_revoked INTEGER NOT NULL DEFAULT 0,
        grant_active INTEGER NOT NULL DEFAULT 1,
        audit_entry_count INTEGER NOT NULL DEFAULT 0,
        last_sync_at INTEGER
    );
    CREATE INDEX bundles_by_developer ON bundles(developer_id, id);
    CREATE TABLE audit_entries (
        bundle_id TEXT NOT NULL REFERENCES bundles(id),
        seq INTEGER NOT NULL,
        hash TEXT NOT NULL,
        json TEXT NOT NULL,
        synced_at INTEGER NOT NULL,
        PRIMARY KEY (bundle_id, seq)
    ) WITHOUT ROWID;",
    // v2: several API keys per developer, each with an id, label, role, expiry and
    // revocation (the v1 key becomes an admin key); per-developer stored bytes for the
    // storage quota.
    "ALTER TABLE api_keys RENAME TO api_keys_v1;
    CREATE TABLE api_keys (
        id TEXT PRIMARY KEY,
        key_sha256 TEXT NOT NULL UNIQUE,
        developer_id TEXT NOT NULL REFERENCES developers(id),
        label TEXT,
        role TEXT NOT NULL CHECK (role IN ('admin', 'sync')),
        created_at INTEGER NOT NULL,
        expires_at INTEGER,
        revoked_at INTEGER
    );
    INSERT INTO api_keys (id, key_sha256, developer_id, label, role, created_at)
        SELECT 'key_' || upper(substr(key_sha256, 1, 26)), key_sha256, developer_id, 'initial', 'admin', created_at
        FROM api_keys_v1;
    DROP TABLE api_keys_v1;
    ALTER TABLE developers ADD COLUMN stored_bytes INTEGER NOT NULL DEFAULT 0;
    UPDATE developers SET stored_bytes = (
        SELECT COALESCE(SUM(LENGTH(CAST(e.json AS BLOB))), 0)
        FROM audit_entries e JOIN bundles b ON b.id = e.bundle_id
        WHERE b.developer_id = developers.id
    );",
];

/// The columns of `api_keys`, in [`api_key_from_row`]'s order.
const API_KEY_COLUMNS: &str =
    "id, developer_id, key_sha256, label, role, created_at, expires_at, revoked_at";

fn api_key_from_row(r: &Row<'_>) -> rusqlite::Result<ApiKeyRecord> {
    let role: String = r.get(4)?;
    let role = ApiKeyRole::parse(&role).ok_or_else(|| {
        rusqlite::Error::FromSqlConversionFailure(
            4,
            rusqlite::types::Type::Text,
            Box::from("unknown API key role"),
        )
    })?;
    Ok(ApiKeyRecord {
        id: r.get(0)?,
        developer_id: r.get(1)?,
        key_sha256: r.get(2)?,
        label: r.get(3)?,
        role,
        created_at: r.get(5)?,
        expires_at: r.get(6)?,
        revoked_at: r.get(7)?,
    })
}

fn insert_api_key(conn: &Connection, k: &ApiKeyRecord) -> Result<(), StoreError> {
    conn.execute(
        &format!(
            "INSERT INTO api_keys ({API_KEY_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"
        ),
        params![
            k.id,
            k.developer_id,
            k.key_sha256,
            k.label,
            k.role.as_str(),
            k.created_at,
            k.expires_at,
            k.revoked_at
        ],
    )?;
    Ok(())
}

/// Creates `path`, `path-wal` and `path-shm` with mode 0600 where they do not exist yet, and
/// narrows existing ones to 0600, so SQLite never writes key material into a file others
/// can read. (SQLite gives new `-wal`/`-shm` files the database file's mode, but a file
/// created by an older version, or by hand, may be laxer.)
fn create_private_files(path: &Path) -> Result<(), StoreError> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        for suffix in ["", "-wal", "-shm"] {
            let mut p = path.as_os_str().to_owned();
            p.push(suffix);
            let p = std::path::PathBuf::from(p);
            match std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(&p)
            {
                Ok(_) => {}
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600))
                        .map_err(StoreError::Permissions)?;
                }
                Err(e) => return Err(StoreError::Permissions(e)),
            }
        }
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

/// A [`Store`] in one SQLite database file (WAL mode, `synchronous=FULL`).
pub struct SqliteStore {
    conn: Mutex<Connection>,
    /// Rate-limit windows: in memory, since one process serves an SQLite file.
    limiter: RateLimiter,
}

impl core::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("SqliteStore").finish_non_exhaustive()
    }
}

impl SqliteStore {
    /// Opens (creating if needed) the database at `path` and brings its schema up to date.
    ///
    /// # Errors
    /// [`StoreError`] when the file cannot be created 0600 or opened, is not a gx-server
    /// database, or was written by a newer version.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        create_private_files(path)?;
        let mut conn = Connection::open(path)?;
        conn.busy_timeout(core::time::Duration::from_secs(10))?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        // A sync the server acknowledged must survive power loss, not only a crash.
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        migrate(&mut conn)?;
        Ok(Self {
            conn: Mutex::new(conn),
            limiter: RateLimiter::default(),
        })
    }

    fn conn(&self) -> Result<MutexGuard<'_, Connection>, StoreError> {
        self.conn.lock().map_err(|_| StoreError::Poisoned)
    }
}

fn migrate(conn: &mut Connection) -> Result<(), StoreError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let version: i64 = tx.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    let known =
        i64::try_from(MIGRATIONS.len()).map_err(|_| StoreError::Corrupt("migration count"))?;
    if version > known {
        return Err(StoreError::SchemaTooNew(version));
    }
    for (i, sql) in MIGRATIONS
        .iter()
        .enumerate()
        .skip(usize::try_from(version).unwrap_or(0))
    {
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", i + 1)?;
    }
    tx.commit()?;
    Ok(())
}

fn scopes_to_text(scopes: &[String]) -> String {
    serde_json::to_string(scopes).unwrap_or_else(|_| String::from("[]"))
}

fn scopes_from_text(text: &str) -> rusqlite::Result<Vec<String>> {
    serde_json::from_str(text).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, Box::new(e))
    })
}

const BUNDLE_COLUMNS: &str = "id, developer_id, agent_id, agent_did, grant_id, user_id, scopes, offline_ttl, ttl_secs,
    device_id, device_platform, token_id, audit_public_key, offline_expires_at, checkpoint_at, created_at,
    revoked_at, revoked_by, grant_revoked, grant_active, audit_entry_count, last_sync_at";

fn bundle_from_row(r: &Row<'_>) -> rusqlite::Result<BundleRecord> {
    let key: Vec<u8> = r.get(12)?;
    let audit_public_key = <[u8; 32]>::try_from(key.as_slice()).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(12, rusqlite::types::Type::Blob, Box::new(e))
    })?;
    Ok(BundleRecord {
        id: r.get(0)?,
        developer_id: r.get(1)?,
        agent_id: r.get(2)?,
        agent_did: r.get(3)?,
        grant_id: r.get(4)?,
        user_id: r.get(5)?,
        scopes: scopes_from_text(&r.get::<_, String>(6)?)?,
        offline_ttl: r.get(7)?,
        ttl_secs: r.get(8)?,
        device_id: r.get(9)?,
        device_platform: r.get(10)?,
        token_id: r.get(11)?,
        audit_public_key,
        offline_expires_at: r.get(13)?,
        checkpoint_at: r.get(14)?,
        created_at: r.get(15)?,
        revoked_at: r.get(16)?,
        revoked_by: r.get(17)?,
        grant_revoked: r.get(18)?,
        grant_active: r.get(19)?,
        audit_entry_count: r.get(20)?,
        last_sync_at: r.get(21)?,
    })
}

/// Why a refresh of `b` is refused at `now_ms` (the caller found the refresh did not apply).
pub(super) fn refusal(b: &BundleRecord, now_ms: u64) -> RefreshOutcome {
    if b.revoked_at.is_some() {
        RefreshOutcome::Revoked
    } else if !b.grant_active {
        RefreshOutcome::GrantInactive
    } else if b.status(now_ms) == BundleStatus::Expired {
        RefreshOutcome::Expired
    } else {
        // The row changed between the UPDATE and this read cannot happen under the lock;
        // report the nearest truth rather than claim success.
        RefreshOutcome::UnknownBundle
    }
}

fn select_bundle(
    conn: &Connection,
    developer_id: &str,
    bundle_id: &str,
) -> Result<Option<BundleRecord>, StoreError> {
    let sql = format!("SELECT {BUNDLE_COLUMNS} FROM bundles WHERE id = ?1 AND developer_id = ?2");
    Ok(conn
        .query_row(&sql, params![bundle_id, developer_id], bundle_from_row)
        .optional()?)
}

impl Store for SqliteStore {
    fn is_initialised(&self) -> Result<bool, StoreError> {
        let conn = self.conn()?;
        let n: i64 = conn.query_row("SELECT COUNT(*) FROM developers", [], |r| r.get(0))?;
        Ok(n > 0)
    }

    fn create_tenant(
        &self,
        developer: &DeveloperRecord,
        key: &ApiKeyRecord,
        agent: &AgentRecord,
    ) -> Result<(), StoreError> {
        let mut conn = self.conn()?;
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        tx.execute(
            "INSERT INTO developers (id, created_at) VALUES (?1, ?2)",
            params![developer.id, developer.created_at],
        )?;
        insert_api_key(&tx, key)?;
        tx.execute(
            "INSERT INTO agents (id, developer_id, did, scopes, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![agent.id, agent.developer_id, agent.did, scopes_to_text(&agent.scopes), agent.created_at],
        )?;
        tx.commit()?;
        Ok(())
    }

    fn agent(&self, developer_id: &str, agent_id: &str) -> Result<Option<AgentRecord>, StoreError> {
        let conn = self.conn()?;
        Ok(conn
            .query_row(
                "SELECT id, developer_id, did, scopes, created_at FROM agents WHERE id = ?1 AND developer_id = ?2",
                [agent_id, developer_id],
                |r| {
                    Ok(AgentRecord {
                        id: r.get(0)?,
                        developer_id: r.get(1)?,
                        did: r.get(2)?,
                        scopes: scopes_from_text(&r.get::<_, String>(3)?)?,
                        created_at: r.get(4)?,
                    })
                },
            )
            .optional()?)
    }

    fn signing_keys(&self) -> Result<Vec<SigningKeyRecord>, StoreError> {
        let conn = self.conn()?;
        let mut stmt = conn.prepare(
            "SELECT kid, pkcs8, created_at, retired_at FROM signing_keys ORDER BY created_at, kid",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok(SigningKeyRecord {
                kid: r.get(0)?,
                private_key: zeroize::Zeroizing::new(r.get(1)?),
                created_at: r.get(2)?,
                retired_at: r.get(3)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn add_signing_key(
        &self,
        key: &SigningKeyRecord,
        expected_current: Option<&str>,
    ) -> Result<bool, StoreError> {
        let mut conn = self.conn()?;
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let current: Option<String> = tx
            .query_row(
                "SELECT kid FROM signing_keys WHERE retired_at IS NULL ORDER BY created_at DESC, kid DESC LIMIT 1",
                [],
                |r| r.get(0),
            )
            .optional()?;
        if current.as_deref() != expected_current {
            return Ok(false);
        }
        tx.execute(
            "UPDATE signing_keys SET retired_at = ?1 WHERE retired_at IS NULL",
            [key.created_at],
        )?;
        tx.execute(
            "INSERT INTO signing_keys (kid, pkcs8, created_at, retired_at) VALUES (?1, ?2, ?3, NULL)",
            params![key.kid, key.private_key.as_slice(), key.created_at],
        )?;
        tx.commit()?;
        Ok(true)
    }

    fn insert_bundle(&self, b: &BundleRecord) -> Result<(), StoreError> {
        let conn = self.conn()?;
        let sql = format!(
            "INSERT INTO bundles ({BUNDLE_COLUMNS}) VALUES
             (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22)"
        );
        conn.execute(
            &sql,
            params![
                b.id,
                b.developer_id,
                b.agent_id,
                b.agent_did,
                b.grant_id,
                b.user_id,
                scopes_to_text(&b.scopes),
                b.offline_ttl,
                b.ttl_secs,
                b.device_id,
                b.device_platform,
                b.token_id,
                b.audit_public_key.as_slice(),
                b.offline_expires_at,
                b.checkpoint_at,
                b.created_at,
                b.revoked_at,
                b.revoked_by,
                b.grant_revoked,
                b.grant_active,
                b.audit_entry_count,
                b.last_sync_at,
            ],
        )?;
        Ok(())
    }

    fn bundle(
        &self,
        developer_id: &str,
        bundle_id: &str,
    ) -> Result<Option<BundleRecord>, StoreError> {
        select_bundle(&*self.conn()?, developer_id, bundle_id)
    }

    fn list_bundles(
        &self,
        developer_id: &str,
        q: &BundleQuery,
    ) -> Result<Vec<BundleRecord>, StoreError> {
        let conn = self.conn()?;
        let status_sql = match q.status {
            None => "1",
            Some(BundleStatus::Revoked) => "revoked_at IS NOT NULL",
            Some(BundleStatus::Active) => "revoked_at IS NULL AND offline_expires_at > ?5",
            Some(BundleStatus::Expired) => "revoked_at IS NULL AND offline_expires_at <= ?5",
        };
        let sql = format!(
            "SELECT {BUNDLE_COLUMNS} FROM bundles
             WHERE developer_id = ?1 AND (?2 IS NULL OR agent_id = ?2)
               AND (?3 IS NULL OR rowid < (SELECT rowid FROM bundles WHERE id = ?3 AND developer_id = ?1))
               AND ({status_sql}) AND ?5 = ?5
             ORDER BY rowid DESC LIMIT ?4"
        );
        let mut stmt = conn.prepare(&sql)?;
        let rows = stmt.query_map(
            params![developer_id, q.agent_id, q.before_id, q.limit, q.now_ms],
            bundle_from_row,
        )?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn refresh_bundle(
        &self,
        developer_id: &str,
        bundle_id: &str,
        r: &BundleRefresh,
        now_ms: u64,
    ) -> Result<RefreshOutcome, StoreError> {
        let mut conn = self.conn()?;
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        // The state is checked in the UPDATE itself, inside the write lock: a revoke that
        // committed first makes this refresh change nothing.
        let n = tx.execute(
            "UPDATE bundles SET token_id = ?1, audit_public_key = ?2, offline_expires_at = ?3, checkpoint_at = ?4
             WHERE id = ?5 AND developer_id = ?6
               AND revoked_at IS NULL AND grant_active AND offline_expires_at > ?7",
            params![r.token_id, r.audit_public_key.as_slice(), r.offline_expires_at, r.checkpoint_at, bundle_id, developer_id, now_ms],
        )?;
        let outcome = if n == 1 {
            RefreshOutcome::Refreshed
        } else {
            match select_bundle(&tx, developer_id, bundle_id)? {
                None => RefreshOutcome::UnknownBundle,
                Some(b) => refusal(&b, now_ms),
            }
        };
        tx.commit()?;
        Ok(outcome)
    }

    fn revoke_bundle(
        &self,
        developer_id: &str,
        bundle_id: &str,
        revoke_grant: bool,
        now_ms: u64,
    ) -> Result<Option<BundleRecord>, StoreError> {
        let mut conn = self.conn()?;
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        tx.execute(
            "UPDATE bundles SET
                revoked_at = COALESCE(revoked_at, ?1),
                revoked_by = COALESCE(revoked_by, ?2),
                grant_revoked = grant_revoked OR ?3,
                grant_active = grant_active AND NOT ?3
             WHERE id = ?4 AND developer_id = ?2",
            params![now_ms, developer_id, revoke_grant, bundle_id],
        )?;
        let bundle = select_bundle(&tx, developer_id, bundle_id)?;
        tx.commit()?;
        Ok(bundle)
    }

    fn set_grant_active(&self, grant_id: &str, active: bool) -> Result<bool, StoreError> {
        let conn = self.conn()?;
        let n = conn.execute(
            "UPDATE bundles SET grant_active = ?1 WHERE grant_id = ?2",
            params![active, grant_id],
        )?;
        Ok(n > 0)
    }

    fn append_entries(
        &self,
        bundle_id: &str,
        audit_key: &[u8; 32],
        batch: &[NewEntry],
        now_ms: u64,
        quota_bytes: Option<u64>,
    ) -> Result<AppendOutcome, StoreError> {
        let mut conn = self.conn()?;
        // IMMEDIATE takes SQLite's write lock up front: the read of the key and the tail
        // and the inserts below see no other writer in between (the protocol's row lock).
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let state: Option<(Vec<u8>, Option<u64>, String, u64)> = tx
            .query_row(
                "SELECT b.audit_public_key, b.revoked_at, d.id, d.stored_bytes
                 FROM bundles b JOIN developers d ON d.id = b.developer_id WHERE b.id = ?1",
                [bundle_id],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
            )
            .optional()?;
        let Some((key, revoked_at, developer_id, used)) = state else {
            return Ok(AppendOutcome::UnknownBundle);
        };
        if key.as_slice() != audit_key.as_slice() {
            return Ok(AppendOutcome::KeyChanged);
        }
        let tail: Option<(u64, String)> = tx
            .query_row(
                "SELECT seq, hash FROM audit_entries WHERE bundle_id = ?1 ORDER BY seq DESC LIMIT 1",
                [bundle_id],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        let first_new = {
            let mut stmt =
                tx.prepare("SELECT hash FROM audit_entries WHERE bundle_id = ?1 AND seq = ?2")?;
            let checked = reconcile(
                tail.as_ref().map(|(s, h)| (*s, h.as_str())),
                |seq| {
                    stmt.query_row(params![bundle_id, seq], |r| r.get::<_, String>(0))
                        .optional()
                },
                batch,
            )?;
            match checked {
                Ok(i) => i,
                Err(conflicts) => return Ok(AppendOutcome::Conflict(conflicts)),
            }
        };
        let new = batch.get(first_new..).unwrap_or_default();
        let new_bytes: u64 = new.iter().map(|e| e.json.len() as u64).sum();
        if let Some(quota) = quota_bytes
            && new_bytes > 0
            && used.saturating_add(new_bytes) > quota
        {
            return Ok(AppendOutcome::QuotaExceeded { used, quota });
        }
        {
            let mut insert = tx.prepare_cached(
                "INSERT INTO audit_entries (bundle_id, seq, hash, json, synced_at) VALUES (?1, ?2, ?3, ?4, ?5)",
            )?;
            for e in new {
                insert.execute(params![bundle_id, e.seq, e.hash, e.json, now_ms])?;
            }
        }
        tx.execute(
            "UPDATE bundles SET audit_entry_count = audit_entry_count + ?1, last_sync_at = ?2 WHERE id = ?3",
            params![new.len() as u64, now_ms, bundle_id],
        )?;
        tx.execute(
            "UPDATE developers SET stored_bytes = stored_bytes + ?1 WHERE id = ?2",
            params![new_bytes, developer_id],
        )?;
        tx.commit()?;
        Ok(AppendOutcome::Accepted {
            stored: new.len(),
            revoked_at,
        })
    }

    fn count_request(
        &self,
        key_id: &str,
        route: &'static str,
        limit: RateLimit,
        now_ms: u64,
    ) -> Result<Result<(), u64>, StoreError> {
        Ok(self.limiter.check(key_id, route, limit, now_ms))
    }

    fn entries(
        &self,
        bundle_id: &str,
        after_seq: u64,
        limit: u32,
        max_bytes: usize,
    ) -> Result<EntryPage, StoreError> {
        let conn = self.conn()?;
        let mut stmt = conn.prepare(
            "SELECT seq, hash, json, synced_at FROM audit_entries
             WHERE bundle_id = ?1 AND seq > ?2 ORDER BY seq LIMIT ?3",
        )?;
        // One row more than asked for tells whether another page follows; rows are read
        // one at a time, so a page never holds more than its budget.
        let rows = stmt.query_map(params![bundle_id, after_seq, u64::from(limit) + 1], |r| {
            Ok(StoredEntry {
                seq: r.get(0)?,
                hash: r.get(1)?,
                json: r.get(2)?,
                synced_at: r.get(3)?,
            })
        })?;
        Ok(EntryPage::fill(rows, limit, max_bytes)?)
    }

    // API keys and the signing-key lifecycle (schema v2).

    fn api_key(&self, key_sha256: &str) -> Result<Option<ApiKeyRecord>, StoreError> {
        let conn = self.conn()?;
        Ok(conn
            .query_row(
                &format!("SELECT {API_KEY_COLUMNS} FROM api_keys WHERE key_sha256 = ?1"),
                [key_sha256],
                api_key_from_row,
            )
            .optional()?)
    }

    fn insert_api_key(&self, key: &ApiKeyRecord) -> Result<(), StoreError> {
        insert_api_key(&*self.conn()?, key)
    }

    fn api_keys(&self) -> Result<Vec<ApiKeyRecord>, StoreError> {
        let conn = self.conn()?;
        let mut stmt = conn.prepare(&format!(
            "SELECT {API_KEY_COLUMNS} FROM api_keys ORDER BY created_at, id"
        ))?;
        let rows = stmt.query_map([], api_key_from_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn revoke_api_key(
        &self,
        key_id: &str,
        now_ms: u64,
    ) -> Result<Option<ApiKeyRecord>, StoreError> {
        let mut conn = self.conn()?;
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        tx.execute(
            "UPDATE api_keys SET revoked_at = COALESCE(revoked_at, ?1) WHERE id = ?2",
            params![now_ms, key_id],
        )?;
        let key = tx
            .query_row(
                &format!("SELECT {API_KEY_COLUMNS} FROM api_keys WHERE id = ?1"),
                [key_id],
                api_key_from_row,
            )
            .optional()?;
        tx.commit()?;
        Ok(key)
    }

    fn developers(&self) -> Result<Vec<DeveloperRecord>, StoreError> {
        let conn = self.conn()?;
        let mut stmt =
            conn.prepare("SELECT id, created_at FROM developers ORDER BY created_at, id")?;
        let rows = stmt.query_map([], |r| {
            Ok(DeveloperRecord {
                id: r.get(0)?,
                created_at: r.get(1)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn reseal_signing_key(&self, kid: &str, private_key: &[u8]) -> Result<bool, StoreError> {
        let conn = self.conn()?;
        let n = conn.execute(
            "UPDATE signing_keys SET pkcs8 = ?1 WHERE kid = ?2",
            params![private_key, kid],
        )?;
        Ok(n == 1)
    }

    fn delete_retired_signing_keys(&self, retired_before_ms: u64) -> Result<usize, StoreError> {
        let conn = self.conn()?;
        Ok(conn.execute(
            "DELETE FROM signing_keys WHERE retired_at IS NOT NULL AND retired_at < ?1",
            [retired_before_ms],
        )?)
    }
}
