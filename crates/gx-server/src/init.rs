//! `init_db`: create a developer, an API key (returned once) and an agent in a database.

use std::path::Path;

use serde::Serialize;
use zeroize::Zeroizing;

use crate::config::{Clock, SystemClock};
use crate::database::Database;
use crate::encoding::{b64url, sha256_hex};
use crate::error::ServerError;
use crate::ids::new_id;
use crate::issuer::KeyRing;
use crate::store::{AgentRecord, DeveloperRecord, PgStore, SqliteStore, Store};

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
    init_db_at(&db.into(), options, &SystemClock)
}

pub(crate) fn init_db_at(
    db: &Database,
    options: InitOptions,
    clock: &dyn Clock,
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
    KeyRing::load_or_rotate(store, now)?;

    let mut secret = [0u8; 32];
    aws_lc_rs::rand::fill(&mut secret).map_err(|_| ServerError::KeyGeneration)?;
    let api_key = ApiKey(Zeroizing::new(format!("gx_{}", b64url(&secret))));
    zeroize::Zeroize::zeroize(&mut secret);

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
    store.create_tenant(&developer, &sha256_hex(api_key.expose().as_bytes()), &agent)?;
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
    let store = SqliteStore::open(path)?;
    restrict_permissions(path);
    Ok(store)
}

/// The database holds private keys: make it readable by its owner only (best effort).
fn restrict_permissions(path: &Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let _ = std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600));
    }
    #[cfg(not(unix))]
    let _ = path;
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
        assert_eq!(
            store
                .developer_for_key(&sha256_hex(first.api_key.expose().as_bytes()))
                .unwrap(),
            None
        );
        assert_eq!(
            store
                .developer_for_key(&sha256_hex(forced.api_key.expose().as_bytes()))
                .unwrap(),
            Some(forced.developer_id)
        );
        let json = serde_json::to_value(&forced.api_key).unwrap();
        assert!(json.as_str().unwrap().starts_with("gx_"));
    }
}
