//! Consent-bundle endpoints: create, refresh, revoke, revocation status, get, list, audit.
//!
//! Validation follows protocol.md: missing or mistyped fields answer 400 `BAD_REQUEST`,
//! a malformed `offlineTTL` 400 `INVALID_TTL` and one above 168 h 422 `INVALID_TTL`,
//! scopes not registered for the agent 422 `INVALID_SCOPES`, and anything that belongs to
//! another developer 404 `NOT_FOUND`.

mod issue;
mod read;
mod status;

pub(crate) use issue::{create, refresh};
pub(crate) use read::{AUDIT_PAGE_BYTES, audit, get, list};
pub(crate) use status::{revocation_status, revoke};

use core::fmt;

use serde::de::{Deserialize, Deserializer, Error as _, MapAccess, Visitor};
use serde_json::{Map, Value};

use crate::api::ApiError;
use crate::state::AppState;
use crate::store::BundleRecord;

/// The error text that marks a repeated top-level key.
const DUPLICATE_KEY: &str = "duplicate key";

/// A JSON object whose keys are all different. `JSON.parse` would keep the last of two
/// equal keys and another parser the first; refusing them leaves no room for a proxy and
/// this server to read two different requests out of one body.
struct UniqueKeys(Map<String, Value>);

impl<'de> Deserialize<'de> for UniqueKeys {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct ObjectVisitor;
        impl<'de> Visitor<'de> for ObjectVisitor {
            type Value = UniqueKeys;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<UniqueKeys, A::Error> {
                let mut map = Map::new();
                while let Some(key) = access.next_key::<String>()? {
                    let value: Value = access.next_value()?;
                    if map.contains_key(&key) {
                        return Err(A::Error::custom(DUPLICATE_KEY));
                    }
                    map.insert(key, value);
                }
                Ok(UniqueKeys(map))
            }
        }
        d.deserialize_map(ObjectVisitor)
    }
}

/// Parses a request body that must be a JSON object without repeated keys (an empty
/// body counts as `{}` when `empty_ok`). Nesting deeper than 128 levels is refused by
/// serde_json's recursion limit, so the stack stays bounded.
pub(crate) fn json_object(body: &[u8], empty_ok: bool) -> Result<Map<String, Value>, ApiError> {
    if empty_ok && body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Map::new());
    }
    match serde_json::from_slice::<UniqueKeys>(body) {
        Ok(UniqueKeys(map)) => Ok(map),
        Err(e) if e.is_data() && e.to_string().starts_with(DUPLICATE_KEY) => Err(
            ApiError::bad_request("request body repeats a key of its top-level object"),
        ),
        Err(e) if e.is_data() => Err(ApiError::bad_request("request body must be a JSON object")),
        Err(_) => Err(ApiError::bad_request("request body is not valid JSON")),
    }
}

fn required_str<'a>(
    obj: &'a Map<String, Value>,
    field: &str,
    max: usize,
) -> Result<&'a str, ApiError> {
    match obj.get(field) {
        Some(Value::String(s)) if !s.is_empty() && s.chars().count() <= max => Ok(s),
        Some(Value::String(_)) => Err(ApiError::bad_request(format!(
            "{field} must be 1..{max} characters"
        ))),
        Some(_) => Err(ApiError::bad_request(format!("{field} must be a string"))),
        None => Err(ApiError::bad_request(format!("{field} is required"))),
    }
}

fn optional_str<'a>(
    obj: &'a Map<String, Value>,
    field: &str,
    max: usize,
) -> Result<Option<&'a str>, ApiError> {
    match obj.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(_) => required_str(obj, field, max).map(Some),
    }
}

async fn find(state: &AppState, dev: &str, id: &str) -> Result<BundleRecord, ApiError> {
    let (d, i) = (dev.to_owned(), id.to_owned());
    state
        .db(move |s| s.bundle(&d, &i))
        .await?
        .ok_or_else(|| ApiError::not_found("bundle"))
}
