//! The PostgreSQL schema: numbered migrations, applied by `init` under an advisory lock,
//! recorded in `gx_schema_migrations`. `run` only checks the version.

use tokio_postgres::Client;

use crate::store::StoreError;

/// Key of the advisory lock that serialises migrations (and forced resets) across
/// processes: two `init` runs at once apply each migration once.
const MIGRATION_LOCK: i64 = 0x6778_7365_7276; // "gxserv"

/// Schema migrations: entry `i` takes the database from version `i` to `i + 1`.
pub(super) const MIGRATIONS: &[&str] = &[
    // v1: tenants, keys, bundles (with their chain head), audit chains, rate-limit windows
    // (the rate-limit key is the API key's id from v2 on).
    "CREATE TABLE developers (
        id TEXT PRIMARY KEY,
        created_at BIGINT NOT NULL
    );
    CREATE TABLE api_keys (
        key_sha256 TEXT PRIMARY KEY,
        developer_id TEXT NOT NULL REFERENCES developers(id),
        created_at BIGINT NOT NULL
    );
    CREATE TABLE agents (
        id TEXT PRIMARY KEY,
        developer_id TEXT NOT NULL REFERENCES developers(id),
        did TEXT NOT NULL,
        scopes TEXT[] NOT NULL,
        created_at BIGINT NOT NULL
    );
    CREATE TABLE signing_keys (
        kid TEXT PRIMARY KEY,
        pkcs8 BYTEA NOT NULL,
        created_at BIGINT NOT NULL,
        retired_at BIGINT
    );
    CREATE TABLE bundles (
        id TEXT PRIMARY KEY,
        created_order BIGINT GENERATED ALWAYS AS IDENTITY UNIQUE,
        developer_id TEXT NOT NULL REFERENCES developers(id),
        agent_id TEXT NOT NULL REFERENCES agents(id),
        agent_did TEXT NOT NULL,
        grant_id TEXT NOT NULL UNIQUE,
        user_id TEXT NOT NULL,
        scopes TEXT[] NOT NULL,
        offline_ttl TEXT NOT NULL,
        ttl_secs BIGINT NOT NULL,
        device_id TEXT,
        device_platform TEXT,
        token_id TEXT NOT NULL,
        audit_public_key BYTEA NOT NULL,
        offline_expires_at BIGINT NOT NULL,
        checkpoint_at BIGINT NOT NULL,
        created_at BIGINT NOT NULL,
        revoked_at BIGINT,
        revoked_by TEXT,
        grant_revoked BOOLEAN NOT NULL DEFAULT FALSE,
        grant_active BOOLEAN NOT NULL DEFAULT TRUE,
        audit_entry_count BIGINT NOT NULL DEFAULT 0,
        last_sync_at BIGINT,
        head_seq BIGINT NOT NULL DEFAULT 0,
        head_hash TEXT NOT NULL DEFAULT '0000000000000000'
    );
    CREATE INDEX bundles_by_developer ON bundles(developer_id, created_order);
    CREATE TABLE audit_entries (
        bundle_id TEXT NOT NULL REFERENCES bundles(id),
        seq BIGINT NOT NULL,
        hash TEXT NOT NULL,
        json TEXT NOT NULL,
        synced_at BIGINT NOT NULL,
        PRIMARY KEY (bundle_id, seq)
    );
    CREATE TABLE rate_windows (
        key_sha256 TEXT NOT NULL,
        route TEXT NOT NULL,
        window_start BIGINT NOT NULL,
        count BIGINT NOT NULL,
        PRIMARY KEY (key_sha256, route)
    );",
    // v2: several API keys per developer (id, label, role, expiry, revocation), and the
    // bytes each developer stores, for the storage quota.
    "ALTER TABLE api_keys RENAME TO api_keys_v1;
    CREATE TABLE api_keys (
        id TEXT PRIMARY KEY,
        key_sha256 TEXT NOT NULL UNIQUE,
        developer_id TEXT NOT NULL REFERENCES developers(id),
        label TEXT,
        role TEXT NOT NULL CHECK (role IN ('admin', 'sync')),
        created_at BIGINT NOT NULL,
        expires_at BIGINT,
        revoked_at BIGINT
    );
    INSERT INTO api_keys (id, key_sha256, developer_id, label, role, created_at)
        SELECT 'key_' || upper(substr(key_sha256, 1, 26)), key_sha256, developer_id, 'initial', 'admin', created_at
        FROM api_keys_v1;
    DROP TABLE api_keys_v1;
    ALTER TABLE developers ADD COLUMN stored_bytes BIGINT NOT NULL DEFAULT 0;
    UPDATE developers SET stored_bytes = (
        SELECT COALESCE(SUM(octet_length(e.json)), 0)
        FROM audit_entries e JOIN bundles b ON b.id = e.bundle_id
        WHERE b.developer_id = developers.id
    );",
    // v3: no foreign key from audit entries to bundles. Its check ran once per inserted
    // entry (a `SELECT … FOR KEY SHARE` of the bundle row for each of them), while the
    // append already holds that row's lock and answers an unknown bundle itself, and
    // bundles are never deleted. Bundle rows leave room for the head update of every
    // append to stay on their page (a HOT update: no index entries).
    "ALTER TABLE audit_entries DROP CONSTRAINT IF EXISTS audit_entries_bundle_id_fkey;
    ALTER TABLE bundles SET (fillfactor = 70);",
];

