//! `gx audit verify|hash|append`: check a log, hash one entry, append one entry.

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::ExitCode;

use anyhow::Context;
use gx_core::audit::AuditVerifyingKey;
use gx_core::audit::legacy::LegacyPyEntry;
use gx_core::{DECODE_BUF_LEN, SignedAuditEntry, UnixTime, Verifier, VerifierOptions};
use gx_storage::{EntryFields, LogFormat, verify_log_with_progress};
use serde_json::{Value, json};

use crate::cli::{AuditAppendArgs, AuditHashArgs, AuditVerifyArgs, FormatArg};
use crate::failure::{fail, report_invalid};
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

fn verifying_key(args: &AuditVerifyArgs) -> anyhow::Result<AuditVerifyingKey> {
    if let Some(pem_file) = &args.public_key {
        let pem = std::fs::read_to_string(pem_file)
            .with_context(|| format!("reading the public key {}", pem_file.display()))?;
        return AuditVerifyingKey::from_spki_pem(&pem).map_err(|e| {
            fail(
                e.code(),
                format!("{} is not an Ed25519 SPKI PEM: {e}", pem_file.display()),
                "pass the bundle's offlineAuditKey.publicKey",
            )
        });
    }
    if let Some(bundle) = &args.bundle {
        let bundle = secrets::load_bundle(bundle, args.key_file.as_deref())?;
        return secrets::verifying_key(&bundle);
    }
    Err(fail(
        "NO_PUBLIC_KEY",
        "no audit public key given",
        "pass --public-key PEM_FILE or --bundle FILE",
    ))
}

pub(crate) fn verify(args: &AuditVerifyArgs) -> anyhow::Result<ExitCode> {
    let key = verifying_key(args)?;
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
    let report = verify_log_with_progress(&args.log, &key, format, &mut |done, total| {
        bar.set_length(total);
        bar.set_position(done);
    })
    .map_err(|e| {
        fail(
            e.code(),
            format!("cannot read {}: {e}", args.log.display()),
            "check the path and permissions",
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

/// Adds placeholder `hash` and `signature` members to an entry object that lacks them,
/// so the strict line parsers accept it; the hash is recomputed, never read.
fn with_placeholders(text: &str, format: FormatArg) -> anyhow::Result<String> {
    let value: Value = serde_json::from_str(text).map_err(|e| {
        fail(
            "INVALID_ENTRY",
            format!("stdin is not JSON: {e}"),
            "pipe one entry object",
        )
    })?;
    let Value::Object(map) = &value else {
        return Err(fail(
            "INVALID_ENTRY",
            "stdin is not a JSON object",
            "pipe one entry object",
        ));
    };
    let (hash, sig) = match format {
        FormatArg::Py => ("0".repeat(64), format!("{}==", "A".repeat(86))),
        _ => ("0".repeat(64), "0".repeat(128)),
    };
    let trimmed = text.trim_end();
    let body = trimmed.strip_suffix('}').unwrap_or(trimmed);
    let mut out = body.to_owned();
    if !map.contains_key("hash") {
        out.push_str(&format!(",\"hash\":\"{hash}\""));
    }
    if !map.contains_key("signature") {
        out.push_str(&format!(",\"signature\":\"{sig}\""));
    }
    out.push('}');
    Ok(out)
}

pub(crate) fn hash(args: &AuditHashArgs) -> anyhow::Result<ExitCode> {
    let mut text = String::new();
    std::io::stdin()
        .read_to_string(&mut text)
        .context("reading the entry from stdin")?;
    let line = with_placeholders(&text, args.format)?;
    let bad = |e: &dyn core::fmt::Display, code: &str| {
        fail(
            code.to_owned(),
            format!("not an entry: {e}"),
            "check the entry's fields against docs/protocol.md",
        )
    };
    let hash = match args.format {
        FormatArg::Py => {
            let entry =
                LegacyPyEntry::parse_line(line.as_bytes()).map_err(|e| bad(&e, e.code()))?;
            entry.computed_hash().map_err(|e| bad(&e, e.code()))?
        }
        _ => {
            let entry =
                SignedAuditEntry::parse_line(line.as_bytes()).map_err(|e| bad(&e, e.code()))?;
            entry.entry.hash().map_err(|e| bad(&e, e.code()))?
        }
    };
    output::line(&hash.to_string())?;
    Ok(ExitCode::SUCCESS)
}

pub(crate) fn append(args: &AuditAppendArgs) -> anyhow::Result<ExitCode> {
    let bundle = secrets::load_bundle(&args.bundle, args.key_file.as_deref())?;
    if let Some(meta) = &args.metadata {
        gx_core::Metadata::parse(meta).map_err(|e| {
            fail(
                e.code(),
                format!("--metadata is not an acceptable JSON object: {e}"),
                "pass one JSON object, e.g. '{\"count\":1}'",
            )
        })?;
    }
    let snapshot_json = serde_json::to_vec(bundle.jwks_snapshot())?;
    let snapshot = token::parse_jwks(&snapshot_json, "the bundle's jwksSnapshot")?;
    let log = secrets::open_log(&args.log, &bundle)?;
    let now = args
        .now
        .map_or_else(UnixTime::now, UnixTime::from_secs)
        .max(log.last_timestamp());
    let verifier = Verifier::new(&snapshot, VerifierOptions::new())
        .map_err(|e| fail("INVALID_OPTIONS", e.to_string(), ""))?;
    let mut buf = vec![0u8; DECODE_BUF_LEN];
    let grant = match verifier.verify(bundle.grant_token(), now, &mut buf) {
        Ok(g) => g,
        Err(e) => {
            let (code, message) = (e.code(), e.to_string());
            if args.json {
                output::json(
                    &json!({"appended": false, "error": {"code": code, "message": message}}),
                )?;
            } else {
                report_invalid(
                    code,
                    &format!("the bundle's grant does not verify: {message}"),
                    token::hint(code),
                );
            }
            return Ok(ExitCode::from(1));
        }
    };
    let scopes = grant.scopes().to_vec();
    let record = log
        .append_fields(&EntryFields {
            action: &args.action,
            agent_did: grant.agent_did(),
            grant_id: grant.grant_id(),
            scopes: &scopes,
            result: &args.result,
            metadata: args.metadata.as_deref(),
        })
        .map_err(|e| {
            fail(
                e.code(),
                format!("append refused: {e}"),
                "check --action/--result lengths and the metadata",
            )
        })?;
    if args.json {
        output::json(
            &json!({"appended": true, "seq": record.seq(), "hash": record.hash().to_string()}),
        )?;
    }
    Ok(ExitCode::SUCCESS)
}
