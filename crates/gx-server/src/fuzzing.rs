//! Fuzzing entry point: one HTTP request, built from fuzzer bytes, through the real
//! router, authentication, body parsers, handlers and SQLite store. Not a stable API.
//!
//! [`Harness::run_one`] decodes the input (see [`Harness`] for the layout), writes the
//! request over an in-memory duplex pipe to the same hyper `http1` service the server
//! runs, reads the answer and checks what must hold for *any* request: an answer comes
//! back, it is never a 500, and every error answer is JSON with a string `code`. A
//! panic anywhere aborts the fuzzer, as it should.
//!
//! Every call works on a bundle of its own (inserted into the store just before), so
//! revoking or syncing in one input cannot change what the next one sees; the rest of the
//! store (the tenant, the issuer key) is shared and set up once.

use core::fmt;
use core::time::Duration;
use std::path::Path;
use std::sync::{Arc, RwLock};

use gx_core::{AuditSigningKey, GENESIS_PREV_HASH, SignedAuditEntry, UnixTime};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::config::{ManualClock, RateLimits};
use crate::error::ServerError;
use crate::init::{InitOptions, init_db_at};
use crate::issuer::KeyRing;
use crate::router::handle;
use crate::state::AppState;
use crate::store::{BundleRecord, SqliteStore, Store};

/// The instant every request is served at (before the input's clock offset):
/// 2026-11-27T03:55:06Z, the peer fixtures' `now`.
const START_MS: u64 = 1_795_751_706_000;

/// The seed of the harness's bundles' audit key: inputs in signing mode are signed with it.
const AUDIT_SEED: [u8; 32] = [7; 32];

/// The endpoints an input can pick, by its first byte modulo their number.
const ENDPOINTS: [(&str, &str); 11] = [
    ("GET", "/.well-known/jwks.json"),
    ("GET", "/healthz"),
    ("POST", "/v1/consent-bundles"),
    ("GET", "/v1/consent-bundles"),
    ("GET", "/v1/consent-bundles/$B"),
    ("POST", "/v1/consent-bundles/$B/refresh"),
    ("POST", "/v1/consent-bundles/$B/revoke"),
    ("GET", "/v1/consent-bundles/$B/revocation-status"),
    ("GET", "/v1/consent-bundles/$B/audit"),
    ("POST", "/v1/audit/offline-sync"),
    // A route under the wrong method: 405.
    ("DELETE", "/v1/consent-bundles/$B"),
];

/// Flag bits of the input's second byte.
const FLAG_NO_AUTH: u8 = 1;
const FLAG_SIGN: u8 = 1 << 1;
const FLAG_LINK: u8 = 1 << 2;
const FLAG_CHUNKED: u8 = 1 << 3;
const FLAG_LATER: u8 = 1 << 4;
const FLAG_MUCH_LATER: u8 = 1 << 5;

/// Something that must never happen, whatever the request.
#[derive(Debug)]
#[non_exhaustive]
pub enum Finding {
    /// The server answered 500 to a client's request.
    ServerError {
        /// The answer's body.
        body: String,
    },
    /// No parsable HTTP status line came back.
    NoResponse {
        /// What came back.
        raw: String,
    },
    /// An error answer whose body is not JSON with a string `code`.
    BadErrorBody {
        /// The status.
        status: u16,
        /// The answer's body.
        body: String,
    },
    /// The harness itself failed (runtime, store).
    Harness(String),
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::ServerError { body } => write!(f, "500 answer: {body}"),
            Self::NoResponse { raw } => write!(f, "no HTTP response, got {raw:?}"),
            Self::BadErrorBody { status, body } => {
                write!(f, "{status} answer without a JSON code: {body:?}")
            }
            Self::Harness(e) => write!(f, "harness failure: {e}"),
        }
    }
}

impl core::error::Error for Finding {}

