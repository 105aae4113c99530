//! How a server is configured: database, address, TLS mode, rate limits, timeouts, clock.

use core::net::SocketAddr;
use core::sync::atomic::{AtomicU64, Ordering};
use core::time::Duration;
use std::path::PathBuf;
use std::sync::Arc;

use crate::database::Database;

use gx_core::UnixTime;

/// Where the server gets its TLS certificate.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum TlsMode {
    /// A PEM certificate chain and a PEM private key (PKCS#8, PKCS#1 or SEC1).
    Files {
        /// The certificate chain, leaf first.
        cert: PathBuf,
        /// The private key of the leaf.
        key: PathBuf,
    },
    /// A development CA and a leaf for `localhost` and `127.0.0.1` signed by it, generated
    /// at start. The CA certificate is available from
    /// [`RunningServer::ca_cert_pem`](crate::RunningServer::ca_cert_pem) and, when
    /// `ca_out` is set, written there so clients can trust it.
    SelfSigned {
        /// Where to write the CA certificate (PEM).
        ca_out: Option<PathBuf>,
    },
    /// No TLS. Refused unless the listening address is a loopback address.
    PlainHttp,
}

use crate::sealing::KeyEncryptionKey;

/// One rate limit: at most `max` requests per `window`, per API key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RateLimit {
    /// Requests allowed per window.
    pub max: u32,
    /// Window length.
    pub window: Duration,
}

impl RateLimit {
    /// `max` requests per minute.
    pub const fn per_minute(max: u32) -> Self {
        Self {
            max,
            window: Duration::from_secs(60),
        }
    }
}

/// Per-key, per-route rate limits. `None` disables a limit (tests, demos).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RateLimits {
    /// `POST /v1/consent-bundles` (protocol: 10/min).
    pub create: Option<RateLimit>,
    /// `POST /v1/audit/offline-sync` (protocol: 20/min).
    pub sync: Option<RateLimit>,
    /// Every other authenticated route (the `GET`s, refresh, revoke), counted together
    /// per key: a read holds the database too, so a flood of them is refused like one of
    /// writes (default 120/min).
    pub read: Option<RateLimit>,
}

impl RateLimits {
    /// No limits at all.
    pub const DISABLED: Self = Self {
        create: None,
        sync: None,
        read: None,
    };
}

impl Default for RateLimits {
    /// The hosted service's limits: create 10/min, sync 20/min; and 120/min for the rest.
    fn default() -> Self {
        Self {
            create: Some(RateLimit::per_minute(10)),
            sync: Some(RateLimit::per_minute(20)),
            read: Some(RateLimit::per_minute(120)),
        }
    }
}

/// The default per-developer storage quota: 1 GiB of stored audit-entry JSON.
pub const DEFAULT_STORAGE_QUOTA: u64 = 1 << 30;

/// How often a running server checks its signing keys by default (one hour): rotate when
/// the month changed, delete keys past the token lifetime, reload what other processes
/// changed.
pub const DEFAULT_KEY_MAINTENANCE: Duration = Duration::from_secs(3600);

/// Connection timeouts: together they bound how long a client that sends nothing, or
/// sends a byte now and then, can hold a connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timeouts {
    /// Time allowed for the TLS handshake.
    pub handshake: Duration,
    /// Time allowed to receive a request's headers. The clock starts when the server
    /// waits for a request, so it also closes a keep-alive connection idle for this long.
    pub header_read: Duration,
    /// Time allowed to receive a request body, from the end of the headers; a body still
    /// incomplete after it answers 408 `REQUEST_TIMEOUT`.
    pub body_read: Duration,
    /// A connection with no bytes moving in either direction for this long is closed.
    pub idle: Duration,
    /// On shutdown, how long open requests may take to finish.
    pub shutdown_grace: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Self {
            handshake: Duration::from_secs(10),
            header_read: Duration::from_secs(10),
            body_read: Duration::from_secs(60),
            idle: Duration::from_secs(60),
            shutdown_grace: Duration::from_secs(10),
        }
    }
}

/// The server's source of the current time.
///
/// Production uses [`SystemClock`]; tests and demos use [`ManualClock`] to expire bundles
/// or move past rate-limit windows without sleeping.
pub trait Clock: Send + Sync + core::fmt::Debug + 'static {
    /// The current instant.
    fn now(&self) -> UnixTime;
}

