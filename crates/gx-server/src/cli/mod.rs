//! The command line of the server, shared by `gx-server …` and `gx server …`: one clap
//! definition and one runner, so both binaries take the same flags and the docs describe
//! both (feature `cli`).
//!
//! Output: results go to stdout (the base URL as the first line for `run`; `--json` for
//! scripts), logs to stderr. Secrets never come from the command line: the key-encryption
//! key is read from `GX_SERVER_KEK` or the file `--kek-file` names.

mod logging;

pub use logging::LogFormat;

use core::time::Duration;
use std::io::Write as _;
use std::path::PathBuf;

use anyhow::Context as _;
use clap::{Args, Subcommand};
use serde_json::json;

use crate::config::Clock as _;
use crate::encoding::iso as iso_time;
use crate::{
    ApiKeyRole, Database, InitOptions, KeyEncryptionKey, NewKeyOptions, RateLimits, Server,
    ServerConfig, TlsMode, create_api_key, init_db_with_kek, list_api_keys, open_initialised,
    parse_duration, revoke_api_key, rotate_signing_key,
};

/// `init`, `run`, `key …`, `signing-key …`.
#[derive(Debug, Subcommand)]
pub enum ServerCommand {
    /// Create a developer, an agent and an admin API key in a new database.
    Init(InitArgs),
    /// Serve; prints the base URL as the first line of stdout, then logs on stderr.
    Run(Box<RunArgs>),
    /// API keys: create (the secret is shown once), list, revoke.
    Key {
        /// What to do.
        #[command(subcommand)]
        cmd: KeyCommand,
    },
    /// The issuer's RS256 signing keys.
    SigningKey {
        /// What to do.
        #[command(subcommand)]
        cmd: SigningKeyCommand,
    },
}

/// `key create|list|revoke`.
#[derive(Debug, Subcommand)]
pub enum KeyCommand {
    /// Create an API key and print it once (the database keeps only its hash).
    Create(KeyCreateArgs),
    /// List the API keys (ids, roles, labels, expiry, revocation; never a secret).
    List(KeyListArgs),
    /// Revoke an API key: every server on the database refuses it from the next request.
    Revoke(KeyRevokeArgs),
}

/// `signing-key rotate`.
#[derive(Debug, Subcommand)]
pub enum SigningKeyCommand {
    /// Make a new current signing key now; the old one stays in the JWKS for 168 h.
    Rotate(SigningKeyRotateArgs),
}

/// Where the key-encryption key comes from.
#[derive(Debug, Args)]
pub struct KekArgs {
    /// A file holding the key-encryption key (64 hex characters) that seals the signing
    /// keys at rest; without it, GX_SERVER_KEK is used when set.
    #[arg(long, value_name = "FILE", env = "GX_SERVER_KEK_FILE")]
    pub kek_file: Option<PathBuf>,
}

impl KekArgs {
    fn load(&self) -> anyhow::Result<Option<KeyEncryptionKey>> {
        Ok(KeyEncryptionKey::from_file_or_env(
            self.kek_file.as_deref(),
        )?)
    }
}

/// Flags of `init`.
#[derive(Debug, Args)]
pub struct InitArgs {
    /// The database: an SQLite file, or a `postgres://` URL that replicas share.
    #[arg(long, value_name = "DB")]
    pub db: Database,
    /// The agent's DID (default: derived from its id).
    #[arg(long, value_name = "DID")]
    pub agent_did: Option<String>,
    /// A scope registered for the agent (repeat; default: the server's demo scopes).
    #[arg(long, value_name = "S")]
    pub scope: Vec<String>,
    /// Overwrite an initialised database (every bundle and chain in it is lost).
    #[arg(long)]
    pub force: bool,
    /// Machine-readable output: {"developerId","apiKey","agentId","agentDid"}.
    #[arg(long)]
    pub json: bool,
    /// Key-encryption key.
    #[command(flatten)]
    pub kek: KekArgs,
}

