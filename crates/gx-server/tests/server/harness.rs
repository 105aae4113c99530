//! Starting a server for a test, and writing audit entries the way the TS client does.

use std::sync::Arc;

use aws_lc_rs::signature::Ed25519KeyPair;
use base64ct::{Base64, Base64UrlUnpadded, Encoding};
use gx_core::UnixTime;
use gx_server::{
    Database, InitOptions, InitOutput, ManualClock, RateLimits, RunningServer, Server,
    ServerConfig, Store, TlsMode, init_db,
};
use hyper::StatusCode;
use serde_json::{Value, json};
use tempfile::TempDir;

use crate::client::Client;

pub(crate) const SCOPES: &[&str] = &["read:contacts", "write:calendar", "read:calendar"];

/// Which backend a test binary runs its tests against (each binary's root says).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[allow(dead_code, reason = "each test binary constructs one of the two")]
pub(crate) enum Backend {
    /// A file in the test's temporary directory.
    Sqlite,
    /// A fresh database in the binary's PostgreSQL cluster (see `pg`).
    Postgres,
}

/// A new, empty database of this binary's backend.
///
/// Without PostgreSQL (outside CI) the PostgreSQL binary has nothing to test: the first
/// test to ask ends the process with success, after `pg` has said why on stderr.
pub(crate) fn fresh_database(dir: &std::path::Path) -> Database {
    match crate::BACKEND {
        Backend::Sqlite => Database::Sqlite(dir.join("gx.db")),
        Backend::Postgres => match crate::pg::fresh_database() {
            Some(db) => db,
            None => std::process::exit(0),
        },
    }
}

pub(crate) struct TestServer {
    pub(crate) server: RunningServer,
    pub(crate) dir: TempDir,
    pub(crate) db: Database,
    pub(crate) tenant: InitOutput,
    pub(crate) clock: ManualClock,
    pub(crate) client: Client,
    pub(crate) limits: RateLimits,
}

/// The host's time (the test server's clock starts there, then moves only when told).
pub(crate) fn wall_clock() -> UnixTime {
    use gx_server::Clock as _;
    gx_server::SystemClock.now()
}

pub(crate) async fn start() -> TestServer {
    start_with(RateLimits::DISABLED).await
}

pub(crate) async fn start_with(limits: RateLimits) -> TestServer {
    start_configured(limits, |_| {}).await
}

/// A server whose configuration `tweak` adjusts (quota, key-encryption key, timers).
pub(crate) async fn start_configured(
    limits: RateLimits,
    tweak: impl Fn(&mut ServerConfig),
) -> TestServer {
    let dir = tempfile::tempdir().unwrap();
    let db = fresh_database(dir.path());
    let tenant = init_db(
        &db,
        InitOptions {
            agent_did: None,
            scopes: SCOPES.iter().map(|s| s.to_string()).collect(),
            force: false,
        },
    )
    .unwrap();
    let clock = ManualClock::new(wall_clock());
    let (server, client) = launch_with(&db, &clock, limits, tenant.api_key.expose(), tweak).await;
    TestServer {
        server,
        dir,
        db,
        tenant,
        clock,
        client,
        limits,
    }
}

pub(crate) async fn launch(
    db: &Database,
    clock: &ManualClock,
    limits: RateLimits,
    key: &str,
) -> (RunningServer, Client) {
    launch_with(db, clock, limits, key, |_| {}).await
}

/// Starts a server on `db` (another replica, when one already runs there).
pub(crate) async fn launch_with(
    db: &Database,
    clock: &ManualClock,
    limits: RateLimits,
    key: &str,
    tweak: impl Fn(&mut ServerConfig),
) -> (RunningServer, Client) {
    let mut config = ServerConfig::new(db, "127.0.0.1:0".parse().unwrap());
    config.tls = TlsMode::SelfSigned { ca_out: None };
    config.rate_limits = limits;
    config.clock = Arc::new(clock.clone());
    tweak(&mut config);
    let server = Server::start(config).await.unwrap();
    let client = Client::new(
        server.local_addr(),
        server.ca_cert_pem().unwrap(),
        Some(key),
    );
    (server, client)
}

