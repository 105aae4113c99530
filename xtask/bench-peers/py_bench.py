"""bench-peers: the published Python client (grantex-gemma) on the shared workloads.

    python py_bench.py bench DATA        one JSON line per workload: median wall and CPU ns per operation
    python py_bench.py verify-once DATA  verify the token once and exit (peak-RSS probe)

Timing is in-process (time.perf_counter_ns for wall time, time.process_time_ns for
CPU time) over batches of calls, after a warm-up;
process start and imports are not timed. The workload names and sizes match the gx
harness (crates/gx-cli/examples/bench_peers.rs) and ts_bench.mjs.
"""
import asyncio
import base64
import json
import os
import sys
import tempfile

from cryptography.hazmat.primitives.serialization import load_pem_public_key

from grantex_gemma import (SignedAuditEntry, create_offline_audit_log, create_offline_verifier,
                           load_bundle, store_bundle, verify_chain)
from py_common import bundle, measure, read, snapshot


async def bench(data: str) -> None:
    token = read(data, "token.jwt")
    verifier = create_offline_verifier(snapshot(data), require_scopes=["read:contacts"])
    grant = await verifier.verify(token)
    await measure("verify", lambda: verifier.verify(token), 200, 7, 50)

    b = bundle(data)
    tmp = tempfile.mkdtemp(prefix="gx-bench-py-")
    meta = {"i": 0, "tool": "contacts", "count": 42}
    for name in ("append_nofsync", "append_default"):
        log = create_offline_audit_log(b.offline_audit_key, os.path.join(tmp, name + ".jsonl"))
        await measure(name, lambda: log.append("tool:read_contacts", grant, "success", meta),
                      200, 5, 20, "the client never fsyncs")

    pem = read(data, "audit_public.pem").encode()
    path = os.path.join(data, "chain_py.jsonl")

    def entries():
        with open(path, encoding="utf-8") as f:
            return [SignedAuditEntry(**json.loads(line)) for line in f if line.strip()]

    async def links():
        ok, broken = verify_chain(entries())
        assert ok, broken

    async def signatures():
        chain = entries()
        ok, broken = verify_chain(chain)
        assert ok, broken
        key = load_pem_public_key(pem)
        for e in chain:
            key.verify(base64.urlsafe_b64decode(e.signature), e.hash.encode())

    await measure("chain10k_links", links, 1, 3, 1, "own format (chain_py.jsonl); verify_chain")
    await measure("chain10k_sig", signatures, 1, 2, 0,
                  "own format; verify_chain + cryptography Ed25519 verify per entry "
                  "(the client has no signature check)")

    key = read(data, "bundle_key.hex")
    file = os.path.join(tmp, "bundle.enc")

    async def store():
        store_bundle(b, file, key)

    async def load():
        load_bundle(file, key)

    await measure("bundle_store", store, 100, 5, 10, "no fsync, no atomic rename")
    await measure("bundle_load", load, 100, 5, 10)


async def verify_once(data: str) -> None:
    verifier = create_offline_verifier(snapshot(data), require_scopes=["read:contacts"])
    await verifier.verify(read(data, "token.jwt"))


mode, data_dir = sys.argv[1], sys.argv[2]
asyncio.run({"bench": bench, "verify-once": verify_once}[mode](data_dir))
