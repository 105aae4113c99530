//! The HTTP face of errors and successes: protocol error bodies and enveloped JSON replies.
//!
//! Errors answer `{"message", "code", "requestId"[, "errors"]}`. Successes carry their
//! fields at the top level and again under `"data"`, as the hosted service does.

use http_body_util::Full;
use hyper::body::Bytes;
use hyper::header::{CONTENT_TYPE, HeaderValue, RETRY_AFTER};
use hyper::{Response, StatusCode};
use serde::Serialize;

/// The response type of every handler.
pub(crate) type HttpResponse = Response<Full<Bytes>>;

/// One per-entry error of a sync reply.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub(crate) struct EntryError {
    pub(crate) seq: Option<u64>,
    pub(crate) code: &'static str,
    pub(crate) message: String,
}

/// An error answer.
#[derive(Clone, Debug)]
pub(crate) struct ApiError {
    pub(crate) status: StatusCode,
    pub(crate) code: &'static str,
    pub(crate) message: String,
    pub(crate) errors: Option<Vec<EntryError>>,
    pub(crate) retry_after: Option<u64>,
}

impl ApiError {
    pub(crate) fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            errors: None,
            retry_after: None,
        }
    }

    pub(crate) fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "BAD_REQUEST", message)
    }

    pub(crate) fn unauthorized() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "UNAUTHORIZED",
            "missing or invalid API key",
        )
    }

    pub(crate) fn not_found(what: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "NOT_FOUND",
            format!("{what} not found"),
        )
    }

    pub(crate) fn too_large(message: impl Into<String>) -> Self {
        Self::new(StatusCode::PAYLOAD_TOO_LARGE, "PAYLOAD_TOO_LARGE", message)
    }

    pub(crate) fn internal() -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "INTERNAL_ERROR",
            "internal server error",
        )
    }

    pub(crate) fn rate_limited(retry_after: u64) -> Self {
        let mut e = Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            "RATE_LIMITED",
            "rate limit exceeded, retry later",
        );
        e.retry_after = Some(retry_after);
        e
    }

    pub(crate) fn with_errors(mut self, errors: Vec<EntryError>) -> Self {
        self.errors = Some(errors);
        self
    }

    /// The response, stamped with the request id.
    pub(crate) fn into_response(self, request_id: &str) -> HttpResponse {
        #[derive(Serialize)]
        #[serde(rename_all = "camelCase")]
        struct Body<'a> {
            message: &'a str,
            code: &'a str,
            request_id: &'a str,
            #[serde(skip_serializing_if = "Option::is_none")]
            errors: Option<&'a [EntryError]>,
        }
        let body = Body {
            message: &self.message,
            code: self.code,
            request_id,
            errors: self.errors.as_deref(),
        };
        let mut resp = raw_json(self.status, serde_json::to_vec(&body).unwrap_or_default());
        if let Some(secs) = self.retry_after {
            resp.headers_mut()
                .insert(RETRY_AFTER, HeaderValue::from(secs));
        }
        resp
    }
}

/// A body serialized as-is.
pub(crate) fn raw_json(status: StatusCode, body: Vec<u8>) -> HttpResponse {
    let mut resp = Response::new(Full::new(Bytes::from(body)));
    *resp.status_mut() = status;
    resp.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=utf-8"),
    );
    resp
}

/// A success body with its fields at the top level and again under `"data"`.
pub(crate) fn enveloped<T: Serialize>(
    status: StatusCode,
    body: &T,
) -> Result<HttpResponse, ApiError> {
    #[derive(Serialize)]
    struct Enveloped<'a, T> {
        #[serde(flatten)]
        top: &'a T,
        data: &'a T,
    }
    let bytes = serde_json::to_vec(&Enveloped {
        top: body,
        data: body,
    })
    .map_err(|_| ApiError::internal())?;
    Ok(raw_json(status, bytes))
}
