//! One request, start to end: route, authenticate, rate-limit, read the body, dispatch,
//! and log one line (method, route, status, latency). Never logs keys, tokens or bodies.

use core::convert::Infallible;
use std::sync::Arc;
use std::time::Instant;

use hyper::body::Incoming;
use hyper::header::{
    AUTHORIZATION, CACHE_CONTROL, CONNECTION, CONTENT_LENGTH, CONTENT_TYPE, HeaderValue,
};
use hyper::{Method, Request, StatusCode};
use serde::Serialize;

use crate::api::{ApiError, HttpResponse, raw_json};
use crate::body::{Body, BodyBudget, MAX_BODY_BYTES};
use crate::bundles;
use crate::encoding::sha256_hex;
use crate::ids::new_id;
use crate::query::Query;
use crate::state::AppState;
use crate::store::{ApiKeyRecord, ApiKeyRole};
use crate::sync;

/// The endpoints, by route template.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Route {
    Jwks,
    Health,
    Create,
    List,
    Get,
    Refresh,
    Revoke,
    RevocationStatus,
    Audit,
    Sync,
}

impl Route {
    fn template(self) -> &'static str {
        match self {
            Self::Jwks => "/.well-known/jwks.json",
            Self::Health => "/healthz",
            Self::Create | Self::List => "/v1/consent-bundles",
            Self::Get => "/v1/consent-bundles/{id}",
            Self::Refresh => "/v1/consent-bundles/{id}/refresh",
            Self::Revoke => "/v1/consent-bundles/{id}/revoke",
            Self::RevocationStatus => "/v1/consent-bundles/{id}/revocation-status",
            Self::Audit => "/v1/consent-bundles/{id}/audit",
            Self::Sync => "/v1/audit/offline-sync",
        }
    }
}

/// Matches a path; `Err` when the path exists under another method (405) or not at all (404).
fn route<'p>(method: &Method, path: &'p str) -> Result<(Route, Option<&'p str>), ApiError> {
    let segments: Vec<&str> = path.trim_end_matches('/').split('/').skip(1).collect();
    let (get, post) = (method == Method::GET, method == Method::POST);
    let found = match segments.as_slice() {
        [".well-known", "jwks.json"] if get => (Route::Jwks, None),
        ["healthz"] if get => (Route::Health, None),
        ["v1", "consent-bundles"] if post => (Route::Create, None),
        ["v1", "consent-bundles"] if get => (Route::List, None),
        ["v1", "consent-bundles", id] if get => (Route::Get, Some(*id)),
        ["v1", "consent-bundles", id, "refresh"] if post => (Route::Refresh, Some(*id)),
        ["v1", "consent-bundles", id, "revoke"] if post => (Route::Revoke, Some(*id)),
        ["v1", "consent-bundles", id, "revocation-status"] if get => {
            (Route::RevocationStatus, Some(*id))
        }
        ["v1", "consent-bundles", id, "audit"] if get => (Route::Audit, Some(*id)),
        ["v1", "audit", "offline-sync"] if post => (Route::Sync, None),
        [".well-known", "jwks.json"]
        | ["healthz"]
        | ["v1", "consent-bundles"]
        | ["v1", "consent-bundles", _]
        | [
            "v1",
            "consent-bundles",
            _,
            "refresh" | "revoke" | "revocation-status" | "audit",
        ]
        | ["v1", "audit", "offline-sync"] => {
            return Err(ApiError::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "METHOD_NOT_ALLOWED",
                "method not allowed",
            ));
        }
        _ => return Err(ApiError::not_found("route")),
    };
    Ok(found)
}

/// The API key of `Authorization: Bearer <key>`: the scheme in any case (RFC 9110
/// section 11.1), then one or more spaces.
fn bearer_token(header: &str) -> Option<&str> {
    let (scheme, rest) = header.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| rest.trim())
        .filter(|k| !k.is_empty())
}

/// The key behind the request's `Authorization` header, if it is known, not revoked and
/// not expired. The store is asked on every request, so a revocation made by any process
/// on the same database holds from the next request on.
async fn authenticate(state: &AppState, req: &Request<Incoming>) -> Result<ApiKeyRecord, ApiError> {
    let key = req
        .headers()
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(bearer_token)
        .ok_or_else(ApiError::unauthorized)?;
    if !(16..=512).contains(&key.len()) {
        return Err(ApiError::unauthorized());
    }
    let hash = sha256_hex(key.as_bytes());
    let record = state
        .db(move |s| s.api_key(&hash))
        .await?
        .filter(|k| k.usable_at(state.now_ms()))
        .ok_or_else(ApiError::unauthorized)?;
    Ok(record)
}

