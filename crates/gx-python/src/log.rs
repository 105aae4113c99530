//! `NativeLog` and `SigningKey`: gx-storage's [`AuditLog`] for Python.
//!
//! One `NativeLog` is the one writer of a log file (gx-storage holds the lock). The
//! Python package shares it between every `OfflineAuditLog` of the same path in a
//! process, so each of them may sign with its own key: an append names its key, and the
//! log switches keys (under a write lock that waits for appends in flight) only when the
//! key differs from the one in force. Appends with the key in force run concurrently,
//! which lets gx's group commit share one fsync between threads.
//!
//! Memory: an append returns its fields as Python strings; `entries_after` returns the
//! JSON lines of the entries asked for (the caller batches).

use std::path::PathBuf;
use std::sync::{PoisonError, RwLock};

use gx_core::AuditSigningKey;
use gx_storage::{AuditLog, AuditLogConfig, EntryFields, FsyncPolicy, LogError, LogRecord};
use pyo3::prelude::*;

use crate::error::gx_error;

/// How many times an append retries switching to its key before appending under the
/// write lock (two logs alternating keys could otherwise keep each other waiting).
const KEY_SWITCH_TRIES: usize = 4;

/// `(seq, timestamp, prev_hash, hash, signature)` of an appended entry.
type Appended = (u64, String, String, String, String);

/// An Ed25519 audit signing key, parsed once from its PKCS#8 PEM. Never printed.
#[pyclass(frozen, module = "grantex_gemma._native")]
pub(crate) struct SigningKey {
    key: AuditSigningKey,
    public: [u8; 32],
}

#[pymethods]
impl SigningKey {
    #[new]
    fn new(private_key_pem: &str) -> PyResult<Self> {
        let key = AuditSigningKey::from_pkcs8_pem(private_key_pem).map_err(|e| {
            gx_error(
                e.code(),
                format!(
                    "the audit private key is not an Ed25519 PKCS#8 PEM: {}",
                    e.code()
                ),
                None,
            )
        })?;
        let public = key.verifying_key().to_bytes();
        Ok(Self { key, public })
    }

    /// The public half as SPKI PEM.
    fn public_key_pem(&self) -> String {
        self.key.verifying_key().to_spki_pem().as_str().to_owned()
    }

    fn __repr__(&self) -> String {
        format!(
            "SigningKey(public={})",
            self.key.verifying_key().jwk_x().as_str()
        )
    }
}

impl SigningKey {
    fn copy(&self) -> PyResult<AuditSigningKey> {
        AuditSigningKey::from_pkcs8_pem(self.key.to_pkcs8_pem().as_str())
            .map_err(|e| gx_error(e.code(), "audit key copy failed", None))
    }
}

/// A durable audit log: gx-storage's [`AuditLog`] and the public key signing for it.
#[pyclass(frozen, weakref, module = "grantex_gemma._native")]
pub(crate) struct NativeLog {
    log: AuditLog,
    /// The public key of the signing key in force.
    key: RwLock<[u8; 32]>,
}

#[pymethods]
impl NativeLog {
    /// Opens (or creates) the log at `path`: takes its lock, repairs a torn last line,
    /// finds the chain head. `fsync` is `"group"` (durable, shared flushes), `"every"`
    /// or `"none"` (no flush: survives a killed process, not a power cut).
    #[new]
    #[pyo3(signature = (path, key, fsync="group", segment_max_bytes=None))]
    fn new(
        py: Python<'_>,
        path: PathBuf,
        key: &Bound<'_, SigningKey>,
        fsync: &str,
        segment_max_bytes: Option<u64>,
    ) -> PyResult<Self> {
        let policy = match fsync {
            "group" => FsyncPolicy::GroupCommit,
            "every" => FsyncPolicy::EveryEntry,
            "none" => FsyncPolicy::None,
            other => {
                return Err(pyo3::exceptions::PyValueError::new_err(format!(
                    "fsync must be \"group\", \"every\" or \"none\", not {other:?}"
                )));
            }
        };
        let config = AuditLogConfig::new(policy)
            .with_segment_max_bytes(segment_max_bytes.unwrap_or(u64::MAX));
        let key = key.get();
        let signing = key.copy()?;
        let log = py
            .detach(|| AuditLog::open(&path, signing, config))
            .map_err(|e| log_error(&e))?;
        Ok(Self {
            log,
            key: RwLock::new(key.public),
        })
    }

