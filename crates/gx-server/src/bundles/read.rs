//! Reading bundles back: one summary, the paged list, and the stored audit entries.

use hyper::StatusCode;
use serde::Serialize;
use serde_json::value::RawValue;

use crate::api::{ApiError, HttpResponse, enveloped};
use crate::encoding::iso;
use crate::query::Query;
use crate::state::AppState;
use crate::store::{BundleQuery, BundleRecord, BundleStatus, StoredEntry};

use super::find;

/// Default and largest page of `GET /v1/consent-bundles`.
const LIST_DEFAULT: u32 = 20;
const LIST_MAX: u32 = 100;
/// Largest page of `GET /v1/consent-bundles/{id}/audit`, in entries.
pub(crate) const AUDIT_PAGE_MAX: u32 = 1000;
/// Largest page of `GET /v1/consent-bundles/{id}/audit`, in bytes of entry JSON: the reply
/// carries the entries twice (top level and `data`), so its body stays under about 8 MiB
/// however large the stored entries are.
pub(crate) const AUDIT_PAGE_BYTES: usize = 4 * 1024 * 1024;
/// The largest `seq` there can be: the protocol's `seq` is a positive safe integer.
const MAX_SEQ: u64 = (1 << 53) - 1;

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Summary<'a> {
    id: &'a str,
    agent_id: &'a str,
    grant_id: &'a str,
    user_id: &'a str,
    scopes: &'a [String],
    status: &'static str,
    device_id: Option<&'a str>,
    device_platform: Option<&'a str>,
    #[serde(rename = "offlineTTL")]
    offline_ttl: &'a str,
    offline_expires_at: String,
    checkpoint_at: u64,
    audit_entry_count: u64,
    last_sync_at: Option<String>,
    created_at: String,
    revoked_at: Option<String>,
}

fn summary(b: &BundleRecord, now_ms: u64) -> Summary<'_> {
    Summary {
        id: &b.id,
        agent_id: &b.agent_id,
        grant_id: &b.grant_id,
        user_id: &b.user_id,
        scopes: &b.scopes,
        status: b.status(now_ms).as_str(),
        device_id: b.device_id.as_deref(),
        device_platform: b.device_platform.as_deref(),
        offline_ttl: &b.offline_ttl,
        offline_expires_at: iso(b.offline_expires_at),
        checkpoint_at: b.checkpoint_at,
        audit_entry_count: b.audit_entry_count,
        last_sync_at: b.last_sync_at.map(iso),
        created_at: iso(b.created_at),
        revoked_at: b.revoked_at.map(iso),
    }
}

/// `GET /v1/consent-bundles/{id}`.
pub(crate) async fn get(state: &AppState, dev: &str, id: &str) -> Result<HttpResponse, ApiError> {
    let b = find(state, dev, id).await?;
    enveloped(StatusCode::OK, &summary(&b, state.now_ms()))
}

fn limit_param(q: &Query, default: u32, max: u32) -> Result<u32, ApiError> {
    match q.get("limit") {
        None => Ok(default),
        Some(text) => match text.parse::<u32>() {
            Ok(n) if (1..=max).contains(&n) => Ok(n),
            _ => Err(ApiError::bad_request(format!(
                "limit must be an integer in 1..={max}"
            ))),
        },
    }
}

/// `GET /v1/consent-bundles?status=&agentId=&limit=&cursor=`: newest first; `nextCursor`
/// is present when another page exists.
pub(crate) async fn list(state: &AppState, dev: &str, q: &Query) -> Result<HttpResponse, ApiError> {
    let status =
        match q.get("status") {
            None | Some("") => None,
            Some(s) => Some(BundleStatus::parse(s).ok_or_else(|| {
                ApiError::bad_request("status must be active, revoked or expired")
            })?),
        };
    let limit = limit_param(q, LIST_DEFAULT, LIST_MAX)?;
    let now = state.now_ms();
    let query = BundleQuery {
        status,
        agent_id: q
            .get("agentId")
            .filter(|s| !s.is_empty())
            .map(str::to_owned),
        before_id: q.get("cursor").filter(|s| !s.is_empty()).map(str::to_owned),
        limit: limit + 1,
        now_ms: now,
    };
    let d = dev.to_owned();
    let mut rows = state.db(move |s| s.list_bundles(&d, &query)).await?;
    let more = rows.len() > limit as usize;
    rows.truncate(limit as usize);
    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct Page<'a> {
        bundles: Vec<Summary<'a>>,
        #[serde(skip_serializing_if = "Option::is_none")]
        next_cursor: Option<&'a str>,
    }
    let next_cursor = if more {
        rows.last().map(|b| b.id.as_str())
    } else {
        None
    };
    enveloped(
        StatusCode::OK,
        &Page {
            bundles: rows.iter().map(|b| summary(b, now)).collect(),
            next_cursor,
        },
    )
}

/// A stored entry as returned by the audit listing: the wire object plus `syncedAt`.
fn entry_with_synced_at(e: &StoredEntry) -> Result<Box<RawValue>, ApiError> {
    let body = e
        .json
        .trim_end()
        .strip_suffix('}')
        .ok_or_else(ApiError::internal)?;
    RawValue::from_string(format!("{body},\"syncedAt\":\"{}\"}}", iso(e.synced_at)))
        .map_err(|_| ApiError::internal())
}

/// `GET /v1/consent-bundles/{id}/audit[?afterSeq=N&limit=M]`: stored entries in ascending
/// `seq`, at most 1000 and [`AUDIT_PAGE_BYTES`] per page; `nextAfterSeq` is present when
/// more follow.
pub(crate) async fn audit(
    state: &AppState,
    dev: &str,
    id: &str,
    q: &Query,
) -> Result<HttpResponse, ApiError> {
    let after_seq = match q.get("afterSeq").or_else(|| q.get("cursor")) {
        None | Some("") => 0,
        Some(t) => t
            .parse::<u64>()
            .ok()
            .filter(|n| *n <= MAX_SEQ)
            .ok_or_else(|| {
                ApiError::bad_request(format!("afterSeq must be an integer in 0..={MAX_SEQ}"))
            })?,
    };
    let limit = limit_param(q, AUDIT_PAGE_MAX, AUDIT_PAGE_MAX)?;
    let b = find(state, dev, id).await?;
    let page = state
        .db(move |s| s.entries(&b.id, after_seq, limit, AUDIT_PAGE_BYTES))
        .await?;
    let (rows, more) = (page.entries, page.more);
    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct Page {
        entries: Vec<Box<RawValue>>,
        #[serde(skip_serializing_if = "Option::is_none")]
        next_after_seq: Option<u64>,
    }
    let entries = rows
        .iter()
        .map(entry_with_synced_at)
        .collect::<Result<_, _>>()?;
    let next_after_seq = if more {
        rows.last().map(|e| e.seq)
    } else {
        None
    };
    enveloped(
        StatusCode::OK,
        &Page {
            entries,
            next_after_seq,
        },
    )
}
