"""Interop: what the package writes is accepted by gx itself (`gx audit verify`), by
gx-server's sync (a real server on a loopback port) and by the TypeScript client's
verifyChain + verifyEntrySignature.

The gx binary is `$GX_BIN`, else the workspace's target/debug/gx (built by
`cargo build -p gx-cli`); the TypeScript check needs `$GX_TS_PROJECT`, an npm project
with @grantex/gemma installed. Without them these tests skip and say why.
"""

from __future__ import annotations

import json
import os
import subprocess
import textwrap
from pathlib import Path

import httpx
import pytest

from grantex_gemma import (
    create_consent_bundle,
    create_offline_audit_log,
    create_offline_verifier,
    load_bundle,
    store_bundle,
)

from conftest import REPO


def _gx() -> Path:
    path = Path(os.environ.get("GX_BIN", REPO / "target" / "debug" / "gx"))
    if not path.is_file():
        pytest.skip(f"no gx binary at {path}: cargo build -p gx-cli (or set GX_BIN)")
    return path


async def _write_log(audit_key, grant, path: str, n: int = 20) -> None:
    log = create_offline_audit_log(audit_key, path)
    for i in range(n):
        await log.append("tool:read_contacts", grant, "success",
                         {"i": i, "f": 0.1 * i, "big": 2**60, "s": "é\u2028/\"\n", "nested": {"b": 1, "2": 0}})


async def test_gx_audit_verify_accepts_the_log(audit_key, grant, log_path, tmp_path) -> None:
    gx = _gx()
    await _write_log(audit_key, grant, log_path)
    pem = tmp_path / "audit.pem"
    pem.write_text(audit_key.public_key)
    out = subprocess.run([str(gx), "audit", "verify", log_path, "--public-key", str(pem), "--json"],
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout)
    assert (report["valid"], report["entries"], report["format"]) == (True, 20, "wire")


def test_the_typescript_client_verifies_the_log(audit_key, grant, log_path) -> None:
    project = os.environ.get("GX_TS_PROJECT")
    if not project:
        pytest.skip("set GX_TS_PROJECT to an npm project with @grantex/gemma installed")
    import asyncio

    asyncio.run(_write_log(audit_key, grant, log_path))
    script = Path(project) / "gx_python_check.mjs"
    script.write_text(textwrap.dedent("""
        import { readFileSync } from 'node:fs';
        import { verifyChain, verifyEntrySignature } from '@grantex/gemma';
        const [log, pem] = process.argv.slice(2);
        const entries = readFileSync(log, 'utf-8').trim().split('\\n').map((l) => JSON.parse(l));
        const chain = verifyChain(entries);
        const signed = entries.every((e) => verifyEntrySignature(e, pem));
        console.log(JSON.stringify({ valid: chain.valid, signed, n: entries.length }));
    """))
    out = subprocess.run(["node", str(script), log_path, audit_key.public_key],
                         capture_output=True, text=True, cwd=project)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout) == {"valid": True, "signed": True, "n": 20}


@pytest.fixture
def server(tmp_path):
    gx = _gx()
    db = tmp_path / "server.db"
    init = subprocess.run([str(gx), "server", "init", "--db", str(db), "--scope", "read:contacts",
                           "--scope", "write:calendar", "--json"], capture_output=True, text=True)
    assert init.returncode == 0, init.stderr
    tenant = json.loads(init.stdout)
    proc = subprocess.Popen([str(gx), "server", "run", "--db", str(db), "--listen", "127.0.0.1:0",
                             "--plain-http", "--no-rate-limits"],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:"), url
        yield url, tenant
    finally:
        proc.terminate()
        proc.wait(timeout=30)


async def test_gx_server_accepts_the_sync(server, tmp_path) -> None:
    url, tenant = server
    key = tenant["apiKey"]
    bundle = await create_consent_bundle(key, tenant["agentId"], "user_py", ["read:contacts"],
                                         offline_ttl="1h", base_url=url)
    # Stored and loaded through gx's bundle file, then verified offline.
    path = tmp_path / "bundle.enc"
    store_bundle(bundle, str(path), "ab" * 32)
    bundle = load_bundle(str(path), "ab" * 32)
    grant = await create_offline_verifier(bundle.jwks_snapshot, require_scopes=["read:contacts"]).verify(
        bundle.grant_token)
    log = create_offline_audit_log(bundle.offline_audit_key, str(tmp_path / "audit.jsonl"))
    for i in range(5):
        await log.append("tool:read_contacts", grant, "success", {"i": i, "ratio": 0.5})
    endpoint = bundle.sync_endpoint
    assert endpoint == f"{url}/v1/audit/offline-sync"
    first = await log.sync(endpoint, key, bundle.bundle_id, batch_size=2)
    assert (first.accepted, first.rejected, first.revocation_status) == (5, 0, "valid")
    assert log.synced_seq == 5
    again = await log.sync(endpoint, key, bundle.bundle_id)
    assert again.accepted == 0  # nothing past the cursor is sent twice

    async with httpx.AsyncClient() as client:
        headers = {"Authorization": f"Bearer {key}"}
        stored = (await client.get(f"{url}/v1/consent-bundles/{bundle.bundle_id}/audit",
                                   headers=headers)).json()
        assert [e["seq"] for e in stored["entries"]] == [1, 2, 3, 4, 5]
        revoked = await client.post(f"{url}/v1/consent-bundles/{bundle.bundle_id}/revoke",
                                    headers=headers, json={"revokeGrant": False})
        assert revoked.status_code == 200
    await log.append("tool:read_contacts", grant, "success")
    after = await log.sync(endpoint, key, bundle.bundle_id)
    assert after.revocation_status == "revoked"
