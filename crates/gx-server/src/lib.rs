//! gx-server: a Grantex-compatible reference server, for end-to-end tests, demos and
//! teams that self-host.
//!
//! It implements every endpoint of the Grantex offline-authorization protocol with the
//! hosted service's validation, status codes, error codes and response shapes: consent
//! bundle issuance (RS256 grant tokens, per-bundle Ed25519 audit keys), the public JWKS,
//! audit-log sync with every check in the protocol's order, refresh, revocation and
//! listing. It serves HTTPS (rustls) from certificate files or a generated development
//! CA, or plain HTTP on loopback only, and keeps its state in one SQLite file.
//!
//! What it does not do: manage developers and agents beyond [`init_db`], federate with
//! the hosted service, or scale past one machine (the [`Store`] trait is the seam for a
//! PostgreSQL backend).
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
//! Operating it (flags, TLS, rotation, backups, logs) is described in `docs/server.md`.
#![forbid(unsafe_code)]
#![warn(missing_docs)]
#![cfg_attr(
    not(test),
    warn(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

mod admission;
mod api;
mod audit_key;
mod body;
mod bundles;
mod config;
mod conn;
mod encoding;
mod error;
#[cfg(feature = "_fuzzing")]
#[doc(hidden)]
pub mod fuzzing;
mod ids;
mod init;
mod issuer;
mod query;
mod rate_limit;
mod router;
mod server;
mod state;
mod store;
mod sync;
mod tls;

pub use config::{
    Clock, ConnectionLimits, ManualClock, RateLimit, RateLimits, ServerConfig, SystemClock,
    Timeouts, TlsMode,
};
pub use error::ServerError;
pub use init::{ApiKey, DEFAULT_SCOPES, InitOptions, InitOutput, init_db};
pub use issuer::MAX_TOKEN_LIFETIME_SECS;
pub use server::{RunningServer, Server};
pub use store::{
    AgentRecord, AppendOutcome, BundleQuery, BundleRecord, BundleRefresh, BundleStatus,
    ChainConflict, ConflictKind, DeveloperRecord, NewEntry, SigningKeyRecord, SqliteStore, Store,
    StoreError, StoredEntry, reconcile,
};

/// Largest request body accepted (1 MiB); larger bodies answer 413.
pub const MAX_BODY_BYTES: usize = body::MAX_BODY_BYTES;
/// Most entries per sync batch (1000); more answer 413 `PAYLOAD_TOO_LARGE`.
pub const MAX_SYNC_BATCH: usize = sync::MAX_BATCH;
