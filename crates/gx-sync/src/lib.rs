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
#![warn(missing_docs)]
#![cfg_attr(
    not(test),
    warn(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

pub use gx_storage;

mod api_key;
pub use api_key::ApiKey;

mod error;
pub use error::{ApiError, BoxError, ClientError, EntryError};

mod options;
pub use options::{ClientOptions, ProxyConfig, RootCertificates};

mod retry;
pub use retry::RetryPolicy;

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

mod revocation;
pub use revocation::{RevocationError, RevocationMarker, Revoked};

mod refresh;
pub use refresh::{RefreshError, RefreshOutcome};
