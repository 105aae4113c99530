//! The command line, as clap derive definitions; help text comes from these docs.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

const AFTER_HELP: &str = "\
Exit codes: 0 ok, 1 the thing checked is invalid (token, chain, revoked bundle),
2 usage or I/O error.
Secrets never go on the command line: the bundle key comes from --key-file FILE or
GX_BUNDLE_KEY (64 hex characters, or a passphrase), the API key from GX_API_KEY.";

/// gx: offline authorization and signed audit logs for AI agents on devices.
#[derive(Debug, Parser)]
#[command(name = "gx", version, after_help = AFTER_HELP)]
pub(crate) struct Cli {
    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Grant tokens: verify offline against a JWKS snapshot.
    Token {
        #[command(subcommand)]
        cmd: TokenCmd,
    },
    /// Audit logs: verify a chain, hash an entry, append an entry.
    Audit {
        #[command(subcommand)]
        cmd: AuditCmd,
    },
    /// Consent bundles: create, inspect, refresh, check, revoke.
    Bundle {
        #[command(subcommand)]
        cmd: BundleCmd,
    },
    /// Upload the audit log past its cursor and learn the revocation status.
    Sync(SyncArgs),
    /// The reference server: initialise a database, serve, manage API and signing keys
    /// (the same flags as the `gx-server` binary).
    Server {
        #[command(subcommand)]
        cmd: gx_server::cli::ServerCommand,
    },
    /// Run the whole story end to end against an in-process server.
    Demo(DemoArgs),
}

#[derive(Debug, Subcommand)]
pub(crate) enum TokenCmd {
    /// Verify a grant token: exit 0 valid, 1 invalid.
    Verify(TokenVerifyArgs),
}

#[derive(Debug, Args)]
pub(crate) struct TokenVerifyArgs {
    /// A JWKS, or a bundle's `jwksSnapshot` (JSON file).
    #[arg(long, value_name = "FILE")]
    pub(crate) jwks: PathBuf,
    /// The token file, or `-` for stdin.
    #[arg(long, value_name = "FILE|-", default_value = "-")]
    pub(crate) token: String,
    /// Verify as of this time (Unix seconds) instead of the system clock.
    #[arg(long, value_name = "UNIX")]
    pub(crate) now: Option<u64>,
    /// Allowed clock skew in seconds.
    #[arg(long, value_name = "S", default_value_t = 30)]
    pub(crate) skew: u64,
    /// A scope the grant must hold (repeat for several).
    #[arg(long = "require-scope", value_name = "S")]
    pub(crate) require_scope: Vec<String>,
    /// Largest delegation depth accepted.
    #[arg(long, value_name = "N")]
    pub(crate) max_depth: Option<u32>,
    /// Required issuer (`iss`).
    #[arg(long, value_name = "I")]
    pub(crate) issuer: Option<String>,
    /// Required audience (`aud`).
    #[arg(long, value_name = "A")]
    pub(crate) audience: Option<String>,
    /// Machine-readable output.
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(Debug, Subcommand)]
pub(crate) enum AuditCmd {
    /// Verify every entry of a log (all segments): exit 0 intact, 1 broken.
    Verify(AuditVerifyArgs),
    /// Read one entry object (JSON) on stdin and print its hash.
    Hash(AuditHashArgs),
    /// Append one entry, signed with the bundle's audit key, after verifying the grant.
    Append(AuditAppendArgs),
}

/// A log's format on disk.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum FormatArg {
    /// Detect from the first entry.
    Auto,
    /// The protocol's wire format (gx, TypeScript client).
    Wire,
    /// The Python client's legacy format.
    Py,
}

