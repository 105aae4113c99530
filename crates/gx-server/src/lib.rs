//! gx-server: a Grantex-compatible reference server, for end-to-end tests, demos and
//! teams that self-host.
//!
//! It implements every endpoint of the Grantex offline-authorization protocol with the
//! hosted service's validation, status codes, error codes and response shapes: consent
//! bundle issuance (RS256 grant tokens, per-bundle Ed25519 audit keys), the public JWKS,
//! audit-log sync with every check in the protocol's order, refresh, revocation and
//! listing. It serves HTTPS (rustls) from certificate files or a generated development
//! CA, or plain HTTP on loopback only, and keeps its state in one SQLite file or in a
//! PostgreSQL database that several replicas share ([`Database`]).
//!
//! What it does not do: manage developers and agents beyond [`init_db`], or federate
//! with the hosted service.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use gx_server::{InitOptions, RateLimits, Server, ServerConfig, init_db};
//!
//! let db = std::path::Path::new("gx.db");
//! let tenant = init_db(db, InitOptions::default())?; // prints nothing; show the key once
//! let mut config = ServerConfig::new(db, "127.0.0.1:0".parse()?);
//! config.rate_limits = RateLimits::DISABLED;
//! let server = Server::start(config).await?;
//! println!("{} (agent {}, CA:\n{})", server.base_url(), tenant.agent_id, server.ca_cert_pem().unwrap_or(""));
//! server.shutdown().await;
//! # Ok(()) }
//! ```
//!
//! Operating it (flags, TLS, API keys and their roles, rotation, limits, backups, logs) is
//! described in `docs/server.md`.
//!
//! # Crate features
//! - `cli` (default): [`cli`], the command line `gx-server` and `gx server` share.
#![forbid(unsafe_code)]
#![warn(missing_docs)]
#![cfg_attr(
    not(test),
    warn(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

mod admin;
mod admission;
mod api;
mod audit_key;
mod body;
mod bundles;
#[cfg(feature = "cli")]
pub mod cli;
mod config;
mod conn;
mod database;
mod encoding;
mod error;
#[doc(hidden)]
pub mod fuzzing;
mod ids;
mod init;
mod issuer;
mod query;
mod rate_limit;
mod router;
mod sealing;
mod server;
mod state;
mod store;
mod sync;
mod tls;

pub use admin::{
    NewApiKey, NewKeyOptions, create_api_key, list_api_keys, parse_duration, revoke_api_key,
    rotate_signing_key,
};
pub use config::{
    Clock, ConnectionLimits, DEFAULT_KEY_MAINTENANCE, DEFAULT_STORAGE_QUOTA, ManualClock,
    RateLimit, RateLimits, ServerConfig, SystemClock, Timeouts, TlsMode,
};
pub use database::{DEFAULT_POOL_SIZE, Database, DatabaseError, PostgresUrl};
pub use error::ServerError;
pub use init::{
    ApiKey, DEFAULT_SCOPES, InitOptions, InitOutput, init_db, init_db_with_kek, open_initialised,
};
pub use issuer::MAX_TOKEN_LIFETIME_SECS;
pub use sealing::{KEK_ENV, KeyEncryptionKey};
pub use server::{RunningServer, Server};
pub use store::{
    AgentRecord, ApiKeyRecord, ApiKeyRole, AppendOutcome, BundleQuery, BundleRecord, BundleRefresh,
    BundleStatus, ChainConflict, ConflictKind, DeveloperRecord, EntryPage, NewEntry, PgStore,
    RefreshOutcome, SigningKeyRecord, SqliteStore, Store, StoreError, StoredEntry, reconcile,
};

/// Largest request body accepted (1 MiB); larger bodies answer 413.
pub const MAX_BODY_BYTES: usize = body::MAX_BODY_BYTES;
/// Most entries per sync batch (1000); more answer 413 `PAYLOAD_TOO_LARGE`.
pub const MAX_SYNC_BATCH: usize = sync::MAX_BATCH;
/// Largest `metadata` text of one synced entry (64 KiB); a larger one is `INVALID_ENTRY`.
pub const MAX_METADATA_BYTES: usize = sync::MAX_METADATA_BYTES;
/// Most bytes of entry JSON in one page of `GET /v1/consent-bundles/{id}/audit` (4 MiB).
pub const AUDIT_PAGE_BYTES: usize = bundles::AUDIT_PAGE_BYTES;
