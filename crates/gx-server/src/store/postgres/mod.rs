//! The PostgreSQL backend of [`Store`]: a pool of connections (deadpool) to one database
//! that any number of gx-server replicas share.
//!
//! Concurrency comes from the database, not the process. An append locks the bundle row
//! (`SELECT … FOR UPDATE`), compares the key and the batch with the head stored in that
//! row ([`reconcile`](super::reconcile)), inserts the new entries in one
//! `INSERT … SELECT FROM UNNEST`, moves the head and commits, in one statement when the
//! batch continues the head (see `append`); `PRIMARY KEY (bundle_id, seq)` is the
//! backstop. A refresh is one `UPDATE … WHERE revoked_at IS NULL AND …` (the row lock
//! again), so a revoke and a refresh of one bundle never both win. Rate-limit windows are
//! rows updated with one upsert, so a limit holds across replicas.
//!
//! The trait is blocking and tokio-postgres is async: the store owns a small tokio runtime
//! (two worker threads) that drives the connections, and each call runs there while the
//! calling thread (a blocking-pool thread of the server) waits for its result. That works
//! from any thread, inside another runtime or not.

mod append;
mod schema;

use std::sync::Arc;

use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod};
use tokio_postgres::Row;

use super::sqlite::refusal;
use super::{
    AgentRecord, ApiKeyRecord, ApiKeyRole, AppendOutcome, BundleQuery, BundleRecord, BundleRefresh,
    BundleStatus, DeveloperRecord, EntryPage, NewEntry, RefreshOutcome, SigningKeyRecord, Store,
    StoreError, StoredEntry,
};
use crate::config::RateLimit;
use crate::database::PostgresUrl;

/// A [`Store`] in a PostgreSQL database.
pub struct PgStore {
    pool: Pool,
    runtime: Option<tokio::runtime::Runtime>,
}

impl core::fmt::Debug for PgStore {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("PgStore")
            .field("pool_size", &self.pool.status().max_size)
            .finish_non_exhaustive()
    }
}

impl Drop for PgStore {
    fn drop(&mut self) {
        // Dropping a runtime blocks, which tokio forbids inside async code; this does not.
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_background();
        }
    }
}

impl From<tokio_postgres::Error> for StoreError {
    fn from(e: tokio_postgres::Error) -> Self {
        Self::Postgres(e)
    }
}

impl From<deadpool_postgres::PoolError> for StoreError {
    fn from(e: deadpool_postgres::PoolError) -> Self {
        match e {
            deadpool_postgres::PoolError::Backend(e) => Self::Postgres(e),
            other => Self::Pool(other.to_string()),
        }
    }
}

/// rustls with the aws-lc-rs provider and the system's roots plus the webpki roots: the
/// TLS the rest of gx uses. `sslmode` in the URL says whether it is required
/// (`require`), tried (`prefer`, the driver's default) or off (`disable`).
fn tls() -> Result<tokio_postgres_rustls::MakeRustlsConnect, StoreError> {
    let mut roots = rustls::RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    for cert in rustls_native_certs::load_native_certs().certs {
        // A certificate the system offers but rustls cannot parse is skipped, not fatal.
        let _ = roots.add(cert);
    }
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| StoreError::Pool(format!("TLS setup: {e}")))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(tokio_postgres_rustls::MakeRustlsConnect::new(config))
}