/// Whether a key of `role` may call `route`: a sync key only syncs and reads revocation
/// status (what a device needs), so a key leaked from a device cannot issue bundles.
fn role_allows(role: ApiKeyRole, route: Route) -> bool {
    match role {
        ApiKeyRole::Sync => matches!(route, Route::Sync | Route::RevocationStatus),
        _ => true,
    }
}

/// Whether a `Content-Type` value is `application/json` (any case, parameters ignored).
fn is_json_media_type(value: &HeaderValue) -> bool {
    value.to_str().is_ok_and(|v| {
        let essence = v.split(';').next().unwrap_or_default().trim();
        essence.eq_ignore_ascii_case("application/json")
    })
}

fn unsupported_media_type() -> ApiError {
    ApiError::new(
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "UNSUPPORTED_MEDIA_TYPE",
        "request bodies must be sent as Content-Type: application/json",
    )
}

/// Reads the body of a route that takes one. A body needs `Content-Type:
/// application/json`; a wrong type is refused before the body is read, a missing one
/// only when the body turns out not to be empty (clients send `revoke` without a body).
async fn json_body(
    req: Request<Incoming>,
    declared: Option<u64>,
    budget: &BodyBudget,
) -> Result<Body, ApiError> {
    let content_type = req.headers().get(CONTENT_TYPE).cloned();
    if content_type
        .as_ref()
        .is_some_and(|v| !is_json_media_type(v))
    {
        return Err(unsupported_media_type());
    }
    let body = budget.read(req.into_body(), declared).await?;
    if content_type.is_none() && !body.bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(unsupported_media_type());
    }
    Ok(body)
}

async fn jwks(state: &AppState) -> Result<HttpResponse, ApiError> {
    #[derive(Serialize)]
    struct Jwks {
        keys: Vec<crate::issuer::RsaJwk>,
    }
    let body = serde_json::to_vec(&Jwks {
        keys: state.keys().await?.published(state.now_ms()),
    })
    .map_err(|_| ApiError::internal())?;
    let mut resp = raw_json(StatusCode::OK, body);
    resp.headers_mut().insert(
        CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=300"),
    );
    Ok(resp)
}

async fn dispatch(
    state: &AppState,
    req: Request<Incoming>,
    route: Route,
    id: Option<String>,
    budget: &BodyBudget,
) -> Result<HttpResponse, ApiError> {
    match route {
        Route::Jwks => return jwks(state).await,
        Route::Health => return Ok(raw_json(StatusCode::OK, br#"{"status":"ok"}"#.to_vec())),
        _ => {}
    }
    let caller = authenticate(state, &req).await?;
    if !role_allows(caller.role, route) {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "FORBIDDEN",
            format!(
                "an API key with role {} cannot call this endpoint",
                caller.role.as_str()
            ),
        ));
    }
    let (limit, class) = match route {
        Route::Create => (state.limits.create, "create"),
        Route::Sync => (state.limits.sync, "sync"),
        _ => (state.limits.read, "read"),
    };
    if let Some(limit) = limit {
        let (key_id, now) = (caller.id.clone(), state.now_ms());
        state
            .db(move |s| s.count_request(&key_id, class, limit, now))
            .await?
            .map_err(ApiError::rate_limited)?;
    }
    let dev = caller.developer_id;
    let query = Query::parse(req.uri().query());
    let declared = req
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > MAX_BODY_BYTES as u64) {
        return Err(ApiError::too_large("request body exceeds 1 MiB"));
    }
    let body = if matches!(route, Route::Create | Route::Revoke | Route::Sync) {
        json_body(req, declared, budget).await?
    } else {
        Body::empty()
    };
    let id = id.as_deref().unwrap_or_default();
    match route {
        Route::Create => bundles::create(state, &dev, &body.bytes).await,
        Route::List => bundles::list(state, &dev, &query).await,
        Route::Get => bundles::get(state, &dev, id).await,
        Route::Refresh => bundles::refresh(state, &dev, id).await,
        Route::Revoke => bundles::revoke(state, &dev, id, &body.bytes).await,
        Route::RevocationStatus => bundles::revocation_status(state, &dev, id).await,
        Route::Audit => bundles::audit(state, &dev, id, &query).await,
        Route::Sync => sync::sync(state, &dev, body.bytes.clone()).await,
        Route::Jwks | Route::Health => Err(ApiError::internal()),
    }
}

