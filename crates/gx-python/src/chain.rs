//! Entry hashes and chain checks: `entry_hash`, `verify_entries` (entries held by
//! Python) and `verify_log_file` (a log on disk, read by gx-storage).
//!
//! Both formats are read: the protocol's wire format (what this package writes) and the
//! Python client 0.1.x's own (snake_case, 64-zero genesis, sorted-key JSON hash,
//! base64url signatures), which the hosted service rejects; the result names the format
//! so the Python side can say so. Memory: `verify_entries` copies each entry's fields out
//! of Python once (a few hundred bytes per entry), then checks them with the GIL
//! released; `verify_log_file` streams the file a line at a time.

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;

use gx_core::{
    AuditEntry, AuditStr, AuditVerifyingKey, BreakCode, ChainAnchor, EntryHash, EntrySignature,
    LegacyPyEntry, Metadata, PrevHash, Scopes, SignedAuditEntry, entry_hash as core_entry_hash,
    verify_chain_parallel,
};
use gx_storage::{LogFormat, verify_log_as};
use pyo3::prelude::*;
use pyo3::types::PyDict;
use sha2::{Digest, Sha256};

use crate::error::gx_error;

/// Format names as the Python side sees them.
const WIRE: &str = "wire";
const LEGACY: &str = "py";

/// One entry's fields, copied out of Python.
struct Fields {
    seq: u64,
    timestamp: String,
    action: String,
    agent_did: String,
    grant_id: String,
    scopes: Vec<String>,
    result: String,
    /// The metadata as JSON text (`None` when absent).
    metadata: Option<String>,
    prev_hash: String,
    hash: String,
    signature: String,
}

/// `(valid, broken_index, code, format)` of a chain check.
type Verdict = (bool, Option<u64>, Option<&'static str>, &'static str);

/// `(valid, entries_verified, broken_index, broken_seq, code, format)` of a log check.
type LogVerdict = (
    bool,
    u64,
    Option<u64>,
    Option<u64>,
    Option<&'static str>,
    &'static str,
);

/// The protocol's entry hash (64 lowercase hex) of the given fields; `metadata` is the
/// JSON text of an object, or `None` for an entry without metadata.
#[pyfunction]
#[pyo3(signature = (seq, timestamp, action, agent_did, grant_id, scopes, result, metadata, prev_hash))]
#[allow(clippy::too_many_arguments)]
pub(crate) fn entry_hash(
    seq: u64,
    timestamp: String,
    action: String,
    agent_did: String,
    grant_id: String,
    scopes: Vec<String>,
    result: String,
    metadata: Option<String>,
    prev_hash: String,
) -> PyResult<String> {
    let f = Fields {
        seq,
        timestamp,
        action,
        agent_did,
        grant_id,
        scopes,
        result,
        metadata,
        prev_hash,
        hash: String::new(),
        signature: String::new(),
    };
    wire_hash(&f).map_err(|code| gx_error(code, format!("{code}: cannot hash this entry"), None))
}

/// Checks entries held by Python (objects with the `SignedAuditEntry` attributes): each
/// hash recomputed, `seq` consecutive, each `prev_hash` the hash before; signatures too
/// when `public_key_pem` is given. `dumps` turns a metadata dict into JSON text.
#[pyfunction]
#[pyo3(signature = (entries, dumps, public_key_pem=None))]
pub(crate) fn verify_entries(
    py: Python<'_>,
    entries: Vec<Bound<'_, PyAny>>,
    dumps: &Bound<'_, PyAny>,
    public_key_pem: Option<&str>,
) -> PyResult<Verdict> {
    let key = public_key_pem.map(verifying_key).transpose()?;
    let mut fields = Vec::with_capacity(entries.len());
    for e in &entries {
        fields.push(extract(e, dumps)?);
    }
    Ok(py.detach(|| check(&fields, key.as_ref())))
}

/// Checks entries given as their JSONL lines (wire format, or the Python client's own,
/// told apart by the first line), parsed by gx-core with the GIL released: hashes, `seq`,
/// links, and signatures when `public_key_pem` is given (batched, on every core). The
/// fast way to check a chain read from a file: no Python object per entry.
#[pyfunction]
#[pyo3(signature = (lines, public_key_pem=None))]
pub(crate) fn verify_lines(
    py: Python<'_>,
    lines: Vec<String>,
    public_key_pem: Option<&str>,
) -> PyResult<Verdict> {
    let key = public_key_pem.map(verifying_key).transpose()?;
    Ok(py.detach(|| check_lines(&lines, key.as_ref())))
}

