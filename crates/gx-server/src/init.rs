//! `init_db`: create a developer, an admin API key (returned once) and an agent in a
//! database; and opening a database that must already be initialised.

use std::path::Path;
use std::sync::Arc;

use serde::Serialize;
use zeroize::Zeroizing;

use crate::config::{Clock, SystemClock};
use crate::database::Database;
use crate::encoding::{b64url, sha256_hex};
use crate::error::ServerError;
use crate::ids::new_id;
use crate::issuer::KeyRing;
use crate::sealing::KeyEncryptionKey;
use crate::store::{
    AgentRecord, ApiKeyRecord, ApiKeyRole, DeveloperRecord, PgStore, SqliteStore, Store, StoreError,
};

/// Scopes registered for the agent when [`InitOptions::scopes`] is empty.
pub const DEFAULT_SCOPES: &[&str] = &[
    "read:contacts",
    "write:calendar",
    "read:calendar",
    "send:email",
];

/// What [`init_db`] creates.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct InitOptions {
    /// The agent's DID; defaults to `did:grantex:<agent id>`.
    pub agent_did: Option<String>,
    /// Scopes the agent may be granted; empty means [`DEFAULT_SCOPES`].
    pub scopes: Vec<String>,
    /// Replace an initialised database (all its data is lost).
    pub force: bool,
}

/// An API key in clear text. Shown once at init; the database keeps only its SHA-256.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKey(Zeroizing<String>);

impl ApiKey {
    /// A new random key: `gx_` and 43 base64url characters (256 bits from the system RNG).
    pub(crate) fn generate() -> Result<Self, ServerError> {
        let mut secret = Zeroizing::new([0u8; 32]);
        aws_lc_rs::rand::fill(&mut *secret).map_err(|_| ServerError::KeyGeneration)?;
        Ok(Self(Zeroizing::new(format!("gx_{}", b64url(&*secret)))))
    }

    /// The SHA-256 (lowercase hex) the store keeps instead of the key.
    pub(crate) fn sha256(&self) -> String {
        sha256_hex(self.0.as_bytes())
    }

    /// The key itself, to print once or hand to a client.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl core::fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("ApiKey(<redacted>)")
    }
}

impl Serialize for ApiKey {
    /// Serializes the clear key: only for the one-time init output.
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

/// What [`init_db`] created; serializes as `{"developerId","apiKey","agentId","agentDid"}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct InitOutput {
    /// `dev_<ULID>`.
    pub developer_id: String,
    /// The API key (only its hash is stored).
    pub api_key: ApiKey,
    /// `ag_<ULID>`.
    pub agent_id: String,
    /// The agent's DID.
    pub agent_did: String,
}

/// Initialises the database `db` (an SQLite path, or a [`Database`]): schema (for
/// PostgreSQL, every missing migration), the first signing key, a developer with one API
/// key, and one agent with the given scopes.
///
/// # Errors
/// [`ServerError::AlreadyInitialised`] when the database already has a developer and
/// `force` is not set; [`ServerError::Reset`] when a forced reset cannot remove the old
/// files; [`ServerError::InvalidConfig`] for an empty scope or DID; store or RNG failures.
pub fn init_db(db: impl Into<Database>, options: InitOptions) -> Result<InitOutput, ServerError> {
    init_db_at(&db.into(), options, &SystemClock, None)
}

/// [`init_db`], with the first signing key sealed under `kek` (see [`KeyEncryptionKey`]).
///
/// # Errors
/// As [`init_db`].
pub fn init_db_with_kek(
    db: impl Into<Database>,
    options: InitOptions,
    kek: Option<&KeyEncryptionKey>,
) -> Result<InitOutput, ServerError> {
    init_db_at(&db.into(), options, &SystemClock, kek)
}

/// Opens the database only if `init` created it: a missing SQLite file is not created, a
/// PostgreSQL database must be at this build's schema version, and a database without a
/// developer is refused.
///
/// # Errors
/// [`ServerError::NotInitialised`], or the store's errors.
pub fn open_initialised(db: &Database) -> Result<Arc<dyn Store>, ServerError> {
    let not_initialised = || ServerError::NotInitialised(db.describe().into());
    let store: Arc<dyn Store> = match db {
        Database::Sqlite(path) => {
            if !path.exists() {
                return Err(not_initialised());
            }
            Arc::new(SqliteStore::open(path)?)
        }
        Database::Postgres(url) => match PgStore::open(url) {
            Ok(store) => Arc::new(store),
            Err(StoreError::NotInitialised) => return Err(not_initialised()),
            Err(e) => return Err(e.into()),
        },
    };
    if !store.is_initialised()? {
        return Err(not_initialised());
    }
    Ok(store)
}

