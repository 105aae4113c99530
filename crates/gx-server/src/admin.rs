//! Operator actions on a database, without a running server: API keys (create, list,
//! revoke) and signing-key rotation. `gx server key …` and `gx server signing-key rotate`
//! are thin wrappers.
//!
//! Everything goes through the [`Store`], so it works on any backend and takes effect in
//! every running server on that database: a revoked key answers 401 from the next request
//! on (servers look keys up per request), and a rotated signing key is picked up by the
//! next JWKS or issuance request.

use core::time::Duration;

use serde::Serialize;

use crate::config::{Clock, SystemClock};
use crate::error::ServerError;
use crate::ids::new_id;
use crate::init::ApiKey;
use crate::issuer::KeyRing;
use crate::sealing::KeyEncryptionKey;
use crate::store::{ApiKeyRecord, ApiKeyRole, Store};

/// What [`create_api_key`] makes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewKeyOptions {
    /// What the key may do.
    pub role: ApiKeyRole,
    /// A label to recognise it by in listings.
    pub label: Option<String>,
    /// The key stops working this long after its creation; `None`: no expiry.
    pub expires_in: Option<Duration>,
    /// The developer it acts for; `None` picks the database's only developer.
    pub developer_id: Option<String>,
}

/// A key just created: the only time its secret is available. Serializes as
/// `{"keyId","apiKey","role"}` (plus `expiresAt` when it expires).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NewApiKey {
    /// `key_<ULID>`, for `list` and `revoke`.
    pub key_id: String,
    /// The secret (the database keeps only its hash).
    pub api_key: ApiKey,
    /// `admin` or `sync`.
    #[serde(serialize_with = "role_name")]
    pub role: ApiKeyRole,
    /// The developer it acts for.
    #[serde(skip)]
    pub developer_id: String,
    /// Expiry, Unix milliseconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<u64>,
}

fn role_name<S: serde::Serializer>(role: &ApiKeyRole, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(role.as_str())
}

fn only_developer(store: &dyn Store, wanted: Option<String>) -> Result<String, ServerError> {
    if let Some(id) = wanted {
        return Ok(id);
    }
    let mut devs = store.developers()?;
    match (devs.pop(), devs.is_empty()) {
        (Some(d), true) => Ok(d.id),
        _ => Err(ServerError::AmbiguousDeveloper),
    }
}

/// Creates an API key and returns its secret, once.
///
/// # Errors
/// [`ServerError::InvalidConfig`] for an empty label or an expiry too far away,
/// [`ServerError::AmbiguousDeveloper`] when no developer is named and the database has
/// several, and store failures (also for an unknown developer id).
pub fn create_api_key(store: &dyn Store, options: NewKeyOptions) -> Result<NewApiKey, ServerError> {
    create_api_key_at(store, options, &SystemClock)
}

pub(crate) fn create_api_key_at(
    store: &dyn Store,
    options: NewKeyOptions,
    clock: &dyn Clock,
) -> Result<NewApiKey, ServerError> {
    if options
        .label
        .as_deref()
        .is_some_and(|l| l.is_empty() || l.chars().count() > 128)
    {
        return Err(ServerError::InvalidConfig(
            "a label must be 1..=128 characters",
        ));
    }
    let now = clock.now().as_millis();
    let expires_at = match options.expires_in {
        None => None,
        Some(d) => Some(
            u64::try_from(d.as_millis())
                .ok()
                .and_then(|ms| now.checked_add(ms))
                .filter(|_| !d.is_zero())
                .ok_or(ServerError::InvalidConfig(
                    "the expiry must be a positive duration",
                ))?,
        ),
    };
    let developer_id = only_developer(store, options.developer_id)?;
    let api_key = ApiKey::generate()?;
    let record = ApiKeyRecord {
        id: new_id("key", now),
        developer_id: developer_id.clone(),
        key_sha256: api_key.sha256(),
        label: options.label,
        role: options.role,
        created_at: now,
        expires_at,
        revoked_at: None,
    };
    store.insert_api_key(&record)?;
    Ok(NewApiKey {
        key_id: record.id,
        api_key,
        role: record.role,
        developer_id,
        expires_at,
    })
}

/// Every API key (never a secret: the store has none), oldest first.
///
/// # Errors
/// Store failures.
pub fn list_api_keys(store: &dyn Store) -> Result<Vec<ApiKeyRecord>, ServerError> {
    Ok(store.api_keys()?)
}