/// The hyper service function, with a body budget of its own and the default deadline.
#[cfg(feature = "_fuzzing")]
pub(crate) async fn handle(
    state: Arc<AppState>,
    req: Request<Incoming>,
) -> Result<HttpResponse, Infallible> {
    let budget = BodyBudget::new(MAX_BODY_BYTES, crate::config::Timeouts::default().body_read);
    handle_within(state, req, &budget).await
}

/// The hyper service function: bodies are read within `budget`.
pub(crate) async fn handle_within(
    state: Arc<AppState>,
    req: Request<Incoming>,
    budget: &BodyBudget,
) -> Result<HttpResponse, Infallible> {
    let started = Instant::now();
    let request_id = new_id("req", state.now_ms());
    let method = req.method().clone();
    let (template, result) = match route(&method, req.uri().path()) {
        Ok((route, id)) => {
            let id = id.map(str::to_owned);
            (
                route.template(),
                dispatch(&state, req, route, id, budget).await,
            )
        }
        Err(e) => ("<unmatched>", Err(e)),
    };
    let mut resp = match result {
        Ok(resp) => resp,
        Err(e) => {
            // After these the rest of the body is not read: close instead of keeping alive.
            let close = matches!(
                e.status,
                StatusCode::PAYLOAD_TOO_LARGE
                    | StatusCode::REQUEST_TIMEOUT
                    | StatusCode::SERVICE_UNAVAILABLE
            );
            let mut resp = e.into_response(&request_id);
            if close {
                resp.headers_mut()
                    .insert(CONNECTION, HeaderValue::from_static("close"));
            }
            resp
        }
    };
    if let Ok(v) = HeaderValue::from_str(&request_id) {
        resp.headers_mut().insert("x-request-id", v);
    }
    tracing::info!(
        target: "gx_server::access",
        method = %method,
        route = %template,
        status = resp.status().as_u16(),
        latency_us = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX),
        request_id = %request_id,
    );
    Ok(resp)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_and_methods() {
        assert_eq!(
            route(&Method::GET, "/v1/consent-bundles/bundle_1/audit").unwrap(),
            (Route::Audit, Some("bundle_1"))
        );
        assert_eq!(
            route(&Method::POST, "/v1/consent-bundles/").unwrap().0,
            Route::Create
        );
        assert_eq!(
            route(&Method::DELETE, "/v1/consent-bundles/x")
                .unwrap_err()
                .code,
            "METHOD_NOT_ALLOWED"
        );
        assert_eq!(
            route(&Method::GET, "/v2/nope").unwrap_err().code,
            "NOT_FOUND"
        );
        assert_eq!(route(&Method::GET, "/").unwrap_err().code, "NOT_FOUND");
    }

    #[test]
    fn bearer_scheme_is_case_insensitive() {
        assert_eq!(bearer_token("Bearer abc"), Some("abc"));
        assert_eq!(bearer_token("BEARER abc"), Some("abc"));
        assert_eq!(bearer_token("bEaReR   abc "), Some("abc"));
        assert_eq!(bearer_token("Basic abc"), None);
        assert_eq!(bearer_token("Bearer"), None);
        assert_eq!(bearer_token("Bearer  "), None);
        assert_eq!(bearer_token("Bearerabc"), None);
    }

    #[test]
    fn sync_keys_reach_only_sync_and_revocation_status() {
        assert!(role_allows(ApiKeyRole::Sync, Route::Sync));
        assert!(role_allows(ApiKeyRole::Sync, Route::RevocationStatus));
        for r in [
            Route::Create,
            Route::List,
            Route::Get,
            Route::Refresh,
            Route::Revoke,
            Route::Audit,
        ] {
            assert!(!role_allows(ApiKeyRole::Sync, r), "{r:?}");
            assert!(role_allows(ApiKeyRole::Admin, r), "{r:?}");
        }
    }

    #[test]
    fn json_media_types() {
        let json = |v: &'static str| is_json_media_type(&HeaderValue::from_static(v));
        assert!(json("application/json"));
        assert!(json("Application/JSON; charset=utf-8"));
        assert!(json(" application/json ;charset=UTF-8"));
        assert!(!json("text/plain"));
        assert!(!json("application/x-www-form-urlencoded"));
        assert!(!json("application/jsonp"));
        assert!(!json(""));
        assert!(!is_json_media_type(
            &HeaderValue::from_bytes(b"application/json\xff").unwrap()
        ));
    }
}
