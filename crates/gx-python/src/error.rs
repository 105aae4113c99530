//! The one exception the extension raises, `GxError(code, message, detail)`.
//!
//! `code` is gx's stable code (`KID_NOT_FOUND`, `LOG_LOCKED`, `BUNDLE_TAMPERED`, ...),
//! `message` gx's own sentence, `detail` the one value the Python side needs to word the
//! original client's message (the `alg`, the `kid`, the claim name), or `None`.

use pyo3::PyErr;
use pyo3::create_exception;
use pyo3::exceptions::PyException;

create_exception!(
    _native,
    GxError,
    PyException,
    "An error from gx's Rust core: args are (code, message, detail)."
);

/// A `GxError` with gx's code and message and an optional detail.
pub(crate) fn gx_error(code: &str, message: impl Into<String>, detail: Option<String>) -> PyErr {
    GxError::new_err((code.to_owned(), message.into(), detail))
}
