//! An edge agent in the shape of a Raspberry Pi assistant: set up a bundle while online,
//! act offline through the guard, sync when the network is back, verify the log.
//!
//! Against your own gx-server (see `docs/server.md`):
//! ```text
//! gx server init --db gx.db --json            # note apiKey and agentId
//! gx server run --db gx.db --listen 0.0.0.0:8443 --public-url https://pi-hub.local:8443 --self-signed ca.pem
//! GX_SERVER=https://pi-hub.local:8443 GX_CA_CERT=ca.pem GX_API_KEY=... GX_AGENT_ID=ag_... \
//! GX_BUNDLE_KEY=$(openssl rand -hex 32) cargo run -p gx-agent --example edge_agent
//! ```
//! Without `GX_SERVER` it starts an in-process server on loopback and runs the same code.
//! State lives in `GX_DATA_DIR` (default: a temporary directory): `bundle.gx`,
//! `audit.jsonl` and its cursor. Run it twice with the same directory: the bundle is
//! reused and the chain continues.

use std::path::PathBuf;
use std::sync::Arc;

use gx_agent::{Device, DeviceOptions, Guard, GuardError, MemoSlot};
use gx_server::{InitOptions, RateLimits, RunningServer, Server, ServerConfig, TlsMode, init_db};
use gx_storage::{AuditLogConfig, BundleFile, BundleKey, FsyncPolicy};
use gx_sync::{ApiKey, ClientOptions, CreateBundleRequest, GrantexClient, SyncOptions};
use serde_json::json;

struct Config {
    server: String,
    ca_pem: Option<Vec<u8>>,
    api_key: String,
    agent_id: String,
    bundle_key: String,
    data: PathBuf,
    _local: Option<(RunningServer, tempfile::TempDir)>,
    _data_dir: Option<tempfile::TempDir>,
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

async fn config() -> anyhow::Result<Config> {
    let (data, data_dir) = match env("GX_DATA_DIR") {
        Some(d) => (PathBuf::from(d), None),
        None => {
            let t = tempfile::tempdir()?;
            (t.path().to_path_buf(), Some(t))
        }
    };
    std::fs::create_dir_all(&data)?;
    if let Some(server) = env("GX_SERVER") {
        let need = |n: &str| env(n).ok_or_else(|| anyhow::anyhow!("set {n}"));
        return Ok(Config {
            server,
            ca_pem: env("GX_CA_CERT").map(std::fs::read).transpose()?,
            api_key: need("GX_API_KEY")?,
            agent_id: need("GX_AGENT_ID")?,
            bundle_key: need("GX_BUNDLE_KEY")?,
            data,
            _local: None,
            _data_dir: data_dir,
        });
    }
    // No server given: a local one, like `gx demo`.
    let dir = tempfile::tempdir()?;
    let db = dir.path().join("gx.db");
    let tenant = init_db(&db, InitOptions::default())?;
    let mut config = ServerConfig::new(&db, "127.0.0.1:0".parse()?);
    config.tls = TlsMode::SelfSigned { ca_out: None };
    config.rate_limits = RateLimits::DISABLED;
    let server = Server::start(config).await?;
    Ok(Config {
        server: server.base_url().to_owned(),
        ca_pem: server.ca_cert_pem().map(|p| p.as_bytes().to_vec()),
        api_key: tenant.api_key.expose().to_owned(),
        agent_id: tenant.agent_id.clone(),
        bundle_key: "5a".repeat(32),
        data,
        _local: Some((server, dir)),
        _data_dir: data_dir,
    })
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    let cfg = config().await?;
    let mut options = ClientOptions::default();
    if let Some(pem) = &cfg.ca_pem {
        options = options.with_ca_pem(pem.clone());
    }
    let client =
        GrantexClient::with_options(&cfg.server, ApiKey::new(cfg.api_key.clone())?, options)?;
    let key = BundleKey::from_hex(&cfg.bundle_key)
        .or_else(|_| BundleKey::from_passphrase(&cfg.bundle_key))?;
    let file = BundleFile::new(cfg.data.join("bundle.gx"));

    // 1. Setup (online): fetch a bundle once and keep it encrypted.
    if !file.path().exists() {
        let request = CreateBundleRequest::new(
            &cfg.agent_id,
            "user_pi_owner",
            ["read:contacts", "write:calendar"],
        )
        .with_offline_ttl("72h")
        .with_device("pi-kitchen", "linux-aarch64");
        let bundle = client.create_bundle(&request).await?;
        file.store(&bundle, &key)?;
        println!(
            "setup: stored bundle {} in {}",
            bundle.bundle_id(),
            file.path().display()
        );
    }
    // 2. Offline: the device session owns the bundle, the log, the floor and the
    // revocation marker; the assistant's tools each run behind the guard.
    let mut slots = [MemoSlot::EMPTY; 4];
    let options = DeviceOptions::new()
        .with_log(
            cfg.data.join("audit.jsonl"),
            AuditLogConfig::new(FsyncPolicy::EveryEntry),
        )
        .with_memo(&mut slots);
    let device = Arc::new(Device::open(file.path(), key, options)?);
    let bundle = device.bundle();
    let log = Arc::clone(device.log()?);
    let guard = Guard::new(Arc::clone(&device));
    for (i, name) in ["Ann", "Ben", "Cy"].iter().enumerate() {
        let found = guard
            .run(
                "tool:read_contacts",
                "read:contacts",
                Some(&json!({"query": name})),
                || Ok::<_, String>(usize::from(name.len() > 2)),
            )
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        let booked = guard
            .run_async(
                "tool:write_calendar",
                "write:calendar",
                Some(&json!({"slot": i})),
                || async move { Ok::<_, String>(format!("09:{:02}", i * 15)) },
            )
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        println!("offline: {name}: {found} contact(s), booked {booked}");
    }
    match guard.run("tool:unlock_door", "home:unlock", None, || {
        Ok::<_, String>(())
    }) {
        Err(e @ GuardError::Denied { .. }) => println!("offline: refused: {e}"),
        other => anyhow::bail!("the door must stay locked, got {other:?}"),
    }

    // 3. Sync (online again).
    let report = client
        .sync(&log, bundle.bundle_id(), &SyncOptions::default(), |p| {
            println!("sync: {}/{} entries confirmed", p.cursor, p.target);
        })
        .await?;
    println!(
        "sync: accepted {}, cursor {}, grant {}",
        report.accepted,
        report.cursor,
        report.revocation_status.as_str()
    );
    if report.is_revoked() {
        // Durable: the next run of this agent refuses too.
        guard.mark_revoked(report.revoked_at.clone())?;
        println!("the grant was revoked: stopping");
    }

    // 4. Verify the whole log, as an auditor would, with every audit key it was signed
    // with (the key history survives refreshes).
    let verified = device.verify_log(log.path())?;
    println!(
        "verify: {} entries, intact: {}",
        verified.entries(),
        verified.is_intact()
    );
    anyhow::ensure!(
        verified.is_intact(),
        "the log does not verify: {:?}",
        verified.first_break()
    );
    Ok(())
}