pub(crate) fn init_db_at(
    db: &Database,
    options: InitOptions,
    clock: &dyn Clock,
    kek: Option<&KeyEncryptionKey>,
) -> Result<InitOutput, ServerError> {
    let scopes: Vec<String> = if options.scopes.is_empty() {
        DEFAULT_SCOPES.iter().map(|s| (*s).to_owned()).collect()
    } else {
        options.scopes
    };
    if scopes
        .iter()
        .any(|s| s.is_empty() || s.chars().count() > 256)
        || scopes.len() > 100
    {
        return Err(ServerError::InvalidConfig(
            "scopes must be 1..=100 strings of 1..=256 characters",
        ));
    }
    if options
        .agent_did
        .as_deref()
        .is_some_and(|d| d.is_empty() || d.chars().count() > 512)
    {
        return Err(ServerError::InvalidConfig(
            "agent DID must be 1..=512 characters",
        ));
    }
    let store: Box<dyn Store> = match db {
        Database::Sqlite(path) => Box::new(open_sqlite(path, options.force)?),
        Database::Postgres(url) => {
            let store = PgStore::migrate(url, false)?;
            if store.is_initialised()? {
                if !options.force {
                    return Err(ServerError::AlreadyInitialised(db.describe().into()));
                }
                drop(store);
                Box::new(PgStore::migrate(url, true)?)
            } else {
                Box::new(store)
            }
        }
    };
    let store = &*store;
    let now = clock.now().as_millis();
    KeyRing::load_or_rotate(store, now, kek)?;

    let api_key = ApiKey::generate()?;

    let developer = DeveloperRecord {
        id: new_id("dev", now),
        created_at: now,
    };
    let agent_id = new_id("ag", now);
    let agent_did = options
        .agent_did
        .unwrap_or_else(|| format!("did:grantex:{agent_id}"));
    let agent = AgentRecord {
        id: agent_id.clone(),
        developer_id: developer.id.clone(),
        did: agent_did.clone(),
        scopes,
        created_at: now,
    };
    let key = ApiKeyRecord {
        id: new_id("key", now),
        developer_id: developer.id.clone(),
        key_sha256: api_key.sha256(),
        label: Some(String::from("initial")),
        role: ApiKeyRole::Admin,
        created_at: now,
        expires_at: None,
        revoked_at: None,
    };
    store.create_tenant(&developer, &key, &agent)?;
    Ok(InitOutput {
        developer_id: developer.id,
        api_key,
        agent_id,
        agent_did,
    })
}

/// Opens the SQLite file for `init`, replacing an initialised one when `force`.
fn open_sqlite(path: &Path, force: bool) -> Result<SqliteStore, ServerError> {
    if path.exists() {
        let initialised = SqliteStore::open(path)?.is_initialised()?;
        if initialised && !force {
            return Err(ServerError::AlreadyInitialised(path.to_owned()));
        }
        if initialised {
            for suffix in ["", "-wal", "-shm"] {
                let mut p = path.as_os_str().to_owned();
                p.push(suffix);
                match std::fs::remove_file(&p) {
                    Ok(()) => {}
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    Err(e) => return Err(ServerError::Reset(e)),
                }
            }
        }
    }
    Ok(SqliteStore::open(path)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn init_refuses_twice_unless_forced() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("gx.db");
        let first = init_db(&db, InitOptions::default()).unwrap();
        assert!(first.developer_id.starts_with("dev_"));
        assert!(first.agent_id.starts_with("ag_"));
        assert_eq!(first.agent_did, format!("did:grantex:{}", first.agent_id));
        assert!(!format!("{first:?}").contains(first.api_key.expose()));
        let again = init_db(&db, InitOptions::default()).unwrap_err();
        assert_eq!(again.code(), "ALREADY_INITIALISED");
        let forced = init_db(
            &db,
            InitOptions {
                force: true,
                ..InitOptions::default()
            },
        )
        .unwrap();
        assert_ne!(forced.developer_id, first.developer_id);
        let store = SqliteStore::open(&db).unwrap();
        assert_eq!(store.api_key(&first.api_key.sha256()).unwrap(), None);
        let key = store.api_key(&forced.api_key.sha256()).unwrap().unwrap();
        assert_eq!(key.developer_id, forced.developer_id);
        assert_eq!(key.role, ApiKeyRole::Admin);
        let json = serde_json::to_value(&forced.api_key).unwrap();
        assert!(json.as_str().unwrap().starts_with("gx_"));
    }

    #[cfg(unix)]
    #[test]
    fn database_files_are_0600_from_the_start() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        // A fresh database opened by the store, and one made by init and reopened: while a
        // connection is open SQLite keeps its -wal and -shm files, and all three are 0600.
        let fresh = dir.path().join("fresh.db");
        let _open = SqliteStore::open(&fresh).unwrap();
        let db = dir.path().join("gx.db");
        init_db(&db, InitOptions::default()).unwrap();
        let _reopened = SqliteStore::open(&db).unwrap();
        for suffix in [
            "fresh.db",
            "fresh.db-wal",
            "fresh.db-shm",
            "gx.db",
            "gx.db-wal",
            "gx.db-shm",
        ] {
            let p = dir.path().join(suffix);
            let mode = std::fs::metadata(&p).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600, "{}", p.display());
        }
    }

    #[test]
    fn run_refuses_an_uninitialised_database_and_creates_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("new.db");
        assert_eq!(
            open_initialised(&Database::Sqlite(db.clone()))
                .unwrap_err()
                .code(),
            "NOT_INITIALISED"
        );
        assert!(!db.exists());
        SqliteStore::open(&db).unwrap();
        assert_eq!(
            open_initialised(&Database::Sqlite(db.clone()))
                .unwrap_err()
                .code(),
            "NOT_INITIALISED"
        );
    }
}