#[derive(Debug, Args)]
pub(crate) struct AuditVerifyArgs {
    /// The log file (its rotated segments are found beside it).
    #[arg(value_name = "LOG")]
    pub(crate) log: PathBuf,
    /// An audit public key (SPKI PEM). Repeat it, oldest first, for a log that lived
    /// through refreshes: each key takes over where the entries show it does.
    #[arg(long, value_name = "PEM_FILE", conflicts_with = "bundle")]
    pub(crate) public_key: Vec<PathBuf>,
    /// Take the audit keys from this bundle instead (its key history: every key the log
    /// was signed with and where each starts; needs the bundle key).
    #[arg(long, value_name = "FILE")]
    pub(crate) bundle: Option<PathBuf>,
    /// The bundle key file (else GX_BUNDLE_KEY).
    #[arg(long, value_name = "FILE")]
    pub(crate) key_file: Option<PathBuf>,
    /// The log's format.
    #[arg(long, value_enum, default_value = "auto")]
    pub(crate) format: FormatArg,
    /// Machine-readable output.
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(Debug, Args)]
pub(crate) struct AuditHashArgs {
    /// The entry's format.
    #[arg(long, value_enum, default_value = "wire")]
    pub(crate) format: FormatArg,
}

#[derive(Debug, Args)]
pub(crate) struct AuditAppendArgs {
    /// The encrypted bundle file.
    #[arg(long, value_name = "FILE")]
    pub(crate) bundle: PathBuf,
    /// The bundle key file (else GX_BUNDLE_KEY).
    #[arg(long, value_name = "FILE")]
    pub(crate) key_file: Option<PathBuf>,
    /// The log file.
    #[arg(long, value_name = "LOG")]
    pub(crate) log: PathBuf,
    /// What the agent did, e.g. `tool:read_contacts`.
    #[arg(long, value_name = "A")]
    pub(crate) action: String,
    /// The outcome, e.g. `success`.
    #[arg(long, value_name = "R")]
    pub(crate) result: String,
    /// Metadata: one JSON object.
    #[arg(long, value_name = "JSON")]
    pub(crate) metadata: Option<String>,
    /// Act as of this time (Unix seconds) instead of the system clock: the grant is
    /// checked at it and the entry stamped with it. Bounded by the device's time floor
    /// (the latest time it saw): a time in the past cannot revive an expired grant.
    #[arg(long, value_name = "UNIX")]
    pub(crate) now: Option<u64>,
    /// Allowed clock skew in seconds on the token's times.
    #[arg(long, value_name = "S", default_value_t = 30)]
    pub(crate) skew: u64,
    /// Machine-readable output.
    #[arg(long)]
    pub(crate) json: bool,
}

/// How to reach the server of a bundle.
#[derive(Debug, Args)]
pub(crate) struct Remote {
    /// Trust only this CA certificate (PEM): for self-hosted servers.
    #[arg(long, value_name = "PEM")]
    pub(crate) ca_cert: Option<PathBuf>,
    /// The server's base URL, overriding the bundle's `syncEndpoint` host.
    #[arg(long, value_name = "URL")]
    pub(crate) server: Option<String>,
}

#[derive(Debug, Subcommand)]
pub(crate) enum BundleCmd {
    /// Ask the server for a bundle and store it encrypted (API key from GX_API_KEY).
    Create(BundleCreateArgs),
    /// Show what a bundle holds (never the private key).
    Inspect(BundleInspectArgs),
    /// Sync the log, then fetch a fresh bundle (new token and audit key) and store it.
    Refresh(BundleRefreshArgs),
    /// Local expiry and the server's revocation status: exit 0 usable, 1 not.
    Status(BundleStatusArgs),
    /// Revoke the bundle on the server (and its grant with --revoke-grant).
    Revoke(BundleRevokeArgs),
}

