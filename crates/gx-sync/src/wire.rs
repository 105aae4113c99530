//! Request and answer bodies of the lifecycle calls (`protocol.md` "Lifecycle calls"), and the
//! `data`-wrapper rule: read the top level, fall back to `data`.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::ClientError;

/// The body of `POST /v1/consent-bundles`.
///
/// ```
/// use gx_sync::CreateBundleRequest;
/// let request = CreateBundleRequest::new("ag_01", "user_42", ["read:contacts"])
///     .with_offline_ttl("24h")
///     .with_device("pi-kitchen", "linux-arm64");
/// ```
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct CreateBundleRequest {
    agent_id: String,
    user_id: String,
    scopes: Vec<String>,
    #[serde(rename = "offlineTTL")]
    offline_ttl: String,
    offline_audit_key_algorithm: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    device_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    device_platform: Option<String>,
}

impl CreateBundleRequest {
    /// A request for `agent_id` acting for `user_id` with these scopes, offline TTL `72h`.
    pub fn new<S: Into<String>>(
        agent_id: impl Into<String>,
        user_id: impl Into<String>,
        scopes: impl IntoIterator<Item = S>,
    ) -> Self {
        Self {
            agent_id: agent_id.into(),
            user_id: user_id.into(),
            scopes: scopes.into_iter().map(Into::into).collect(),
            offline_ttl: "72h".to_owned(),
            offline_audit_key_algorithm: "Ed25519",
            device_id: None,
            device_platform: None,
        }
    }

    /// How long the bundle works offline: `^\d+[smhd]$`, at most `168h` (the server checks).
    #[must_use]
    pub fn with_offline_ttl(mut self, ttl: impl Into<String>) -> Self {
        self.offline_ttl = ttl.into();
        self
    }

    /// The device the bundle is for, recorded by the server.
    #[must_use]
    pub fn with_device(mut self, id: impl Into<String>, platform: impl Into<String>) -> Self {
        self.device_id = Some(id.into());
        self.device_platform = Some(platform.into());
        self
    }

    /// Only the device id.
    #[must_use]
    pub fn with_device_id(mut self, id: impl Into<String>) -> Self {
        self.device_id = Some(id.into());
        self
    }
}

/// Whether the server still honours a bundle's grant, as reported by sync.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RevocationState {
    /// Not revoked.
    Valid,
    /// Revoked: the agent must stop acting on this grant.
    Revoked,
}

impl RevocationState {
    /// The wire spelling: `valid` or `revoked`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Valid => "valid",
            Self::Revoked => "revoked",
        }
    }
}

/// The answer of `GET /v1/consent-bundles/{id}/revocation-status`.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct RevocationStatus {
    /// The bundle asked about.
    pub bundle_id: String,
    /// The bundle's status as the server words it (`active`, `revoked`, `expired`, ...).
    pub status: String,
    /// When it was revoked (ISO-8601), if it was.
    #[serde(default)]
    pub revoked_at: Option<String>,
    /// Who revoked it, if the server says.
    #[serde(default)]
    pub revoked_by: Option<String>,
    /// Whether the grant itself was revoked too.
    #[serde(default)]
    pub grant_revoked: bool,
    /// The bundle's checkpoint (Unix milliseconds), if the server says.
    #[serde(default)]
    pub checkpoint_at: Option<u64>,
}

impl RevocationStatus {
    /// Whether the agent must stop: the bundle or its grant is revoked.
    pub fn is_revoked(&self) -> bool {
        self.status == "revoked" || self.grant_revoked
    }

    /// The same as a [`RevocationState`].
    pub fn state(&self) -> RevocationState {
        if self.is_revoked() {
            RevocationState::Revoked
        } else {
            RevocationState::Valid
        }
    }
}

/// The answer of `POST /v1/consent-bundles/{id}/revoke`.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct RevokeOutcome {
    /// The bundle revoked.
    pub bundle_id: String,
    /// `revoked`.
    pub status: String,
    /// When it was first revoked (ISO-8601).
    #[serde(default)]
    pub revoked_at: Option<String>,
}