impl TestServer {
    /// A second handle on the server's database, as an operator's tool would open it.
    pub(crate) fn store(&self) -> Arc<dyn Store> {
        self.db.open().unwrap()
    }

    /// Stops the server and starts a new one on the same database.
    pub(crate) async fn restart(self) -> Self {
        let Self {
            server,
            dir,
            db,
            tenant,
            clock,
            limits,
            ..
        } = self;
        server.shutdown().await;
        let (server, client) = launch(&db, &clock, limits, tenant.api_key.expose()).await;
        Self {
            server,
            dir,
            db,
            tenant,
            clock,
            client,
            limits,
        }
    }

    pub(crate) fn create_body(&self, scopes: &[&str]) -> Value {
        json!({"agentId": self.tenant.agent_id, "userId": "user_1", "scopes": scopes, "offlineTTL": "72h",
               "offlineAuditKeyAlgorithm": "Ed25519", "deviceId": "dev-1", "devicePlatform": "linux"})
    }

    pub(crate) async fn create_bundle(&self) -> Value {
        let r = self
            .client
            .post(
                "/v1/consent-bundles",
                &self.create_body(&["read:contacts", "write:calendar"]),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
        r.body
    }
}

/// The claims of a compact JWS, decoded (not verified).
pub(crate) fn claims(token: &str) -> Value {
    let part = token.split('.').nth(1).unwrap();
    serde_json::from_slice(&Base64UrlUnpadded::decode_vec(part).unwrap()).unwrap()
}

pub(crate) fn pem_der(pem: &str) -> Vec<u8> {
    let b64: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    Base64::decode_vec(&b64).unwrap()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Writes entries exactly as the TypeScript client does (an independent implementation of
/// the protocol's hash, for metadata `{"i":N}`), signed with a bundle's audit key.
pub(crate) struct ChainWriter {
    key: Ed25519KeyPair,
    pub(crate) agent_did: String,
    pub(crate) grant_id: String,
    pub(crate) scopes: Vec<String>,
    pub(crate) seq: u64,
    pub(crate) prev: String,
}

impl ChainWriter {
    pub(crate) fn for_bundle(bundle: &Value) -> Self {
        let c = claims(bundle["grantToken"].as_str().unwrap());
        let key = Ed25519KeyPair::from_pkcs8_maybe_unchecked(&pem_der(
            bundle["offlineAuditKey"]["privateKey"].as_str().unwrap(),
        ))
        .unwrap();
        Self {
            key,
            agent_did: c["agt"].as_str().unwrap().to_owned(),
            grant_id: c["grnt"].as_str().unwrap().to_owned(),
            scopes: vec![String::from("read:contacts")],
            seq: 0,
            prev: String::from("0000000000000000"),
        }
    }

    /// Switches to the key of a refreshed bundle; the chain continues.
    pub(crate) fn rekey(&mut self, bundle: &Value) {
        self.key = Ed25519KeyPair::from_pkcs8_maybe_unchecked(&pem_der(
            bundle["offlineAuditKey"]["privateKey"].as_str().unwrap(),
        ))
        .unwrap();
    }

    pub(crate) fn hash_of(&self, seq: u64, action: &str, prev: &str, i: u64) -> String {
        self.hash_with(seq, action, prev, &format!("{{\"i\":{i}}}"))
    }

    /// The hash of an entry whose metadata serialises (as `JSON.stringify` would) to `m`.
    fn hash_with(&self, seq: u64, action: &str, prev: &str, m: &str) -> String {
        let input = format!(
            "{seq}|2026-11-27T10:00:00.000Z|{action}|{}|{}|{}|success|{m}|{prev}",
            self.agent_did,
            self.grant_id,
            self.scopes.join(",")
        );
        hex(aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, input.as_bytes()).as_ref())
    }

    /// The next entry of the chain, with `{"pad": "<pad_len x>"}` as metadata.
    pub(crate) fn next_padded(&mut self, pad_len: usize) -> Value {
        let (seq, prev) = (self.seq + 1, self.prev.clone());
        let metadata = json!({"pad": "x".repeat(pad_len)});
        let hash = self.hash_with(seq, "tool:read_contacts", &prev, &metadata.to_string());
        let e = json!({"seq": seq, "timestamp": "2026-11-27T10:00:00.000Z", "action": "tool:read_contacts",
               "agentDID": self.agent_did, "grantId": self.grant_id, "scopes": self.scopes, "result": "success",
               "metadata": metadata, "prevHash": prev, "hash": hash, "signature": self.sign(&hash)});
        self.seq = seq;
        self.prev = hash;
        e
    }

    pub(crate) fn sign(&self, hash: &str) -> String {
        hex(self.key.sign(hash.as_bytes()).as_ref())
    }

    /// An entry with explicit seq/prev (does not advance the writer).
    pub(crate) fn entry_at(&self, seq: u64, prev: &str, action: &str) -> Value {
        let hash = self.hash_of(seq, action, prev, seq);
        json!({"seq": seq, "timestamp": "2026-11-27T10:00:00.000Z", "action": action, "agentDID": self.agent_did,
               "grantId": self.grant_id, "scopes": self.scopes, "result": "success", "metadata": {"i": seq},
               "prevHash": prev, "hash": hash, "signature": self.sign(&hash)})
    }

    /// The next entry of the chain.
    pub(crate) fn next(&mut self) -> Value {
        let e = self.entry_at(self.seq + 1, &self.prev.clone(), "tool:read_contacts");
        self.seq += 1;
        self.prev = e["hash"].as_str().unwrap().to_owned();
        e
    }

    pub(crate) fn batch(&mut self, n: usize) -> Vec<Value> {
        (0..n).map(|_| self.next()).collect()
    }
}

pub(crate) fn sync_body(bundle_id: &str, entries: &[Value]) -> Value {
    json!({"bundleId": bundle_id, "entries": entries})
}

/// Asserts that a success body carries its fields at the top level and under `data`.
pub(crate) fn assert_enveloped(body: &Value) {
    let data = body["data"].as_object().expect("data object");
    for (k, v) in data {
        assert_eq!(&body[k], v, "top-level {k} differs from data.{k}");
    }
    assert_eq!(body.as_object().unwrap().len(), data.len() + 1);
}

/// Verifies a grant token as a device does: gx-core's verifier over a JWKS (or a bundle's
/// `jwksSnapshot`) at `now`, with the issuer and a required scope enforced.
pub(crate) fn verify_with_gx_core(token: &str, jwks: &Value, issuer: &str, now: UnixTime) {
    let text = serde_json::to_string(jwks).unwrap();
    let snapshot = gx_core::JwksSnapshot::<gx_core::RustCrypto>::parse(text.as_bytes()).unwrap();
    let required = ["read:contacts"];
    let options = gx_core::VerifierOptions::new()
        .with_issuer(issuer)
        .with_required_scopes(&required);
    let verifier = gx_core::Verifier::new(&snapshot, options).unwrap();
    let mut buf = vec![0u8; gx_core::DECODE_BUF_LEN];
    let grant = verifier
        .verify(token, now, &mut buf)
        .expect("gx-core accepts the token");
    let c = claims(token);
    assert_eq!(grant.grant_id(), c["grnt"].as_str().unwrap());
    assert_eq!(grant.agent_did(), c["agt"].as_str().unwrap());
    assert_eq!(grant.jti(), c["jti"].as_str().unwrap());
    assert_eq!(grant.developer_id(), c["dev"].as_str());
}
