//! Starting a server for an abuse test (in-process, or the `gx-server` binary as a child
//! whose memory can be read from `/proc`), tenants, and valid audit entries.

use core::time::Duration;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;

use aws_lc_rs::signature::Ed25519KeyPair;
use base64ct::{Base64, Base64UrlUnpadded, Encoding};
use gx_server::{
    AgentRecord, ApiKeyRecord, ApiKeyRole, DeveloperRecord, InitOptions, RateLimits, RunningServer,
    Server, ServerConfig, SqliteStore, Store, SystemClock, Timeouts, init_db,
};
use serde_json::{Value, json};
use tempfile::TempDir;

use crate::wire::Target;

/// Whether the heavy variants run (`GX_ABUSE_HEAVY=1`).
pub(crate) fn heavy() -> bool {
    std::env::var_os("GX_ABUSE_HEAVY").is_some_and(|v| v == "1")
}

/// Short timeouts so that the slow-client tests run in seconds.
pub(crate) fn short_timeouts() -> Timeouts {
    Timeouts {
        handshake: Duration::from_millis(1500),
        header_read: Duration::from_millis(1500),
        body_read: Duration::from_secs(2),
        idle: Duration::from_secs(60),
        shutdown_grace: Duration::from_secs(1),
    }
}

pub(crate) struct Abuse {
    _server: RunningServer,
    _dir: TempDir,
    pub(crate) db: PathBuf,
    pub(crate) target: Target,
    pub(crate) key: String,
    pub(crate) agent_id: String,
}

/// An in-process server, rate limits off, system clock, then `tune` applied.
pub(crate) async fn start(tune: impl FnOnce(&mut ServerConfig)) -> Abuse {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("gx.db");
    let tenant = init_db(&db, InitOptions::default()).unwrap();
    let mut config = ServerConfig::new(&db, "127.0.0.1:0".parse().unwrap());
    config.rate_limits = RateLimits::DISABLED;
    config.clock = Arc::new(SystemClock);
    tune(&mut config);
    let server = Server::start(config).await.unwrap();
    let target = Target::new(server.local_addr(), server.ca_cert_pem().unwrap());
    Abuse {
        _server: server,
        _dir: dir,
        db,
        target,
        key: tenant.api_key.expose().to_owned(),
        agent_id: tenant.agent_id,
    }
}

impl Abuse {
    pub(crate) fn create_body(&self) -> Vec<u8> {
        serde_json::to_vec(&json!({"agentId": self.agent_id, "userId": "user_1",
            "scopes": ["read:contacts"], "offlineTTL": "72h", "offlineAuditKeyAlgorithm": "Ed25519"}))
        .unwrap()
    }

    /// An honest create: must answer 201.
    pub(crate) async fn create_bundle(&self) -> Value {
        let r = self
            .target
            .call(
                "POST",
                "/v1/consent-bundles",
                Some(&self.key),
                &self.create_body(),
            )
            .await;
        assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));
        r.json()
    }

    /// A second developer (own API key and agent) on the same server.
    pub(crate) fn second_tenant(&self, name: &str) -> (String, String) {
        second_tenant(&self.db, name)
    }
}

/// An admin key record for `developer_id` with this SHA-256.
pub(crate) fn admin_key(developer_id: &str, key_sha256: String) -> ApiKeyRecord {
    ApiKeyRecord {
        id: format!("key_{}", &key_sha256[..26]),
        developer_id: developer_id.to_owned(),
        key_sha256,
        label: None,
        role: ApiKeyRole::Admin,
        created_at: 0,
        expires_at: None,
        revoked_at: None,
    }
}

