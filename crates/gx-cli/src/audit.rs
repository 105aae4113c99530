//! `gx audit verify|hash|append`: check a log, hash one entry, append one entry.

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::ExitCode;

use anyhow::Context;
use gx_core::{AuditVerifyingKey, EntryError, Field, LegacyPyEntry, SignedAuditEntry, UnixTime};
use gx_storage::{KeySpan, LogFormat, verify_log_keys_with_progress, verify_log_with_progress};
use serde_json::json;

use crate::cli::{AuditAppendArgs, AuditHashArgs, AuditVerifyArgs, FormatArg};
use crate::failure::{fail, fail_with, report_invalid};
use crate::progress::Unit;
use crate::{output, progress, secrets, token};

/// Guesses a log's format from its first non-empty line: the Python client writes
/// snake_case `prev_hash`.
fn detect_format(path: &Path) -> anyhow::Result<LogFormat> {
    let file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(fail(
                "LOG_NOT_FOUND",
                format!("no log at {}", path.display()),
                "check the path",
            ));
        }
        Err(e) => return Err(anyhow::Error::new(e).context(format!("opening {}", path.display()))),
    };
    for line in BufReader::new(file).lines() {
        let line = line.with_context(|| format!("reading {}", path.display()))?;
        if line.trim().is_empty() {
            continue;
        }
        return Ok(if line.contains("\"prev_hash\"") {
            LogFormat::LegacyPython
        } else {
            LogFormat::Wire
        });
    }
    Ok(LogFormat::Wire)
}

fn format_name(format: LogFormat) -> &'static str {
    match format {
        LogFormat::LegacyPython => "py",
        _ => "wire",
    }
}

/// The audit keys to verify with: every `--public-key` (oldest first, each taking over
/// where the entries show), or the key history of `--bundle`.
fn key_spans(args: &AuditVerifyArgs) -> anyhow::Result<Vec<KeySpan>> {
    if !args.public_key.is_empty() {
        let mut spans = Vec::with_capacity(args.public_key.len());
        for pem_file in &args.public_key {
            let pem = std::fs::read_to_string(pem_file)
                .with_context(|| format!("reading the public key {}", pem_file.display()))?;
            let key = AuditVerifyingKey::from_spki_pem(&pem).map_err(|e| {
                fail_with(
                    e.code(),
                    format!("{} is not an Ed25519 SPKI PEM", pem_file.display()),
                    "pass the bundle's offlineAuditKey.publicKey",
                    e,
                )
            })?;
            spans.push(KeySpan::unbounded(key));
        }
        return Ok(spans);
    }
    if let Some(bundle) = &args.bundle {
        let device = secrets::device(bundle, args.key_file.as_deref(), None)?;
        return Ok(device.key_spans());
    }
    Err(fail(
        "NO_PUBLIC_KEY",
        "no audit public key given",
        "pass --public-key PEM_FILE (repeatable) or --bundle FILE",
    ))
}