/// Revokes the key with id `key_id`: every server on the database answers 401 to it from
/// the next request on. Revoking twice keeps the first time.
///
/// # Errors
/// [`ServerError::UnknownApiKey`], and store failures.
pub fn revoke_api_key(store: &dyn Store, key_id: &str) -> Result<ApiKeyRecord, ServerError> {
    let now = SystemClock.now().as_millis();
    store
        .revoke_api_key(key_id, now)?
        .ok_or_else(|| ServerError::UnknownApiKey(key_id.to_owned()))
}

/// Rotates the issuer's signing key now (sealed under `kek` when given) and deletes keys
/// retired longer ago than the longest token lifetime. Returns the new current `kid`.
///
/// # Errors
/// [`ServerError::KekMissing`]/[`ServerError::KeyDecryption`] when stored keys are sealed
/// and `kek` does not open them, key generation and store failures.
pub fn rotate_signing_key(
    store: &dyn Store,
    kek: Option<&KeyEncryptionKey>,
) -> Result<String, ServerError> {
    let now = SystemClock.now().as_millis();
    let ring = KeyRing::maintain(store, now, kek)?;
    ring.rotate(store, now, kek)
}

/// Reads a duration such as `30d`, `12h`, `90m` or `3600s` (the `offlineTTL` grammar).
///
/// # Errors
/// [`ServerError::InvalidConfig`] for anything else, or zero.
pub fn parse_duration(text: &str) -> Result<Duration, ServerError> {
    let bad = ServerError::InvalidConfig("a duration is a positive number and s, m, h or d (30d)");
    let unit = match text.as_bytes().last() {
        Some(b's') => 1,
        Some(b'm') => 60,
        Some(b'h') => 3600,
        Some(b'd') => 86_400,
        _ => return Err(bad),
    };
    let digits = text.get(..text.len() - 1).unwrap_or_default();
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad);
    }
    match digits.parse::<u64>().ok().and_then(|n| n.checked_mul(unit)) {
        Some(secs) if secs > 0 => Ok(Duration::from_secs(secs)),
        _ => Err(bad),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::ManualClock;
    use crate::init::{InitOptions, init_db};
    use crate::store::SqliteStore;
    use gx_core::UnixTime;

    #[test]
    fn keys_are_created_listed_expired_and_revoked() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("gx.db");
        let tenant = init_db(&db, InitOptions::default()).unwrap();
        let store = SqliteStore::open(&db).unwrap();
        let clock = ManualClock::new(UnixTime::from_millis(1_000_000));
        let made = create_api_key_at(
            &store,
            NewKeyOptions {
                role: ApiKeyRole::Sync,
                label: Some(String::from("fleet")),
                expires_in: Some(Duration::from_secs(60)),
                developer_id: None,
            },
            &clock,
        )
        .unwrap();
        assert_eq!(made.developer_id, tenant.developer_id);
        let json = serde_json::to_value(&made).unwrap();
        assert_eq!(json["role"], "sync");
        assert_eq!(json["keyId"], made.key_id.as_str());
        assert_eq!(json["apiKey"], made.api_key.expose());
        let stored = store.api_key(&made.api_key.sha256()).unwrap().unwrap();
        assert!(stored.usable_at(1_000_000));
        assert!(!stored.usable_at(1_060_000));
        assert!(!format!("{stored:?}").contains(&stored.key_sha256));
        let all = list_api_keys(&store).unwrap();
        assert_eq!(all.len(), 2);
        assert!(
            all.iter()
                .any(|k| k.role == ApiKeyRole::Admin && k.developer_id == tenant.developer_id)
        );
        let revoked = revoke_api_key(&store, &made.key_id).unwrap();
        assert!(revoked.revoked_at.is_some());
        assert!(!revoked.usable_at(1_000_000));
        assert_eq!(
            revoke_api_key(&store, &made.key_id).unwrap().revoked_at,
            revoked.revoked_at
        );
        assert_eq!(
            revoke_api_key(&store, "key_nope").unwrap_err().code(),
            "UNKNOWN_API_KEY"
        );
    }

    #[test]
    fn durations() {
        assert_eq!(
            parse_duration("30d").unwrap(),
            Duration::from_secs(30 * 86_400)
        );
        assert_eq!(parse_duration("90m").unwrap(), Duration::from_secs(5400));
        for bad in ["", "d", "0d", "-1d", "1w", "1.5h", "99999999999999999999d"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }
}