/// Every table gx-server creates, dependents first (for a forced reset).
const TABLES: &str = "audit_entries, rate_windows, bundles, agents, api_keys, developers, signing_keys, gx_schema_migrations";

fn known_version() -> i64 {
    i64::try_from(MIGRATIONS.len()).unwrap_or(i64::MAX)
}

/// The schema version recorded in the database; 0 when gx-server never initialised it.
pub(super) async fn version(client: &Client) -> Result<i64, StoreError> {
    let row = client
        .query_one(
            "SELECT to_regclass('gx_schema_migrations') IS NOT NULL",
            &[],
        )
        .await?;
    if !row.get::<_, bool>(0) {
        return Ok(0);
    }
    let row = client
        .query_one(
            "SELECT COALESCE(MAX(version), 0)::BIGINT FROM gx_schema_migrations",
            &[],
        )
        .await?;
    Ok(row.get(0))
}

/// Refuses a database that is not at this build's schema version.
pub(super) async fn check(client: &Client) -> Result<(), StoreError> {
    let v = version(client).await?;
    if v > known_version() {
        Err(StoreError::SchemaTooNew(v))
    } else if v < known_version() {
        Err(StoreError::NotInitialised)
    } else {
        Ok(())
    }
}

/// Applies the missing migrations, each once, whatever other processes do meanwhile.
/// With `reset`, first drops every gx-server table (all data is lost).
pub(super) async fn migrate(client: &mut Client, reset: bool) -> Result<(), StoreError> {
    let tx = client.transaction().await?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
        .await?;
    if reset {
        tx.batch_execute(&format!("DROP TABLE IF EXISTS {TABLES} CASCADE"))
            .await?;
    }
    tx.batch_execute(
        "CREATE TABLE IF NOT EXISTS gx_schema_migrations (
            version BIGINT PRIMARY KEY,
            applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
        )",
    )
    .await?;
    let row = tx
        .query_one(
            "SELECT COALESCE(MAX(version), 0)::BIGINT FROM gx_schema_migrations",
            &[],
        )
        .await?;
    let current: i64 = row.get(0);
    if current > known_version() {
        return Err(StoreError::SchemaTooNew(current));
    }
    for (i, sql) in MIGRATIONS
        .iter()
        .enumerate()
        .skip(usize::try_from(current).unwrap_or(0))
    {
        tx.batch_execute(sql).await?;
        let v = i64::try_from(i + 1).unwrap_or(i64::MAX);
        tx.execute(
            "INSERT INTO gx_schema_migrations (version) VALUES ($1)",
            &[&v],
        )
        .await?;
    }
    tx.commit().await?;
    Ok(())
}
