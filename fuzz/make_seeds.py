#!/usr/bin/env python3
"""Writes the fuzz targets' seed corpora (fuzz/seeds/<target>/) from the fixtures.

Run from the repository root: python3 fuzz/make_seeds.py. Deterministic: a rerun leaves
the files unchanged. Seeds over 4 KiB are left out (libFuzzer's default max_len).
"""
import hashlib
import json
import os
import shutil
import struct

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "fuzz", "seeds")
FIX = os.path.join(ROOT, "fixtures")
PEER_NOW = 1795751706
MAX_LEN = 4096


def read(*parts):
    with open(os.path.join(FIX, *parts), "rb") as f:
        return f.read()


def lines(*parts):
    return [l for l in read(*parts).split(b"\n") if l.strip()]


seeds = {}


def seed(target, data):
    if len(data) <= MAX_LEN:
        seeds.setdefault(target, []).append(data)


def now_bytes(now):
    # token_verify maps t < 2^63 to PEER_NOW - 1 day + t mod 8 days.
    off = now - (PEER_NOW - 86400)
    if 0 <= off < 8 * 86400:
        return struct.pack("<Q", off)
    return struct.pack("<Q", (1 << 63) | now)


# token_verify: now, flags (bit 7: the mixed key set), token.
seed("token_verify", now_bytes(PEER_NOW) + b"\x00" + read("peer", "token.jwt").strip())
seed("token_verify", now_bytes(PEER_NOW) + b"\x01" + read("peer", "token.jwt").strip())
catalogue = json.loads(read("tokens", "catalogue.json"))
for case in catalogue["cases"]:
    now = case.get("now", catalogue["now"])
    if not isinstance(now, int):
        now = PEER_NOW
    seed("token_verify", now_bytes(now) + b"\x80" + case["token"].encode())
for bits in ("2048", "3072", "4096"):
    seed("token_verify", now_bytes(PEER_NOW) + b"\x80" + read("tokens", f"rs256_{bits}.jwt").strip())

# jwks_parse: every key set.
for name in ("jwks.json", "jwks_single.json", "jwks_unusable.json", "snapshot.json"):
    seed("jwks_parse", read("tokens", name))
for name in ("jwks.json", "jwks_snapshot.json"):
    seed("jwks_parse", read("peer", name))

# audit_line: mode byte (bit 0 legacy, bit 1 test key), then lines.
test_chain = lines("audit", "signed_chain.jsonl")
ts_chain = lines("peer", "ts-head_chain100.jsonl")
py_chain = lines("peer", "py_chain100.jsonl")
for l in test_chain:
    seed("audit_line", b"\x02" + l)
seed("audit_line", b"\x02" + b"\n".join(test_chain[:5]))
for l in ts_chain[:10]:
    seed("audit_line", b"\x00" + l)
seed("audit_line", b"\x00" + b"\n".join(ts_chain[:4]))
for l in py_chain[:10]:
    seed("audit_line", b"\x01" + l)
seed("audit_line", b"\x01" + b"\n".join(py_chain[:4]))

# metadata_canon: the node vectors' inputs, and the chains' metadata objects.
for l in lines("audit", "metadata_vectors.jsonl"):
    seed("metadata_canon", json.loads(l)["input"].encode())
for l in test_chain + ts_chain[:5]:
    m = json.loads(l).get("metadata")
    if m is not None:
        seed("metadata_canon", json.dumps(m).encode())

# bundle_file: the three peer files (GTXB is skipped by the target but seeds mutants).
for name in ("py_bundle.enc", "ts-npm_bundle.enc", "ts-head_bundle.enc"):
    seed("bundle_file", read("peer", name))

# bundle_json: the plaintext bundle, compact and as given.
bundle = read("peer", "bundle.json")
seed("bundle_json", bundle)
seed("bundle_json", json.dumps(json.loads(bundle), separators=(",", ":")).encode())

# server_request: endpoint byte, flag byte, body or query ($B/$G/$D/$A: this call's ids).
ENTRY = {
    "seq": 1, "timestamp": "2026-11-27T03:55:06.000Z", "action": "tool:read_contacts",
    "agentDID": "$D", "grantId": "$G", "scopes": ["read:contacts"], "result": "success",
    "metadata": {"n": 1}, "prevHash": "0000000000000000", "hash": "0" * 64,
    "signature": "0" * 128,
}
entries = []
for i in range(3):
    e = dict(ENTRY, seq=i + 1, metadata={"i": i, "k": "v\u00e9"})
    entries.append(e)
server = [
    (0, 0, b""), (1, 0, b""),
    (2, 0, json.dumps({"agentId": "$A", "userId": "user_1", "scopes": ["read:contacts"],
                       "offlineTTL": "72h", "offlineAuditKeyAlgorithm": "Ed25519",
                       "deviceId": "dev", "devicePlatform": "linux"}).encode()),
    (2, 8, json.dumps({"agentId": "$A", "userId": "u", "scopes": ["nope"]}).encode()),
    (3, 0, b"status=active&limit=2&agentId=$A"), (3, 0, b"cursor=$B&status=revoked"),
    (4, 0, b""), (5, 0, b""), (5, 32, b""),
    (6, 0, b'{"revokeGrant":true}'), (6, 0, b""), (7, 0, b""),
    (8, 0, b"limit=10&after=0"),
    (9, 0, json.dumps({"bundleId": "$B", "entries": entries[:1]}).encode()),
    (9, 2, json.dumps({"bundleId": "$B", "entries": entries[:1]}).encode()),
    (9, 6, json.dumps({"bundleId": "$B", "entries": entries}).encode()),
    (9, 14, json.dumps({"bundleId": "$B", "entries": entries}).encode()),
    (9, 0, json.dumps({"bundleId": "$B", "entries": []}).encode()),
    (10, 0, b""), (2, 1, b"{}"),
]
for ep, flags, payload in server:
    seed("server_request", bytes([ep, flags]) + payload)
for l in ts_chain[:3]:
    seed("server_request", b"\x09\x00" + b'{"bundleId":"$B","entries":[' + l + b"]}")

if os.path.isdir(OUT):
    shutil.rmtree(OUT)
for target, items in sorted(seeds.items()):
    d = os.path.join(OUT, target)
    os.makedirs(d)
    for data in items:
        name = hashlib.sha1(data).hexdigest()
        with open(os.path.join(d, name), "wb") as f:
            f.write(data)
    print(f"{target}: {len(items)} seeds")
