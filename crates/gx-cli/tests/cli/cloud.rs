//! An in-process gx-server on a loopback port for tests that drive `gx` against it: the
//! server runs on its own tokio runtime while the test runs `gx` processes.

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use gx_server::{InitOptions, RateLimits, RunningServer, Server, ServerConfig, TlsMode, init_db};
use gx_sync::{ApiKey, ClientOptions, GrantexClient, StoredEntry};
use serde_json::Value;

use super::util::{Gx, arg, json_of};

/// The bundle key every cloud test uses (hex, through `GX_BUNDLE_KEY`).
pub(crate) const BUNDLE_KEY: &str =
    "6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b";

/// A running server, its tenant, and a sandbox for `gx`.
pub(crate) struct Cloud {
    pub(crate) gx: Gx,
    pub(crate) runtime: tokio::runtime::Runtime,
    server: Option<RunningServer>,
    pub(crate) base: String,
    pub(crate) api_key: String,
    pub(crate) agent_id: String,
    ca: PathBuf,
}

impl Cloud {
    pub(crate) fn start() -> Self {
        let gx = Gx::new();
        let db = gx.path("server.db");
        let tenant = init_db(
            &db,
            InitOptions {
                scopes: vec!["read:contacts".into(), "send:email".into()],
                ..InitOptions::default()
            },
        )
        .expect("init");
        let ca = gx.path("ca.pem");
        let mut config = ServerConfig::new(&db, "127.0.0.1:0".parse().expect("addr"));
        config.tls = TlsMode::SelfSigned {
            ca_out: Some(ca.clone()),
        };
        config.rate_limits = RateLimits::DISABLED;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime");
        let server = runtime.block_on(Server::start(config)).expect("server");
        let base = server.base_url().to_owned();
        Self {
            gx,
            runtime,
            server: Some(server),
            base,
            api_key: tenant.api_key.expose().to_owned(),
            agent_id: tenant.agent_id.clone(),
            ca,
        }
    }

    pub(crate) fn path(&self, name: &str) -> PathBuf {
        self.gx.path(name)
    }

    /// `gx args` with the bundle key and the API key in the environment.
    pub(crate) fn cmd(&self, args: &[&str]) -> Command {
        let mut cmd = self.gx.cmd(args);
        cmd.env("GX_BUNDLE_KEY", BUNDLE_KEY)
            .env("GX_API_KEY", &self.api_key);
        cmd
    }

    /// The `--server URL --ca-cert PEM` of every online command.
    pub(crate) fn remote(&self) -> [&str; 4] {
        ["--server", &self.base, "--ca-cert", arg(&self.ca)]
    }

    /// `gx bundle create` for `read:contacts`, valid for `ttl`, into `out`.
    pub(crate) fn create_bundle(&self, out: &str, ttl: &str) -> Value {
        let mut args = vec![
            "bundle",
            "create",
            "--agent",
            &self.agent_id,
            "--user",
            "user_week",
            "--scope",
            "read:contacts",
            "--ttl",
            ttl,
            "--out",
            out,
            "--json",
        ];
        args.extend(self.remote());
        json_of(self.cmd(&args), 0)
    }

    /// `gx audit append` of one `tool:read_contacts` entry; returns (exit code, JSON).
    pub(crate) fn append(&self, bundle: &str, log: &str, now: Option<u64>) -> (i32, Value) {
        let now_text = now.map(|n| n.to_string());
        let mut args = vec![
            "audit",
            "append",
            "--bundle",
            bundle,
            "--log",
            log,
            "--action",
            "tool:read_contacts",
            "--result",
            "success",
            "--json",
        ];
        if let Some(n) = &now_text {
            args.extend(["--now", n.as_str()]);
        }
        let out = self.cmd(&args).output().expect("run gx");
        let code = out.status.code().unwrap_or(-1);
        let v = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
        (code, v)
    }

    /// `gx bundle refresh`.
    pub(crate) fn refresh(&self, bundle: &str, log: &str) -> Value {
        let mut args = vec!["bundle", "refresh", bundle, "--log", log, "--json"];
        args.extend(self.remote());
        json_of(self.cmd(&args), 0)
    }

    /// `gx sync`; returns (exit code, JSON).
    pub(crate) fn sync(&self, bundle: &str, log: &str) -> (i32, Value) {
        let mut args = vec!["sync", "--bundle", bundle, "--log", log, "--json"];
        args.extend(self.remote());
        let out = self.cmd(&args).output().expect("run gx");
        let v = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
        (out.status.code().unwrap_or(-1), v)
    }

    /// An API client of the server (what the cloud side does: revoke, read the chain).
    pub(crate) fn client(&self) -> GrantexClient {
        let ca = std::fs::read(&self.ca).expect("ca");
        GrantexClient::with_options(
            &self.base,
            ApiKey::new(self.api_key.clone()).expect("key"),
            ClientOptions::default().with_ca_pem(ca),
        )
        .expect("client")
    }

    /// Every entry the server stored for `bundle_id`, ascending.
    pub(crate) fn stored(&self, bundle_id: &str) -> Vec<StoredEntry> {
        let client = self.client();
        self.runtime.block_on(async {
            let mut all: Vec<StoredEntry> = Vec::new();
            loop {
                let after = all.last().map_or(0, |e| e.seq);
                let page = client
                    .get_audit(bundle_id, after, 1000)
                    .await
                    .expect("audit");
                if page.is_empty() {
                    return all;
                }
                all.extend(page);
            }
        })
    }

    /// Revokes the bundle on the server (the device learns it only by syncing).
    pub(crate) fn revoke_on_server(&self, bundle_id: &str) {
        let client = self.client();
        self.runtime
            .block_on(client.revoke_bundle(bundle_id, true))
            .expect("revoke");
    }
}

impl Drop for Cloud {
    fn drop(&mut self) {
        if let Some(server) = self.server.take() {
            self.runtime.block_on(server.shutdown());
        }
    }
}

/// The log's lines, all segments, oldest first, keyed by seq (read without the lock).
pub(crate) fn log_lines(log: &Path) -> std::collections::BTreeMap<u64, String> {
    let dir = log.parent().expect("dir");
    let name = log.file_name().and_then(|n| n.to_str()).expect("name");
    let mut out = std::collections::BTreeMap::new();
    for entry in std::fs::read_dir(dir).expect("dir") {
        let entry = entry.expect("entry");
        let file = entry.file_name();
        let file = file.to_str().unwrap_or_default();
        let is_segment = file
            .strip_prefix(name)
            .and_then(|rest| rest.strip_prefix('.'))
            .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()));
        if file != name && !is_segment {
            continue;
        }
        for line in std::fs::read_to_string(entry.path()).expect("read").lines() {
            if let Some(seq) = serde_json::from_str::<Value>(line)
                .ok()
                .and_then(|v| v["seq"].as_u64())
            {
                out.insert(seq, line.to_owned());
            }
        }
    }
    out
}
