//! `gx bundle create|inspect|refresh|status|revoke`: the consent bundle's life cycle.

use std::process::ExitCode;

use base64ct::{Base64UrlUnpadded, Encoding};
use gx_core::UnixTime;
use gx_storage::{BundleFile, ConsentBundle};
use gx_sync::{CreateBundleRequest, RevocationMarker, Revoked, SyncOptions};
use serde_json::{Value, json};

use crate::cli::{
    BundleCreateArgs, BundleInspectArgs, BundleRefreshArgs, BundleRevokeArgs, BundleStatusArgs,
};
use crate::failure::{Call, fail, report_invalid};
use crate::human::{self, Revocation};
use crate::progress::Steps;
use crate::{failure, output, secrets};

fn iso(t: UnixTime) -> String {
    t.to_iso_bytes()
        .ok()
        .and_then(|b| String::from_utf8(b.to_vec()).ok())
        .unwrap_or_default()
}

/// The token's claims, decoded without verification (for display only).
fn unverified_claims(token: &str) -> Value {
    token
        .split('.')
        .nth(1)
        .and_then(|c| Base64UrlUnpadded::decode_vec(c).ok())
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        .unwrap_or(Value::Null)
}

/// A revocation record. `Revoked` is `#[non_exhaustive]` without a constructor, so it is
/// built through its serde form.
fn revocation_record(bundle_id: String, revoked_at: Option<String>) -> anyhow::Result<Revoked> {
    Ok(serde_json::from_value(
        json!({"bundleId": bundle_id, "revokedAt": revoked_at}),
    )?)
}

/// What `inspect` shows: everything but the audit private key.
pub(crate) fn summary(bundle: &ConsentBundle) -> Value {
    let snap = bundle.jwks_snapshot();
    let kids: Vec<Value> = snap
        .keys
        .iter()
        .map(|k| k.get("kid").cloned().unwrap_or(Value::Null))
        .collect();
    json!({
        "bundleId": bundle.bundle_id(),
        "syncEndpoint": bundle.sync_endpoint(),
        "checkpointAt": iso(bundle.checkpoint_at()),
        "offlineExpiresAt": iso(bundle.offline_expires_at()),
        "expired": bundle.is_expired(UnixTime::now()),
        "shouldRefresh": bundle.should_refresh(UnixTime::now()),
        "jwks": {"kids": kids, "fetchedAt": iso(snap.fetched_at), "validUntil": iso(snap.valid_until)},
        "auditPublicKey": bundle.offline_audit_key().public_key,
        "auditAlgorithm": bundle.offline_audit_key().algorithm,
        "claims": unverified_claims(bundle.grant_token()),
    })
}

pub(crate) fn create(args: &BundleCreateArgs) -> anyhow::Result<ExitCode> {
    let key = secrets::bundle_key(args.key_file.as_deref())?;
    let client = secrets::client(&args.server, args.ca_cert.as_deref())?;
    let request = CreateBundleRequest::new(&args.agent, &args.user, args.scope.iter().cloned())
        .with_offline_ttl(&args.ttl);
    let bundle = secrets::runtime()?
        .block_on(client.create_bundle(&request))
        .map_err(|e| {
            failure::client_error(
                &e,
                &args.server,
                "the bundle request",
                Call::CreateBundle { agent: &args.agent },
            )
        })?;
    BundleFile::new(&args.out)
        .store(&bundle, &key)
        .map_err(|e| {
            fail(
                e.code(),
                format!("cannot store the bundle at {}: {e}", args.out.display()),
                "check the directory exists and is writable",
            )
        })?;
    if args.json {
        output::json(&json!({
            "bundleId": bundle.bundle_id(),
            "out": args.out.display().to_string(),
            "offlineExpiresAt": iso(bundle.offline_expires_at()),
        }))?;
    } else {
        output::line(&format!(
            "stored {} in {}; usable offline until {}",
            bundle.bundle_id(),
            args.out.display(),
            human::when(
                UnixTime::now().as_secs(),
                bundle.offline_expires_at().as_secs()
            )
        ))?;
    }
    Ok(ExitCode::SUCCESS)
}

pub(crate) fn inspect(args: &BundleInspectArgs) -> anyhow::Result<ExitCode> {
    let bundle = secrets::load_bundle(&args.file, args.key_file.as_deref())?;
    let s = summary(&bundle);
    if args.json {
        output::json(&s)?;
    } else {
        let revocation = match RevocationMarker::beside(&args.file).load() {
            Ok(Some(_)) => Revocation::Revoked,
            _ => Revocation::NotKnown,
        };
        output::line(&human::bundle_summary(
            &s,
            revocation,
            UnixTime::now().as_secs(),
        ))?;
    }
    Ok(ExitCode::SUCCESS)
}

