"""bench-peers: what py_bench.py (the Python client) and py_gx_bench.py (grantex_gemma on gx)
share: reading the data files into the API's types, and the in-process timer that prints
one JSON line per workload. Both packages install the same import package, so this
works with either."""
import json
import os
import statistics
import time

from grantex_gemma import ConsentBundle, JWKSSnapshot, OfflineAuditKey


def read(data: str, name: str) -> str:
    with open(os.path.join(data, name), encoding="utf-8") as f:
        return f.read().strip()


def snapshot(data: str) -> JWKSSnapshot:
    s = json.loads(read(data, "jwks_snapshot.json"))
    return JWKSSnapshot(keys=s["keys"], fetched_at=s["fetchedAt"], valid_until=s["validUntil"])


def bundle(data: str) -> ConsentBundle:
    b = json.loads(read(data, "bundle.json"))
    k = b["offlineAuditKey"]
    s = b["jwksSnapshot"]
    return ConsentBundle(bundle_id=b["bundleId"], grant_token=b["grantToken"],
                         jwks_snapshot=JWKSSnapshot(s["keys"], s["fetchedAt"], s["validUntil"]),
                         offline_audit_key=OfflineAuditKey(k["publicKey"], k["privateKey"], k["algorithm"]),
                         checkpoint_at=b["checkpointAt"], sync_endpoint=b["syncEndpoint"],
                         offline_expires_at=b["offlineExpiresAt"])


async def measure(name, op, batch, samples, warm, note=None):
    for _ in range(warm):
        await op()
    wall, cpu = [], []
    for _ in range(samples):
        t0, c0 = time.perf_counter_ns(), time.process_time_ns()
        for _ in range(batch):
            await op()
        wall.append((time.perf_counter_ns() - t0) / batch)
        cpu.append((time.process_time_ns() - c0) / batch)
    line = {"workload": name, "ns": statistics.median(wall), "cpu_ns": statistics.median(cpu),
            "samples": wall, "batch": batch}
    if note:
        line["note"] = note
    print(json.dumps(line), flush=True)
