//! Revoking a bundle and asking whether it is revoked.

use hyper::StatusCode;
use serde::Serialize;
use serde_json::Value;

use crate::api::{ApiError, HttpResponse, enveloped};
use crate::encoding::iso;
use crate::state::AppState;

use super::{find, json_object};

/// `POST /v1/consent-bundles/{id}/revoke`.
pub(crate) async fn revoke(
    state: &AppState,
    dev: &str,
    id: &str,
    body: &[u8],
) -> Result<HttpResponse, ApiError> {
    let obj = json_object(body, true)?;
    let revoke_grant = match obj.get("revokeGrant") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(_) => return Err(ApiError::bad_request("revokeGrant must be a boolean")),
    };
    let (d, i, now) = (dev.to_owned(), id.to_owned(), state.now_ms());
    let b = state
        .db(move |s| s.revoke_bundle(&d, &i, revoke_grant, now))
        .await?
        .ok_or_else(|| ApiError::not_found("bundle"))?;
    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct Revoked<'a> {
        bundle_id: &'a str,
        status: &'static str,
        revoked_at: Option<String>,
    }
    enveloped(
        StatusCode::OK,
        &Revoked {
            bundle_id: &b.id,
            status: "revoked",
            revoked_at: b.revoked_at.map(iso),
        },
    )
}

/// `GET /v1/consent-bundles/{id}/revocation-status`.
pub(crate) async fn revocation_status(
    state: &AppState,
    dev: &str,
    id: &str,
) -> Result<HttpResponse, ApiError> {
    let b = find(state, dev, id).await?;
    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct Status<'a> {
        bundle_id: &'a str,
        status: &'static str,
        revoked_at: Option<String>,
        revoked_by: Option<&'a str>,
        grant_revoked: bool,
        checkpoint_at: u64,
    }
    enveloped(
        StatusCode::OK,
        &Status {
            bundle_id: &b.id,
            status: b.status(state.now_ms()).as_str(),
            revoked_at: b.revoked_at.map(iso),
            revoked_by: b.revoked_by.as_deref(),
            grant_revoked: b.grant_revoked,
            checkpoint_at: b.checkpoint_at,
        },
    )
}
