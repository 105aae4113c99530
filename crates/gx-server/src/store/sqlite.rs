//! The embedded SQLite backend of [`Store`]: one WAL-mode database file.
//!
//! One connection behind a mutex serves every call, which makes each method, and in
//! particular [`Store::append_entries`], a critical section: SQLite has one writer at a
//! time anyway, so a pool would buy nothing for writes. Schema migrations are numbered in
//! [`MIGRATIONS`] and tracked with `PRAGMA user_version`.

use std::path::Path;
use std::sync::{Mutex, MutexGuard};

use rusqlite::{Connection, OptionalExtension, Row, TransactionBehavior, params};

use super::{
    AgentRecord, AppendOutcome, BundleQuery, BundleRecord, BundleRefresh, BundleStatus,
    DeveloperRecord, NewEntry, RefreshOutcome, SigningKeyRecord, Store, StoreError, StoredEntry,
    reconcile,
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
];

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
    /// [`StoreError`] when the file cannot be opened, is not a gx-server database, or was
    /// written by a newer version.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
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
        api_key_sha256: &str,
        agent: &AgentRecord,
    ) -> Result<(), StoreError> {
        let mut conn = self.conn()?;
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        tx.execute(
            "INSERT INTO developers (id, created_at) VALUES (?1, ?2)",
            params![developer.id, developer.created_at],
        )?;
        tx.execute(
            "INSERT INTO api_keys (key_sha256, developer_id, created_at) VALUES (?1, ?2, ?3)",
            params![api_key_sha256, developer.id, developer.created_at],
        )?;
        tx.execute(
            "INSERT INTO agents (id, developer_id, did, scopes, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![agent.id, agent.developer_id, agent.did, scopes_to_text(&agent.scopes), agent.created_at],
        )?;
        tx.commit()?;
        Ok(())
    }

    fn developer_for_key(&self, api_key_sha256: &str) -> Result<Option<String>, StoreError> {
        let conn = self.conn()?;
        Ok(conn
            .query_row(
                "SELECT developer_id FROM api_keys WHERE key_sha256 = ?1",
                [api_key_sha256],
                |r| r.get(0),
            )
            .optional()?)
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
                pkcs8: zeroize::Zeroizing::new(r.get(1)?),
                created_at: r.get(2)?,
                retired_at: r.get(3)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn add_signing_key(&self, key: &SigningKeyRecord) -> Result<(), StoreError> {
        let mut conn = self.conn()?;
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        tx.execute(
            "UPDATE signing_keys SET retired_at = ?1 WHERE retired_at IS NULL",
            [key.created_at],
        )?;
        tx.execute(
            "INSERT INTO signing_keys (kid, pkcs8, created_at, retired_at) VALUES (?1, ?2, ?3, NULL)",
            params![key.kid, key.pkcs8.as_slice(), key.created_at],
        )?;
        tx.commit()?;
        Ok(())
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
    ) -> Result<AppendOutcome, StoreError> {
        let mut conn = self.conn()?;
        // IMMEDIATE takes SQLite's write lock up front: the read of the key and the tail
        // and the inserts below see no other writer in between (the protocol's row lock).
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let state: Option<(Vec<u8>, Option<u64>)> = tx
            .query_row(
                "SELECT audit_public_key, revoked_at FROM bundles WHERE id = ?1",
                [bundle_id],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        let Some((key, revoked_at)) = state else {
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
        tx.commit()?;
        Ok(AppendOutcome::Accepted {
            stored: new.len(),
            revoked_at,
        })
    }

    fn count_request(
        &self,
        key_sha256: &str,
        route: &'static str,
        limit: RateLimit,
        now_ms: u64,
    ) -> Result<Result<(), u64>, StoreError> {
        Ok(self.limiter.check(key_sha256, route, limit, now_ms))
    }

    fn entries(
        &self,
        bundle_id: &str,
        after_seq: u64,
        limit: u32,
    ) -> Result<Vec<StoredEntry>, StoreError> {
        let conn = self.conn()?;
        let mut stmt = conn.prepare(
            "SELECT seq, hash, json, synced_at FROM audit_entries
             WHERE bundle_id = ?1 AND seq > ?2 ORDER BY seq LIMIT ?3",
        )?;
        let rows = stmt.query_map(params![bundle_id, after_seq, limit], |r| {
            Ok(StoredEntry {
                seq: r.get(0)?,
                hash: r.get(1)?,
                json: r.get(2)?,
                synced_at: r.get(3)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}