pub(crate) fn refresh(args: &BundleRefreshArgs) -> anyhow::Result<ExitCode> {
    let key = secrets::bundle_key(args.key_file.as_deref())?;
    let bundle = secrets::load_with(&args.file, &key)?;
    let base = secrets::base_url(&bundle, &args.remote)?;
    let client = secrets::client(&base, args.remote.ca_cert.as_deref())?;
    let log = secrets::open_log(&args.log, &bundle)?;
    let file = BundleFile::new(&args.file);
    let mut steps = Steps::new(2);
    steps.next(&format!(
        "syncing {} entries signed with the current audit key",
        log.unsynced_entries()
    ));
    let runtime = secrets::runtime()?;
    // The refresh syncs the backlog itself; syncing first lets the steps say which part of
    // the work is under way.
    let options = SyncOptions::default();
    runtime
        .block_on(client.sync(&log, bundle.bundle_id(), &options, |_| {}))
        .map_err(|e| failure::sync_error(&e, &base, bundle.bundle_id()))?;
    steps.next("asking the server for a fresh bundle (new token and audit key)");
    let outcome = runtime
        .block_on(client.refresh_bundle(&log, bundle.bundle_id(), &file, &key, &options))
        .map_err(|e| failure::refresh_error(&e, &base, bundle.bundle_id()))?;
    steps.finish();
    if args.json {
        output::json(&json!({
            "bundleId": outcome.bundle.bundle_id(),
            "synced": outcome.sync.accepted,
            "offlineExpiresAt": iso(outcome.bundle.offline_expires_at()),
        }))?;
    } else {
        output::line(&format!(
            "refreshed {} (new token and audit key) in {}; usable offline until {}",
            outcome.bundle.bundle_id(),
            args.file.display(),
            human::when(
                UnixTime::now().as_secs(),
                outcome.bundle.offline_expires_at().as_secs()
            )
        ))?;
    }
    Ok(ExitCode::SUCCESS)
}

pub(crate) fn status(args: &BundleStatusArgs) -> anyhow::Result<ExitCode> {
    let bundle = secrets::load_bundle(&args.file, args.key_file.as_deref())?;
    let now = UnixTime::now();
    let marker = RevocationMarker::beside(&args.file).load().map_err(|e| {
        fail(
            e.code(),
            format!("cannot read the revocation marker: {e}"),
            "remove the damaged marker only if you know the bundle is valid",
        )
    })?;
    let mut revoked = marker.is_some();
    let mut server = Value::Null;
    if !args.offline {
        let base = secrets::base_url(&bundle, &args.remote)?;
        let client = secrets::client(&base, args.remote.ca_cert.as_deref())?;
        let status = secrets::runtime()?
            .block_on(client.revocation_status(bundle.bundle_id()))
            .map_err(|e| {
                failure::client_error(
                    &e,
                    &base,
                    "the revocation status request",
                    Call::Bundle {
                        id: bundle.bundle_id(),
                    },
                )
            })?;
        revoked |= status.is_revoked();
        if status.is_revoked() && marker.is_none() {
            let _ = RevocationMarker::beside(&args.file).record(&revocation_record(
                bundle.bundle_id().to_owned(),
                status.revoked_at.clone(),
            )?);
        }
        server = json!({"status": status.status, "revokedAt": status.revoked_at, "grantRevoked": status.grant_revoked});
    }
    let expired = bundle.is_expired(now);
    let usable = !revoked && !expired;
    let mut doc = json!({
        "bundleId": bundle.bundle_id(),
        "usable": usable,
        "revoked": revoked,
        "expired": expired,
        "shouldRefresh": bundle.should_refresh(now),
        "offlineExpiresAt": iso(bundle.offline_expires_at()),
        "server": server,
    });
    if let Some(log) = &args.log {
        doc["unsyncedEntries"] = json!(secrets::open_log(log, &bundle)?.unsynced_entries());
    }
    if args.json {
        output::json(&doc)?;
        return Ok(if usable {
            ExitCode::SUCCESS
        } else {
            ExitCode::from(1)
        });
    }
    output::line(&human::status_line(&doc, now.as_secs()))?;
    if revoked {
        report_invalid(
            "BUNDLE_REVOKED",
            &format!("{} was revoked", bundle.bundle_id()),
            "stop the agent; a new bundle needs a new consent",
        );
    } else if expired {
        report_invalid(
            "BUNDLE_EXPIRED",
            &format!("{} expired", bundle.bundle_id()),
            "create a new bundle while online",
        );
    }
    Ok(if usable {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

pub(crate) fn revoke(args: &BundleRevokeArgs) -> anyhow::Result<ExitCode> {
    let bundle = secrets::load_bundle(&args.file, args.key_file.as_deref())?;
    let base = secrets::base_url(&bundle, &args.remote)?;
    let client = secrets::client(&base, args.remote.ca_cert.as_deref())?;
    let outcome = secrets::runtime()?
        .block_on(client.revoke_bundle(bundle.bundle_id(), args.revoke_grant))
        .map_err(|e| {
            failure::client_error(
                &e,
                &base,
                "the revocation",
                Call::Bundle {
                    id: bundle.bundle_id(),
                },
            )
        })?;
    RevocationMarker::beside(&args.file)
        .record(&revocation_record(
            outcome.bundle_id.clone(),
            outcome.revoked_at.clone(),
        )?)
        .map_err(|e| {
            fail(
                e.code(),
                format!("revoked, but the local marker could not be written: {e}"),
                "check the directory is writable",
            )
        })?;
    if args.json {
        output::json(
            &json!({"bundleId": outcome.bundle_id, "status": outcome.status, "revokedAt": outcome.revoked_at}),
        )?;
    } else {
        output::line(&format!(
            "revoked {} on the server{}; this device refuses it from now on",
            outcome.bundle_id,
            if args.revoke_grant {
                " (and its grant)"
            } else {
                ""
            }
        ))?;
    }
    Ok(ExitCode::SUCCESS)
}