    /// Appends one entry signed with `key`; returns it once it is as durable as the
    /// policy promises.
    #[pyo3(signature = (key, action, agent_did, grant_id, scopes, result, metadata=None))]
    #[allow(clippy::too_many_arguments)]
    fn append(
        &self,
        py: Python<'_>,
        key: &Bound<'_, SigningKey>,
        action: &str,
        agent_did: &str,
        grant_id: &str,
        scopes: Vec<String>,
        result: &str,
        metadata: Option<&str>,
    ) -> PyResult<Appended> {
        let key = key.get();
        let scopes: Vec<&str> = scopes.iter().map(String::as_str).collect();
        let fields = EntryFields {
            action,
            agent_did,
            grant_id,
            scopes: &scopes,
            result,
            metadata,
        };
        let record = py.detach(|| self.append_as(key, &fields))?;
        appended(&record)
    }

    /// The JSON lines of the committed entries after `seq` (all segments), oldest first.
    fn entries_after(&self, py: Python<'_>, seq: u64) -> PyResult<Vec<String>> {
        py.detach(|| {
            self.log
                .entries_after(seq)
                .map(|r| r.map(LogRecord::into_line))
                .collect::<Result<Vec<_>, _>>()
        })
        .map_err(|e| log_error(&e))
    }

    /// Records that the server confirmed every entry up to `seq` (durably).
    fn mark_synced(&self, py: Python<'_>, seq: u64) -> PyResult<()> {
        py.detach(|| self.log.mark_synced(seq))
            .map_err(|e| log_error(&e))
    }

    /// Forces everything written to stable storage (for the `"none"` policy).
    fn flush(&self, py: Python<'_>) -> PyResult<()> {
        py.detach(|| self.log.sync()).map_err(|e| log_error(&e))
    }

    /// The seq of the last committed entry (0 for an empty log).
    #[getter]
    fn last_seq(&self) -> u64 {
        self.log.last_seq()
    }

    /// The last seq the server confirmed.
    #[getter]
    fn synced_seq(&self) -> u64 {
        self.log.synced_seq()
    }

    /// The hash the next entry links to (sixteen zeros for an empty chain).
    #[getter]
    fn last_hash(&self) -> String {
        self.log.last_hash().to_wire().as_str().to_owned()
    }

    /// Bytes of a torn last line removed when the log was opened.
    #[getter]
    fn torn_bytes_repaired(&self) -> u64 {
        self.log.torn_bytes_repaired()
    }
}

impl NativeLog {
    /// Appends under the read lock when `key` is the key in force, switching keys first
    /// otherwise.
    fn append_as(&self, key: &SigningKey, fields: &EntryFields<'_>) -> PyResult<LogRecord> {
        for _ in 0..KEY_SWITCH_TRIES {
            {
                let current = self.key.read().unwrap_or_else(PoisonError::into_inner);
                if *current == key.public {
                    return self.log.append_fields(fields).map_err(|e| log_error(&e));
                }
            }
            let mut current = self.key.write().unwrap_or_else(PoisonError::into_inner);
            if *current != key.public {
                self.log.set_signing_key(key.copy()?);
                *current = key.public;
            }
        }
        let mut current = self.key.write().unwrap_or_else(PoisonError::into_inner);
        if *current != key.public {
            self.log.set_signing_key(key.copy()?);
            *current = key.public;
        }
        self.log.append_fields(fields).map_err(|e| log_error(&e))
    }
}

fn appended(record: &LogRecord) -> PyResult<Appended> {
    let e = record
        .entry()
        .map_err(|e| gx_error(e.code(), "an appended line did not parse back", None))?;
    Ok((
        record.seq(),
        e.entry.timestamp.to_string(),
        e.entry.prev_hash.to_wire().as_str().to_owned(),
        e.hash.to_hex().as_str().to_owned(),
        e.signature.to_hex().as_str().to_owned(),
    ))
}

fn log_error(e: &LogError) -> PyErr {
    gx_error(e.code(), e.to_string(), None)
}