/// Flags of `run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// The database made by `init` (an uninitialised one is refused): an SQLite file, or a
    /// `postgres://` URL that replicas share.
    #[arg(long, value_name = "DB")]
    pub db: Database,
    /// Where to listen (port 0 picks a free port).
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8443")]
    pub listen: String,
    /// The URL clients reach the server at (becomes the token issuer and the sync endpoint's base).
    #[arg(long, value_name = "URL")]
    pub public_url: Option<String>,
    /// TLS certificate chain (PEM, leaf first).
    #[arg(long, value_name = "F", requires = "tls_key", conflicts_with_all = ["self_signed", "plain_http"])]
    pub tls_cert: Option<PathBuf>,
    /// TLS private key (PEM: PKCS#8, PKCS#1 or SEC1).
    #[arg(long, value_name = "F", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// A development CA: its certificate is written here for clients to trust, its key kept
    /// in CA_OUT.key (0600), so a restart keeps the same CA.
    #[arg(long, value_name = "CA_OUT", conflicts_with = "plain_http")]
    pub self_signed: Option<PathBuf>,
    /// Plain HTTP (loopback addresses only).
    #[arg(long)]
    pub plain_http: bool,
    /// Turn the rate limits off (tests, demos).
    #[arg(long)]
    pub no_rate_limits: bool,
    /// Open connections in total.
    #[arg(long, value_name = "N", default_value_t = 1024, value_parser = clap::value_parser!(u64).range(1..))]
    pub max_connections: u64,
    /// Open connections from one client IP (IPv6: one /64).
    #[arg(long, value_name = "N", default_value_t = 256, value_parser = clap::value_parser!(u64).range(1..))]
    pub max_connections_per_ip: u64,
    /// TLS handshake timeout, seconds.
    #[arg(long, value_name = "S", default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..))]
    pub handshake_timeout: u64,
    /// Request header timeout, seconds.
    #[arg(long, value_name = "S", default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..))]
    pub header_timeout: u64,
    /// Request body timeout, seconds.
    #[arg(long, value_name = "S", default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..))]
    pub body_timeout: u64,
    /// Idle connection timeout, seconds.
    #[arg(long, value_name = "S", default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..))]
    pub idle_timeout: u64,
    /// Request-body memory over all connections, MiB.
    #[arg(long, value_name = "N", default_value_t = 256, value_parser = clap::value_parser!(u64).range(1..))]
    pub max_body_memory_mib: u64,
    /// Audit-entry storage per developer, MiB (0: no quota).
    #[arg(long, value_name = "N", default_value_t = 1024)]
    pub storage_quota_mib: u64,
    /// Log lines on stderr: `text` (colour only on a terminal) or `json` (one object a line).
    #[arg(long, value_name = "FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
    /// Key-encryption key.
    #[command(flatten)]
    pub kek: KekArgs,
}

/// Flags of `key create`.
#[derive(Debug, Args)]
pub struct KeyCreateArgs {
    /// The database: an SQLite file or a `postgres://` URL.
    #[arg(long, value_name = "DB")]
    pub db: Database,
    /// `admin` (issue, refresh, revoke, read, sync) or `sync` (sync and revocation status).
    #[arg(long, value_name = "ROLE", value_parser = ["admin", "sync"])]
    pub role: String,
    /// A label to recognise the key by.
    #[arg(long, value_name = "L")]
    pub label: Option<String>,
    /// The key stops working after this long (`30d`, `12h`, `90m`, `3600s`).
    #[arg(long, value_name = "DURATION")]
    pub expires_in: Option<String>,
    /// The developer the key acts for (default: the database's only developer).
    #[arg(long, value_name = "DEV_ID")]
    pub developer: Option<String>,
    /// Machine-readable output: {"keyId","apiKey","role"}.
    #[arg(long)]
    pub json: bool,
}

/// Flags of `key list`.
#[derive(Debug, Args)]
pub struct KeyListArgs {
    /// The database: an SQLite file or a `postgres://` URL.
    #[arg(long, value_name = "DB")]
    pub db: Database,
    /// Machine-readable output: an array of key objects.
    #[arg(long)]
    pub json: bool,
}