/// The system's wall clock.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> UnixTime {
        // Before 1970 cannot happen on a sane host; treat it as the epoch.
        let since = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        UnixTime::from_millis(u64::try_from(since.as_millis()).unwrap_or(u64::MAX))
    }
}

/// A clock that only moves when told to. Cloning shares the same instant.
#[derive(Clone, Debug)]
pub struct ManualClock(Arc<AtomicU64>);

impl ManualClock {
    /// A clock standing at `start`.
    pub fn new(start: UnixTime) -> Self {
        Self(Arc::new(AtomicU64::new(start.as_millis())))
    }

    /// Moves the clock forward by `by`.
    pub fn advance(&self, by: Duration) {
        let ms = u64::try_from(by.as_millis()).unwrap_or(u64::MAX);
        self.0.fetch_add(ms, Ordering::SeqCst);
    }

    /// Sets the clock to `to`.
    pub fn set(&self, to: UnixTime) {
        self.0.store(to.as_millis(), Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> UnixTime {
        UnixTime::from_millis(self.0.load(Ordering::SeqCst))
    }
}

/// How many connections the server holds open at once. A connection past a limit is
/// closed as soon as it is accepted, before any TLS work, and the server logs a warning
/// once per episode of saturation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConnectionLimits {
    /// Open connections in total.
    pub max: usize,
    /// Open connections from one client IP address, so that one client cannot take every
    /// slot. Set it to `max` to turn it off (many devices behind one NAT).
    pub per_ip: usize,
}

impl Default for ConnectionLimits {
    /// 1024 in total, 256 per client IP.
    fn default() -> Self {
        Self {
            max: 1024,
            per_ip: 256,
        }
    }
}

/// Everything [`Server::start`](crate::Server::start) needs.
#[derive(Clone, Debug)]
pub struct ServerConfig {
    /// The database: an SQLite file (created and migrated if needed) or a PostgreSQL
    /// database that [`init_db`](crate::init_db) initialised.
    pub db: Database,
    /// Where to listen; port 0 picks a free port.
    pub listen: SocketAddr,
    /// The URL clients reach the server at (`https://grantex.example.com`); it becomes the
    /// token issuer (`iss`) and the base of `syncEndpoint`. Defaults to the local address.
    pub public_url: Option<String>,
    /// TLS mode.
    pub tls: TlsMode,
    /// Rate limits.
    pub rate_limits: RateLimits,
    /// Connection timeouts.
    pub timeouts: Timeouts,
    /// Caps on open connections.
    pub connections: ConnectionLimits,
    /// Bytes of request bodies held in memory at once, over all connections (default
    /// 256 MiB, never below one 1 MiB body). A body that would go past it answers 503
    /// `SERVER_BUSY` with `Retry-After: 1`.
    pub body_memory: usize,
    /// The time source.
    pub clock: Arc<dyn Clock>,
    /// Bytes of audit-entry JSON one developer may store (default
    /// [`DEFAULT_STORAGE_QUOTA`]); a sync past it answers 507 `STORAGE_QUOTA_EXCEEDED`.
    /// `None`: no quota.
    pub storage_quota: Option<u64>,
    /// The key-encryption key that seals signing keys at rest (see [`KeyEncryptionKey`]);
    /// `None` stores them as plain PKCS#8 and logs a warning at start.
    pub kek: Option<KeyEncryptionKey>,
    /// How often the signing keys are maintained (default [`DEFAULT_KEY_MAINTENANCE`]).
    pub key_maintenance: Duration,
}

impl ServerConfig {
    /// A configuration with the protocol's defaults: self-signed TLS (CA not written),
    /// default rate limits, timeouts and quota, the system clock, no key-encryption key.
    pub fn new(db: impl Into<Database>, listen: SocketAddr) -> Self {
        Self {
            db: db.into(),
            listen,
            public_url: None,
            tls: TlsMode::SelfSigned { ca_out: None },
            rate_limits: RateLimits::default(),
            timeouts: Timeouts::default(),
            connections: ConnectionLimits::default(),
            body_memory: 256 * 1024 * 1024,
            clock: Arc::new(SystemClock),
            storage_quota: Some(DEFAULT_STORAGE_QUOTA),
            kek: None,
            key_maintenance: DEFAULT_KEY_MAINTENANCE,
        }
    }
}
