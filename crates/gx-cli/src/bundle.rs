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
use crate::failure::{fail, report_invalid};
use crate::{output, secrets};

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
            fail(
                e.code(),
                format!("the server refused the bundle: {e}"),
                "check the agent id, its registered scopes and GX_API_KEY",
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
    }
    Ok(ExitCode::SUCCESS)
}

pub(crate) fn inspect(args: &BundleInspectArgs) -> anyhow::Result<ExitCode> {
    let bundle = secrets::load_bundle(&args.file, args.key_file.as_deref())?;
    let s = summary(&bundle);
    if args.json {
        output::json(&s)?;
    } else {
        output::line(&serde_json::to_string_pretty(&s)?)?;
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
    let outcome = secrets::runtime()?
        .block_on(client.refresh_bundle(
            &log,
            bundle.bundle_id(),
            &file,
            &key,
            &SyncOptions::default(),
        ))
        .map_err(|e| {
            fail(
                e.code(),
                format!("refresh failed: {e}"),
                "run `gx bundle status` to see whether the bundle is still usable",
            )
        })?;
    if args.json {
        output::json(&json!({
            "bundleId": outcome.bundle.bundle_id(),
            "synced": outcome.sync.accepted,
            "offlineExpiresAt": iso(outcome.bundle.offline_expires_at()),
        }))?;
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
                fail(
                    e.code(),
                    format!("cannot read the revocation status: {e}"),
                    "retry when online, or pass --offline",
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
    if args.json {
        output::json(&json!({
            "bundleId": bundle.bundle_id(),
            "usable": usable,
            "revoked": revoked,
            "expired": expired,
            "shouldRefresh": bundle.should_refresh(now),
            "offlineExpiresAt": iso(bundle.offline_expires_at()),
            "server": server,
        }))?;
    } else if revoked {
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
            fail(
                e.code(),
                format!("revoke failed: {e}"),
                "check GX_API_KEY and the server",
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
    }
    Ok(ExitCode::SUCCESS)
}
