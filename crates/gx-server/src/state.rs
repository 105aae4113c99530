//! The state every request handler shares: store, signing keys, clock, rate limits.

use std::sync::{Arc, RwLock};

use crate::api::ApiError;
use crate::config::{Clock, RateLimits};
use crate::error::ServerError;
use crate::issuer::KeyRing;
use crate::sealing::KeyEncryptionKey;
use crate::store::{Store, StoreError};

/// Shared by all connections of one running server.
pub(crate) struct AppState {
    pub(crate) store: Arc<dyn Store>,
    pub(crate) keys: RwLock<Arc<KeyRing>>,
    pub(crate) kek: Option<KeyEncryptionKey>,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) limits: RateLimits,
    /// Bytes of entry JSON one developer may store; `None`: no quota.
    pub(crate) storage_quota: Option<u64>,
    /// Issuer (`iss`) and base of `syncEndpoint`, without a trailing slash.
    pub(crate) public_url: String,
}

/// Shows the configuration, never key material.
impl core::fmt::Debug for AppState {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("AppState")
            .field("limits", &self.limits)
            .field("storage_quota", &self.storage_quota)
            .field("public_url", &self.public_url)
            .finish_non_exhaustive()
    }
}

impl AppState {
    /// Now, in Unix milliseconds.
    pub(crate) fn now_ms(&self) -> u64 {
        self.clock.now().as_millis()
    }

    /// Runs a store call on the blocking pool; a store failure is logged and becomes a 500.
    pub(crate) async fn db<T, F>(&self, f: F) -> Result<T, ApiError>
    where
        T: Send + 'static,
        F: FnOnce(&dyn Store) -> Result<T, StoreError> + Send + 'static,
    {
        let store = Arc::clone(&self.store);
        match tokio::task::spawn_blocking(move || f(&*store)).await {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(e)) => {
                tracing::error!(code = e.code(), error = %e, "store failure");
                Err(ApiError::internal())
            }
            Err(_) => {
                tracing::error!("store task failed");
                Err(ApiError::internal())
            }
        }
    }

    fn ring(&self) -> Result<Arc<KeyRing>, ServerError> {
        self.keys
            .read()
            .map(|k| Arc::clone(&k))
            .map_err(|_| ServerError::Task)
    }

    fn install(&self, ring: KeyRing) -> Result<Arc<KeyRing>, ServerError> {
        let ring = Arc::new(ring);
        *self.keys.write().map_err(|_| ServerError::Task)? = Arc::clone(&ring);
        Ok(ring)
    }

    /// The key ring as the store has it now: when another process (a replica, or
    /// `gx server signing-key rotate`) rotated or deleted keys, they are reloaded first,
    /// so the JWKS and new tokens never lag behind the database.
    pub(crate) async fn keys(&self) -> Result<Arc<KeyRing>, ApiError> {
        let ring = self.ring().map_err(|_| ApiError::internal())?;
        let kek = self.kek.clone();
        let check = Arc::clone(&ring);
        let fresh = self
            .db(move |s| {
                let records = s.signing_keys()?;
                if check.matches(&records) {
                    return Ok(None);
                }
                Ok(Some(KeyRing::from_records(&records, kek.as_ref())))
            })
            .await?;
        match fresh {
            None => Ok(ring),
            Some(Ok(reloaded)) => self.install(reloaded).map_err(|_| ApiError::internal()),
            Some(Err(e)) => {
                tracing::error!(code = e.code(), error = %e, "signing keys cannot be reloaded");
                Err(ApiError::internal())
            }
        }
    }

    /// Generates a new signing key, retires the current one, and starts using the new one.
    pub(crate) async fn rotate_keys(&self) -> Result<String, ServerError> {
        let store = Arc::clone(&self.store);
        let ring = self.ring()?;
        let now = self.now_ms();
        let kek = self.kek.clone();
        let (kid, reloaded) = tokio::task::spawn_blocking(move || {
            let kid = ring.rotate(&*store, now, kek.as_ref())?;
            Ok::<_, ServerError>((kid, KeyRing::reload(&*store, kek.as_ref())?))
        })
        .await
        .map_err(|_| ServerError::Task)??;
        self.install(reloaded)?;
        Ok(kid)
    }

    /// One run of the signing-key maintenance: delete keys past the token lifetime,
    /// rotate when the month changed, reload.
    pub(crate) async fn maintain_keys(&self) -> Result<(), ServerError> {
        let store = Arc::clone(&self.store);
        let now = self.now_ms();
        let kek = self.kek.clone();
        let ring =
            tokio::task::spawn_blocking(move || KeyRing::maintain(&*store, now, kek.as_ref()))
                .await
                .map_err(|_| ServerError::Task)??;
        self.install(ring)?;
        Ok(())
    }
}
