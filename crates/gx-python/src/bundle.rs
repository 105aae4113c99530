//! `store_bundle` / `load_bundle`: gx-storage's [`BundleFile`] for Python.
//!
//! The bundle crosses as its wire JSON (camelCase, as the service sends it). Storing
//! writes gx's format (AES-256-GCM with a versioned header as associated data, mode
//! 0600, atomic replace); loading reads gx's format and the files of the Python and
//! TypeScript clients. The key is 64 hex characters (the raw AES key, as the Python
//! client takes it) or a passphrase (Argon2id). Memory: the decrypted JSON is zeroized
//! on the Rust side; the Python string made from it cannot be.

use std::path::PathBuf;

use gx_storage::{BundleError, BundleFile, BundleFormat, BundleKey, ConsentBundle};
use pyo3::prelude::*;

use crate::error::gx_error;

/// Encrypts the bundle (its wire JSON) with `key` and atomically replaces `path`.
#[pyfunction]
pub(crate) fn store_bundle(
    py: Python<'_>,
    path: PathBuf,
    bundle_json: &str,
    key: &str,
) -> PyResult<()> {
    py.detach(|| {
        let bundle = ConsentBundle::from_json(bundle_json.as_bytes()).map_err(|e| {
            gx_error(
                "INVALID_BUNDLE_JSON",
                format!("not a consent bundle: {e}"),
                None,
            )
        })?;
        let key = bundle_key(key)?;
        BundleFile::new(path)
            .store(&bundle, &key)
            .map_err(|e| bundle_error(&e))
    })
}

/// Decrypts the bundle at `path`; returns its wire JSON and the format the file was in
/// (`"gx"`, `"python"`, `"ts-npm"`, `"ts-gtxb"`).
#[pyfunction]
pub(crate) fn load_bundle(
    py: Python<'_>,
    path: PathBuf,
    key: &str,
) -> PyResult<(String, &'static str)> {
    py.detach(|| {
        let key = bundle_key(key)?;
        let (bundle, format) = BundleFile::new(path)
            .load_with_format(&key)
            .map_err(|e| bundle_error(&e))?;
        let json = String::from_utf8(bundle.to_json().to_vec())
            .map_err(|_| gx_error("INVALID_BUNDLE_JSON", "bundle JSON is not UTF-8", None))?;
        let name = match format {
            BundleFormat::Gx(_) => "gx",
            BundleFormat::Python => "python",
            BundleFormat::TsNpm => "ts-npm",
            BundleFormat::TsGtxb => "ts-gtxb",
            _ => "other",
        };
        Ok((json, name))
    })
}

fn bundle_key(key: &str) -> PyResult<BundleKey> {
    key.parse::<BundleKey>()
        .map_err(|e| gx_error("INVALID_KEY", format!("unusable bundle key: {e}"), None))
}

fn bundle_error(e: &BundleError) -> PyErr {
    gx_error(e.code(), e.to_string(), None)
}
