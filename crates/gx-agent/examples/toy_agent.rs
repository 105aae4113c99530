//! A toy agent with two tools, each wrapped in the gx `Guard`: the grant is verified
//! offline before every call, the scope enforced, and every call audited.
//!
//! Run: `cargo run -p gx-agent --example toy_agent` (starts an in-process gx-server to
//! get a real bundle, then works offline).

use std::sync::Arc;

use gx_agent::{Device, DeviceOptions, Guard, GuardError, MemoSlot};
use gx_server::{InitOptions, RateLimits, Server, ServerConfig, TlsMode, init_db};
use gx_storage::{AuditLogConfig, BundleFile, BundleKey, FsyncPolicy};
use gx_sync::{ApiKey, ClientOptions, CreateBundleRequest, GrantexClient};
use serde_json::json;

/// The agent's two tools, as plain functions that know nothing about gx.
mod tools {
    pub(crate) fn search_contacts(query: &str) -> Result<Vec<String>, String> {
        Ok(vec![format!("{query} Smith"), format!("{query} Jones")])
    }

    pub(crate) fn send_email(to: &str) -> Result<(), String> {
        Err(format!("no mail relay configured for {to}"))
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    // Online once: a bundle granting only `read:contacts`.
    let db = dir.path().join("server.db");
    let tenant = init_db(
        &db,
        InitOptions {
            scopes: vec!["read:contacts".into(), "send:email".into()],
            ..InitOptions::default()
        },
    )?;
    let mut config = ServerConfig::new(&db, "127.0.0.1:0".parse()?);
    config.tls = TlsMode::PlainHttp;
    config.rate_limits = RateLimits::DISABLED;
    let server = Server::start(config).await?;
    let client = GrantexClient::with_options(
        server.base_url(),
        ApiKey::new(tenant.api_key.expose())?,
        ClientOptions::default(),
    )?;
    let bundle = client
        .create_bundle(&CreateBundleRequest::new(
            &tenant.agent_id,
            "user_alice",
            ["read:contacts"],
        ))
        .await?;
    server.shutdown().await;

    let key = BundleKey::from_hex(&"7a".repeat(32))?;
    BundleFile::new(dir.path().join("bundle.gx")).store(&bundle, &key)?;

    // Offline from here: the device session owns the bundle, the log and the rest.
    let log_path = dir.path().join("audit.jsonl");
    let mut slots = [MemoSlot::EMPTY; 4];
    let options = DeviceOptions::new()
        .with_log(&log_path, AuditLogConfig::new(FsyncPolicy::EveryEntry))
        .with_memo(&mut slots);
    let device = Arc::new(Device::open(dir.path().join("bundle.gx"), key, options)?);
    let guard = Guard::new(Arc::clone(&device));

    let found = guard
        .run(
            "tool:search_contacts",
            "read:contacts",
            Some(&json!({"query": "Ann"})),
            || tools::search_contacts("Ann"),
        )
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    println!("search_contacts -> {found:?}");

    match guard.run(
        "tool:send_email",
        "send:email",
        Some(&json!({"to": "ann@example.com"})),
        || tools::send_email("ann@example.com"),
    ) {
        Err(e @ GuardError::Denied { .. }) => println!("send_email -> refused: {e}"),
        other => anyhow::bail!("expected a denial, got {other:?}"),
    }

    let report = device.verify_log(&log_path)?;
    println!(
        "audit log: {} entries, intact: {}",
        report.entries(),
        report.is_intact()
    );
    for line in std::fs::read_to_string(&log_path)?.lines() {
        println!("  {line}");
    }
    Ok(())
}
