//! [`GrantexClient`]: one authenticated HTTPS client for the Grantex API, with retries.

use std::time::Instant;

use bytes::Bytes;
use gx_storage::ConsentBundle;
use http::{Method, Uri};
use zeroize::Zeroize;

use crate::retry::RetryObserver;
use crate::transport::{Answer, Transport};
use crate::url::segment;
use crate::wire::{parse_audit, parse_body, parse_sync_ack};
use crate::{
    ApiKey, BaseUrl, BundleSummary, ClientError, ClientOptions, CreateBundleRequest, RetryPolicy,
    RevocationStatus, RevokeOutcome, StoredEntry, SyncAck, SyncBatch,
};

/// Whether a request may be sent again after a failure that might have reached the server.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Replay {
    /// Sending twice does no harm (reads, sync, revoke): retry every transient failure.
    Safe,
    /// Sending twice would create two things (bundle creation): retry only when the request
    /// surely was not processed (connection never opened, 429).
    UnsentOnly,
}

/// An authenticated client of one Grantex API server.
///
/// Cheap to clone (the connection pool is shared). Every call retries transient failures
/// according to the [`RetryPolicy`] of its [`ClientOptions`].
///
/// ```no_run
/// # async fn demo() -> Result<(), gx_sync::ClientError> {
/// use gx_sync::{ApiKey, CreateBundleRequest, GrantexClient};
/// let client = GrantexClient::new("https://api.grantex.dev", ApiKey::new("gx_test_0123456789abcdef")?)?;
/// let bundle = client
///     .create_bundle(&CreateBundleRequest::new("ag_01", "user_42", ["read:contacts"]))
///     .await?;
/// println!("issued {}", bundle.bundle_id());
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct GrantexClient {
    base: BaseUrl,
    transport: Transport,
    retry: RetryPolicy,
    observer: Option<RetryObserver>,
}

impl core::fmt::Debug for GrantexClient {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("GrantexClient")
            .field("base", &self.base)
            .field("api_key", &"<redacted>")
            .finish_non_exhaustive()
    }
}

impl GrantexClient {
    /// A client of the server at `base_url` with default options (webpki roots, proxy from
    /// the environment, 10 s connect and 30 s request timeouts, default retries).
    ///
    /// # Errors
    /// [`ClientError::InvalidUrl`] / [`ClientError::InsecureUrl`] for a bad base URL.
    pub fn new(base_url: &str, api_key: ApiKey) -> Result<Self, ClientError> {
        Self::with_options(base_url, api_key, ClientOptions::default())
    }

    /// A client with explicit options.
    ///
    /// # Errors
    /// As [`new`](Self::new), plus [`ClientError::InvalidCaCertificate`],
    /// [`ClientError::NoSystemRoots`] or [`ClientError::Tls`] when the roots cannot be loaded.
    pub fn with_options(
        base_url: &str,
        api_key: ApiKey,
        options: ClientOptions,
    ) -> Result<Self, ClientError> {
        let base = BaseUrl::parse(base_url)?;
        let transport = Transport::new(&options, &api_key)?;
        Ok(Self {
            base,
            transport,
            retry: options.retry,
            observer: options.observer,
        })
    }

    /// The server's base URL.
    pub fn base_url(&self) -> &BaseUrl {
        &self.base
    }

    /// The retry policy in use.
    pub fn retry_policy(&self) -> &RetryPolicy {
        &self.retry
    }

    /// Issues a consent bundle (`POST /v1/consent-bundles`). The answer holds the audit
    /// private key: store it with `gx_storage::BundleFile` and drop it.
    ///
    /// Retried only when the request surely did not create a bundle (connection failure, 429).
    ///
    /// # Errors
    /// [`ClientError::Api`] with the server's code (`INVALID_SCOPES`, `INVALID_TTL`,
    /// `NOT_FOUND`, `BAD_REQUEST`, ...), network and retry errors, or
    /// [`ClientError::InvalidResponse`] when the answer is not a bundle.
    pub async fn create_bundle(
        &self,
        request: &CreateBundleRequest,
    ) -> Result<ConsentBundle, ClientError> {
        let body = serde_json::to_vec(request).map_err(|e| ClientError::InvalidResponse {
            status: 0,
            reason: e.to_string(),
        })?;
        let uri = self.base.join("/v1/consent-bundles")?;
        let answer = self
            .execute(
                Method::POST,
                uri,
                Some(body.into()),
                Replay::UnsentOnly,
                None,
                &mut 0,
            )
            .await?;
        bundle_from(answer)
    }

