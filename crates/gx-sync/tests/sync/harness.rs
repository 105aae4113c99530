//! Test harness: an in-process gx-server on loopback (TLS), a bundle, and an audit log.

use std::path::PathBuf;

use base64ct::{Base64UrlUnpadded, Encoding};
use gx_core::AuditSigningKey;
use gx_server::{
    InitOptions, InitOutput, RateLimits, RunningServer, Server, ServerConfig, TlsMode,
};
use gx_storage::{AuditLog, AuditLogConfig, ConsentBundle, EntryFields, FsyncPolicy};
use gx_sync::{
    ApiKey, ClientOptions, CreateBundleRequest, GrantexClient, ProxyConfig, RetryPolicy,
};
use tempfile::TempDir;

pub(crate) const SCOPES: [&str; 2] = ["read:contacts", "write:calendar"];

/// A running server with one developer and agent.
pub(crate) struct Env {
    pub(crate) dir: TempDir,
    pub(crate) server: RunningServer,
    pub(crate) init: InitOutput,
}

impl Env {
    /// Starts gx-server with rate limits off, over TLS (self-signed CA) unless `plain`.
    pub(crate) async fn start_with(tls: TlsMode) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("gx.db");
        let init = gx_server::init_db(&db, InitOptions::default()).unwrap();
        let mut config = ServerConfig::new(&db, "127.0.0.1:0".parse().unwrap());
        config.rate_limits = RateLimits::DISABLED;
        config.tls = tls;
        let server = Server::start(config).await.unwrap();
        Self { dir, server, init }
    }

    pub(crate) async fn start() -> Self {
        Self::start_with(TlsMode::SelfSigned { ca_out: None }).await
    }

    pub(crate) fn api_key(&self) -> ApiKey {
        ApiKey::new(self.init.api_key.expose()).unwrap()
    }

    /// Client options trusting the server's CA, no proxy, quick retries.
    pub(crate) fn options(&self) -> ClientOptions {
        let mut options = ClientOptions::default()
            .with_proxy(ProxyConfig::None)
            .with_retry(quick_retries());
        if let Some(ca) = self.server.ca_cert_pem() {
            options = options.with_ca_pem(ca.as_bytes());
        }
        options
    }

    pub(crate) fn client(&self) -> GrantexClient {
        GrantexClient::with_options(self.server.base_url(), self.api_key(), self.options()).unwrap()
    }

    pub(crate) fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Issues a bundle for the agent.
    pub(crate) async fn bundle(&self, client: &GrantexClient) -> ConsentBundle {
        client
            .create_bundle(
                &CreateBundleRequest::new(&self.init.agent_id, "user_test", SCOPES)
                    .with_device("test-device", "linux"),
            )
            .await
            .unwrap()
    }
}

pub(crate) fn quick_retries() -> RetryPolicy {
    RetryPolicy::default().with_max_attempts(50).with_backoff(
        core::time::Duration::from_millis(1),
        core::time::Duration::from_millis(20),
    )
}

/// The signing key of a bundle's audit key pair.
pub(crate) fn signing_key(bundle: &ConsentBundle) -> AuditSigningKey {
    AuditSigningKey::from_pkcs8_pem(bundle.offline_audit_key().private_key.expose_pem()).unwrap()
}

/// Opens a log at `path` signing with the bundle's key (no fsync: tests need speed, not
/// power-loss durability).
pub(crate) fn open_log(path: &std::path::Path, bundle: &ConsentBundle) -> AuditLog {
    AuditLog::open(
        path,
        signing_key(bundle),
        AuditLogConfig::new(FsyncPolicy::None),
    )
    .unwrap()
}

/// The device state of `bundle`: stored under `key` at `<dir>/<name>`, with its log at
/// `<dir>/audit.jsonl` (no fsync).
pub(crate) fn device(
    env: &Env,
    bundle: &ConsentBundle,
    name: &str,
    key: &str,
) -> gx_storage::DeviceSession<'static, gx_core::AwsLcRs> {
    let key = gx_storage::BundleKey::from_hex(key).unwrap();
    gx_storage::BundleFile::new(env.path(name))
        .store(bundle, &key)
        .unwrap();
    let options = gx_storage::DeviceOptions::new().with_log(
        env.path("audit.jsonl"),
        AuditLogConfig::new(FsyncPolicy::None),
    );
    gx_storage::DeviceSession::open(env.path(name), key, options).unwrap()
}

