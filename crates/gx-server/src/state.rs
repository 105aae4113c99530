//! The state every request handler shares: store, signing keys, clock, rate limits.

use std::sync::{Arc, RwLock};

use crate::api::ApiError;
use crate::config::{Clock, RateLimits};
use crate::error::ServerError;
use crate::issuer::KeyRing;
use crate::store::{Store, StoreError};

/// Shared by all connections of one running server.
#[derive(Debug)]
pub(crate) struct AppState {
    pub(crate) store: Arc<dyn Store>,
    pub(crate) keys: RwLock<Arc<KeyRing>>,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) limits: RateLimits,
    /// Issuer (`iss`) and base of `syncEndpoint`, without a trailing slash.
    pub(crate) public_url: String,
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

    /// The current key ring.
    pub(crate) fn keys(&self) -> Result<Arc<KeyRing>, ApiError> {
        self.keys
            .read()
            .map(|k| Arc::clone(&k))
            .map_err(|_| ApiError::internal())
    }

    /// Reloads the key ring when the stored signing keys differ from the ones in use.
    pub(crate) async fn follow_keys(&self) -> Result<(), ServerError> {
        let store = Arc::clone(&self.store);
        let ring = self.keys().map_err(|_| ServerError::Task)?;
        let fresh = tokio::task::spawn_blocking(move || {
            let records = store.signing_keys()?;
            if ring.holds(&records) {
                Ok::<_, ServerError>(None)
            } else {
                KeyRing::from_records(records).map(Some)
            }
        })
        .await
        .map_err(|_| ServerError::Task)??;
        if let Some(fresh) = fresh {
            *self.keys.write().map_err(|_| ServerError::Task)? = Arc::new(fresh);
        }
        Ok(())
    }

    /// Generates a new signing key, retires the current one, and starts using the new one.
    pub(crate) async fn rotate_keys(&self) -> Result<String, ServerError> {
        let store = Arc::clone(&self.store);
        let ring = self.keys().map_err(|_| ServerError::Task)?;
        let now = self.now_ms();
        let (kid, reloaded) = tokio::task::spawn_blocking(move || {
            let kid = ring.rotate(&*store, now)?;
            Ok::<_, ServerError>((kid, KeyRing::reload(&*store)?))
        })
        .await
        .map_err(|_| ServerError::Task)??;
        *self.keys.write().map_err(|_| ServerError::Task)? = Arc::new(reloaded);
        Ok(kid)
    }
}