    /// Asks the server for a fresh bundle (`POST /v1/consent-bundles/{id}/refresh`): new
    /// token, JWKS snapshot and **audit key**. This is the bare call: entries signed with the
    /// old key that are not synced yet will be refused afterwards, so use
    /// [`refresh_device`](Self::refresh_device) unless they are.
    ///
    /// # Errors
    /// [`ClientError::Api`] with `BUNDLE_REVOKED`, `BUNDLE_EXPIRED`, `GRANT_INACTIVE` or
    /// `NOT_FOUND`; network and retry errors; [`ClientError::InvalidResponse`].
    pub async fn request_refresh(&self, bundle_id: &str) -> Result<ConsentBundle, ClientError> {
        let uri = self.bundle_uri(bundle_id, "/refresh")?;
        // A refresh repeated after a lost answer rotates the key once more; the answer we
        // finally get is the server's current key, so replaying is safe.
        let answer = self
            .execute(
                Method::POST,
                uri,
                Some(Bytes::from_static(b"{}")),
                Replay::Safe,
                None,
                &mut 0,
            )
            .await?;
        bundle_from(answer)
    }

    /// Revokes a bundle, and its grant when `revoke_grant` (`POST .../revoke`). Revoking
    /// twice is not an error.
    ///
    /// # Errors
    /// [`ClientError::Api`] (`NOT_FOUND`, ...), network and retry errors.
    pub async fn revoke_bundle(
        &self,
        bundle_id: &str,
        revoke_grant: bool,
    ) -> Result<RevokeOutcome, ClientError> {
        let uri = self.bundle_uri(bundle_id, "/revoke")?;
        let body = if revoke_grant {
            Bytes::from_static(br#"{"revokeGrant":true}"#)
        } else {
            Bytes::from_static(br#"{"revokeGrant":false}"#)
        };
        let answer = self
            .execute(Method::POST, uri, Some(body), Replay::Safe, None, &mut 0)
            .await?;
        parse_body(answer.status, &answer.body)
    }

    /// Whether the bundle or its grant was revoked (`GET .../revocation-status`).
    ///
    /// # Errors
    /// [`ClientError::Api`] (`NOT_FOUND`, ...), network and retry errors.
    pub async fn revocation_status(
        &self,
        bundle_id: &str,
    ) -> Result<RevocationStatus, ClientError> {
        self.revocation_status_within(bundle_id, None, &mut 0).await
    }

    pub(crate) async fn revocation_status_within(
        &self,
        bundle_id: &str,
        deadline: Option<Instant>,
        retries: &mut u32,
    ) -> Result<RevocationStatus, ClientError> {
        let uri = self.bundle_uri(bundle_id, "/revocation-status")?;
        let answer = self
            .execute(Method::GET, uri, None, Replay::Safe, deadline, retries)
            .await?;
        parse_body(answer.status, &answer.body)
    }

    /// The server's summary of a bundle (`GET /v1/consent-bundles/{id}`).
    ///
    /// # Errors
    /// [`ClientError::Api`] (`NOT_FOUND`, ...), network and retry errors.
    pub async fn get_bundle(&self, bundle_id: &str) -> Result<BundleSummary, ClientError> {
        let uri = self.bundle_uri(bundle_id, "")?;
        let answer = self
            .execute(Method::GET, uri, None, Replay::Safe, None, &mut 0)
            .await?;
        parse_body(answer.status, &answer.body)
    }

    /// One page of the audit chain the server stored for a bundle: entries with
    /// `seq > after_seq`, ascending, at most `limit` (the server caps it at 1000).
    ///
    /// # Errors
    /// [`ClientError::Api`] (`NOT_FOUND`, ...), network and retry errors.
    pub async fn get_audit(
        &self,
        bundle_id: &str,
        after_seq: u64,
        limit: u32,
    ) -> Result<Vec<StoredEntry>, ClientError> {
        self.get_audit_within(bundle_id, after_seq, limit, None, &mut 0)
            .await
    }

    pub(crate) async fn get_audit_within(
        &self,
        bundle_id: &str,
        after_seq: u64,
        limit: u32,
        deadline: Option<Instant>,
        retries: &mut u32,
    ) -> Result<Vec<StoredEntry>, ClientError> {
        let query = format!("/audit?afterSeq={after_seq}&limit={limit}");
        let uri = self.bundle_uri(bundle_id, &query)?;
        let answer = self
            .execute(Method::GET, uri, None, Replay::Safe, deadline, retries)
            .await?;
        parse_audit(answer.status, &answer.body)
    }

    /// Uploads one batch (`POST /v1/audit/offline-sync`), retrying transient failures until
    /// `deadline`. Re-uploading entries the server already holds is accepted again, so a
    /// retry after a lost answer is safe. `retries` is increased by the retries made.
    ///
    /// # Errors
    /// [`ClientError::Api`] with `INVALID_AUDIT_ENTRIES` (400, per-entry `errors`),
    /// `AUDIT_CHAIN_CONFLICT` (409), `NOT_FOUND`, `PAYLOAD_TOO_LARGE`; network, retry and
    /// deadline errors; [`ClientError::InvalidResponse`].
    pub async fn sync_batch(
        &self,
        batch: &SyncBatch,
        deadline: Option<Instant>,
        retries: &mut u32,
    ) -> Result<SyncAck, ClientError> {
        let uri = self.base.join("/v1/audit/offline-sync")?;
        let answer = self
            .execute(
                Method::POST,
                uri,
                Some(batch.body()),
                Replay::Safe,
                deadline,
                retries,
            )
            .await?;
        parse_sync_ack(answer.status, &answer.body)
    }

    fn bundle_uri(&self, bundle_id: &str, rest: &str) -> Result<Uri, ClientError> {
        self.base
            .join(&format!("/v1/consent-bundles/{}{rest}", segment(bundle_id)))
    }

    /// Sends a request, retrying per the policy and `replay` until `deadline`.
    async fn execute(
        &self,
        method: Method,
        uri: Uri,
        body: Option<Bytes>,
        replay: Replay,
        deadline: Option<Instant>,
        retries: &mut u32,
    ) -> Result<Answer, ClientError> {
        let mut attempts = 0u32;
        loop {
            let mut timeout = self.transport.request_timeout();
            if let Some(deadline) = deadline {
                timeout = timeout.min(deadline.saturating_duration_since(Instant::now()));
            }
            let error = if timeout.is_zero() {
                ClientError::Timeout
            } else {
                attempts += 1;
                match self
                    .transport
                    .send(method.clone(), uri.clone(), body.clone(), timeout)
                    .await
                {
                    Ok(answer) => return Ok(answer),
                    Err(error) => error,
                }
            };
            let retriable = match replay {
                Replay::Safe => error.is_transient(),
                Replay::UnsentOnly => {
                    matches!(error, ClientError::Connect(_))
                        || error.api().is_some_and(|a| a.status() == 429)
                }
            };
            if !retriable {
                return Err(error);
            }
            let allowed = self.retry.attempts_for(&error);
            if attempts >= allowed {
                return Err(ClientError::RetriesExhausted {
                    attempts,
                    last: Box::new(error),
                });
            }
            let delay = self.retry.delay(attempts.saturating_sub(1), &error);
            if deadline.is_some_and(|d| Instant::now() + delay >= d) {
                return Err(ClientError::DeadlineExceeded {
                    attempts,
                    last: Box::new(error),
                });
            }
            tracing::debug!(
                code = error.code(),
                attempts,
                delay_ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX),
                "retrying Grantex API call"
            );
            if let Some(observer) = &self.observer {
                (observer.0)(&crate::RetryNotice {
                    url: &uri.to_string(),
                    attempt: attempts,
                    max_attempts: allowed,
                    delay,
                    error: &error,
                });
            }
            *retries += 1;
            tokio::time::sleep(delay).await;
        }
    }
}

/// Parses a bundle answer, then wipes the answer bytes (they hold the audit private key)
/// when this is the only reference to them.
fn bundle_from(answer: Answer) -> Result<ConsentBundle, ClientError> {
    let status = answer.status;
    let parsed = ConsentBundle::from_json(&answer.body).map_err(|e| ClientError::InvalidResponse {
        status,
        reason: e.to_string(),
    });
    if let Ok(mut bytes) = answer.body.try_into_mut() {
        bytes[..].zeroize();
    }
    parsed
}