/// The subject of a bundle's grant, read from its token's claims: (agentDID, grantId).
pub(crate) fn subject(bundle: &ConsentBundle) -> (String, String) {
    let payload = bundle.grant_token().split('.').nth(1).unwrap();
    let claims: serde_json::Value =
        serde_json::from_slice(&Base64UrlUnpadded::decode_vec(payload).unwrap()).unwrap();
    let grant = claims
        .get("grnt")
        .or_else(|| claims.get("jti"))
        .and_then(|v| v.as_str())
        .unwrap()
        .to_owned();
    (claims["agt"].as_str().unwrap().to_owned(), grant)
}

/// Appends `n` entries in chunks of 1000.
pub(crate) fn append(log: &AuditLog, bundle: &ConsentBundle, n: usize) {
    let (did, grant) = subject(bundle);
    let mut left = n;
    let mut i = log.last_seq();
    while left > 0 {
        let chunk = left.min(1000);
        let metadata: Vec<String> = (0..chunk)
            .map(|k| format!(r#"{{"n":{},"tool":"contacts","ok":true}}"#, i + k as u64))
            .collect();
        let fields: Vec<EntryFields<'_>> = metadata
            .iter()
            .map(|m| EntryFields {
                action: "tool:read_contacts",
                agent_did: &did,
                grant_id: &grant,
                scopes: &SCOPES[..1],
                result: "success",
                metadata: Some(m),
            })
            .collect();
        log.append_batch(&fields).unwrap();
        left -= chunk;
        i += chunk as u64;
    }
}

/// Reads the server's whole stored chain for a bundle, page by page, as (seq, hash) and
/// the entry objects.
pub(crate) async fn server_chain(
    client: &GrantexClient,
    bundle_id: &str,
) -> Vec<gx_sync::StoredEntry> {
    let mut all = Vec::new();
    loop {
        let after = all.last().map_or(0, |e: &gx_sync::StoredEntry| e.seq);
        let page = client.get_audit(bundle_id, after, 1000).await.unwrap();
        if page.is_empty() {
            return all;
        }
        all.extend(page);
    }
}

/// Every entry of the log, read before syncing (a confirmed sync may prune old segments).
pub(crate) fn local_entries(log: &AuditLog) -> Vec<(u64, String, String)> {
    log.entries_after(0)
        .map(|r| {
            let r = r.unwrap();
            (r.seq(), r.hash().to_string(), r.line().to_owned())
        })
        .collect()
}

/// Asserts that the server's stored chain is exactly `local`, entry for entry.
pub(crate) async fn assert_server_equals(
    client: &GrantexClient,
    bundle_id: &str,
    local: &[(u64, String, String)],
) {
    let stored = server_chain(client, bundle_id).await;
    assert_eq!(
        stored.len(),
        local.len(),
        "server holds a different number of entries"
    );
    for (s, (seq, hash, line)) in stored.iter().zip(local) {
        assert_eq!(s.seq, *seq);
        assert_eq!(&s.hash, hash, "hash differs at seq {seq}");
        let local_obj: serde_json::Map<String, serde_json::Value> =
            serde_json::from_str(line).unwrap();
        assert_eq!(s.entry, local_obj, "entry differs at seq {seq}");
    }
}

/// A leaf certificate for `names`, issued by a fresh test CA named `ca_name`.
pub(crate) struct TestCert {
    /// The leaf.
    pub(crate) leaf: rcgen::Certificate,
    /// The leaf's key pair.
    pub(crate) leaf_key: rcgen::KeyPair,
    /// The issuing CA.
    pub(crate) ca: rcgen::CertifiedIssuer<'static, rcgen::KeyPair>,
}

pub(crate) fn test_cert(ca_name: &str, names: &[&str]) -> TestCert {
    use rcgen::{
        BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose,
        IsCa, KeyPair, KeyUsagePurpose,
    };
    let ca_key = KeyPair::generate().unwrap();
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    ca_params
        .distinguished_name
        .push(DnType::CommonName, ca_name);
    let ca = CertifiedIssuer::self_signed(ca_params, ca_key).unwrap();
    let leaf_key = KeyPair::generate().unwrap();
    let names: Vec<String> = names.iter().map(|n| (*n).to_owned()).collect();
    let mut leaf_params = CertificateParams::new(names).unwrap();
    leaf_params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    leaf_params.use_authority_key_identifier_extension = true;
    let leaf = leaf_params.signed_by(&leaf_key, &*ca).unwrap();
    TestCert { leaf, leaf_key, ca }
}
