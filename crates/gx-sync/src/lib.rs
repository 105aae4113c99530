//! gx-sync: the way back to the cloud. An async HTTPS client of the Grantex API that issues,
//! refreshes and revokes consent bundles and uploads the device's audit log.
//!
//! What it does not do: it never hashes, signs or verifies (gx-core does) and never lays
//! out files (gx-storage does). It adds the network: tokio, hyper 1 and rustls with the
//! aws-lc-rs provider (no OpenSSL), HTTPS only except to loopback hosts, retries with
//! backoff and jitter, and the sync state machine that keeps the log's cursor honest.
//!
//! The API key lives in an [`ApiKey`] (zeroized on drop, redacted in `Debug`) and is never
//! logged.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use gx_core::AwsLcRs;
//! use gx_storage::{AuditLogConfig, BundleFile, BundleKey, DeviceOptions, DeviceSession, FsyncPolicy};
//! use gx_sync::{ApiKey, CreateBundleRequest, GrantexClient, SyncOptions};
//!
//! // Online: issue a bundle and store it encrypted.
//! let client = GrantexClient::new("https://api.grantex.dev", ApiKey::new(std::env::var("GX_API_KEY")?)?)?;
//! let bundle = client
//!     .create_bundle(&CreateBundleRequest::new("ag_01", "user_42", ["read:contacts"]))
//!     .await?;
//! let key = BundleKey::from_hex(&std::env::var("GX_BUNDLE_KEY")?)?;
//! BundleFile::new("bundle.gxb").store(&bundle, &key)?;
//!
//! // Offline: the device session owns the bundle, the log, the floor and the rest.
//! let options = DeviceOptions::new()
//!     .with_log("audit.jsonl", AuditLogConfig::new(FsyncPolicy::EveryEntry));
//! let device = DeviceSession::<AwsLcRs>::open("bundle.gxb", key, options)?;
//! device.append("tool:read_contacts", "success", Some(r#"{"count":3}"#), None)?;
//!
//! // Back online: upload what the server has not confirmed, and learn about revocation.
//! let id = device.bundle().bundle_id().to_owned();
//! let report = client
//!     .sync(device.log()?, &id, &SyncOptions::default(), |p| {
//!         eprintln!("{}/{}", p.cursor, p.target)
//!     })
//!     .await?;
//! if report.is_revoked() {
//!     // From now on every action of this device is refused, offline and after a restart.
//!     device.learn_revoked(report.revoked_at.clone())?;
//!     return Ok(());
//! }
//! // Before the bundle expires: sync, journal, refresh, store, switch keys, in that order.
//! client.refresh_device(&device, &SyncOptions::default()).await?;
//! # Ok(()) }
//! ```
#![warn(missing_docs)]
#![cfg_attr(
    not(test),
    warn(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

pub use gx_storage;

mod api_key;
pub use api_key::ApiKey;

mod error;
pub use error::{ApiError, BoxError, ClientError, ConnectCause, EntryError, TlsCause};

mod options;
pub use options::{ClientOptions, ProxyConfig, RootCertificates};

mod retry;
pub use retry::{RetryNotice, RetryPolicy};

mod url;
pub use url::BaseUrl;

mod transport;

mod wire;
pub use wire::{
    BundleSummary, CreateBundleRequest, RevocationState, RevocationStatus, RevokeOutcome,
    StoredEntry, SyncAck,
};

mod batch;
pub use batch::{BatchFull, MAX_BATCH_BYTES, MAX_BATCH_ENTRIES, SyncBatch};

mod client;
pub use client::GrantexClient;

mod report;
pub use report::{SyncProgress, SyncReport};

mod sync;
pub use sync::{SyncError, SyncErrorKind, SyncOptions};

// The revocation marker lives with the rest of the device's state, in gx-storage.
pub use gx_storage::{RevocationError, RevocationMarker, Revoked};

mod refresh;
pub use refresh::{RefreshError, RefreshOutcome};