/// The answer of `GET /v1/consent-bundles/{id}`: the server's summary of a bundle.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct BundleSummary {
    /// The bundle id (`bundle_...`).
    pub id: String,
    /// The agent it was issued to.
    #[serde(default)]
    pub agent_id: Option<String>,
    /// The grant it carries.
    #[serde(default)]
    pub grant_id: Option<String>,
    /// The user the agent acts for.
    #[serde(default)]
    pub user_id: Option<String>,
    /// Granted scopes.
    #[serde(default)]
    pub scopes: Vec<String>,
    /// `active`, `revoked`, `expired`, ...
    #[serde(default)]
    pub status: Option<String>,
    /// The device, if given at creation.
    #[serde(default)]
    pub device_id: Option<String>,
    /// The device platform, if given at creation.
    #[serde(default)]
    pub device_platform: Option<String>,
    /// The offline TTL asked for (`72h`).
    #[serde(default, rename = "offlineTTL")]
    pub offline_ttl: Option<String>,
    /// When offline use ends (ISO-8601).
    #[serde(default)]
    pub offline_expires_at: Option<String>,
    /// Issue (or last refresh) time, Unix milliseconds.
    #[serde(default)]
    pub checkpoint_at: Option<u64>,
    /// How many audit entries the server holds for the bundle.
    #[serde(default)]
    pub audit_entry_count: Option<u64>,
    /// When the device last synced (ISO-8601).
    #[serde(default)]
    pub last_sync_at: Option<String>,
    /// When the bundle was created (ISO-8601).
    #[serde(default)]
    pub created_at: Option<String>,
    /// When it was revoked (ISO-8601).
    #[serde(default)]
    pub revoked_at: Option<String>,
}

/// One audit entry as the server stored it (`GET /v1/consent-bundles/{id}/audit`).
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct StoredEntry {
    /// The entry's `seq`.
    pub seq: u64,
    /// Its `hash`.
    pub hash: String,
    /// Its `prevHash`.
    pub prev_hash: String,
    /// When the server stored it, as the server wrote it.
    pub synced_at: Option<Value>,
    /// The entry's wire fields (everything but `syncedAt`).
    pub entry: Map<String, Value>,
}

impl StoredEntry {
    fn from_value(value: Value) -> Result<Self, String> {
        let Value::Object(mut entry) = value else {
            return Err("a stored entry is not an object".to_owned());
        };
        let synced_at = entry.remove("syncedAt");
        let seq = entry
            .get("seq")
            .and_then(Value::as_u64)
            .ok_or("a stored entry has no numeric seq")?;
        let text = |name: &str| {
            entry
                .get(name)
                .and_then(Value::as_str)
                .map(str::to_owned)
                .ok_or_else(|| format!("stored entry {seq} has no {name}"))
        };
        let hash = text("hash")?;
        let prev_hash = text("prevHash")?;
        Ok(Self {
            seq,
            hash,
            prev_hash,
            synced_at,
            entry,
        })
    }
}