/// Flags of `key revoke`.
#[derive(Debug, Args)]
pub struct KeyRevokeArgs {
    /// The database: an SQLite file or a `postgres://` URL.
    #[arg(long, value_name = "DB")]
    pub db: Database,
    /// The key's id (`key_…`, from `key list`).
    #[arg(value_name = "KEY_ID")]
    pub key_id: String,
}

/// Flags of `signing-key rotate`.
#[derive(Debug, Args)]
pub struct SigningKeyRotateArgs {
    /// The database: an SQLite file or a `postgres://` URL.
    #[arg(long, value_name = "DB")]
    pub db: Database,
    /// Key-encryption key.
    #[command(flatten)]
    pub kek: KekArgs,
}

impl RunArgs {
    /// The server configuration these flags describe.
    ///
    /// # Errors
    /// A bad `--listen` address, or an unreadable key-encryption key.
    pub fn config(&self) -> anyhow::Result<ServerConfig> {
        let listen = self
            .listen
            .parse()
            .with_context(|| format!("--listen `{}` is not IP:PORT", self.listen))?;
        let mut config = ServerConfig::new(&self.db, listen);
        config.public_url.clone_from(&self.public_url);
        config.tls = match (
            &self.tls_cert,
            &self.tls_key,
            &self.self_signed,
            self.plain_http,
        ) {
            (Some(cert), Some(key), _, _) => TlsMode::Files {
                cert: cert.clone(),
                key: key.clone(),
            },
            (_, _, Some(ca), _) => TlsMode::SelfSigned {
                ca_out: Some(ca.clone()),
            },
            (_, _, _, true) => TlsMode::PlainHttp,
            _ => TlsMode::SelfSigned { ca_out: None },
        };
        if self.no_rate_limits {
            config.rate_limits = RateLimits::DISABLED;
        }
        let count = |n: u64| usize::try_from(n).unwrap_or(usize::MAX);
        config.connections.max = count(self.max_connections);
        config.connections.per_ip = count(self.max_connections_per_ip);
        config.body_memory = count(self.max_body_memory_mib).saturating_mul(1024 * 1024);
        config.timeouts.handshake = Duration::from_secs(self.handshake_timeout);
        config.timeouts.header_read = Duration::from_secs(self.header_timeout);
        config.timeouts.body_read = Duration::from_secs(self.body_timeout);
        config.timeouts.idle = Duration::from_secs(self.idle_timeout);
        config.storage_quota = (self.storage_quota_mib > 0)
            .then(|| self.storage_quota_mib.saturating_mul(1024 * 1024));
        config.kek = self.kek.load()?;
        Ok(config)
    }
}

fn out(line: &str) -> std::io::Result<()> {
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "{line}")?;
    stdout.flush()
}

/// Runs a command. `run` blocks until SIGTERM or Ctrl-C and returns after a graceful stop.
///
/// # Errors
/// Everything that stops the command; the chain holds a [`ServerError`](crate::ServerError)
/// (with its stable `code()`) where the server library failed, and an `io::Error` where
/// writing to stdout did (a closed pipe).
pub fn execute(command: ServerCommand) -> anyhow::Result<()> {
    match command {
        ServerCommand::Init(args) => init(&args),
        ServerCommand::Run(args) => run(&args),
        ServerCommand::Key { cmd } => match cmd {
            KeyCommand::Create(args) => key_create(&args),
            KeyCommand::List(args) => key_list(&args),
            KeyCommand::Revoke(args) => key_revoke(&args),
        },
        ServerCommand::SigningKey {
            cmd: SigningKeyCommand::Rotate(args),
        } => {
            let kek = args.kek.load()?;
            let store = open_initialised(&args.db)?;
            let kid = rotate_signing_key(&*store, kek.as_ref())?;
            out(&format!("signing key: {kid}"))?;
            Ok(())
        }
    }
}