fn int(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

fn uint(v: i64) -> Result<u64, StoreError> {
    u64::try_from(v).map_err(|_| StoreError::Corrupt("negative number"))
}

fn opt_uint(v: Option<i64>) -> Result<Option<u64>, StoreError> {
    v.map(uint).transpose()
}

const BUNDLE_COLUMNS: &str = "id, developer_id, agent_id, agent_did, grant_id, user_id, scopes, offline_ttl, ttl_secs,
    device_id, device_platform, token_id, audit_public_key, offline_expires_at, checkpoint_at, created_at,
    revoked_at, revoked_by, grant_revoked, grant_active, audit_entry_count, last_sync_at";

/// The columns of `api_keys`, in [`api_key_from_row`]'s order.
const API_KEY_COLUMNS: &str =
    "id, developer_id, key_sha256, label, role, created_at, expires_at, revoked_at";

fn api_key_from_row(r: &Row) -> Result<ApiKeyRecord, StoreError> {
    let role: String = r.try_get(4)?;
    Ok(ApiKeyRecord {
        id: r.try_get(0)?,
        developer_id: r.try_get(1)?,
        key_sha256: r.try_get(2)?,
        label: r.try_get(3)?,
        role: ApiKeyRole::parse(&role).ok_or(StoreError::Corrupt("unknown API key role"))?,
        created_at: uint(r.try_get(5)?)?,
        expires_at: opt_uint(r.try_get(6)?)?,
        revoked_at: opt_uint(r.try_get(7)?)?,
    })
}

async fn insert_api_key(
    client: &impl tokio_postgres::GenericClient,
    k: &ApiKeyRecord,
) -> Result<(), StoreError> {
    client
        .execute(
            &format!(
                "INSERT INTO api_keys ({API_KEY_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
            ),
            &[
                &k.id,
                &k.developer_id,
                &k.key_sha256,
                &k.label,
                &k.role.as_str(),
                &int(k.created_at),
                &k.expires_at.map(int),
                &k.revoked_at.map(int),
            ],
        )
        .await?;
    Ok(())
}

fn bundle_from_row(r: &Row) -> Result<BundleRecord, StoreError> {
    let key: Vec<u8> = r.try_get(12)?;
    let audit_public_key = <[u8; 32]>::try_from(key.as_slice())
        .map_err(|_| StoreError::Corrupt("audit public key length"))?;
    Ok(BundleRecord {
        id: r.try_get(0)?,
        developer_id: r.try_get(1)?,
        agent_id: r.try_get(2)?,
        agent_did: r.try_get(3)?,
        grant_id: r.try_get(4)?,
        user_id: r.try_get(5)?,
        scopes: r.try_get(6)?,
        offline_ttl: r.try_get(7)?,
        ttl_secs: uint(r.try_get(8)?)?,
        device_id: r.try_get(9)?,
        device_platform: r.try_get(10)?,
        token_id: r.try_get(11)?,
        audit_public_key,
        offline_expires_at: uint(r.try_get(13)?)?,
        checkpoint_at: uint(r.try_get(14)?)?,
        created_at: uint(r.try_get(15)?)?,
        revoked_at: opt_uint(r.try_get(16)?)?,
        revoked_by: r.try_get(17)?,
        grant_revoked: r.try_get(18)?,
        grant_active: r.try_get(19)?,
        audit_entry_count: uint(r.try_get(20)?)?,
        last_sync_at: opt_uint(r.try_get(21)?)?,
    })
}

impl PgStore {
    fn connect(url: &PostgresUrl) -> Result<Self, StoreError> {
        let config: tokio_postgres::Config = url
            .expose()
            .parse()
            .map_err(|e: tokio_postgres::Error| StoreError::Pool(e.to_string()))?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("gx-postgres")
            .enable_all()
            .build()
            .map_err(|e| StoreError::Pool(format!("runtime: {e}")))?;
        let manager = Manager::from_config(
            config,
            tls()?,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(url.pool_size())
            .build()
            .map_err(|e| StoreError::Pool(e.to_string()))?;
        Ok(Self {
            pool,
            runtime: Some(runtime),
        })
    }

    /// Connects for serving: the database must be at this build's schema version
    /// (`init` creates and migrates it).
    ///
    /// # Errors
    /// [`StoreError::NotInitialised`] for a database `init` never ran on (or an older
    /// schema), [`StoreError::SchemaTooNew`], or a connection failure.
    pub fn open(url: &PostgresUrl) -> Result<Self, StoreError> {
        let store = Self::connect(url)?;
        store.run(|pool| async move {
            let client = pool.get().await?;
            schema::check(&client).await
        })?;
        Ok(store)
    }

    /// Connects for `init`: creates the schema or applies the missing migrations (each
    /// once, even with several `init` runs at once). With `reset`, every gx-server table
    /// is dropped first.
    ///
    /// # Errors
    /// [`StoreError`] on connection or SQL failure, or a newer schema.
    pub fn migrate(url: &PostgresUrl, reset: bool) -> Result<Self, StoreError> {
        let store = Self::connect(url)?;
        store.run(move |pool| async move {
            let mut client = pool.get().await?;
            schema::migrate(&mut client, reset).await
        })?;
        Ok(store)
    }

    /// Runs `f` on the store's runtime and waits for its result.
    fn run<T, F, Fut>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(Pool) -> Fut,
        Fut: Future<Output = Result<T, StoreError>> + Send + 'static,
    {
        let rt = self.runtime.as_ref().ok_or(StoreError::Task)?;
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        let fut = f(self.pool.clone());
        rt.spawn(async move {
            let _ = tx.send(fut.await);
        });
        rx.recv().map_err(|_| StoreError::Task)?
    }
}

impl Store for PgStore {
    fn is_initialised(&self) -> Result<bool, StoreError> {
        self.run(|pool| async move {
            let client = pool.get().await?;
            let row = client
                .query_one("SELECT EXISTS (SELECT 1 FROM developers)", &[])
                .await?;
            Ok(row.try_get(0)?)
        })
    }

    fn create_tenant(
        &self,
        developer: &DeveloperRecord,
        key: &ApiKeyRecord,
        agent: &AgentRecord,
    ) -> Result<(), StoreError> {
        let (developer, key, agent) = (developer.clone(), key.clone(), agent.clone());
        self.run(|pool| async move {
            let mut client = pool.get().await?;
            let tx = client.transaction().await?;
            tx.execute(
                "INSERT INTO developers (id, created_at) VALUES ($1, $2)",
                &[&developer.id, &int(developer.created_at)],
            )
            .await?;
            insert_api_key(&*tx, &key).await?;
            tx.execute(
                "INSERT INTO agents (id, developer_id, did, scopes, created_at) VALUES ($1, $2, $3, $4, $5)",
                &[&agent.id, &agent.developer_id, &agent.did, &agent.scopes, &int(agent.created_at)],
            )
            .await?;
            tx.commit().await?;
            Ok(())
        })
    }

    fn agent(&self, developer_id: &str, agent_id: &str) -> Result<Option<AgentRecord>, StoreError> {
        let (dev, id) = (developer_id.to_owned(), agent_id.to_owned());
        self.run(|pool| async move {
            let client = pool.get().await?;
            let row = client
                .query_opt(
                    "SELECT id, developer_id, did, scopes, created_at FROM agents WHERE id = $1 AND developer_id = $2",
                    &[&id, &dev],
                )
                .await?;
            row.map(|r| {
                Ok(AgentRecord {
                    id: r.try_get(0)?,
                    developer_id: r.try_get(1)?,
                    did: r.try_get(2)?,
                    scopes: r.try_get(3)?,
                    created_at: uint(r.try_get(4)?)?,
                })
            })
            .transpose()
        })
    }

    fn signing_keys(&self) -> Result<Vec<SigningKeyRecord>, StoreError> {
        self.run(|pool| async move {
            let client = pool.get().await?;
            let rows = client
                .query(
                    "SELECT kid, pkcs8, created_at, retired_at FROM signing_keys ORDER BY created_at, kid",
                    &[],
                )
                .await?;
            rows.iter()
                .map(|r| {
                    Ok(SigningKeyRecord {
                        kid: r.try_get(0)?,
                        private_key: zeroize::Zeroizing::new(r.try_get(1)?),
                        created_at: uint(r.try_get(2)?)?,
                        retired_at: opt_uint(r.try_get(3)?)?,
                    })
                })
                .collect()
        })
    }

    fn add_signing_key(
        &self,
        key: &SigningKeyRecord,
        expected_current: Option<&str>,
    ) -> Result<bool, StoreError> {
        let (key, expected) = (key.clone(), expected_current.map(str::to_owned));
        self.run(|pool| async move {
            let mut client = pool.get().await?;
            let tx = client.transaction().await?;
            // Replicas rotating at once take turns here; the second sees the first's key
            // as current and adds nothing.
            tx.batch_execute("LOCK TABLE signing_keys IN SHARE ROW EXCLUSIVE MODE")
                .await?;
            let current: Option<String> = tx
                .query_opt(
                    "SELECT kid FROM signing_keys WHERE retired_at IS NULL ORDER BY created_at DESC, kid DESC LIMIT 1",
                    &[],
                )
                .await?
                .map(|r| r.try_get(0))
                .transpose()?;
            if current != expected {
                return Ok(false);
            }
            let at = int(key.created_at);
            tx.execute(
                "UPDATE signing_keys SET retired_at = $1 WHERE retired_at IS NULL",
                &[&at],
            )
            .await?;
            tx.execute(
                "INSERT INTO signing_keys (kid, pkcs8, created_at, retired_at) VALUES ($1, $2, $3, NULL)",
                &[&key.kid, &key.private_key.as_slice(), &at],
            )
            .await?;
            tx.commit().await?;
            Ok(true)
        })
    }

    fn insert_bundle(&self, b: &BundleRecord) -> Result<(), StoreError> {
        let b = b.clone();
        self.run(|pool| async move {
            let client = pool.get().await?;
            let sql = format!(
                "INSERT INTO bundles ({BUNDLE_COLUMNS}) VALUES
                 ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22)"
            );
            let stmt = client.prepare_cached(&sql).await?;
            client
                .execute(
                    &stmt,
                    &[
                        &b.id,
                        &b.developer_id,
                        &b.agent_id,
                        &b.agent_did,
                        &b.grant_id,
                        &b.user_id,
                        &b.scopes,
                        &b.offline_ttl,
                        &int(b.ttl_secs),
                        &b.device_id,
                        &b.device_platform,
                        &b.token_id,
                        &b.audit_public_key.as_slice(),
                        &int(b.offline_expires_at),
                        &int(b.checkpoint_at),
                        &int(b.created_at),
                        &b.revoked_at.map(int),
                        &b.revoked_by,
                        &b.grant_revoked,
                        &b.grant_active,
                        &int(b.audit_entry_count),
                        &b.last_sync_at.map(int),
                    ],
                )
                .await?;
            Ok(())
        })
    }

    fn bundle(
        &self,
        developer_id: &str,
        bundle_id: &str,
    ) -> Result<Option<BundleRecord>, StoreError> {
        let (dev, id) = (developer_id.to_owned(), bundle_id.to_owned());
        self.run(|pool| async move {
            let client = pool.get().await?;
            let stmt = client
                .prepare_cached(&format!(
                    "SELECT {BUNDLE_COLUMNS} FROM bundles WHERE id = $1 AND developer_id = $2"
                ))
                .await?;
            let row = client.query_opt(&stmt, &[&id, &dev]).await?;
            row.as_ref().map(bundle_from_row).transpose()
        })
    }

    fn list_bundles(
        &self,
        developer_id: &str,
        q: &BundleQuery,
    ) -> Result<Vec<BundleRecord>, StoreError> {
        let (dev, q) = (developer_id.to_owned(), q.clone());
        self.run(|pool| async move {
            let client = pool.get().await?;
            let status_sql = match q.status {
                None => "$5::BIGINT IS NOT NULL",
                Some(BundleStatus::Revoked) => "revoked_at IS NOT NULL AND $5::BIGINT IS NOT NULL",
                Some(BundleStatus::Active) => "revoked_at IS NULL AND offline_expires_at > $5",
                Some(BundleStatus::Expired) => "revoked_at IS NULL AND offline_expires_at <= $5",
            };
            let sql = format!(
                "SELECT {BUNDLE_COLUMNS} FROM bundles
                 WHERE developer_id = $1 AND ($2::TEXT IS NULL OR agent_id = $2)
                   AND ($3::TEXT IS NULL OR created_order <
                        (SELECT created_order FROM bundles WHERE id = $3 AND developer_id = $1))
                   AND ({status_sql})
                 ORDER BY created_order DESC LIMIT $4"
            );
            let limit = i64::from(q.limit);
            let rows = client
                .query(
                    &sql,
                    &[&dev, &q.agent_id, &q.before_id, &limit, &int(q.now_ms)],
                )
                .await?;
            rows.iter().map(bundle_from_row).collect()
        })
    }

    fn refresh_bundle(
        &self,
        developer_id: &str,
        bundle_id: &str,
        r: &BundleRefresh,
        now_ms: u64,
    ) -> Result<RefreshOutcome, StoreError> {
        let (dev, id, r) = (developer_id.to_owned(), bundle_id.to_owned(), r.clone());
        self.run(move |pool| async move {
            let client = pool.get().await?;
            // One UPDATE: it waits for the row lock of a concurrent revoke and then
            // re-evaluates its WHERE on the revoked row, so it changes nothing.
            let n = client
                .execute(
                    "UPDATE bundles SET token_id = $1, audit_public_key = $2, offline_expires_at = $3, checkpoint_at = $4
                     WHERE id = $5 AND developer_id = $6
                       AND revoked_at IS NULL AND grant_active AND offline_expires_at > $7",
                    &[
                        &r.token_id,
                        &r.audit_public_key.as_slice(),
                        &int(r.offline_expires_at),
                        &int(r.checkpoint_at),
                        &id,
                        &dev,
                        &int(now_ms),
                    ],
                )
                .await?;
            if n == 1 {
                return Ok(RefreshOutcome::Refreshed);
            }
            let row = client
                .query_opt(
                    &format!("SELECT {BUNDLE_COLUMNS} FROM bundles WHERE id = $1 AND developer_id = $2"),
                    &[&id, &dev],
                )
                .await?;
            Ok(match row {
                None => RefreshOutcome::UnknownBundle,
                Some(row) => refusal(&bundle_from_row(&row)?, now_ms),
            })
        })
    }

    fn revoke_bundle(
        &self,
        developer_id: &str,
        bundle_id: &str,
        revoke_grant: bool,
        now_ms: u64,
    ) -> Result<Option<BundleRecord>, StoreError> {
        let (dev, id) = (developer_id.to_owned(), bundle_id.to_owned());
        self.run(move |pool| async move {
            let client = pool.get().await?;
            let row = client
                .query_opt(
                    &format!(
                        "UPDATE bundles SET
                            revoked_at = COALESCE(revoked_at, $1),
                            revoked_by = COALESCE(revoked_by, $2),
                            grant_revoked = grant_revoked OR $3,
                            grant_active = grant_active AND NOT $3
                         WHERE id = $4 AND developer_id = $2
                         RETURNING {BUNDLE_COLUMNS}"
                    ),
                    &[&int(now_ms), &dev, &revoke_grant, &id],
                )
                .await?;
            row.as_ref().map(bundle_from_row).transpose()
        })
    }

    fn set_grant_active(&self, grant_id: &str, active: bool) -> Result<bool, StoreError> {
        let grant = grant_id.to_owned();
        self.run(move |pool| async move {
            let client = pool.get().await?;
            let n = client
                .execute(
                    "UPDATE bundles SET grant_active = $1 WHERE grant_id = $2",
                    &[&active, &grant],
                )
                .await?;
            Ok(n > 0)
        })
    }

    fn append_entries(
        &self,
        bundle_id: &str,
        audit_key: &[u8; 32],
        batch: &[NewEntry],
        now_ms: u64,
        quota_bytes: Option<u64>,
    ) -> Result<AppendOutcome, StoreError> {
        let (id, key, batch) = (bundle_id.to_owned(), *audit_key, batch.to_vec());
        self.run(move |pool| async move {
            append::append(&pool, &id, &key, &batch, now_ms, quota_bytes).await
        })
    }

    fn count_request(
        &self,
        key_sha256: &str,
        route: &'static str,
        limit: RateLimit,
        now_ms: u64,
    ) -> Result<Result<(), u64>, StoreError> {
        let key = key_sha256.to_owned();
        let window = int(u64::try_from(limit.window.as_millis())
            .unwrap_or(u64::MAX)
            .max(1));
        self.run(move |pool| async move {
            let client = pool.get().await?;
            // One statement: the row lock makes concurrent counts from every replica add up.
            let stmt = client
                .prepare_cached(
                    "INSERT INTO rate_windows AS w (key_sha256, route, window_start, count)
                     VALUES ($1, $2, $3, 1)
                     ON CONFLICT (key_sha256, route) DO UPDATE SET
                        window_start = CASE WHEN w.window_start + $4 <= $3 THEN $3 ELSE w.window_start END,
                        count = CASE WHEN w.window_start + $4 <= $3 THEN 1 ELSE w.count + 1 END
                     RETURNING window_start, count",
                )
                .await?;
            let row = client
                .query_one(&stmt, &[&key, &route, &int(now_ms), &window])
                .await?;
            let (start, count): (i64, i64) = (row.try_get(0)?, row.try_get(1)?);
            if count > i64::from(limit.max) {
                let wait_ms = start.saturating_add(window).saturating_sub(int(now_ms));
                Ok(Err(uint(wait_ms.max(0))?.div_ceil(1000).max(1)))
            } else {
                Ok(Ok(()))
            }
        })
    }

    fn entries(
        &self,
        bundle_id: &str,
        after_seq: u64,
        limit: u32,
        max_bytes: usize,
    ) -> Result<EntryPage, StoreError> {
        let id = bundle_id.to_owned();
        self.run(move |pool| async move {
            let client = pool.get().await?;
            // One row more than asked for tells whether another page follows; rows stream
            // in as the page fills, so a page never holds more than its budget.
            let (after, rows_wanted) = (int(after_seq), i64::from(limit) + 1);
            let params: [&(dyn tokio_postgres::types::ToSql + Sync); 3] =
                [&id, &after, &rows_wanted];
            let rows = client
                .query_raw(
                    "SELECT seq, hash, json, synced_at FROM audit_entries
                     WHERE bundle_id = $1 AND seq > $2 ORDER BY seq LIMIT $3",
                    params,
                )
                .await?;
            let mut rows = core::pin::pin!(rows);
            let mut page = EntryPage::default();
            let mut bytes = 0usize;
            while let Some(r) = next_row(rows.as_mut()).await? {
                let json: String = r.try_get(2)?;
                let full = page.entries.len() >= limit as usize
                    || (!page.entries.is_empty() && bytes.saturating_add(json.len()) > max_bytes);
                if full {
                    page.more = true;
                    break;
                }
                bytes = bytes.saturating_add(json.len());
                page.entries.push(StoredEntry {
                    seq: uint(r.try_get(0)?)?,
                    hash: r.try_get(1)?,
                    json,
                    synced_at: uint(r.try_get(3)?)?,
                });
            }
            Ok(page)
        })
    }

    fn api_key(&self, key_sha256: &str) -> Result<Option<ApiKeyRecord>, StoreError> {
        let key = key_sha256.to_owned();
        self.run(|pool| async move {
            let client = pool.get().await?;
            let stmt = client
                .prepare_cached(&format!(
                    "SELECT {API_KEY_COLUMNS} FROM api_keys WHERE key_sha256 = $1"
                ))
                .await?;
            let row = client.query_opt(&stmt, &[&key]).await?;
            row.as_ref().map(api_key_from_row).transpose()
        })
    }

    fn insert_api_key(&self, key: &ApiKeyRecord) -> Result<(), StoreError> {
        let key = key.clone();
        self.run(|pool| async move {
            let client = pool.get().await?;
            insert_api_key(&**client, &key).await
        })
    }

    fn api_keys(&self) -> Result<Vec<ApiKeyRecord>, StoreError> {
        self.run(|pool| async move {
            let client = pool.get().await?;
            let rows = client
                .query(
                    &format!("SELECT {API_KEY_COLUMNS} FROM api_keys ORDER BY created_at, id"),
                    &[],
                )
                .await?;
            rows.iter().map(api_key_from_row).collect()
        })
    }

    fn revoke_api_key(
        &self,
        key_id: &str,
        now_ms: u64,
    ) -> Result<Option<ApiKeyRecord>, StoreError> {
        let id = key_id.to_owned();
        self.run(move |pool| async move {
            let client = pool.get().await?;
            let row = client
                .query_opt(
                    &format!(
                        "UPDATE api_keys SET revoked_at = COALESCE(revoked_at, $1) WHERE id = $2
                         RETURNING {API_KEY_COLUMNS}"
                    ),
                    &[&int(now_ms), &id],
                )
                .await?;
            row.as_ref().map(api_key_from_row).transpose()
        })
    }

    fn developers(&self) -> Result<Vec<DeveloperRecord>, StoreError> {
        self.run(|pool| async move {
            let client = pool.get().await?;
            let rows = client
                .query(
                    "SELECT id, created_at FROM developers ORDER BY created_at, id",
                    &[],
                )
                .await?;
            rows.iter()
                .map(|r| {
                    Ok(DeveloperRecord {
                        id: r.try_get(0)?,
                        created_at: uint(r.try_get(1)?)?,
                    })
                })
                .collect()
        })
    }

    fn reseal_signing_key(&self, kid: &str, private_key: &[u8]) -> Result<bool, StoreError> {
        let (kid, key) = (
            kid.to_owned(),
            zeroize::Zeroizing::new(private_key.to_vec()),
        );
        self.run(|pool| async move {
            let client = pool.get().await?;
            let n = client
                .execute(
                    "UPDATE signing_keys SET pkcs8 = $1 WHERE kid = $2",
                    &[&key.as_slice(), &kid],
                )
                .await?;
            Ok(n == 1)
        })
    }

    fn delete_retired_signing_keys(&self, retired_before_ms: u64) -> Result<usize, StoreError> {
        self.run(move |pool| async move {
            let client = pool.get().await?;
            let n = client
                .execute(
                    "DELETE FROM signing_keys WHERE retired_at IS NOT NULL AND retired_at < $1",
                    &[&int(retired_before_ms)],
                )
                .await?;
            Ok(usize::try_from(n).unwrap_or(usize::MAX))
        })
    }
}

/// The next row of a streamed query.
async fn next_row(
    mut rows: core::pin::Pin<&mut tokio_postgres::RowStream>,
) -> Result<Option<Row>, StoreError> {
    core::future::poll_fn(|cx| futures_core::Stream::poll_next(rows.as_mut(), cx))
        .await
        .transpose()
        .map_err(StoreError::from)
}