/// A server state in a directory, and a runtime to drive requests through it.
///
/// Input layout for [`run_one`](Self::run_one): byte 0 picks the endpoint (modulo 11:
/// JWKS, health, create, list, get, refresh, revoke, revocation status, audit, sync, and
/// a 405 route); byte 1 holds flags (bit 0: no API key; bit 1: re-sign the sync entries
/// with the bundle's audit key; bit 2: also re-link their `prevHash`es; bit 3: chunked
/// body; bits 4 and 5: serve 2 h or 8 days later); the rest is the body of a POST or the
/// query string of a GET. In paths and bodies, `$B`, `$G`, `$D` and `$A` stand for the
/// bundle id, grant id, agent DID and agent id of this call's bundle.
#[derive(Debug)]
pub struct Harness {
    rt: tokio::runtime::Runtime,
    state: Arc<AppState>,
    clock: ManualClock,
    api_key: String,
    developer_id: String,
    agent_id: String,
    agent_did: String,
    audit_key: AuditSigningKey,
    calls: u64,
}

impl Harness {
    /// Creates (or reuses) `dir/gx-fuzz.db`: a tenant, an issuer key, no bundles yet.
    ///
    /// # Errors
    /// [`ServerError`] when the database or the runtime cannot be set up.
    pub fn new(dir: &Path) -> Result<Self, ServerError> {
        let db = dir.join("gx-fuzz.db");
        for suffix in ["", "-wal", "-shm"] {
            let mut p = db.as_os_str().to_owned();
            p.push(suffix);
            let _ = std::fs::remove_file(&p);
        }
        let clock = ManualClock::new(UnixTime::from_millis(START_MS));
        let tenant = init_db_at(
            &crate::Database::Sqlite(db.clone()),
            InitOptions::default(),
            &clock,
            None,
        )?;
        let store = SqliteStore::open(&db)?;
        let ring = KeyRing::load_or_rotate(&store, START_MS, None)?;
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|_| ServerError::Task)?;
        let store: Arc<dyn Store> = Arc::new(store);
        let state = Arc::new(AppState {
            store,
            keys: RwLock::new(Arc::new(ring)),
            kek: None,
            clock: Arc::new(clock.clone()),
            limits: RateLimits::DISABLED,
            storage_quota: None,
            public_url: String::from("http://127.0.0.1:9"),
        });
        Ok(Self {
            rt,
            state,
            clock,
            api_key: tenant.api_key.expose().to_owned(),
            developer_id: tenant.developer_id,
            agent_id: tenant.agent_id,
            agent_did: tenant.agent_did,
            audit_key: AuditSigningKey::from_bytes(&AUDIT_SEED),
            calls: 0,
        })
    }

    /// Sends the request `data` describes and checks the answer; returns its status.
    ///
    /// # Errors
    /// A [`Finding`] when the answer breaks a rule every answer must keep.
    pub fn run_one(&mut self, data: &[u8]) -> Result<u16, Finding> {
        let (&pick, rest) = data.split_first().unwrap_or((&0, &[]));
        let (&flags, payload) = rest.split_first().unwrap_or((&0, &[]));
        let (method, template) = ENDPOINTS
            .get(usize::from(pick) % ENDPOINTS.len())
            .copied()
            .unwrap_or(("GET", "/healthz"));

        let bundle = self.fresh_bundle()?;
        let offset_ms = match (flags & FLAG_LATER != 0, flags & FLAG_MUCH_LATER != 0) {
            (_, true) => 8 * 86_400_000,
            (true, false) => 2 * 3_600_000,
            (false, false) => 0,
        };
        self.clock
            .set(UnixTime::from_millis(START_MS.saturating_add(offset_ms)));

        let names = Names {
            bundle: &bundle.id,
            grant: &bundle.grant_id,
            did: &bundle.agent_did,
            agent: &self.agent_id,
        };
        let mut path = names.substitute(template.as_bytes());
        let mut body = Vec::new();
        if method == "POST" {
            body = names.substitute(payload);
            if template.ends_with("offline-sync") && flags & FLAG_SIGN != 0 {
                body = self.sign_entries(&body, flags & FLAG_LINK != 0);
            }
        } else if !payload.is_empty() {
            path.push(b'?');
            path.extend(
                names
                    .substitute(payload)
                    .iter()
                    .flat_map(|&b| query_byte(b)),
            );
        }

        let mut request = Vec::with_capacity(body.len() + 256);
        request.extend_from_slice(method.as_bytes());
        request.push(b' ');
        request.extend_from_slice(&path);
        request.extend_from_slice(b" HTTP/1.1\r\nhost: fuzz\r\nconnection: close\r\n");
        if flags & FLAG_NO_AUTH == 0 {
            request.extend_from_slice(b"authorization: Bearer ");
            request.extend_from_slice(self.api_key.as_bytes());
            request.extend_from_slice(b"\r\n");
        }
        if method == "POST" {
            request.extend_from_slice(b"content-type: application/json\r\n");
            if flags & FLAG_CHUNKED != 0 {
                request.extend_from_slice(b"transfer-encoding: chunked\r\n\r\n");
                for chunk in body.chunks(7) {
                    request.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
                    request.extend_from_slice(chunk);
                    request.extend_from_slice(b"\r\n");
                }
                request.extend_from_slice(b"0\r\n\r\n");
            } else {
                request.extend_from_slice(
                    format!("content-length: {}\r\n\r\n", body.len()).as_bytes(),
                );
                request.extend_from_slice(&body);
            }
        } else {
            request.extend_from_slice(b"\r\n");
        }

        let raw = self.exchange(request)?;
        check_response(&raw)
    }

    /// Inserts a new, active bundle for this call, with the harness's audit key.
    fn fresh_bundle(&mut self) -> Result<BundleRecord, Finding> {
        self.calls += 1;
        let n = self.calls;
        let bundle = BundleRecord {
            id: format!("bundle_fuzz{n}"),
            developer_id: self.developer_id.clone(),
            agent_id: self.agent_id.clone(),
            agent_did: self.agent_did.clone(),
            grant_id: format!("grnt_fuzz{n}"),
            user_id: String::from("user_fuzz"),
            scopes: vec![String::from("read:contacts"), String::from("send:email")],
            offline_ttl: String::from("72h"),
            ttl_secs: 72 * 3600,
            device_id: None,
            device_platform: None,
            token_id: format!("tok_fuzz{n}"),
            audit_public_key: self.audit_key.verifying_key().to_bytes(),
            offline_expires_at: START_MS + 72 * 3_600_000,
            checkpoint_at: START_MS,
            created_at: START_MS,
            revoked_at: None,
            revoked_by: None,
            grant_revoked: false,
            grant_active: true,
            audit_entry_count: 0,
            last_sync_at: None,
        };
        self.state
            .store
            .insert_bundle(&bundle)
            .map_err(|e| Finding::Harness(e.to_string()))?;
        Ok(bundle)
    }

    /// Replaces each parsable entry's `hash` and `signature` (and, when `link`, its
    /// `prevHash`) with correct ones, so inputs get past the signature check into the
    /// chain and store logic. Bodies that are not `{"entries": [...]}` pass unchanged.
    fn sign_entries(&self, body: &[u8], link: bool) -> Vec<u8> {
        let Ok(Value::Object(mut req)) = serde_json::from_slice::<Value>(body) else {
            return body.to_vec();
        };
        let Some(Value::Array(entries)) = req.get_mut("entries") else {
            return body.to_vec();
        };
        let mut prev: Option<String> = None;
        for item in entries.iter_mut() {
            let Value::Object(fields) = item else {
                continue;
            };
            if link {
                let p = prev.clone().unwrap_or_else(|| GENESIS_PREV_HASH.to_owned());
                fields.insert(String::from("prevHash"), Value::String(p));
            }
            fields.insert(String::from("hash"), Value::String("0".repeat(64)));
            fields.insert(String::from("signature"), Value::String("0".repeat(128)));
            let Ok(text) = serde_json::to_string(&fields) else {
                continue;
            };
            let Ok(parsed) = SignedAuditEntry::parse_line(text.as_bytes()) else {
                continue;
            };
            let Ok(signed) = self.audit_key.sign_entry(parsed.entry) else {
                continue;
            };
            let hash = signed.hash.to_hex().as_str().to_owned();
            let sig = signed.signature.to_hex().as_str().to_owned();
            fields.insert(String::from("hash"), Value::String(hash.clone()));
            fields.insert(String::from("signature"), Value::String(sig));
            prev = Some(hash);
        }
        serde_json::to_vec(&req).unwrap_or_else(|_| body.to_vec())
    }

    /// Writes `request` to a fresh connection of the real service; returns all it answered.
    fn exchange(&self, request: Vec<u8>) -> Result<Vec<u8>, Finding> {
        let state = Arc::clone(&self.state);
        self.rt.block_on(async move {
            let (client, server) = tokio::io::duplex(64 * 1024);
            let service = service_fn(move |req| handle(Arc::clone(&state), req));
            let conn = tokio::spawn(async move {
                let _ = http1::Builder::new()
                    .serve_connection(TokioIo::new(server), service)
                    .await;
            });
            let (mut rx, mut tx) = tokio::io::split(client);
            let writer = tokio::spawn(async move {
                // The server may answer (413, 401) and close before reading it all. The
                // write side stays open: hyper drops a connection whose client half-closes.
                let _ = tx.write_all(&request).await;
                core::future::pending::<()>().await;
            });
            let mut raw = Vec::new();
            let read = tokio::time::timeout(Duration::from_secs(30), rx.read_to_end(&mut raw));
            let outcome = read.await;
            writer.abort();
            conn.abort();
            match outcome {
                Ok(_) => Ok(raw),
                Err(_) => Err(Finding::NoResponse {
                    raw: String::from("<no answer within 30 s>"),
                }),
            }
        })
    }
}

