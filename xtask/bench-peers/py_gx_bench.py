"""bench-peers: this workspace's Python package (grantex_gemma on gx, crates/gx-python) on
the shared workloads, with the same API calls as py_bench.py where the API is the same.

    python py_gx_bench.py bench DATA        one JSON line per workload: median wall and CPU ns per operation
    python py_gx_bench.py verify-once DATA  verify the token once and exit (peak-RSS probe)

Same timing as py_bench.py (in-process, batches, warm-up; process start and imports not
timed). Where it differs: append_nofsync opens the log with fsync="none" and
append_default with the package's default (durable, group commit); the chains are
checked from their JSONL lines with signatures (verify_chain(lines, public_key=...)),
not through a cryptography loop.
"""
import asyncio
import os
import sys
import tempfile

from grantex_gemma import (create_offline_audit_log, create_offline_verifier, load_bundle,
                           store_bundle, verify_chain)
from py_common import bundle, measure, read, snapshot


async def bench(data: str) -> None:
    token = read(data, "token.jwt")
    verifier = create_offline_verifier(snapshot(data), require_scopes=["read:contacts"])
    grant = await verifier.verify(token)
    await measure("verify", lambda: verifier.verify(token), 200, 7, 50)

    b = bundle(data)
    tmp = tempfile.mkdtemp(prefix="gx-bench-pygx-")
    meta = {"i": 0, "tool": "contacts", "count": 42}
    for name, fsync, note in (("append_nofsync", "none", 'fsync="none"'),
                              ("append_default", "group", "durable: fsync per append (group commit)")):
        log = create_offline_audit_log(b.offline_audit_key, os.path.join(tmp, name + ".jsonl"), fsync=fsync)
        await measure(name, lambda: log.append("tool:read_contacts", grant, "success", meta),
                      200, 5, 20, note)

    pem = read(data, "audit_public.pem")

    def lines(name):
        with open(os.path.join(data, name), encoding="utf-8") as f:
            return f.read().splitlines()

    async def links():
        ok, broken = verify_chain(lines("chain_wire.jsonl"))
        assert ok, broken

    async def signatures():
        ok, broken = verify_chain(lines("chain_wire.jsonl"), public_key=pem)
        assert ok, broken

    async def signatures_py():
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ok, broken = verify_chain(lines("chain_py.jsonl"), public_key=pem)
        assert ok, broken

    await measure("chain10k_links", links, 1, 3, 1, "wire chain (chain_wire.jsonl); verify_chain(lines)")
    await measure("chain10k_sig", signatures, 1, 3, 1,
                  "wire chain; verify_chain(lines, public_key=pem): batched Ed25519 on every core")
    await measure("chain10k_sig_pyformat", signatures_py, 1, 2, 0,
                  "the Python client's chain_py.jsonl; verify_chain(lines, public_key=pem), serial")

    key = read(data, "bundle_key.hex")
    file = os.path.join(tmp, "bundle.enc")

    async def store():
        store_bundle(b, file, key)

    async def load():
        load_bundle(file, key)

    await measure("bundle_store", store, 100, 5, 10, "atomic: temp file, fsync, rename, directory fsync")
    await measure("bundle_load", load, 100, 5, 10)


async def verify_once(data: str) -> None:
    verifier = create_offline_verifier(snapshot(data), require_scopes=["read:contacts"])
    await verifier.verify(read(data, "token.jwt"))


mode, data_dir = sys.argv[1], sys.argv[2]
asyncio.run({"bench": bench, "verify-once": verify_once}[mode](data_dir))
