//! `grantex_gemma._native`: the Rust half of the `grantex_gemma` Python package.
//!
//! It translates between Python values and gx's types and owns no protocol logic:
//! token verification is gx-core's [`Verifier`](gx_core::Verifier), entry hashing,
//! signing and chain checks are gx-core's audit module, the log file is gx-storage's
//! [`AuditLog`](gx_storage::AuditLog) and the bundle file gx-storage's
//! [`BundleFile`](gx_storage::BundleFile). The Python modules beside it
//! (`python/grantex_gemma/`) give these the API of `grantex-gemma` 0.1.2; HTTP stays in
//! Python (httpx).
//!
//! Every call that does real work (RSA, Ed25519, SHA-256 over a chain, AES-GCM, file
//! I/O, waiting for an fsync) releases the GIL, so Python threads run meanwhile. Errors
//! cross as one exception type, `GxError(code, message, detail)`, which the Python side
//! maps onto the original's exception classes; messages never hold key material.

mod bundle;
mod chain;
mod error;
mod log;
mod verify;

use pyo3::prelude::*;

/// The extension module `grantex_gemma._native`.
#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("GxError", m.py().get_type::<error::GxError>())?;
    m.add_class::<verify::NativeVerifier>()?;
    m.add_class::<log::NativeLog>()?;
    m.add_class::<log::SigningKey>()?;
    m.add_function(wrap_pyfunction!(chain::entry_hash, m)?)?;
    m.add_function(wrap_pyfunction!(chain::verify_entries, m)?)?;
    m.add_function(wrap_pyfunction!(chain::verify_lines, m)?)?;
    m.add_function(wrap_pyfunction!(chain::verify_log_file, m)?)?;
    m.add_function(wrap_pyfunction!(bundle::store_bundle, m)?)?;
    m.add_function(wrap_pyfunction!(bundle::load_bundle, m)?)?;
    m.add("GENESIS_PREV_HASH", gx_core::GENESIS_PREV_HASH)?;
    Ok(())
}