pub(crate) fn verify(args: &AuditVerifyArgs) -> anyhow::Result<ExitCode> {
    let spans = key_spans(args)?;
    let format = match args.format {
        FormatArg::Auto => detect_format(&args.log)?,
        FormatArg::Wire => LogFormat::Wire,
        FormatArg::Py => LogFormat::LegacyPython,
    };
    if !args.log.exists() {
        return Err(fail(
            "LOG_NOT_FOUND",
            format!("no log at {}", args.log.display()),
            "check the path",
        ));
    }
    let bar = progress::bar(0, Unit::Bytes, "verifying");
    let mut on_bytes = |done: u64, total: u64| {
        bar.set_length(total);
        bar.set_position(done);
    };
    let report = match (format, spans.first()) {
        // The Python client's format knows one key.
        (LogFormat::LegacyPython, Some(first)) => {
            verify_log_with_progress(&args.log, first.key(), format, &mut on_bytes)
        }
        _ => verify_log_keys_with_progress(&args.log, &spans, &mut on_bytes),
    }
    .map_err(|e| {
        fail_with(
            e.code(),
            format!("cannot read {}", args.log.display()),
            "check the path and permissions",
            e,
        )
    })?;
    bar.finish_and_clear();
    let broken = report.first_break();
    if args.json {
        let broken = broken.map(|b| json!({"index": b.index, "seq": b.seq, "code": b.code.code()}));
        output::json(&json!({
            "valid": broken.is_none(),
            "entries": report.entries(),
            "format": format_name(format),
            "broken": broken,
        }))?;
    } else if broken.is_none() {
        output::line(&format!(
            "{}: {} entries, hash chain and signatures intact ({} format)",
            args.log.display(),
            report.entries(),
            format_name(format)
        ))?;
    } else if let Some(b) = broken {
        report_invalid(
            b.code.code(),
            &format!(
                "{}: {b}; {} entries verified before it",
                args.log.display(),
                report.entries()
            ),
            "the log was altered or damaged after that entry; keep the file as evidence",
        );
        if format == LogFormat::LegacyPython {
            eprintln!(
                "  note: this is the Python client's format, which the hosted service does not accept"
            );
        }
    }
    Ok(if broken.is_none() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// Adds a placeholder `hash` or `signature` member to an entry object that lacks it, so
/// the strict line parsers accept it; the hash is recomputed, never read. Parsing is
/// gx-core's (the same as the log's and the server's), so anything they accept, lone
/// surrogates in metadata included, is hashed.
fn with_placeholder(text: &str, missing: Field, format: FormatArg) -> Option<String> {
    let value = match (missing, format) {
        (Field::Hash, _) => "0".repeat(64),
        (Field::Signature, FormatArg::Py) => format!("{}==", "A".repeat(86)),
        (Field::Signature, _) => "0".repeat(128),
        _ => return None,
    };
    let trimmed = text.trim_end();
    let body = trimmed.strip_suffix('}')?.trim_end();
    let sep = if body.ends_with('{') { "" } else { "," };
    Some(format!(
        "{body}{sep}\"{}\":\"{value}\"}}",
        missing.wire_name()
    ))
}

/// The entry's hash, parsing `text` with gx-core after adding what is missing.
fn entry_hash(text: &str, format: FormatArg) -> Result<String, EntryError> {
    let mut line = text.trim().to_owned();
    // At most two placeholders (hash and signature).
    for _ in 0..3 {
        let parsed = match format {
            FormatArg::Py => LegacyPyEntry::parse_line(line.as_bytes())
                .and_then(|e| e.computed_hash())
                .map(|h| h.to_string()),
            _ => SignedAuditEntry::parse_line(line.as_bytes())
                .and_then(|e| e.entry.hash())
                .map(|h| h.to_string()),
        };
        match parsed {
            Err(EntryError::MissingField(field)) => match with_placeholder(&line, field, format) {
                Some(next) => line = next,
                None => return Err(EntryError::MissingField(field)),
            },
            other => return other,
        }
    }
    Err(EntryError::MissingField(Field::Signature))
}

pub(crate) fn hash(args: &AuditHashArgs) -> anyhow::Result<ExitCode> {
    let mut text = String::new();
    std::io::stdin()
        .read_to_string(&mut text)
        .context("reading the entry from stdin")?;
    let hash = entry_hash(&text, args.format).map_err(|e| {
        fail_with(
            e.wire_code(),
            format!("not an entry ({})", e.code()),
            "check the entry's fields against docs/protocol.md",
            e,
        )
    })?;
    output::line(&hash)?;
    Ok(ExitCode::SUCCESS)
}

pub(crate) fn append(args: &AuditAppendArgs) -> anyhow::Result<ExitCode> {
    if let Some(meta) = &args.metadata {
        gx_core::Metadata::parse(meta).map_err(|e| {
            fail_with(
                e.code(),
                "--metadata is not an acceptable JSON object",
                "pass one JSON object, e.g. '{\"count\":1}'",
                e,
            )
        })?;
    }
    let device = secrets::device_opened(
        &args.bundle,
        secrets::bundle_key(args.key_file.as_deref())?,
        Some(&args.log),
        gx_storage::DeviceOptions::new().with_clock_skew_secs(args.skew),
    )?;
    let at = args.now.map(UnixTime::from_secs);
    let record = match device.append(&args.action, &args.result, args.metadata.as_deref(), at) {
        Ok(r) => r,
        // A clean "no": revoked, a refresh pending, or the grant invalid at the
        // floor-bounded time. Nothing was written.
        Err(e) if e.is_refusal() => {
            let (code, message) = (e.code().to_owned(), e.to_string());
            if args.json {
                output::json(
                    &json!({"appended": false, "error": {"code": code, "message": message}}),
                )?;
            } else {
                let hint = match code.as_str() {
                    "BUNDLE_REVOKED" => "stop the agent; a new bundle needs a new consent",
                    "REFRESH_PENDING" => "run `gx bundle refresh` again; it resumes",
                    other => token::hint(other),
                };
                report_invalid(&code, &format!("not appended: {message}"), hint);
            }
            return Ok(ExitCode::from(1));
        }
        Err(e) => {
            return Err(fail_with(
                e.code().to_owned(),
                "append refused",
                "check --action/--result lengths and the metadata",
                e,
            ));
        }
    };
    if args.json {
        output::json(
            &json!({"appended": true, "seq": record.seq(), "hash": record.hash().to_string()}),
        )?;
    }
    Ok(ExitCode::SUCCESS)
}
