//! `gx bundle create|inspect|refresh|status|revoke`: the consent bundle's life cycle.

use std::process::ExitCode;

use base64ct::{Base64UrlUnpadded, Encoding};
use gx_core::UnixTime;
use gx_storage::{AuditLogConfig, BundleFile, FsyncPolicy, SyncLog};
use gx_sync::{CreateBundleRequest, SyncOptions};
use serde_json::{Value, json};

use crate::cli::{
    BundleCreateArgs, BundleInspectArgs, BundleRefreshArgs, BundleRevokeArgs, BundleStatusArgs,
};
use crate::failure::{Call, fail_with, report_invalid};
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

/// What `inspect` shows: everything but the audit private key.
pub(crate) fn summary(device: &secrets::Device) -> Value {
    let bundle = device.bundle();
    let snap = device.jwks();
    let kids: Vec<Value> = snap
        .kids()
        .map(|k| k.map_or(Value::Null, |k| Value::String(k.to_owned())))
        .collect();
    let now = device.now(None);
    json!({
        "bundleId": bundle.bundle_id(),
        "syncEndpoint": bundle.sync_endpoint(),
        "checkpointAt": iso(bundle.checkpoint_at()),
        "offlineExpiresAt": iso(bundle.offline_expires_at()),
        "expired": bundle.is_expired(now),
        "shouldRefresh": bundle.should_refresh(now),
        "jwks": {
            "kids": kids,
            "fetchedAt": snap.fetched_at().map(iso),
            "validUntil": snap.valid_until().map(iso),
        },
        "auditPublicKey": bundle.offline_audit_key().public_key,
        "auditAlgorithm": bundle.offline_audit_key().algorithm,
        "auditKeyHistory": bundle.key_history().len(),
        "claims": unverified_claims(bundle.grant_token()),
    })
}

/// How many entries of the log at `path` the server has not confirmed, read without
/// taking the writer's lock for long (`--log` of `status`).
fn unsynced(path: &std::path::Path) -> anyhow::Result<u64> {
    let log = SyncLog::open(path, AuditLogConfig::new(FsyncPolicy::EveryEntry))
        .and_then(|log| log.position())
        .map_err(|e| {
            fail_with(
                e.code(),
                format!("cannot read the log {}", path.display()),
                "check the path",
                e,
            )
        })?;
    Ok(log.1.saturating_sub(log.0))
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
            fail_with(
                e.code(),
                format!("cannot store the bundle at {}", args.out.display()),
                "check the directory exists and is writable",
                e,
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
    let device = secrets::device(&args.file, args.key_file.as_deref(), None)?;
    let s = summary(&device);
    if args.json {
        output::json(&s)?;
    } else {
        let revocation = if device.is_revoked() {
            Revocation::Revoked
        } else {
            Revocation::NotKnown
        };
        output::line(&human::bundle_summary(
            &s,
            revocation,
            device.now(None).as_secs(),
        ))?;
    }
    Ok(ExitCode::SUCCESS)
}

/// What to do about a revoked bundle: no retry can help.
const REVOKED_NEXT: &str = "stop the agent; a new bundle needs a new consent";

pub(crate) fn refresh(args: &BundleRefreshArgs) -> anyhow::Result<ExitCode> {
    let device = secrets::device(&args.file, args.key_file.as_deref(), Some(&args.log))?;
    let bundle = device.bundle();
    let base = secrets::base_url(&bundle, &args.remote)?;
    let client = secrets::client(&base, args.remote.ca_cert.as_deref())?;
    let log = device
        .log()
        .map_err(|e| secrets::device_failure(e, "opening the log"))?;
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
        .block_on(client.sync(log, bundle.bundle_id(), &options, |_| {}))
        .map_err(|e| failure::sync_error(&e, &base, bundle.bundle_id()))?;
    steps.next("asking the server for a fresh bundle (new token and audit key)");
    let outcome = match runtime.block_on(client.refresh_device(&device, &options)) {
        Ok(outcome) => outcome,
        // A revocation (known before, or learned by the final sync) is a clean "no" like
        // every other command's BUNDLE_REVOKED: exit 1, and no hint to retry.
        Err(e) if e.code() == "BUNDLE_REVOKED" => {
            steps.finish();
            let message = format!("not refreshed: {} was revoked", bundle.bundle_id());
            if args.json {
                output::json(&json!({
                    "refreshed": false,
                    "error": {"code": "BUNDLE_REVOKED", "message": message, "next": REVOKED_NEXT},
                }))?;
            } else {
                report_invalid("BUNDLE_REVOKED", &message, REVOKED_NEXT);
            }
            return Ok(ExitCode::from(1));
        }
        Err(e) => {
            return Err(failure::refresh_error(
                &e,
                &base,
                bundle.bundle_id(),
                device.refresh_pending(),
            ));
        }
    };
    steps.finish();
    if args.json {
        output::json(&json!({
            "bundleId": outcome.bundle.bundle_id(),
            "synced": outcome.sync.accepted,
            "offlineExpiresAt": iso(outcome.bundle.offline_expires_at()),
            "auditKeys": outcome.bundle.key_history().len(),
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
    let device = secrets::device(&args.file, args.key_file.as_deref(), None)?;
    let bundle = device.bundle();
    let now = device.now(None);
    let mut revoked = match device.check_revoked() {
        Ok(()) => false,
        Err(e) if e.code() == "BUNDLE_REVOKED" && e.is_refusal() => true,
        Err(e) => {
            return Err(secrets::device_failure(
                e,
                "cannot read the revocation marker",
            ));
        }
    };
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
        if status.is_revoked() && !revoked {
            device
                .learn_revoked(status.revoked_at.clone())
                .map_err(|e| secrets::device_failure(e, "cannot record the revocation"))?;
        }
        revoked |= status.is_revoked();
        server = json!({"status": status.status, "revokedAt": status.revoked_at, "grantRevoked": status.grant_revoked});
    }
    let expired = bundle.is_expired(now);
    let pending = device.refresh_pending();
    let usable = !revoked && !expired && !pending;
    let mut doc = json!({
        "bundleId": bundle.bundle_id(),
        "usable": usable,
        "revoked": revoked,
        "expired": expired,
        "refreshPending": pending,
        "shouldRefresh": bundle.should_refresh(now),
        "offlineExpiresAt": iso(bundle.offline_expires_at()),
        "server": server,
    });
    if let Some(log) = &args.log {
        doc["unsyncedEntries"] = json!(unsynced(log)?);
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
    } else if pending {
        report_invalid(
            "REFRESH_PENDING",
            &format!("a refresh of {} did not complete", bundle.bundle_id()),
            "run `gx bundle refresh` again; appends are refused until it completes",
        );
    }
    Ok(if usable {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

pub(crate) fn revoke(args: &BundleRevokeArgs) -> anyhow::Result<ExitCode> {
    let device = secrets::device(&args.file, args.key_file.as_deref(), None)?;
    let bundle = device.bundle();
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
    device
        .learn_revoked(outcome.revoked_at.clone())
        .map_err(|e| {
            fail_with(
                e.code().to_owned(),
                "revoked, but the local marker could not be written",
                "check the directory is writable",
                e,
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