fn init(args: &InitArgs) -> anyhow::Result<()> {
    let options = InitOptions {
        agent_did: args.agent_did.clone(),
        scopes: args.scope.clone(),
        force: args.force,
    };
    let kek = args.kek.load()?;
    let made = init_db_with_kek(&args.db, options, kek.as_ref())
        .with_context(|| format!("initialising {}", args.db.describe()))?;
    if args.json {
        out(&json!({
            "developerId": made.developer_id,
            "apiKey": made.api_key.expose(),
            "agentId": made.agent_id,
            "agentDid": made.agent_did,
        })
        .to_string())?;
    } else {
        out(&format!("developer: {}", made.developer_id))?;
        out(&format!(
            "agent:     {} ({})",
            made.agent_id, made.agent_did
        ))?;
        out(&format!("api key:   {}", made.api_key.expose()))?;
        eprintln!("(the API key is shown only this once; the database keeps only its hash)");
    }
    Ok(())
}

fn run(args: &RunArgs) -> anyhow::Result<()> {
    let config = args.config()?;
    logging::init(args.log_format);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(async {
        let server = Server::start(config).await?;
        out(server.base_url())?;
        wait_for_signal().await?;
        tracing::info!("shutting down");
        server.shutdown().await;
        Ok(())
    })
}

fn key_create(args: &KeyCreateArgs) -> anyhow::Result<()> {
    let role = ApiKeyRole::parse(&args.role).context("--role is admin or sync")?;
    let expires_in = args.expires_in.as_deref().map(parse_duration).transpose()?;
    let store = open_initialised(&args.db)?;
    let made = create_api_key(
        &*store,
        NewKeyOptions {
            role,
            label: args.label.clone(),
            expires_in,
            developer_id: args.developer.clone(),
        },
    )?;
    if args.json {
        out(&json!({
            "keyId": made.key_id,
            "apiKey": made.api_key.expose(),
            "role": made.role.as_str(),
        })
        .to_string())?;
    } else {
        out(&format!("key id:  {}", made.key_id))?;
        out(&format!("role:    {}", made.role.as_str()))?;
        if let Some(at) = made.expires_at {
            out(&format!("expires: {}", iso_time(at)))?;
        }
        out(&format!("api key: {}", made.api_key.expose()))?;
        eprintln!("(the API key is shown only this once; the database keeps only its hash)");
    }
    Ok(())
}

fn key_list(args: &KeyListArgs) -> anyhow::Result<()> {
    let store = open_initialised(&args.db)?;
    let keys = list_api_keys(&*store)?;
    let now = crate::SystemClock.now().as_millis();
    if args.json {
        let rows: Vec<_> = keys
            .iter()
            .map(|k| {
                json!({
                    "keyId": k.id,
                    "developerId": k.developer_id,
                    "role": k.role.as_str(),
                    "label": k.label,
                    "createdAt": iso_time(k.created_at),
                    "expiresAt": k.expires_at.map(iso_time),
                    "revokedAt": k.revoked_at.map(iso_time),
                    "usable": k.usable_at(now),
                })
            })
            .collect();
        out(&serde_json::Value::from(rows).to_string())?;
    } else {
        for k in &keys {
            let state = match (k.revoked_at, k.expires_at) {
                (Some(at), _) => format!("revoked {}", iso_time(at)),
                (None, Some(at)) if at <= now => format!("expired {}", iso_time(at)),
                (None, Some(at)) => format!("expires {}", iso_time(at)),
                (None, None) => String::from("active"),
            };
            out(&format!(
                "{}  {:<5}  {}  {}  {}",
                k.id,
                k.role.as_str(),
                k.developer_id,
                state,
                k.label.as_deref().unwrap_or("-"),
            ))?;
        }
    }
    Ok(())
}

fn key_revoke(args: &KeyRevokeArgs) -> anyhow::Result<()> {
    let store = open_initialised(&args.db)?;
    let key = revoke_api_key(&*store, &args.key_id)?;
    out(&format!(
        "revoked {} at {}",
        key.id,
        key.revoked_at.map(iso_time).unwrap_or_default()
    ))?;
    Ok(())
}

/// SIGTERM or Ctrl-C.
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
