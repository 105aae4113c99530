//! `cargo xtask interop`: the published Grantex clients against gx-server.
//!
//! Starts a real `gx-server` (self-signed CA, loopback port), then:
//! - the Python client (`pip install grantex-gemma`, in a fresh venv) creates a consent
//!   bundle over HTTPS and its own offline verifier accepts the grant token;
//! - the TypeScript client (`npm install @grantex/gemma`) creates a bundle, writes an
//!   audit log signed with the bundle's key (250 entries, non-trivial metadata) and syncs
//!   it with its own `syncAuditLog`; the server must accept every batch and store all
//!   entries.
//!
//! Needs `python3` (with `venv`), `node` (>= 18) and `npm`, and network access to PyPI and
//! npm. Client versions are pinned in [`crate::peers`]; `--latest` installs the newest
//! instead.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use anyhow::{Context, Result, bail};
use xshell::{Shell, cmd};

use crate::peers;

const PY_CHECK: &str = r#"
"""gx-server interop: the published Python client creates a bundle and verifies its token."""
import asyncio, json, sys
from grantex_gemma import create_consent_bundle, create_offline_verifier

async def main() -> None:
    base, key, agent = sys.argv[1], sys.argv[2], sys.argv[3]
    bundle = await create_consent_bundle(api_key=key, agent_id=agent, user_id="user_interop_py",
                                         scopes=["read:contacts"], offline_ttl="24h", base_url=base)
    verifier = create_offline_verifier(bundle.jwks_snapshot, require_scopes=["read:contacts"])
    grant = await verifier.verify(bundle.grant_token)
    assert grant.grant_id.startswith("grnt_"), grant
    assert grant.scopes == ["read:contacts"], grant
    print(json.dumps({"bundleId": bundle.bundle_id, "grantId": grant.grant_id, "agentDID": grant.agent_did}))

asyncio.run(main())
"#;

const TS_CHECK: &str = r#"
// gx-server interop: the published TypeScript client creates a bundle, writes an audit log
// with the bundle's key, and syncs it to gx-server with its own sync function.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createConsentBundle, createOfflineVerifier, createOfflineAuditLog, syncAuditLog } from '@grantex/gemma';

const [base, apiKey, agentId] = process.argv.slice(2);
const bundle = await createConsentBundle({ apiKey, baseUrl: base, agentId, userId: 'user_interop_ts',
  scopes: ['read:contacts', 'write:calendar'], offlineTTL: '24h' });
const grant = await createOfflineVerifier({ jwksSnapshot: bundle.jwksSnapshot, requireScopes: ['read:contacts'] })
  .verify(bundle.grantToken);
const log = createOfflineAuditLog({ signingKey: bundle.offlineAuditKey,
  logPath: join(mkdtempSync(join(tmpdir(), 'gx-interop-')), 'audit.jsonl') });
const N = 250;
for (let i = 0; i < N; i++) {
  await log.append({ action: 'tool:read_contacts', agentDID: grant.agentDID, grantId: grant.grantId,
    scopes: ['read:contacts'], result: i % 7 === 0 ? 'denied' : 'success',
    metadata: { i, note: 'h\u00e9llo "quoted" \u2028', nested: { x: 1.5, big: 1e21, y: [1, 2, null] } } });
}
const result = await syncAuditLog(log, { endpoint: base, apiKey, bundleId: bundle.bundleId, batchSize: 100 });
const summary = await (await fetch(`${base}/v1/consent-bundles/${bundle.bundleId}`,
  { headers: { Authorization: `Bearer ${apiKey}` } })).json();
console.log(JSON.stringify({ bundleId: bundle.bundleId, ...result, stored: summary.auditEntryCount }));
if (result.hasErrors || result.syncedCount !== N || summary.auditEntryCount !== N) process.exit(1);
"#;

/// Kills the server on every exit path (SIGTERM first, as an operator would).
struct ServerGuard(Child);

impl Drop for ServerGuard {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.0.id().to_string()])
            .status();
        let _ = self.0.wait();
    }
}

