//! The `gx-server` binary: `init` a database, `run` the server (SIGTERM/Ctrl-C stop it gracefully).

use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use gx_server::{Database, InitOptions, RateLimits, Server, ServerConfig, TlsMode, init_db};

const HELP: &str = "\
gx-server: a Grantex-compatible reference server

usage:
  gx-server init --db FILE|URL [--agent-did DID] [--scope S]... [--force] [--json]
  gx-server run  --db FILE|URL [--listen ADDR] [--public-url URL]
                 [--tls-cert F --tls-key F | --self-signed CA_OUT | --plain-http]
                 [--no-rate-limits] [--max-connections N] [--max-connections-per-ip N]
                 [--handshake-timeout S] [--header-timeout S] [--body-timeout S]
                 [--idle-timeout S] [--max-body-memory-mib N]

--db takes an SQLite file or a postgres://user@host:port/db URL (replicas share one).
run prints the base URL as the first line of stdout, then logs to stderr
(RUST_LOG=gx_server=debug for more). Default listen address: 127.0.0.1:8443.
Exit codes: 0 ok, 2 usage or I/O error.
";

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("gx-server: {e:#}");
            ExitCode::from(2)
        }
    }
}

struct Args(Vec<String>);

impl Args {
    fn flag(&mut self, name: &str) -> bool {
        let before = self.0.len();
        self.0.retain(|a| a != name);
        before != self.0.len()
    }

    fn values(&mut self, name: &str) -> Result<Vec<String>> {
        let mut out = Vec::new();
        while let Some(i) = self.0.iter().position(|a| a == name) {
            if i + 1 >= self.0.len() {
                bail!("{name} needs a value");
            }
            out.push(self.0.remove(i + 1));
            self.0.remove(i);
        }
        Ok(out)
    }

    fn value(&mut self, name: &str) -> Result<Option<String>> {
        let mut v = self.values(name)?;
        if v.len() > 1 {
            bail!("{name} given more than once");
        }
        Ok(v.pop())
    }

    fn finish(self) -> Result<()> {
        if let Some(extra) = self.0.first() {
            bail!("unexpected argument `{extra}`\n\n{HELP}");
        }
        Ok(())
    }
}

fn run() -> Result<()> {
    let mut raw: Vec<String> = std::env::args().skip(1).collect();
    if raw.is_empty() || raw.iter().any(|a| a == "--help" || a == "-h") {
        print!("{HELP}");
        return Ok(());
    }
    let command = raw.remove(0);
    let mut args = Args(raw);
    let db = Database::parse(&args.value("--db")?.context("--db FILE|URL is required")?)?;
    match command.as_str() {
        "init" => {
            let options = InitOptions {
                agent_did: args.value("--agent-did")?,
                scopes: args.values("--scope")?,
                force: args.flag("--force"),
            };
            let json = args.flag("--json");
            args.finish()?;
            let out =
                init_db(&db, options).with_context(|| format!("initialising {}", db.describe()))?;
            if json {
                println!("{}", serde_json::to_string(&out)?);
            } else {
                println!("developer: {}", out.developer_id);
                println!("agent:     {} ({})", out.agent_id, out.agent_did);
                println!("api key:   {}", out.api_key.expose());
                println!("(the API key is shown only this once; the database keeps only its hash)");
            }
            Ok(())
        }
        "run" => {
            let listen = args
                .value("--listen")?
                .unwrap_or_else(|| String::from("127.0.0.1:8443"));
            let mut config = ServerConfig::new(
                db,
                listen
                    .parse()
                    .with_context(|| format!("bad --listen `{listen}`"))?,
            );
            config.public_url = args.value("--public-url")?;
            let cert = args.value("--tls-cert")?;
            let key = args.value("--tls-key")?;
            let self_signed = args.value("--self-signed")?;
            let plain = args.flag("--plain-http");
            config.tls = match (cert, key, self_signed, plain) {
                (Some(cert), Some(key), None, false) => TlsMode::Files {
                    cert: cert.into(),
                    key: key.into(),
                },
                (None, None, Some(ca), false) => TlsMode::SelfSigned {
                    ca_out: Some(ca.into()),
                },
                (None, None, None, true) => TlsMode::PlainHttp,
                (None, None, None, false) => TlsMode::SelfSigned { ca_out: None },
                _ => bail!(
                    "choose one of --tls-cert F --tls-key F, --self-signed CA_OUT, --plain-http"
                ),
            };
            if args.flag("--no-rate-limits") {
                config.rate_limits = RateLimits::DISABLED;
            }
            if let Some(n) = count(&mut args, "--max-connections")? {
                config.connections.max = n;
            }
            if let Some(n) = count(&mut args, "--max-connections-per-ip")? {
                config.connections.per_ip = n;
            }
            if let Some(mib) = count(&mut args, "--max-body-memory-mib")? {
                config.body_memory = mib.saturating_mul(1024 * 1024);
            }
            let t = &mut config.timeouts;
            for (flag, slot) in [
                ("--handshake-timeout", &mut t.handshake),
                ("--header-timeout", &mut t.header_read),
                ("--body-timeout", &mut t.body_read),
                ("--idle-timeout", &mut t.idle),
            ] {
                if let Some(secs) = count(&mut args, flag)? {
                    *slot = core::time::Duration::from_secs(u64::try_from(secs)?);
                }
            }
            args.finish()?;
            serve(config)
        }
        other => bail!("unknown command `{other}`\n\n{HELP}"),
    }
}

/// A positive count flag.
fn count(args: &mut Args, name: &str) -> Result<Option<usize>> {
    let Some(v) = args.value(name)? else {
        return Ok(None);
    };
    match v.parse::<usize>() {
        Ok(n) if n > 0 => Ok(Some(n)),
        _ => bail!("{name} needs a positive number, not `{v}`"),
    }
}

fn serve(config: ServerConfig) -> Result<()> {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let server = Server::start(config).await?;
        println!("{}", server.base_url());
        wait_for_signal().await?;
        tracing::info!("shutting down");
        server.shutdown().await;
        Ok(())
    })
}

async fn wait_for_signal() -> Result<()> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut term = signal(SignalKind::terminate())?;
        tokio::select! {
            _ = term.recv() => {}
            r = tokio::signal::ctrl_c() => r?,
        }
    }
    #[cfg(not(unix))]
    tokio::signal::ctrl_c().await?;
    Ok(())
}
