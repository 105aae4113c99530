//! Issuing bundles: create and refresh sign a grant token and hand out a new audit key.

use hyper::StatusCode;
use serde::Serialize;
use serde_json::Value;

use crate::api::{ApiError, HttpResponse, enveloped};
use crate::audit_key::AuditKeyPair;
use crate::encoding::iso;
use crate::ids::new_id;
use crate::issuer::{GrantClaims, KeyRing, MAX_TOKEN_LIFETIME_SECS, RsaJwk};
use crate::state::AppState;
use crate::store::{BundleRecord, BundleRefresh, BundleStatus, RefreshOutcome};

use super::{find, json_object, optional_str, required_str};

/// `offlineTTL` when the request has none.
const DEFAULT_TTL: &str = "72h";

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct JwksSnapshot {
    keys: Vec<RsaJwk>,
    fetched_at: String,
    valid_until: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct OfflineAuditKey<'a> {
    public_key: &'a str,
    private_key: &'a str,
    algorithm: &'static str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct BundleBody<'a> {
    bundle_id: &'a str,
    grant_token: String,
    jwks_snapshot: JwksSnapshot,
    offline_audit_key: OfflineAuditKey<'a>,
    checkpoint_at: u64,
    sync_endpoint: String,
    offline_expires_at: String,
}
/// Reads `offlineTTL` (`^\d+[smhd]$`) into seconds.
fn parse_ttl(text: &str) -> Result<u64, ApiError> {
    let malformed = || {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "INVALID_TTL",
            "offlineTTL must match ^\\d+[smhd]$",
        )
    };
    let too_long = || {
        ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "INVALID_TTL",
            "offlineTTL must be positive and at most 168h",
        )
    };
    if !text.is_ascii() {
        return Err(malformed());
    }
    let (digits, unit) = text.split_at(text.len().saturating_sub(1));
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(malformed());
    }
    let unit_secs = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => return Err(malformed()),
    };
    let n: u64 = digits.parse().map_err(|_| too_long())?;
    let secs = n.checked_mul(unit_secs).ok_or_else(too_long)?;
    if secs == 0 || secs > MAX_TOKEN_LIFETIME_SECS {
        return Err(too_long());
    }
    Ok(secs)
}

/// Signs a token for `b` (whose times are already the new ones) and builds the bundle body.
fn bundle_response(
    state: &AppState,
    ring: &KeyRing,
    b: &BundleRecord,
    keys: &AuditKeyPair,
    status: StatusCode,
) -> Result<HttpResponse, ApiError> {
    let claims = GrantClaims {
        iss: &state.public_url,
        sub: &b.user_id,
        agt: &b.agent_did,
        dev: &b.developer_id,
        scp: &b.scopes,
        jti: &b.token_id,
        grnt: &b.grant_id,
        iat: b.checkpoint_at / 1000,
        exp: b.offline_expires_at / 1000,
    };
    let grant_token = ring.sign_jwt(&claims).map_err(|e| {
        tracing::error!(code = e.code(), "token signing failed");
        ApiError::internal()
    })?;
    let body = BundleBody {
        bundle_id: &b.id,
        grant_token,
        jwks_snapshot: JwksSnapshot {
            keys: ring.published(b.checkpoint_at),
            fetched_at: iso(b.checkpoint_at),
            valid_until: iso(b.offline_expires_at),
        },
        offline_audit_key: OfflineAuditKey {
            public_key: &keys.public_pem,
            private_key: &keys.private_pem,
            algorithm: "Ed25519",
        },
        checkpoint_at: b.checkpoint_at,
        sync_endpoint: format!("{}/v1/audit/offline-sync", state.public_url),
        offline_expires_at: iso(b.offline_expires_at),
    };
    enveloped(status, &body)
}

fn new_audit_keys() -> Result<AuditKeyPair, ApiError> {
    AuditKeyPair::generate().map_err(|_| ApiError::internal())
}

/// Whole seconds: token times are seconds, and `checkpointAt` must equal `iat`.
fn now_secs_ms(state: &AppState) -> u64 {
    state.now_ms() / 1000 * 1000
}

