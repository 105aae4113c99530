//! Errors of the server's own operations (start, init, key management), as opposed to the
//! per-request errors it answers to clients (those are in `api`).

use core::fmt;
use std::io;
use std::path::PathBuf;

use crate::store::StoreError;

/// Why starting, initialising or administering the server failed.
#[derive(Debug)]
#[non_exhaustive]
pub enum ServerError {
    /// The database failed.
    Store(StoreError),
    /// `init_db` found an initialised database and `force` was not set.
    AlreadyInitialised(PathBuf),
    /// Removing an old database for a forced init failed.
    Reset(io::Error),
    /// The system RNG or key generator failed.
    KeyGeneration,
    /// A stored signing key could not be loaded.
    CorruptSigningKey(String),
    /// Signing a token failed.
    Signing,
    /// `PlainHttp` was asked for on a non-loopback address.
    PlainHttpNotLoopback(core::net::SocketAddr),
    /// Binding the listening socket failed.
    Bind(io::Error),
    /// Reading the TLS certificate or key files failed.
    TlsFiles(PathBuf, String),
    /// rustls refused the certificate/key configuration.
    Tls(rustls::Error),
    /// Generating the self-signed development certificate failed.
    CertGeneration(rcgen::Error),
    /// Writing the CA certificate for clients failed.
    WriteCa(PathBuf, io::Error),
    /// The development CA's key file (beside the CA certificate) could not be read,
    /// parsed or created (what failed in the text; never the key itself).
    DevCaKey(PathBuf, String),
    /// A configuration value is invalid (named in the text).
    InvalidConfig(&'static str),
    /// A blocking task panicked or was cancelled.
    Task,
    /// `run` was pointed at a database that `init` never initialised.
    NotInitialised(PathBuf),
    /// The key-encryption key file could not be read.
    KekFile(PathBuf, io::Error),
    /// A stored signing key is sealed but no key-encryption key was supplied.
    KekMissing(String),
    /// A sealed signing key did not open: wrong key-encryption key, or a damaged row.
    KeyDecryption(String),
    /// An API key id names no key.
    UnknownApiKey(String),
    /// The database holds several developers: name the one meant.
    AmbiguousDeveloper,
}

impl ServerError {
    /// A stable code for scripts and logs.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Store(e) => e.code(),
            Self::AlreadyInitialised(_) => "ALREADY_INITIALISED",
            Self::Reset(_) => "RESET_FAILED",
            Self::KeyGeneration => "KEY_GENERATION",
            Self::CorruptSigningKey(_) => "CORRUPT_SIGNING_KEY",
            Self::Signing => "SIGNING_FAILED",
            Self::PlainHttpNotLoopback(_) => "PLAIN_HTTP_NOT_LOOPBACK",
            Self::Bind(_) => "BIND_FAILED",
            Self::TlsFiles(..) => "TLS_FILES",
            Self::Tls(_) => "TLS_CONFIG",
            Self::CertGeneration(_) => "CERT_GENERATION",
            Self::WriteCa(..) => "WRITE_CA",
            Self::DevCaKey(..) => "DEV_CA_KEY",
            Self::InvalidConfig(_) => "INVALID_CONFIG",
            Self::Task => "TASK_FAILED",
            Self::NotInitialised(_) => "NOT_INITIALISED",
            Self::KekFile(..) => "KEK_FILE",
            Self::KekMissing(_) => "KEK_MISSING",
            Self::KeyDecryption(_) => "KEY_DECRYPTION",
            Self::UnknownApiKey(_) => "UNKNOWN_API_KEY",
            Self::AmbiguousDeveloper => "AMBIGUOUS_DEVELOPER",
        }
    }
}

impl fmt::Display for ServerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Store(e) => write!(f, "{e}"),
            Self::AlreadyInitialised(p) => {
                write!(
                    f,
                    "{} is already initialised (use force to replace it)",
                    p.display()
                )
            }
            Self::Reset(e) => write!(f, "could not remove the old database: {e}"),
            Self::KeyGeneration => f.write_str("key generation failed"),
            Self::CorruptSigningKey(kid) => write!(f, "stored signing key {kid} cannot be loaded"),
            Self::Signing => f.write_str("signing a grant token failed"),
            Self::PlainHttpNotLoopback(a) => {
                write!(
                    f,
                    "plain HTTP is only allowed on a loopback address, not {a}"
                )
            }
            Self::Bind(e) => write!(f, "could not bind the listening socket: {e}"),
            Self::TlsFiles(p, why) => write!(f, "could not read {}: {why}", p.display()),
            Self::Tls(e) => write!(f, "TLS configuration refused: {e}"),
            Self::CertGeneration(e) => {
                write!(f, "could not generate the development certificate: {e}")
            }
            Self::WriteCa(p, e) => write!(
                f,
                "could not write the CA certificate to {}: {e}",
                p.display()
            ),
            Self::DevCaKey(p, why) => write!(
                f,
                "the development CA key {}: {why} (delete it, and the CA certificate beside it, for a new CA that clients must trust again)",
                p.display()
            ),
            Self::InvalidConfig(what) => write!(f, "invalid configuration: {what}"),
            Self::Task => f.write_str("a background task failed"),
            Self::NotInitialised(p) => write!(
                f,
                "{} is not an initialised gx-server database (create it with `init`)",
                p.display()
            ),
            Self::KekFile(p, e) => write!(
                f,
                "could not read the key-encryption key file {}: {e}",
                p.display()
            ),
            Self::KekMissing(kid) => write!(
                f,
                "signing key {kid} is encrypted: supply the key-encryption key (GX_SERVER_KEK or --kek-file)"
            ),
            Self::KeyDecryption(kid) => write!(
                f,
                "signing key {kid} does not decrypt with the key-encryption key given"
            ),
            Self::UnknownApiKey(id) => write!(f, "no API key with id {id}"),
            Self::AmbiguousDeveloper => {
                f.write_str("the database has several developers: pass the developer id")
            }
        }
    }
}

impl core::error::Error for ServerError {
    fn source(&self) -> Option<&(dyn core::error::Error + 'static)> {
        match self {
            Self::Store(e) => Some(e),
            Self::Reset(e) | Self::Bind(e) | Self::WriteCa(_, e) | Self::KekFile(_, e) => Some(e),
            Self::Tls(e) => Some(e),
            Self::CertGeneration(e) => Some(e),
            _ => None,
        }
    }
}

impl From<StoreError> for ServerError {
    fn from(e: StoreError) -> Self {
        Self::Store(e)
    }
}
