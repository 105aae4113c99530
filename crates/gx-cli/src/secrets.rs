//! Secrets and the things built from them: the bundle key, the API key, the loaded
//! bundle, the audit signing key and the HTTPS client. Never from flags; never printed.

use std::path::Path;

use anyhow::Context;
use gx_core::audit::{AuditSigningKey, AuditVerifyingKey};
use gx_storage::{AuditLog, AuditLogConfig, BundleFile, BundleKey, ConsentBundle, FsyncPolicy};
use gx_sync::{ApiKey, ClientOptions, GrantexClient};
use zeroize::Zeroizing;

use crate::cli::Remote;
use crate::failure::fail;

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
        fail(
            "INVALID_BUNDLE_KEY",
            format!("unusable bundle key: {e}"),
            "check the key file or GX_BUNDLE_KEY",
        )
    })
}

/// Loads and decrypts a bundle file.
pub(crate) fn load_bundle(file: &Path, key_file: Option<&Path>) -> anyhow::Result<ConsentBundle> {
    let key = bundle_key(key_file)?;
    load_with(file, &key)
}

/// Loads and decrypts a bundle file with a key already in hand.
pub(crate) fn load_with(file: &Path, key: &BundleKey) -> anyhow::Result<ConsentBundle> {
    BundleFile::new(file)
        .load(key)
        .map_err(|e| crate::failure::bundle_load(file, &e))
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
        fail(
            e.code(),
            format!("unusable API key: {e}"),
            "check GX_API_KEY",
        )
    })
}

/// The audit signing key of a bundle.
pub(crate) fn signing_key(bundle: &ConsentBundle) -> anyhow::Result<AuditSigningKey> {
    AuditSigningKey::from_pkcs8_pem(bundle.offline_audit_key().private_key.expose_pem()).map_err(
        |e| {
            fail(
                e.code(),
                format!("the bundle's audit private key is unusable: {e}"),
                "refresh or re-create the bundle",
            )
        },
    )
}

/// Opens the audit log at `path` for appending with the bundle's signing key, every
/// entry fsynced: the one way the CLI's commands open a log.
pub(crate) fn open_log(path: &Path, bundle: &ConsentBundle) -> anyhow::Result<AuditLog> {
    AuditLog::open(
        path,
        signing_key(bundle)?,
        AuditLogConfig::new(FsyncPolicy::EveryEntry),
    )
    .map_err(|e| {
        fail(
            e.code(),
            format!("cannot open the log {}: {e}", path.display()),
            "check the path; another process may hold the log",
        )
    })
}

/// The audit verifying key of a bundle.
pub(crate) fn verifying_key(bundle: &ConsentBundle) -> anyhow::Result<AuditVerifyingKey> {
    AuditVerifyingKey::from_spki_pem(&bundle.offline_audit_key().public_key).map_err(|e| {
        fail(
            e.code(),
            format!("the bundle's audit public key is unusable: {e}"),
            "refresh or re-create the bundle",
        )
    })
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