/// `POST /v1/consent-bundles`.
pub(crate) async fn create(
    state: &AppState,
    dev: &str,
    body: &[u8],
) -> Result<HttpResponse, ApiError> {
    let obj = json_object(body, false)?;
    let agent_id = required_str(&obj, "agentId", 256)?.to_owned();
    let user_id = required_str(&obj, "userId", 256)?.to_owned();
    let scopes: Vec<String> = match obj.get("scopes") {
        None => return Err(ApiError::bad_request("scopes is required")),
        Some(Value::Array(items)) => {
            if items.is_empty() || items.len() > 100 {
                return Err(ApiError::bad_request("scopes must hold 1..100 entries"));
            }
            items
                .iter()
                .map(|v| match v {
                    Value::String(s) if !s.is_empty() && s.chars().count() <= 256 => Ok(s.clone()),
                    _ => Err(ApiError::bad_request(
                        "each scope must be a string of 1..256 characters",
                    )),
                })
                .collect::<Result<_, _>>()?
        }
        Some(_) => return Err(ApiError::bad_request("scopes must be an array of strings")),
    };
    let ttl_text = match obj.get("offlineTTL") {
        None | Some(Value::Null) => DEFAULT_TTL,
        Some(Value::String(s)) => s.as_str(),
        Some(_) => {
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                "INVALID_TTL",
                "offlineTTL must be a string",
            ));
        }
    };
    let ttl_secs = parse_ttl(ttl_text)?;
    match obj.get("offlineAuditKeyAlgorithm") {
        None | Some(Value::Null) => {}
        Some(Value::String(s)) if s == "Ed25519" => {}
        Some(_) => {
            return Err(ApiError::bad_request(
                "offlineAuditKeyAlgorithm must be \"Ed25519\"",
            ));
        }
    }
    let device_id = optional_str(&obj, "deviceId", 256)?.map(str::to_owned);
    let device_platform = optional_str(&obj, "devicePlatform", 256)?.map(str::to_owned);

    let (d, a) = (dev.to_owned(), agent_id.clone());
    let agent = state
        .db(move |s| s.agent(&d, &a))
        .await?
        .ok_or_else(|| ApiError::not_found("agent"))?;
    let unknown: Vec<&str> = scopes
        .iter()
        .filter(|s| !agent.scopes.contains(s))
        .map(String::as_str)
        .collect();
    if !unknown.is_empty() {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "INVALID_SCOPES",
            format!(
                "scopes not registered for the agent: {}",
                unknown.join(", ")
            ),
        ));
    }

    let now = now_secs_ms(state);
    let keys = new_audit_keys()?;
    let bundle = BundleRecord {
        id: new_id("bundle", now),
        developer_id: dev.to_owned(),
        agent_id,
        agent_did: agent.did,
        grant_id: new_id("grnt", now),
        user_id,
        scopes,
        offline_ttl: ttl_text.to_owned(),
        ttl_secs,
        device_id,
        device_platform,
        token_id: new_id("tok", now),
        audit_public_key: keys.public_raw,
        offline_expires_at: now + ttl_secs * 1000,
        checkpoint_at: now,
        created_at: now,
        revoked_at: None,
        revoked_by: None,
        grant_revoked: false,
        grant_active: true,
        audit_entry_count: 0,
        last_sync_at: None,
    };
    let ring = state.keys().await?;
    let response = bundle_response(state, &ring, &bundle, &keys, StatusCode::CREATED)?;
    state.db(move |s| s.insert_bundle(&bundle)).await?;
    Ok(response)
}
/// `POST /v1/consent-bundles/{id}/refresh`.
pub(crate) async fn refresh(
    state: &AppState,
    dev: &str,
    id: &str,
) -> Result<HttpResponse, ApiError> {
    let mut b = find(state, dev, id).await?;
    let now = now_secs_ms(state);
    let conflict = |code, msg| Err(ApiError::new(StatusCode::CONFLICT, code, msg));
    if b.revoked_at.is_some() {
        return conflict("BUNDLE_REVOKED", "the bundle was revoked");
    }
    if !b.grant_active {
        return conflict("GRANT_INACTIVE", "the bundle's grant is not active");
    }
    if b.status(state.now_ms()) == BundleStatus::Expired {
        return conflict("BUNDLE_EXPIRED", "the bundle expired; create a new one");
    }
    let keys = new_audit_keys()?;
    let update = BundleRefresh {
        token_id: new_id("tok", now),
        audit_public_key: keys.public_raw,
        offline_expires_at: now + b.ttl_secs * 1000,
        checkpoint_at: now,
    };
    b.token_id.clone_from(&update.token_id);
    b.audit_public_key = update.audit_public_key;
    b.offline_expires_at = update.offline_expires_at;
    b.checkpoint_at = update.checkpoint_at;
    let ring = state.keys().await?;
    let response = bundle_response(state, &ring, &b, &keys, StatusCode::OK)?;
    let (d, i, at) = (dev.to_owned(), id.to_owned(), state.now_ms());
    // The store checks the state again under the bundle's lock: a revoke (or a grant
    // deactivation) that committed since the read above wins over this refresh.
    match state
        .db(move |s| s.refresh_bundle(&d, &i, &update, at))
        .await?
    {
        RefreshOutcome::Refreshed => Ok(response),
        RefreshOutcome::Revoked => conflict("BUNDLE_REVOKED", "the bundle was revoked"),
        RefreshOutcome::GrantInactive => {
            conflict("GRANT_INACTIVE", "the bundle's grant is not active")
        }
        RefreshOutcome::Expired => {
            conflict("BUNDLE_EXPIRED", "the bundle expired; create a new one")
        }
        _ => Err(ApiError::not_found("bundle")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ttl_rules() {
        assert_eq!(parse_ttl("72h").unwrap(), 72 * 3600);
        assert_eq!(parse_ttl("7d").unwrap(), 168 * 3600);
        assert_eq!(parse_ttl("30s").unwrap(), 30);
        for bad in ["", "1é", "h", "72", "72H", "-1h", "1.5h", " 1h", "1w"] {
            assert_eq!(
                parse_ttl(bad).unwrap_err().status,
                StatusCode::BAD_REQUEST,
                "{bad}"
            );
        }
        for big in ["169h", "8d", "0s", "99999999999999999999999d"] {
            let e = parse_ttl(big).unwrap_err();
            assert_eq!(
                (e.status, e.code),
                (StatusCode::UNPROCESSABLE_ENTITY, "INVALID_TTL"),
                "{big}"
            );
        }
    }
}