/// Adds a developer with an API key and an agent holding `read:contacts`; returns
/// (API key, agent id).
pub(crate) fn second_tenant(db: &Path, name: &str) -> (String, String) {
    let key = format!("gx_abuse_suite_key_for_{name}_0123456789");
    let hash = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, key.as_bytes());
    let dev = DeveloperRecord {
        id: format!("dev_{name}"),
        created_at: 0,
    };
    let agent = AgentRecord {
        id: format!("ag_{name}"),
        developer_id: dev.id.clone(),
        did: format!("did:grantex:ag_{name}"),
        scopes: vec![String::from("read:contacts")],
        created_at: 0,
    };
    SqliteStore::open(db)
        .unwrap()
        .create_tenant(&dev, &admin_key(&dev.id, hex(hash.as_ref())), &agent)
        .unwrap();
    (key, agent.id)
}

pub(crate) fn create_body_for(agent_id: &str) -> Vec<u8> {
    serde_json::to_vec(
        &json!({"agentId": agent_id, "userId": "user_1", "scopes": ["read:contacts"]}),
    )
    .unwrap()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn pem_der(pem: &str) -> Vec<u8> {
    let b64: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    Base64::decode_vec(&b64).unwrap()
}

/// Writes valid entries for a bundle, as the TypeScript client does (metadata `{"i":N}`).
pub(crate) struct Chain {
    key: Ed25519KeyPair,
    agent_did: String,
    grant_id: String,
    seq: u64,
    prev: String,
}

impl Chain {
    pub(crate) fn for_bundle(bundle: &Value) -> Self {
        let token = bundle["grantToken"].as_str().unwrap();
        let claims: Value = serde_json::from_slice(
            &Base64UrlUnpadded::decode_vec(token.split('.').nth(1).unwrap()).unwrap(),
        )
        .unwrap();
        let key = Ed25519KeyPair::from_pkcs8_maybe_unchecked(&pem_der(
            bundle["offlineAuditKey"]["privateKey"].as_str().unwrap(),
        ))
        .unwrap();
        Self {
            key,
            agent_did: claims["agt"].as_str().unwrap().to_owned(),
            grant_id: claims["grnt"].as_str().unwrap().to_owned(),
            seq: 0,
            prev: String::from("0000000000000000"),
        }
    }

    /// The hash of an entry whose metadata serializes (per `JSON.stringify`) to `m`.
    fn hash(&self, seq: u64, m: &str, prev: &str) -> String {
        let input = format!(
            "{seq}|2026-11-27T10:00:00.000Z|tool:read|{}|{}|read:contacts|success|{m}|{prev}",
            self.agent_did, self.grant_id
        );
        hex(aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, input.as_bytes()).as_ref())
    }

    /// The next entry as wire text, with `metadata_wire` sent as is and `metadata_hashed`
    /// the text the server must hash (its `JSON.stringify`); advances the chain.
    pub(crate) fn next_raw(&mut self, metadata_wire: &str, metadata_hashed: &str) -> String {
        let seq = self.seq + 1;
        let hash = self.hash(seq, metadata_hashed, &self.prev);
        let sig = hex(self.key.sign(hash.as_bytes()).as_ref());
        let line = format!(
            r#"{{"seq":{seq},"timestamp":"2026-11-27T10:00:00.000Z","action":"tool:read","agentDID":"{}","grantId":"{}","scopes":["read:contacts"],"result":"success","metadata":{metadata_wire},"prevHash":"{}","hash":"{hash}","signature":"{sig}"}}"#,
            self.agent_did, self.grant_id, self.prev
        );
        self.seq = seq;
        self.prev = hash;
        line
    }

    /// The next ordinary entry.
    pub(crate) fn next(&mut self) -> String {
        let m = format!(r#"{{"i":{}}}"#, self.seq + 1);
        self.next_raw(&m, &m)
    }

    /// The next entry without advancing the chain.
    pub(crate) fn peek(&self) -> String {
        let seq = self.seq + 1;
        let m = format!(r#"{{"i":{seq}}}"#);
        let hash = self.hash(seq, &m, &self.prev);
        let sig = hex(self.key.sign(hash.as_bytes()).as_ref());
        format!(
            r#"{{"seq":{seq},"timestamp":"2026-11-27T10:00:00.000Z","action":"tool:read","agentDID":"{}","grantId":"{}","scopes":["read:contacts"],"result":"success","metadata":{m},"prevHash":"{}","hash":"{hash}","signature":"{sig}"}}"#,
            self.agent_did, self.grant_id, self.prev
        )
    }
}

/// `line` with the value of its top-level `field` (a number or a string) replaced by `raw`.
pub(crate) fn replace_field(line: &str, field: &str, raw: &str) -> String {
    let key = format!("\"{field}\":");
    let start = line.find(&key).unwrap() + key.len();
    let end = if line[start..].starts_with('"') {
        start + 1 + line[start + 1..].find('"').unwrap() + 1
    } else {
        start + line[start..].find([',', '}']).unwrap()
    };
    format!("{}{raw}{}", &line[..start], &line[end..])
}

/// A sync body around raw entry texts.
pub(crate) fn sync_body(bundle_id: &str, entries: &[String]) -> Vec<u8> {
    format!(
        r#"{{"bundleId":"{bundle_id}","entries":[{}]}}"#,
        entries.join(",")
    )
    .into_bytes()
}

/// The `gx-server` binary running as a child, so that its memory can be read from
/// `/proc/<pid>/status` apart from the test's own.
pub(crate) struct ChildServer {
    child: Child,
    pub(crate) target: Target,
    pub(crate) key: String,
    pub(crate) agent_id: String,
    stderr: PathBuf,
    _dir: TempDir,
}

/// Starts `gx-server run` on a fresh database (rate limits off) with `extra` flags.
pub(crate) fn spawn_binary(extra: &[&str]) -> ChildServer {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("gx.db");
    let tenant = init_db(&db, InitOptions::default()).unwrap();
    let ca = dir.path().join("ca.pem");
    let stderr = dir.path().join("stderr.log");
    let mut child = Command::new(env!("CARGO_BIN_EXE_gx-server"))
        .args([
            "run",
            "--db",
            db.to_str().unwrap(),
            "--listen",
            "127.0.0.1:0",
        ])
        .args(["--self-signed", ca.to_str().unwrap(), "--no-rate-limits"])
        .args(extra)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(&stderr).unwrap())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let addr = line
        .trim()
        .strip_prefix("https://")
        .unwrap_or_else(|| panic!("no URL on stdout: {line:?}"))
        .parse()
        .unwrap();
    let target = Target::new(addr, &std::fs::read_to_string(&ca).unwrap());
    ChildServer {
        child,
        target,
        key: tenant.api_key.expose().to_owned(),
        agent_id: tenant.agent_id,
        stderr,
        _dir: dir,
    }
}

impl ChildServer {
    /// A `kB` field of `/proc/<pid>/status` (`VmRSS`, `VmHWM`), in KiB.
    pub(crate) fn status_kib(&self, field: &str) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap();
        status
            .lines()
            .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or_else(|| panic!("no {field} in /proc status"))
    }

    /// Open file descriptors of the server process.
    pub(crate) fn open_fds(&self) -> usize {
        std::fs::read_dir(format!("/proc/{}/fd", self.child.id()))
            .map(Iterator::count)
            .unwrap_or(0)
    }

    /// Whether the process is still running.
    pub(crate) fn alive(&mut self) -> bool {
        self.child.try_wait().unwrap().is_none()
    }

    /// What the server logged so far.
    pub(crate) fn log(&self) -> String {
        std::fs::read_to_string(&self.stderr).unwrap_or_default()
    }

    pub(crate) fn create_body(&self) -> Vec<u8> {
        create_body_for(&self.agent_id)
    }
}

impl Drop for ChildServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The soft limit on open files of this process (children inherit it).
pub(crate) fn fd_limit() -> usize {
    std::fs::read_to_string("/proc/self/limits")
        .ok()
        .and_then(|l| {
            l.lines()
                .find(|l| l.starts_with("Max open files"))
                .and_then(|l| l.split_whitespace().nth(3)?.parse().ok())
        })
        .unwrap_or(1024)
}
