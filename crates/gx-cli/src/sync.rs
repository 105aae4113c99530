//! `gx sync`: upload the log past its cursor, learn the revocation status.
//!
//! The log is synced through a [`SyncLog`], which takes the log's lock only to read where
//! the log stands and to store the cursor, so `gx audit append`s by other processes go on
//! during the network exchange. A revocation the server reports is recorded by the
//! device session, so every later offline action is refused.

use std::process::ExitCode;

use gx_storage::{AuditLogConfig, FsyncPolicy, SyncLog};
use gx_sync::SyncOptions;
use serde_json::json;

use crate::cli::SyncArgs;
use crate::failure::{fail_with, report_invalid};
use crate::progress::Unit;
use crate::{failure, human, output, progress, secrets};

pub(crate) fn run(args: &SyncArgs) -> anyhow::Result<ExitCode> {
    let device = secrets::device(&args.bundle, args.key_file.as_deref(), None)?;
    let bundle = device.bundle();
    let base = secrets::base_url(&bundle, &args.remote)?;
    let client = secrets::client(&base, args.remote.ca_cert.as_deref())?;
    let log =
        SyncLog::open(&args.log, AuditLogConfig::new(FsyncPolicy::EveryEntry)).map_err(|e| {
            fail_with(
                e.code(),
                format!("cannot open the log {}", args.log.display()),
                "check the path",
                e,
            )
        })?;
    let batch = usize::try_from(args.batch).unwrap_or(1000);
    let options = SyncOptions::default().with_batch_size(batch);
    let unsynced = log
        .position()
        .map(|(cursor, target)| target.saturating_sub(cursor))
        .unwrap_or(0);
    let batches = unsynced.div_ceil(args.batch).max(1);
    let bar = progress::bar(
        unsynced,
        Unit::Entries,
        &format!("syncing (batch 1 of {batches})"),
    );
    let report = secrets::runtime()?
        .block_on(
            client.sync_unlocked(&log, bundle.bundle_id(), &options, |p| {
                bar.set_position(p.accepted);
                let next = (p.batches + 1).min(batches);
                bar.set_message(format!("syncing (batch {next} of {batches})"));
            }),
        )
        .map_err(|e| failure::sync_error(&e, &base, bundle.bundle_id()));
    bar.finish_and_clear();
    let report = report?;
    if report.is_revoked() {
        device
            .learn_revoked(report.revoked_at.clone())
            .map_err(|e| secrets::device_failure(e, "cannot record the revocation"))?;
    }
    let status = report.revocation_status.as_str();
    if args.json {
        output::json(&json!({
            "accepted": report.accepted,
            "batches": report.batches,
            "retries": report.retries,
            "revocationStatus": status,
            "cursor": report.cursor,
        }))?;
    } else {
        output::line(&human::sync_line(
            report.accepted,
            report.batches,
            report.retries,
            report.cursor,
            status,
        ))?;
        if report.is_revoked() {
            report_invalid(
                "BUNDLE_REVOKED",
                &format!("{} was revoked", bundle.bundle_id()),
                "stop the agent",
            );
        }
    }
    Ok(if report.is_revoked() {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}