/// The answer of one sync batch (`POST /v1/audit/offline-sync`).
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct SyncAck {
    /// Entries the server accepted (new, or already stored with the same hash).
    pub accepted: u64,
    /// Entries rejected (0 on a 200 answer: batches are all or nothing).
    pub rejected: u64,
    /// Whether the bundle's grant is still valid.
    pub revocation_status: RevocationState,
    /// When it was revoked (ISO-8601), if it was.
    pub revoked_at: Option<String>,
    /// A replacement bundle the server pushed, as raw JSON, if any.
    pub new_bundle: Option<Value>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireSyncAck {
    accepted: u64,
    #[serde(default)]
    rejected: u64,
    revocation_status: RevocationState,
    #[serde(default)]
    revoked_at: Option<String>,
    #[serde(default)]
    new_bundle: Option<Value>,
}

/// Parses a success body: the top-level fields, completed by those under `data` that the
/// top level lacks.
pub(crate) fn parse_body<T: DeserializeOwned>(status: u16, body: &[u8]) -> Result<T, ClientError> {
    let invalid = |reason: String| ClientError::InvalidResponse { status, reason };
    let value: Value =
        serde_json::from_slice(body).map_err(|e| invalid(format!("body is not JSON: {e}")))?;
    let Value::Object(mut top) = value else {
        return Err(invalid("body is not a JSON object".to_owned()));
    };
    if let Some(Value::Object(data)) = top.remove("data") {
        for (key, value) in data {
            top.entry(key).or_insert(value);
        }
    }
    serde_json::from_value(Value::Object(top)).map_err(|e| invalid(e.to_string()))
}

pub(crate) fn parse_sync_ack(status: u16, body: &[u8]) -> Result<SyncAck, ClientError> {
    let wire: WireSyncAck = parse_body(status, body)?;
    Ok(SyncAck {
        accepted: wire.accepted,
        rejected: wire.rejected,
        revocation_status: wire.revocation_status,
        revoked_at: wire.revoked_at,
        new_bundle: wire.new_bundle.filter(|b| !b.is_null()),
    })
}

#[derive(Deserialize)]
struct WireAudit {
    entries: Vec<Value>,
}

pub(crate) fn parse_audit(status: u16, body: &[u8]) -> Result<Vec<StoredEntry>, ClientError> {
    let wire: WireAudit = parse_body(status, body)?;
    wire.entries
        .into_iter()
        .map(StoredEntry::from_value)
        .collect::<Result<_, _>>()
        .map_err(|reason| ClientError::InvalidResponse { status, reason })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn create_request_serializes_like_the_protocol() {
        let r = CreateBundleRequest::new("ag_1", "user_1", ["a:b", "c:d"]);
        assert_eq!(
            serde_json::to_string(&r).unwrap(),
            r#"{"agentId":"ag_1","userId":"user_1","scopes":["a:b","c:d"],"offlineTTL":"72h","offlineAuditKeyAlgorithm":"Ed25519"}"#
        );
        let r = r.with_offline_ttl("1h").with_device("d1", "linux");
        let v: Value = serde_json::to_value(&r).unwrap();
        assert_eq!(v["offlineTTL"], "1h");
        assert_eq!(v["deviceId"], "d1");
        assert_eq!(v["devicePlatform"], "linux");
    }

    #[test]
    fn data_wrapper_fallback() {
        let only_data = br#"{"data":{"bundleId":"b","status":"revoked","grantRevoked":true}}"#;
        let s: RevocationStatus = parse_body(200, only_data).unwrap();
        assert_eq!(s.bundle_id, "b");
        assert!(s.is_revoked());
        let both =
            br#"{"bundleId":"top","status":"active","data":{"bundleId":"inner","revokedBy":"x"}}"#;
        let s: RevocationStatus = parse_body(200, both).unwrap();
        assert_eq!(s.bundle_id, "top");
        assert_eq!(s.revoked_by.as_deref(), Some("x"));
        assert_eq!(s.state(), RevocationState::Valid);
    }

    #[test]
    fn sync_ack_parses() {
        let body = br#"{"accepted":100,"rejected":0,"revocationStatus":"valid","revokedAt":null,"errors":[],"newBundle":null,"data":{}}"#;
        let ack = parse_sync_ack(200, body).unwrap();
        assert_eq!(ack.accepted, 100);
        assert_eq!(ack.revocation_status, RevocationState::Valid);
        assert!(ack.new_bundle.is_none());
        let revoked = br#"{"data":{"accepted":1,"revocationStatus":"revoked","revokedAt":"2026-11-27T10:00:00.000Z"}}"#;
        let ack = parse_sync_ack(200, revoked).unwrap();
        assert_eq!(ack.revocation_status, RevocationState::Revoked);
        assert!(matches!(
            parse_sync_ack(200, b"[1]"),
            Err(ClientError::InvalidResponse { status: 200, .. })
        ));
        assert!(matches!(
            parse_sync_ack(200, br#"{"accepted":"x"}"#),
            Err(ClientError::InvalidResponse { .. })
        ));
    }

    #[test]
    fn audit_page_parses() {
        let body = br#"{"entries":[{"seq":1,"hash":"aa","prevHash":"0000000000000000","syncedAt":"t","action":"x"}]}"#;
        let entries = parse_audit(200, body).unwrap();
        assert_eq!(entries.len(), 1);
        assert_eq!(entries[0].seq, 1);
        assert_eq!(entries[0].prev_hash, "0000000000000000");
        assert!(!entries[0].entry.contains_key("syncedAt"));
        assert_eq!(entries[0].entry["action"], "x");
        assert!(parse_audit(200, br#"{"entries":[{"hash":"x"}]}"#).is_err());
    }
}