pub(crate) fn run(sh: &Shell, args: impl Iterator<Item = String>) -> Result<()> {
    let mut latest = false;
    for arg in args {
        match arg.as_str() {
            "--latest" => latest = true,
            other => bail!("interop: unknown flag `{other}` (only --latest)"),
        }
    }
    peers::check_tools(sh, "interop")?;
    let work = sh.create_temp_dir()?;
    let dir = work.path().to_path_buf();

    cmd!(sh, "cargo build -p gx-server --bin gx-server").run()?;
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map_or_else(|| sh.current_dir().join("target"), PathBuf::from);
    let bin = target.join("debug").join("gx-server");

    let db = dir.join("gx.db");
    let tenant = cmd!(
        sh,
        "{bin} init --db {db} --scope read:contacts --scope write:calendar --json"
    )
    .read()?;
    let api_key = json_field(&tenant, "apiKey")?;
    let agent_id = json_field(&tenant, "agentId")?;

    let ca = dir.join("ca.pem");
    let (_server, url) = start_server(&bin, &db, &ca)?;
    println!("interop: gx-server at {url}");

    python_check(sh, &dir, &ca, &url, &api_key, &agent_id, latest)?;
    node_check(sh, &dir, &ca, &url, &api_key, &agent_id, latest)?;
    println!("interop: OK (Python client bundle + verify, TypeScript client bundle + log + sync)");
    Ok(())
}

fn start_server(bin: &Path, db: &Path, ca: &Path) -> Result<(ServerGuard, String)> {
    let mut child = Command::new(bin)
        .arg("run")
        .arg("--db")
        .arg(db)
        .args(["--listen", "127.0.0.1:0", "--self-signed"])
        .arg(ca)
        .stdout(Stdio::piped())
        .spawn()
        .context("starting gx-server")?;
    let stdout = child.stdout.take().context("gx-server stdout")?;
    let guard = ServerGuard(child);
    let mut url = String::new();
    BufReader::new(stdout).read_line(&mut url)?;
    let url = url.trim().to_owned();
    if !url.starts_with("https://") {
        bail!("gx-server did not print its URL (got `{url}`)");
    }
    Ok((guard, url))
}

fn python_check(
    sh: &Shell,
    dir: &Path,
    ca: &Path,
    url: &str,
    key: &str,
    agent: &str,
    latest: bool,
) -> Result<()> {
    let python = peers::install_python(sh, dir, latest)?;
    let script = dir.join("py_check.py");
    sh.write_file(&script, PY_CHECK)?;
    // httpx trusts SSL_CERT_FILE: the development CA, nothing else.
    let out = cmd!(sh, "{python} {script} {url} {key} {agent}")
        .env("SSL_CERT_FILE", ca)
        .read()?;
    println!("interop: python: {out}");
    Ok(())
}

fn node_check(
    sh: &Shell,
    dir: &Path,
    ca: &Path,
    url: &str,
    key: &str,
    agent: &str,
    latest: bool,
) -> Result<()> {
    let project = peers::install_node(sh, dir, latest)?;
    let _cd = sh.push_dir(&project);
    sh.write_file("ts_check.mjs", TS_CHECK)?;
    let out = cmd!(sh, "node ts_check.mjs {url} {key} {agent}")
        .env("NODE_EXTRA_CA_CERTS", ca)
        .read()?;
    println!("interop: node: {out}");
    Ok(())
}

/// A string field of gx-server's one-line init JSON (no escapes occur in its values).
fn json_field(json: &str, name: &str) -> Result<String> {
    let marker = format!("\"{name}\":\"");
    let start = json
        .find(&marker)
        .with_context(|| format!("`{name}` missing from {json}"))?
        + marker.len();
    let end = json[start..]
        .find('"')
        .with_context(|| format!("`{name}` unterminated in {json}"))?;
    Ok(json[start..start + end].to_owned())
}

#[cfg(test)]
mod tests {
    use super::json_field;

    #[test]
    fn reads_init_json() {
        let j =
            r#"{"developerId":"dev_1","apiKey":"gx_abc-_","agentId":"ag_2","agentDid":"did:x"}"#;
        assert_eq!(json_field(j, "apiKey").unwrap(), "gx_abc-_");
        assert_eq!(json_field(j, "agentId").unwrap(), "ag_2");
        assert!(json_field(j, "nope").is_err());
    }
}