/// Verifies the log file at `path` (every segment) under the audit public key, in the
/// given format (`"wire"`, `"py"`) or the one its first line shows. Returns `(valid,
/// entries_verified, broken_index, broken_seq, code, format)`.
#[pyfunction]
#[pyo3(signature = (path, public_key_pem, format=None))]
pub(crate) fn verify_log_file(
    py: Python<'_>,
    path: PathBuf,
    public_key_pem: &str,
    format: Option<&str>,
) -> PyResult<LogVerdict> {
    let key = verifying_key(public_key_pem)?;
    let format = match format {
        None => py.detach(|| detect(&path))?,
        Some(WIRE) => LogFormat::Wire,
        Some(LEGACY) => LogFormat::LegacyPython,
        Some(other) => {
            return Err(pyo3::exceptions::PyValueError::new_err(format!(
                "format must be \"wire\" or \"py\", not {other:?}"
            )));
        }
    };
    let report = py
        .detach(|| verify_log_as(&path, &key, format))
        .map_err(|e| gx_error(e.code(), e.to_string(), None))?;
    let name = if format == LogFormat::LegacyPython {
        LEGACY
    } else {
        WIRE
    };
    let brk = report.first_break();
    Ok((
        report.is_intact(),
        report.entries(),
        brk.map(|b| b.index),
        brk.and_then(|b| b.seq),
        brk.map(|b| b.code.code()),
        name,
    ))
}

/// The format of a log from its first non-empty line: the Python client writes
/// snake_case `prev_hash`.
fn detect(path: &PathBuf) -> PyResult<LogFormat> {
    let file = File::open(path).map_err(|e| {
        gx_error(
            "LOG_NOT_FOUND",
            format!("cannot open {}: {e}", path.display()),
            None,
        )
    })?;
    for line in BufReader::new(file).lines() {
        let line = line.map_err(|e| gx_error("IO_ERROR", e.to_string(), None))?;
        if !line.trim().is_empty() {
            return Ok(if line.contains("\"prev_hash\"") {
                LogFormat::LegacyPython
            } else {
                LogFormat::Wire
            });
        }
    }
    Ok(LogFormat::Wire)
}

fn verifying_key(pem: &str) -> PyResult<AuditVerifyingKey> {
    AuditVerifyingKey::from_spki_pem(pem).map_err(|e| {
        gx_error(
            e.code(),
            "the audit public key is not an Ed25519 SPKI PEM",
            None,
        )
    })
}

fn extract(e: &Bound<'_, PyAny>, dumps: &Bound<'_, PyAny>) -> PyResult<Fields> {
    let text = |name: &str| -> PyResult<String> { e.getattr(name)?.extract() };
    let meta = e.getattr("metadata")?;
    let metadata = if meta.is_none() {
        None
    } else if meta.cast::<PyDict>().is_ok_and(|d| d.is_empty()) {
        Some("{}".to_owned())
    } else {
        Some(dumps.call1((meta,))?.extract()?)
    };
    Ok(Fields {
        seq: e.getattr("seq")?.extract()?,
        timestamp: text("timestamp")?,
        action: text("action")?,
        agent_did: text("agent_did")?,
        grant_id: text("grant_id")?,
        scopes: e.getattr("scopes")?.extract()?,
        result: text("result")?,
        metadata,
        prev_hash: text("prev_hash")?,
        hash: text("hash")?,
        signature: text("signature")?,
    })
}

/// The wire hash. A `prev_hash` that is neither hex nor the genesis marker is hashed as
/// the text it is (the same SHA-256 over the same `|`-joined fields), so that such an
/// entry still gets a hash and a chain check reports it as a broken link.
fn wire_hash(f: &Fields) -> Result<String, &'static str> {
    let scopes: Vec<&str> = f.scopes.iter().map(String::as_str).collect();
    let metadata = f
        .metadata
        .as_deref()
        .map(Metadata::parse)
        .transpose()
        .map_err(|e| e.code())?;
    let Ok(prev_hash) = PrevHash::from_wire(&f.prev_hash) else {
        let mut h = Sha256::new();
        h.update(format!(
            "{}|{}|{}|{}|{}|{}|{}|",
            f.seq,
            f.timestamp,
            f.action,
            f.agent_did,
            f.grant_id,
            scopes.join(","),
            f.result
        ));
        if let Some(m) = &metadata {
            h.update(m.to_canonical_string().map_err(|e| e.code())?);
        }
        h.update(b"|");
        h.update(f.prev_hash.as_bytes());
        return Ok(EntryHash::from_bytes(h.finalize().into())
            .to_hex()
            .as_str()
            .to_owned());
    };
    let entry = AuditEntry {
        seq: f.seq,
        timestamp: AuditStr::new(&f.timestamp),
        action: AuditStr::new(&f.action),
        agent_did: AuditStr::new(&f.agent_did),
        grant_id: AuditStr::new(&f.grant_id),
        scopes: Scopes::new(&scopes),
        result: AuditStr::new(&f.result),
        metadata,
        prev_hash,
    };
    core_entry_hash(&entry)
        .map(|h| h.to_hex().as_str().to_owned())
        .map_err(|e| e.code())
}

