//! Secrets and the things built from them: the bundle key, the API key, the device
//! session (the loaded bundle, its keys, the log) and the HTTPS client. Never from flags;
//! never printed.

use std::path::Path;

use anyhow::Context;
use gx_core::AwsLcRs;
use gx_storage::{
    AuditLogConfig, BundleKey, ConsentBundle, DeviceError, DeviceOptions, DeviceSession,
    FsyncPolicy,
};
use gx_sync::{ApiKey, ClientOptions, GrantexClient};
use zeroize::Zeroizing;

use crate::cli::Remote;
use crate::failure::{fail, fail_with};

/// The environment variable holding the bundle key (64 hex characters or a passphrase).
pub(crate) const BUNDLE_KEY_ENV: &str = "GX_BUNDLE_KEY";
/// The environment variable holding the API key.
pub(crate) const API_KEY_ENV: &str = "GX_API_KEY";

/// The bundle key from `--key-file` or `GX_BUNDLE_KEY`: 64 hex characters are a raw
/// AES-256 key, anything else a passphrase (Argon2id).
pub(crate) fn bundle_key(key_file: Option<&Path>) -> anyhow::Result<BundleKey> {
    let text: Zeroizing<String> = match key_file {
        Some(path) => Zeroizing::new(
            std::fs::read_to_string(path)
                .with_context(|| format!("reading the key file {}", path.display()))?,
        ),
        None => match std::env::var(BUNDLE_KEY_ENV) {
            Ok(v) => Zeroizing::new(v),
            Err(_) => {
                return Err(fail(
                    "NO_BUNDLE_KEY",
                    "no bundle key given",
                    "pass --key-file FILE or set GX_BUNDLE_KEY (64 hex characters or a passphrase)",
                ));
            }
        },
    };
    let text = text.trim_end_matches(['\n', '\r']);
    let is_hex = text.len() == 64 && text.bytes().all(|b| b.is_ascii_hexdigit());
    let key = if is_hex {
        BundleKey::from_hex(text)
    } else {
        BundleKey::from_passphrase(text)
    };
    key.map_err(|e| {
        fail_with(
            "INVALID_BUNDLE_KEY",
            "unusable bundle key",
            "check the key file or GX_BUNDLE_KEY",
            e,
        )
    })
}

/// The API key from `GX_API_KEY`.
pub(crate) fn api_key() -> anyhow::Result<ApiKey> {
    let text = Zeroizing::new(std::env::var(API_KEY_ENV).map_err(|_| {
        fail(
            "NO_API_KEY",
            "no API key given",
            "set GX_API_KEY (as printed by `gx server init`)",
        )
    })?);
    ApiKey::new(text.trim().to_owned()).map_err(|e| {
        fail_with(
            e.code().to_owned(),
            "unusable API key",
            "check GX_API_KEY",
            e,
        )
    })
}

/// The device state a command acts through: one [`DeviceSession`] per command, opened on
/// the bundle file (and on the log, taking its lock, when `log` is given).
pub(crate) type Device = DeviceSession<'static, AwsLcRs>;

/// Opens the device state of `bundle` with the key from `--key-file` / `GX_BUNDLE_KEY`,
/// and the log at `log` (every entry fsynced) when given: the one way every `gx` command
/// acts offline.
pub(crate) fn device(
    bundle: &Path,
    key_file: Option<&Path>,
    log: Option<&Path>,
) -> anyhow::Result<Device> {
    device_with(bundle, bundle_key(key_file)?, log)
}

/// As [`device`], with the bundle key already in hand.
pub(crate) fn device_with(
    bundle: &Path,
    key: BundleKey,
    log: Option<&Path>,
) -> anyhow::Result<Device> {
    device_opened(bundle, key, log, DeviceOptions::new())
}

/// As [`device`], with the session's other options (the clock skew) given.
pub(crate) fn device_opened(
    bundle: &Path,
    key: BundleKey,
    log: Option<&Path>,
    options: DeviceOptions<'static>,
) -> anyhow::Result<Device> {
    let mut options = options;
    if let Some(log) = log {
        options = options.with_log(log, AuditLogConfig::new(FsyncPolicy::EveryEntry));
    }
    DeviceSession::open(bundle, key, options).map_err(|e| {
        let e = match e {
            DeviceError::Bundle(b) => return crate::failure::bundle_load(bundle, b),
            other => other,
        };
        let hint = match &e {
            DeviceError::Log(_) => "check the path; another process may hold the log",
            _ => "refresh or re-create the bundle",
        };
        fail_with(
            e.code().to_owned(),
            format!("cannot open the device state of {}", bundle.display()),
            hint,
            e,
        )
    })
}

/// A device error as the CLI reports it (exit 2), with `what` saying what was being done.
pub(crate) fn device_failure(e: DeviceError, what: &str) -> anyhow::Error {
    let hint = match e.code() {
        "REFRESH_PENDING" => "run `gx bundle refresh` again; it resumes",
        "BUNDLE_REVOKED" => "stop the agent; a new bundle needs a new consent",
        _ => "check the files beside the bundle and the log",
    };
    fail_with(e.code().to_owned(), what, hint, e)
}

/// The server base URL of a bundle: `--server`, else the `syncEndpoint` without its path.
pub(crate) fn base_url(bundle: &ConsentBundle, remote: &Remote) -> anyhow::Result<String> {
    if let Some(server) = &remote.server {
        return Ok(server.trim_end_matches('/').to_owned());
    }
    let endpoint = bundle.sync_endpoint();
    let after_scheme = endpoint.find("://").map(|i| i + 3).ok_or_else(|| {
        fail(
            "INVALID_URL",
            format!("the bundle's syncEndpoint `{endpoint}` is not a URL"),
            "pass --server URL",
        )
    })?;
    let end = endpoint
        .get(after_scheme..)
        .and_then(|rest| rest.find('/'))
        .map_or(endpoint.len(), |i| after_scheme + i);
    Ok(endpoint.get(..end).unwrap_or(endpoint).to_owned())
}

/// An HTTPS client of `base` with the API key from the environment, trusting only `--ca-cert`
/// when given, else the compiled-in Mozilla roots.
pub(crate) fn client(base: &str, ca_cert: Option<&Path>) -> anyhow::Result<GrantexClient> {
    let mut options = ClientOptions::default().with_retry_observer(crate::progress::retry_notice);
    if let Some(ca) = ca_cert {
        let pem = std::fs::read(ca)
            .with_context(|| format!("reading the CA certificate {}", ca.display()))?;
        options = options.with_ca_pem(pem);
    }
    GrantexClient::with_options(base, api_key()?, options).map_err(|e| {
        crate::failure::client_error(&e, base, "the client", crate::failure::Call::Setup)
    })
}

/// A current-thread tokio runtime for one command.
pub(crate) fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?)
}
