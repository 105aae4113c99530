//! The server's error answer (`protocol.md` "Error bodies"), kept field for field.

use core::fmt;
use core::time::Duration;

use serde::Deserialize;

/// One per-entry problem the server listed in an error body's `errors` array.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EntryError {
    /// The entry's `seq`, when the server could tell which entry it was.
    pub seq: Option<u64>,
    /// The server's code for this entry (`INVALID_HASH`, `SEQ_GAP`, ...).
    pub code: String,
    /// The server's explanation.
    pub message: String,
}

/// An HTTP error answer from the Grantex API, with everything the server said.
///
/// Built from `{"message","code","requestId","errors"}` read at the top level of the body,
/// falling back to the same fields under `data`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiError {
    status: u16,
    code: String,
    message: String,
    request_id: Option<String>,
    errors: Vec<EntryError>,
    retry_after: Option<Duration>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct WireError {
    message: Option<String>,
    code: Option<String>,
    request_id: Option<String>,
    errors: Option<Vec<WireEntryError>>,
    data: Option<Box<WireError>>,
}

#[derive(Deserialize)]
struct WireEntryError {
    seq: Option<u64>,
    code: Option<String>,
    message: Option<String>,
}

impl ApiError {
    /// Builds the error from an HTTP status, the `Retry-After` delay (if any) and the
    /// response body. A body that is not the documented JSON still gives an error with
    /// code `HTTP_<status>` and the first bytes of the body as message.
    pub(crate) fn from_response(status: u16, retry_after: Option<Duration>, body: &[u8]) -> Self {
        let WireError {
            message,
            code,
            request_id,
            errors,
            data,
        } = serde_json::from_slice(body).unwrap_or_default();
        let data = data.map(|d| *d).unwrap_or_default();
        let code = code
            .or(data.code)
            .unwrap_or_else(|| format!("HTTP_{status}"));
        let message = message.or(data.message).unwrap_or_else(|| {
            let text = String::from_utf8_lossy(body);
            text.chars().take(200).collect()
        });
        let request_id = request_id.or(data.request_id);
        let errors = errors
            .or(data.errors)
            .unwrap_or_default()
            .into_iter()
            .map(|e| EntryError {
                seq: e.seq,
                code: e.code.unwrap_or_default(),
                message: e.message.unwrap_or_default(),
            })
            .collect();
        Self {
            status,
            code,
            message,
            request_id,
            errors,
            retry_after,
        }
    }

    /// The HTTP status code.
    pub fn status(&self) -> u16 {
        self.status
    }

    /// The server's `code` (`AUDIT_CHAIN_CONFLICT`, `NOT_FOUND`, ...), or `HTTP_<status>`
    /// when the body carried none.
    pub fn code(&self) -> &str {
        &self.code
    }

    /// The server's `message`.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The server's `requestId`, to quote when asking the operator.
    pub fn request_id(&self) -> Option<&str> {
        self.request_id.as_deref()
    }

    /// The per-entry `errors` of a rejected sync batch.
    pub fn errors(&self) -> &[EntryError] {
        &self.errors
    }

    /// The delay the server asked for in `Retry-After`, if any.
    pub fn retry_after(&self) -> Option<Duration> {
        self.retry_after
    }

    /// Whether trying the same request again later may succeed: 429 and 5xx.
    pub fn is_transient(&self) -> bool {
        self.status == 429 || (500..600).contains(&self.status)
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "HTTP {} {}: {}", self.status, self.code, self.message)?;
        if let Some(id) = &self.request_id {
            write!(f, " (request {id})")?;
        }
        for e in self.errors.iter().take(5) {
            match e.seq {
                Some(seq) => write!(f, "; seq {seq}: {} {}", e.code, e.message)?,
                None => write!(f, "; {} {}", e.code, e.message)?,
            }
        }
        if self.errors.len() > 5 {
            write!(f, "; and {} more", self.errors.len() - 5)?;
        }
        Ok(())
    }
}

impl core::error::Error for ApiError {}