/// The Python client's own line for these fields, as its `append` writes it (field
/// order does not matter: its hash sorts the keys).
fn legacy_line(f: &Fields) -> String {
    let s = |v: &str| serde_json::to_string(v).unwrap_or_default();
    let scopes = serde_json::to_string(&f.scopes).unwrap_or_default();
    format!(
        "{{\"seq\":{},\"timestamp\":{},\"action\":{},\"agent_did\":{},\"grant_id\":{},\"scopes\":{},\"result\":{},\"metadata\":{},\"prev_hash\":{},\"hash\":{},\"signature\":{}}}",
        f.seq,
        s(&f.timestamp),
        s(&f.action),
        s(&f.agent_did),
        s(&f.grant_id),
        scopes,
        s(&f.result),
        f.metadata.as_deref().unwrap_or("null"),
        s(&f.prev_hash),
        s(&f.hash),
        s(&f.signature),
    )
}

/// Whether `f` is an entry of the Python client's format whose hash matches.
fn legacy_hash_matches(f: &Fields) -> bool {
    let line = legacy_line(f);
    LegacyPyEntry::parse_line(line.as_bytes())
        .and_then(|e| e.computed_hash().map(|h| h == e.hash))
        .unwrap_or(false)
}

fn check(fields: &[Fields], key: Option<&AuditVerifyingKey>) -> Verdict {
    let Some(first) = fields.first() else {
        return (true, None, None, WIRE);
    };
    let legacy =
        wire_hash(first).ok().as_deref() != Some(first.hash.as_str()) && legacy_hash_matches(first);
    if legacy {
        return check_legacy(fields, key);
    }
    if let Some(key) = key {
        return check_wire_signed(fields, key);
    }
    for (i, f) in fields.iter().enumerate() {
        let i = i as u64;
        match wire_hash(f) {
            Ok(h) if h == f.hash => {}
            Ok(_) => return (false, Some(i), Some(BreakCode::InvalidHash.code()), WIRE),
            Err(_) => return (false, Some(i), Some(BreakCode::InvalidEntry.code()), WIRE),
        }
        if let Some(code) = link(fields, i) {
            return (false, Some(i), Some(code), WIRE);
        }
    }
    (true, None, None, WIRE)
}

/// Whether entry `i` continues entry `i - 1` (`None`) or why not.
fn link(fields: &[Fields], i: u64) -> Option<&'static str> {
    let i = usize::try_from(i).ok()?;
    let (prev, cur) = (fields.get(i.checked_sub(1)?)?, fields.get(i)?);
    if cur.seq != prev.seq.saturating_add(1) {
        Some(BreakCode::SeqGap.code())
    } else if cur.prev_hash != prev.hash {
        Some(BreakCode::BrokenChain.code())
    } else {
        None
    }
}

fn check_legacy(fields: &[Fields], key: Option<&AuditVerifyingKey>) -> Verdict {
    for (i, f) in fields.iter().enumerate() {
        let i = i as u64;
        let line = legacy_line(f);
        let Ok(e) = LegacyPyEntry::parse_line(line.as_bytes()) else {
            return (false, Some(i), Some(BreakCode::InvalidEntry.code()), LEGACY);
        };
        let verdict = match key {
            Some(key) => e.verify(key),
            None => match e.computed_hash() {
                Ok(h) if h == e.hash => Ok(()),
                Ok(_) => Err(BreakCode::InvalidHash),
                Err(_) => Err(BreakCode::InvalidEntry),
            },
        };
        if let Err(code) = verdict {
            return (false, Some(i), Some(code.code()), LEGACY);
        }
        if let Some(code) = link(fields, i) {
            return (false, Some(i), Some(code), LEGACY);
        }
    }
    (true, None, None, LEGACY)
}

/// Wire entries with signatures: gx-core's parallel, batched chain check (shape, hash,
/// signature, seq, link), anchored at the first entry's predecessor.
fn check_wire_signed(fields: &[Fields], key: &AuditVerifyingKey) -> Verdict {
    let scopes: Vec<Vec<&str>> = fields
        .iter()
        .map(|f| f.scopes.iter().map(String::as_str).collect())
        .collect();
    let mut entries = Vec::with_capacity(fields.len());
    for (i, (f, scopes)) in fields.iter().zip(&scopes).enumerate() {
        let bad = (
            false,
            Some(i as u64),
            Some(BreakCode::InvalidEntry.code()),
            WIRE,
        );
        let Some(entry) = typed(f, scopes) else {
            return bad;
        };
        entries.push(entry);
    }
    verify_typed(&entries, key)
}

