//! `gx sync`: upload the log past its cursor, learn the revocation status.

use std::process::ExitCode;

use gx_sync::{RevocationMarker, SyncOptions};
use serde_json::json;

use crate::cli::SyncArgs;
use crate::failure::{fail, report_invalid};
use crate::progress::Unit;
use crate::{failure, human, output, progress, secrets};

pub(crate) fn run(args: &SyncArgs) -> anyhow::Result<ExitCode> {
    let bundle = secrets::load_bundle(&args.bundle, args.key_file.as_deref())?;
    let base = secrets::base_url(&bundle, &args.remote)?;
    let client = secrets::client(&base, args.remote.ca_cert.as_deref())?;
    let log = secrets::open_log(&args.log, &bundle)?;
    let batch = usize::try_from(args.batch).unwrap_or(1000);
    let options = SyncOptions::default().with_batch_size(batch);
    let unsynced = log.unsynced_entries();
    let batches = unsynced.div_ceil(args.batch).max(1);
    let bar = progress::bar(
        unsynced,
        Unit::Entries,
        &format!("syncing (batch 1 of {batches})"),
    );
    let report = secrets::runtime()?
        .block_on(client.sync(&log, bundle.bundle_id(), &options, |p| {
            bar.set_position(p.accepted);
            let next = (p.batches + 1).min(batches);
            bar.set_message(format!("syncing (batch {next} of {batches})"));
        }))
        .map_err(|e| failure::sync_error(&e, &base, bundle.bundle_id()));
    bar.finish_and_clear();
    let report = report?;
    RevocationMarker::beside(&args.bundle)
        .record_from_report(bundle.bundle_id(), &report)
        .map_err(|e| {
            fail(
                e.code(),
                format!("cannot record the revocation: {e}"),
                "check the directory is writable",
            )
        })?;
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