/// The per-call names that replace `$B`, `$G`, `$D` and `$A`.
struct Names<'a> {
    bundle: &'a str,
    grant: &'a str,
    did: &'a str,
    agent: &'a str,
}

impl Names<'_> {
    fn substitute(&self, input: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(input.len() + 32);
        let mut i = 0;
        while let Some(&b) = input.get(i) {
            let name = match (b, input.get(i + 1)) {
                (b'$', Some(b'B')) => Some(self.bundle),
                (b'$', Some(b'G')) => Some(self.grant),
                (b'$', Some(b'D')) => Some(self.did),
                (b'$', Some(b'A')) => Some(self.agent),
                _ => None,
            };
            match name {
                Some(n) => {
                    out.extend_from_slice(n.as_bytes());
                    i += 2;
                }
                None => {
                    out.push(b);
                    i += 1;
                }
            }
        }
        out
    }
}

/// A query-string byte as it may appear in a request line: unreserved and the
/// separators as they are, everything else percent-encoded.
fn query_byte(b: u8) -> Vec<u8> {
    if b.is_ascii_alphanumeric() || b"-._~&=%+:,".contains(&b) {
        vec![b]
    } else {
        format!("%{b:02X}").into_bytes()
    }
}

/// Checks one raw HTTP answer: a status line, no 500, errors carry a JSON `code`.
fn check_response(raw: &[u8]) -> Result<u16, Finding> {
    let text = String::from_utf8_lossy(raw);
    let status = text
        .strip_prefix("HTTP/1.1 ")
        .and_then(|s| s.get(..3))
        .and_then(|s| s.parse::<u16>().ok())
        .ok_or_else(|| Finding::NoResponse {
            raw: text.chars().take(200).collect(),
        })?;
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    if status >= 500 {
        return Err(Finding::ServerError { body });
    }
    if status >= 400 {
        // hyper answers malformed requests itself, with an empty body.
        let from_hyper = body.is_empty() && matches!(status, 400 | 413 | 414 | 431);
        let has_code = serde_json::from_str::<Value>(&body)
            .ok()
            .and_then(|v| v.get("code").map(Value::is_string))
            .unwrap_or(false);
        if !from_hyper && !has_code {
            return Err(Finding::BadErrorBody { status, body });
        }
    }
    Ok(status)
}