/// gx-core's parallel, batched check of typed entries, anchored at the first entry's
/// predecessor (genesis when it is seq 1).
fn verify_typed(entries: &[SignedAuditEntry<'_>], key: &AuditVerifyingKey) -> Verdict {
    let anchor = match entries.first().map(|e| (e.entry.seq, e.entry.prev_hash)) {
        Some((seq, PrevHash::Entry(hash))) if seq > 1 => ChainAnchor::After { seq: seq - 1, hash },
        _ => ChainAnchor::Genesis,
    };
    let threads = std::thread::available_parallelism().map_or(1, usize::from);
    match verify_chain_parallel(anchor, key, entries, threads) {
        Ok(_) => (true, None, None, WIRE),
        Err(b) => (false, Some(b.index), Some(b.code.code()), WIRE),
    }
}

fn typed<'a>(f: &'a Fields, scopes: &'a [&'a str]) -> Option<SignedAuditEntry<'a>> {
    Some(SignedAuditEntry {
        entry: AuditEntry {
            seq: f.seq,
            timestamp: AuditStr::new(&f.timestamp),
            action: AuditStr::new(&f.action),
            agent_did: AuditStr::new(&f.agent_did),
            grant_id: AuditStr::new(&f.grant_id),
            scopes: Scopes::new(scopes),
            result: AuditStr::new(&f.result),
            metadata: f
                .metadata
                .as_deref()
                .map(Metadata::parse)
                .transpose()
                .ok()?,
            prev_hash: PrevHash::from_wire(&f.prev_hash).ok()?,
        },
        hash: EntryHash::from_hex(&f.hash).ok()?,
        signature: EntrySignature::from_hex(&f.signature).ok()?,
    })
}

fn check_lines(lines: &[String], key: Option<&AuditVerifyingKey>) -> Verdict {
    let legacy = lines.first().is_some_and(|l| l.contains("\"prev_hash\""));
    if legacy {
        return check_legacy_lines(lines, key);
    }
    let mut entries = Vec::with_capacity(lines.len());
    for (i, line) in lines.iter().enumerate() {
        match SignedAuditEntry::parse_line(line.as_bytes()) {
            Ok(e) => entries.push(e),
            Err(_) => {
                return (
                    false,
                    Some(i as u64),
                    Some(BreakCode::InvalidEntry.code()),
                    WIRE,
                );
            }
        }
    }
    if let Some(key) = key {
        return verify_typed(&entries, key);
    }
    for (i, e) in entries.iter().enumerate() {
        let index = Some(i as u64);
        match e.entry.hash() {
            Ok(h) if h == e.hash => {}
            Ok(_) => return (false, index, Some(BreakCode::InvalidHash.code()), WIRE),
            Err(_) => return (false, index, Some(BreakCode::InvalidEntry.code()), WIRE),
        }
        if let Some(prev) = i.checked_sub(1).and_then(|p| entries.get(p)) {
            if e.entry.seq != prev.entry.seq.saturating_add(1) {
                return (false, index, Some(BreakCode::SeqGap.code()), WIRE);
            }
            if e.entry.prev_hash != PrevHash::Entry(prev.hash) {
                return (false, index, Some(BreakCode::BrokenChain.code()), WIRE);
            }
        }
    }
    (true, None, None, WIRE)
}

fn check_legacy_lines(lines: &[String], key: Option<&AuditVerifyingKey>) -> Verdict {
    let mut prev: Option<(u64, EntryHash)> = None;
    for (i, line) in lines.iter().enumerate() {
        let index = Some(i as u64);
        let Ok(e) = LegacyPyEntry::parse_line(line.as_bytes()) else {
            return (false, index, Some(BreakCode::InvalidEntry.code()), LEGACY);
        };
        let verdict = match key {
            Some(key) => e.verify(key),
            None => match e.computed_hash() {
                Ok(h) if h == e.hash => Ok(()),
                Ok(_) => Err(BreakCode::InvalidHash),
                Err(_) => Err(BreakCode::InvalidEntry),
            },
        };
        if let Err(code) = verdict {
            return (false, index, Some(code.code()), LEGACY);
        }
        if let Some((seq, hash)) = prev {
            if e.seq != seq.saturating_add(1) {
                return (false, index, Some(BreakCode::SeqGap.code()), LEGACY);
            }
            if e.prev_hash != PrevHash::Entry(hash) {
                return (false, index, Some(BreakCode::BrokenChain.code()), LEGACY);
            }
        }
        prev = Some((e.seq, e.hash));
    }
    (true, None, None, LEGACY)
}
