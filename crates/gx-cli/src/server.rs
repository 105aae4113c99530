//! `gx server init|run`: the reference server from the command line.

use std::process::ExitCode;

use anyhow::Context;
use gx_server::{InitOptions, RateLimits, Server, ServerConfig, TlsMode, init_db};
use serde_json::json;

use crate::cli::{ServerInitArgs, ServerRunArgs};
use crate::failure::fail;
use crate::output;

pub(crate) fn init(args: &ServerInitArgs) -> anyhow::Result<ExitCode> {
    let options = InitOptions {
        agent_did: args.agent_did.clone(),
        scopes: args.scope.clone(),
        force: args.force,
    };
    let out = init_db(&args.db, options).map_err(|e| {
        fail(
            e.code(),
            format!("cannot initialise {}: {e}", args.db.describe()),
            "pass --force to overwrite an initialised database",
        )
    })?;
    if args.json {
        output::json(&json!({
            "developerId": out.developer_id,
            "apiKey": out.api_key.expose(),
            "agentId": out.agent_id,
            "agentDid": out.agent_did,
        }))?;
    } else {
        output::line(&format!("developer: {}", out.developer_id))?;
        output::line(&format!("agent:     {} ({})", out.agent_id, out.agent_did))?;
        output::line(&format!("api key:   {}", out.api_key.expose()))?;
        eprintln!("(the API key is shown only this once; the database keeps only its hash)");
    }
    Ok(ExitCode::SUCCESS)
}

pub(crate) fn run(args: &ServerRunArgs) -> anyhow::Result<ExitCode> {
    let listen = args.listen.parse().map_err(|_| {
        fail(
            "INVALID_ADDRESS",
            format!("--listen `{}` is not an address", args.listen),
            "use IP:PORT, e.g. 127.0.0.1:8443",
        )
    })?;
    let mut config = ServerConfig::new(&args.db, listen);
    config.public_url.clone_from(&args.public_url);
    config.tls = match (
        &args.tls_cert,
        &args.tls_key,
        &args.self_signed,
        args.plain_http,
    ) {
        (Some(cert), Some(key), None, false) => TlsMode::Files {
            cert: cert.clone(),
            key: key.clone(),
        },
        (None, None, Some(ca), false) => TlsMode::SelfSigned {
            ca_out: Some(ca.clone()),
        },
        (None, None, None, true) => TlsMode::PlainHttp,
        _ => TlsMode::SelfSigned { ca_out: None },
    };
    if args.no_rate_limits {
        config.rate_limits = RateLimits::DISABLED;
    }
    tracing_init();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let server = Server::start(config).await.map_err(|e| {
            fail(
                e.code(),
                format!("cannot start the server: {e}"),
                "check the address, the TLS files and the database",
            )
        })?;
        output::line(server.base_url())?;
        wait_for_signal().await?;
        server.shutdown().await;
        Ok(ExitCode::SUCCESS)
    })
}

/// Logs go to stderr (`RUST_LOG=gx_server=debug` for more); stdout carries only the base URL.
fn tracing_init() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(filter)
        .try_init();
}

/// SIGTERM or Ctrl-C: stop gracefully.
async fn wait_for_signal() -> anyhow::Result<()> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut term = signal(SignalKind::terminate()).context("installing the SIGTERM handler")?;
        tokio::select! {
            _ = term.recv() => {}
            r = tokio::signal::ctrl_c() => r.context("waiting for Ctrl-C")?,
        }
    }
    #[cfg(not(unix))]
    tokio::signal::ctrl_c()
        .await
        .context("waiting for Ctrl-C")?;
    Ok(())
}