#[derive(Debug, Args)]
pub(crate) struct BundleCreateArgs {
    /// The server's base URL.
    #[arg(long, value_name = "URL")]
    pub(crate) server: String,
    /// Trust this CA certificate (PEM).
    #[arg(long, value_name = "PEM")]
    pub(crate) ca_cert: Option<PathBuf>,
    /// The agent id (`ag_...`).
    #[arg(long, value_name = "ID")]
    pub(crate) agent: String,
    /// The user the agent acts for.
    #[arg(long, value_name = "ID")]
    pub(crate) user: String,
    /// A scope to grant (repeat for several).
    #[arg(long, value_name = "S", required = true)]
    pub(crate) scope: Vec<String>,
    /// How long the bundle works offline (`30m`, `72h`, `7d`; at most 168h).
    #[arg(long, default_value = "72h")]
    pub(crate) ttl: String,
    /// Where to store the encrypted bundle.
    #[arg(long, value_name = "FILE")]
    pub(crate) out: PathBuf,
    /// The bundle key file (else GX_BUNDLE_KEY).
    #[arg(long, value_name = "FILE")]
    pub(crate) key_file: Option<PathBuf>,
    /// Machine-readable output.
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(Debug, Args)]
pub(crate) struct BundleInspectArgs {
    /// The encrypted bundle file.
    #[arg(value_name = "FILE")]
    pub(crate) file: PathBuf,
    /// The bundle key file (else GX_BUNDLE_KEY).
    #[arg(long, value_name = "FILE")]
    pub(crate) key_file: Option<PathBuf>,
    /// Machine-readable output.
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(Debug, Args)]
pub(crate) struct BundleRefreshArgs {
    /// The encrypted bundle file (replaced atomically).
    #[arg(value_name = "FILE")]
    pub(crate) file: PathBuf,
    /// The audit log, synced before the refresh.
    #[arg(long, value_name = "LOG")]
    pub(crate) log: PathBuf,
    /// The bundle key file (else GX_BUNDLE_KEY).
    #[arg(long, value_name = "FILE")]
    pub(crate) key_file: Option<PathBuf>,
    #[command(flatten)]
    pub(crate) remote: Remote,
    /// Machine-readable output.
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(Debug, Args)]
pub(crate) struct BundleStatusArgs {
    /// The encrypted bundle file.
    #[arg(value_name = "FILE")]
    pub(crate) file: PathBuf,
    /// The bundle key file (else GX_BUNDLE_KEY).
    #[arg(long, value_name = "FILE")]
    pub(crate) key_file: Option<PathBuf>,
    /// Do not ask the server; judge from the file and the local revocation marker.
    #[arg(long)]
    pub(crate) offline: bool,
    #[command(flatten)]
    pub(crate) remote: Remote,
    /// Machine-readable output.
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(Debug, Args)]
pub(crate) struct BundleRevokeArgs {
    /// The encrypted bundle file.
    #[arg(value_name = "FILE")]
    pub(crate) file: PathBuf,
    /// The bundle key file (else GX_BUNDLE_KEY).
    #[arg(long, value_name = "FILE")]
    pub(crate) key_file: Option<PathBuf>,
    /// Revoke the grant too.
    #[arg(long)]
    pub(crate) revoke_grant: bool,
    #[command(flatten)]
    pub(crate) remote: Remote,
    /// Machine-readable output.
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(Debug, Args)]
pub(crate) struct SyncArgs {
    /// The encrypted bundle file.
    #[arg(long, value_name = "FILE")]
    pub(crate) bundle: PathBuf,
    /// The audit log.
    #[arg(long, value_name = "LOG")]
    pub(crate) log: PathBuf,
    /// The bundle key file (else GX_BUNDLE_KEY).
    #[arg(long, value_name = "FILE")]
    pub(crate) key_file: Option<PathBuf>,
    /// Entries per request (1..=1000).
    #[arg(long, value_name = "N", default_value_t = 1000, value_parser = clap::value_parser!(u64).range(1..=1000))]
    pub(crate) batch: u64,
    #[command(flatten)]
    pub(crate) remote: Remote,
    /// Machine-readable output.
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(Debug, Args)]
pub(crate) struct DemoArgs {
    /// Keep the demo's files (database, CA, bundle, logs) in DIR.
    #[arg(long, value_name = "DIR")]
    pub(crate) keep: Option<PathBuf>,
}
