//! `gx demo`: the three phases end to end against an in-process gx-server, with real
//! HTTPS calls, a real encrypted bundle file and a real audit log, narrated on stdout.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, bail};
use gx_agent::{Device, DeviceOptions, Guard, GuardError, MemoSlot};
use gx_server::{InitOptions, RateLimits, Server, ServerConfig, TlsMode, init_db};
use gx_storage::{AuditLogConfig, BundleFile, BundleKey, FsyncPolicy};
use gx_sync::{ApiKey, ClientOptions, CreateBundleRequest, GrantexClient, SyncOptions};
use serde_json::json;

use crate::cli::DemoArgs;
use crate::output;

/// The scopes the demo agent is registered for; the bundle gets all but `send:email`.
const REGISTERED: [&str; 3] = ["read:contacts", "read:calendar", "send:email"];
const GRANTED: [&str; 2] = ["read:contacts", "read:calendar"];

fn say(text: &str) -> anyhow::Result<()> {
    output::line(text)
}

fn step(n: &str, title: &str) -> anyhow::Result<()> {
    say("")?;
    say(&format!("== {n}: {title}"))
}

pub(crate) fn run(args: &DemoArgs) -> anyhow::Result<ExitCode> {
    let temp;
    let dir: PathBuf = match &args.keep {
        Some(dir) => {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
            dir.clone()
        }
        None => {
            temp = tempfile::tempdir().context("creating a temporary directory")?;
            temp.path().to_path_buf()
        }
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    runtime.block_on(demo(&dir))?;
    if let Some(keep) = &args.keep {
        say("")?;
        say(&format!(
            "files kept in {} (bundle.key holds the bundle key)",
            keep.display()
        ))?;
    }
    Ok(ExitCode::SUCCESS)
}

async fn demo(dir: &Path) -> anyhow::Result<()> {
    // ---- the cloud side: a reference server with one developer and one agent ----
    step("setup", "a Grantex-compatible server on a loopback port")?;
    let db = dir.join("server.db");
    let tenant = init_db(
        &db,
        InitOptions {
            agent_did: None,
            scopes: REGISTERED.iter().map(|s| (*s).to_owned()).collect(),
            force: true,
        },
    )
    .context("initialising the demo database")?;
    let ca_path = dir.join("ca.pem");
    let mut config = ServerConfig::new(&db, "127.0.0.1:0".parse()?);
    config.tls = TlsMode::SelfSigned {
        ca_out: Some(ca_path.clone()),
    };
    config.rate_limits = RateLimits::DISABLED;
    let server = Server::start(config)
        .await
        .context("starting the in-process server")?;
    let base = server.base_url().to_owned();
    say(&format!(
        "server   {base} (self-signed CA in {})",
        ca_path.display()
    ))?;
    say(&format!(
        "agent    {} ({}) registered for {}",
        tenant.agent_id,
        tenant.agent_did,
        REGISTERED.join(", ")
    ))?;

    let result = phases(
        dir,
        &base,
        &ca_path,
        &tenant.agent_id,
        tenant.api_key.expose(),
    )
    .await;
    server.shutdown().await;
    result
}

async fn phases(
    dir: &Path,
    base: &str,
    ca_path: &Path,
    agent_id: &str,
    api_key: &str,
) -> anyhow::Result<()> {
    let ca = std::fs::read(ca_path).context("reading the demo CA")?;
    let client = GrantexClient::with_options(
        base,
        ApiKey::new(api_key)?,
        ClientOptions::default().with_ca_pem(ca),
    )?;

    // ---- phase 1: online, fetch a consent bundle and store it encrypted ----
    step(
        "phase 1",
        "online: issue a consent bundle over HTTPS, store it encrypted",
    )?;
    let request = CreateBundleRequest::new(agent_id, "user_alice", GRANTED).with_offline_ttl("24h");
    let bundle = client
        .create_bundle(&request)
        .await
        .context("creating the bundle")?;
    let key_hex: String = rand::random::<[u8; 32]>()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let key = BundleKey::from_hex(&key_hex).map_err(|e| anyhow::anyhow!("bundle key: {e}"))?;
    let bundle_path = dir.join("bundle.gx");
    BundleFile::new(&bundle_path).store(&bundle, &key)?;
    std::fs::write(dir.join("bundle.key"), &key_hex)?;
    say(&format!(
        "bundle   {} granted {}, issued {}, usable offline until {}",
        bundle.bundle_id(),
        GRANTED.join(", "),
        crate::human::iso(bundle.checkpoint_at()),
        crate::human::when(
            gx_core::UnixTime::now().as_secs(),
            bundle.offline_expires_at().as_secs()
        )
    ))?;
    say(&format!(
        "stored   {} (AES-256-GCM, mode 0600)",
        bundle_path.display()
    ))?;
    let bundle_id = bundle.bundle_id().to_owned();
    drop(bundle);

    // ---- phase 2: offline, no network calls from here until phase 3 ----
    step(
        "phase 2",
        "offline: verify the grant, run tools through the guard, audit every call",
    )?;
    // The device session owns the bundle, its parsed JWKS, the memo, the time floor, the
    // revocation marker and the log: the guard acts only through it.
    let log_path = dir.join("audit.jsonl");
    let mut slots = [MemoSlot::EMPTY; 4];
    let options = DeviceOptions::new()
        .with_log(&log_path, AuditLogConfig::new(FsyncPolicy::EveryEntry))
        .with_memo(&mut slots);
    let device = Arc::new(
        Device::open(&bundle_path, key, options)
            .map_err(|e| anyhow::anyhow!("opening the device state: {e}"))?,
    );
    let log = Arc::clone(device.log()?);
    let bundle = device.bundle();
    let auth = device
        .authorize(None, None)
        .map_err(|e| anyhow::anyhow!("the fresh grant does not verify: {e}"))?;
    say(&format!(
        "token    valid at {}: bundle {}, granted {}, expires {}",
        crate::human::iso(auth.at()),
        bundle.bundle_id(),
        GRANTED.join(", "),
        crate::human::when(auth.at().as_secs(), bundle.offline_expires_at().as_secs())
    ))?;
    let guard = Guard::new(Arc::clone(&device));

    let contacts = guard.run(
        "tool:read_contacts",
        "read:contacts",
        Some(&json!({"query": "alice"})),
        || Ok::<_, std::io::Error>(vec!["Bob", "Carol"]),
    );
    say(&format!(
        "tool     read_contacts  -> {contacts:?} (success entry)"
    ))?;
    let events = guard
        .run_async(
            "tool:read_calendar",
            "read:calendar",
            Some(&json!({"day": "2026-11-27"})),
            || async { Ok::<_, std::io::Error>(3) },
        )
        .await;
    say(&format!(
        "tool     read_calendar  -> {events:?} events (success entry, async)"
    ))?;
    let sent = guard.run(
        "tool:send_email",
        "send:email",
        Some(&json!({"to": "bob@example.com"})),
        || Ok::<_, std::io::Error>("sent"),
    );
    match &sent {
        Err(e @ GuardError::Denied { .. }) => {
            say(&format!("tool     send_email     -> refused: {e}"))?
        }
        other => bail!("send_email should have been denied, got {other:?}"),
    }
    let failed = guard.run(
        "tool:read_contacts",
        "read:contacts",
        Some(&json!({"query": "zed"})),
        || Err::<u32, _>(std::io::Error::other("address book locked")),
    );
    say(&format!(
        "tool     read_contacts  -> {} (error entry)",
        failed.err().map(|e| e.to_string()).unwrap_or_default()
    ))?;

    let report = device.verify_log(&log_path)?;
    if !report.is_intact() {
        bail!(
            "the demo's own log does not verify: {:?}",
            report.first_break()
        );
    }
    say(&format!(
        "log      {} entries, hash chain and signatures verify ({})",
        report.entries(),
        log_path.display()
    ))?;

    let tampered = dir.join("audit-tampered.jsonl");
    let text = std::fs::read_to_string(&log_path)?;
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    if let Some(second) = lines.get_mut(1) {
        *second = second.replace("\"result\":\"success\"", "\"result\":\"failure\"");
    }
    std::fs::write(&tampered, lines.join("\n") + "\n")?;
    let broken = device.verify_log(&tampered)?;
    match broken.first_break() {
        Some(b) => say(&format!(
            "tamper   changed entry 2's result in a copy: first broken entry {} (seq {}, {})",
            b.index,
            b.seq.map_or_else(|| "?".to_owned(), |s| s.to_string()),
            b.code.code()
        ))?,
        None => bail!("the tampered copy still verifies"),
    }

    // ---- phase 3: back online ----
    step(
        "phase 3",
        "online again: sync the log, revoke, sync again, the agent stops",
    )?;
    let options = SyncOptions::default();
    let first = client
        .sync(&log, &bundle_id, &options, |_| {})
        .await
        .map_err(|e| anyhow::anyhow!("sync: {e}"))?;
    say(&format!(
        "sync     accepted {} in {} batch(es), cursor {}, grant {}",
        first.accepted,
        first.batches,
        first.cursor,
        first.revocation_status.as_str()
    ))?;
    let revoked = client
        .revoke_bundle(&bundle_id, true)
        .await
        .context("revoking")?;
    say(&format!(
        "revoke   server says {} is {}",
        revoked.bundle_id, revoked.status
    ))?;
    let again = guard.run("tool:read_calendar", "read:calendar", None, || {
        Ok::<_, std::io::Error>(1)
    });
    say(&format!(
        "tool     read_calendar  -> {:?} (still offline-valid until the device learns)",
        again.is_ok()
    ))?;
    let second = client
        .sync(&log, &bundle_id, &options, |_| {})
        .await
        .map_err(|e| anyhow::anyhow!("sync: {e}"))?;
    say(&format!(
        "sync     accepted {}, cursor {}, grant {}",
        second.accepted,
        second.cursor,
        second.revocation_status.as_str()
    ))?;
    if !second.is_revoked() {
        bail!("the server did not report the revocation");
    }
    // Recorded on disk: a restarted agent refuses too.
    guard.mark_revoked(second.revoked_at.clone())?;
    match guard.run("tool:read_contacts", "read:contacts", None, || {
        Ok::<_, std::io::Error>(0)
    }) {
        Err(GuardError::Revoked) => {
            say("agent    stopped: the guard refuses every tool after the revocation")?
        }
        other => bail!("the guard should refuse after revocation, got {other:?}"),
    }
    say("")?;
    say(
        "done: every call was authorised offline, audited, synced, and revocation reached the device.",
    )?;
    Ok(())
}
