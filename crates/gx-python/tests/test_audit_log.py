"""The audit log: wire format, durability options, lock, concurrency, 0600, legacy logs."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import stat
import subprocess
import sys
import threading
import warnings

import pytest
from cryptography.hazmat.primitives.serialization import load_pem_public_key

from grantex_gemma import (
    AuditLogError,
    LegacyFormatWarning,
    SignedAuditEntry,
    compute_entry_hash,
    create_offline_audit_log,
    verify_chain,
    verify_log,
)

from conftest import PEER

HEX = set("0123456789abcdef")


async def test_entries_are_in_the_wire_format(audit_key, grant, log_path) -> None:
    log = create_offline_audit_log(audit_key, log_path)
    first = await log.append("tool:read", grant, "success", {"count": 42, "z": 1, "a": [1.5, "é"]})
    second = await log.append("tool:write", grant, "denied")
    assert first.prev_hash == "0" * 16 and second.prev_hash == first.hash
    assert len(first.signature) == 128 and set(first.signature) <= HEX
    with open(log_path, encoding="utf-8") as f:
        lines = [json.loads(line) for line in f]
    assert list(lines[0]) == ["seq", "timestamp", "action", "agentDID", "grantId", "scopes",
                              "result", "metadata", "prevHash", "hash", "signature"]
    assert lines[0]["prevHash"] == "0000000000000000" and lines[1]["metadata"] == {}
    key = load_pem_public_key(audit_key.public_key.encode())
    for line in lines:
        key.verify(bytes.fromhex(line["signature"]), line["hash"].encode())
    assert compute_entry_hash({**first.__dict__}) == first.hash
    assert verify_chain([first, second], public_key=audit_key.public_key) == (True, None)
    report = verify_log(log_path, audit_key.public_key)
    assert (report.valid, report.entries, report.format) == (True, 2, "wire")


async def test_the_log_file_is_owner_only(audit_key, grant, log_path) -> None:
    await create_offline_audit_log(audit_key, log_path).append("a", grant, "success")
    assert stat.S_IMODE(os.stat(log_path).st_mode) == 0o600


@pytest.mark.parametrize("fsync", ["group", "every", "none"])
async def test_every_fsync_policy_writes_the_same_chain(audit_key, grant, tmp_path, fsync) -> None:
    path = str(tmp_path / f"{fsync}.jsonl")
    log = create_offline_audit_log(audit_key, path, fsync=fsync)
    for i in range(5):
        await log.append("a", grant, "success", {"i": i})
    assert log.last_seq == 5
    assert verify_log(path, audit_key.public_key).valid


def test_a_second_process_is_locked_out(audit_key, grant, log_path) -> None:
    log = create_offline_audit_log(audit_key, log_path)
    log.append_sync("a", grant, "success")
    code = (
        "import sys, grantex_gemma as g\n"
        "k = g.OfflineAuditKey(sys.argv[2], sys.argv[3], 'Ed25519')\n"
        "try:\n    g.create_offline_audit_log(k, sys.argv[1])\n"
        "except g.AuditLogError as e:\n    print(e.code)\n"
    )
    out = subprocess.run([sys.executable, "-c", code, log_path, audit_key.public_key,
                          audit_key.private_key], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "LOG_LOCKED"


def test_threads_append_concurrently_without_gaps(audit_key, grant, log_path) -> None:
    log = create_offline_audit_log(audit_key, log_path)
    seqs: list = []
    lock = threading.Lock()

    def work(t: int) -> None:
        for i in range(25):
            e = log.append_sync("tool:t", grant, "success", {"t": t, "i": i})
            with lock:
                seqs.append(e.seq)

    threads = [threading.Thread(target=work, args=(t,)) for t in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(seqs) == list(range(1, 201))
    report = verify_log(log_path, audit_key.public_key)
    assert (report.valid, report.entries) == (True, 200)


async def test_asyncio_tasks_append_concurrently_without_gaps(audit_key, grant, log_path) -> None:
    log = create_offline_audit_log(audit_key, log_path)
    entries = await asyncio.gather(*(log.append("tool:x", grant, "success", {"i": i}) for i in range(100)))
    assert sorted(e.seq for e in entries) == list(range(1, 101))
    chain = sorted(entries, key=lambda e: e.seq)
    assert verify_chain(chain, public_key=audit_key.public_key) == (True, None)


async def test_instances_of_one_path_share_the_writer(audit_key, grant, log_path) -> None:
    a = create_offline_audit_log(audit_key, log_path)
    b = create_offline_audit_log(audit_key, log_path)
    e1 = await a.append("a", grant, "success")
    e2 = await b.append("b", grant, "success")
    assert (e1.seq, e2.seq, e2.prev_hash) == (1, 2, e1.hash)


async def test_reopening_continues_the_chain(audit_key, grant, log_path) -> None:
    first = await create_offline_audit_log(audit_key, log_path).append("a", grant, "success")
    import gc

    gc.collect()  # the first writer is gone: the lock is free
    second = await create_offline_audit_log(audit_key, log_path).append("b", grant, "success")
    assert (second.seq, second.prev_hash) == (2, first.hash)


async def test_bad_metadata_writes_nothing(audit_key, grant, log_path) -> None:
    log = create_offline_audit_log(audit_key, log_path)
    with pytest.raises(AuditLogError) as e:
        await log.append("a", grant, "success", {"x": float("nan")})
    assert e.value.code == "INVALID_ENTRY"
    with pytest.raises(AuditLogError):
        await log.append("a", grant, "success", {"__proto__": 1})
    assert log.last_seq == 0


def test_a_tampered_entry_is_found(audit_key, grant, log_path) -> None:
    log = create_offline_audit_log(audit_key, log_path)
    chain = [log.append_sync(f"a{i}", grant, "success") for i in range(4)]
    chain[2] = SignedAuditEntry(**{**chain[2].__dict__, "result": "failure"})
    assert verify_chain(chain) == (False, 2)
    forged = SignedAuditEntry(**{**chain[1].__dict__, "signature": "00" * 64})
    assert verify_chain([chain[0], forged], public_key=audit_key.public_key) == (False, 1)


def _legacy_entries():
    with open(PEER / "py_chain100.jsonl", encoding="utf-8") as f:
        return [SignedAuditEntry(**json.loads(line)) for line in f if line.strip()]


def test_a_log_of_the_original_client_verifies_with_a_warning() -> None:
    pem = (PEER / "audit_ed25519_public.pem").read_text()
    with pytest.warns(LegacyFormatWarning, match="rejects"):
        report = verify_log(str(PEER / "py_chain100.jsonl"), pem)
    assert (report.valid, report.entries, report.format) == (True, 100, "py")
    entries = _legacy_entries()
    with pytest.warns(LegacyFormatWarning):
        assert verify_chain(entries, public_key=pem) == (True, None)
    entries[7] = SignedAuditEntry(**{**entries[7].__dict__, "action": "other"})
    with pytest.warns(LegacyFormatWarning):
        assert verify_chain(entries) == (False, 7)


def test_the_wire_fixture_of_the_ts_client_verifies() -> None:
    pem = (PEER / "audit_ed25519_public.pem").read_text()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        report = verify_log(str(PEER / "ts-head_chain100.jsonl"), pem)
    assert (report.valid, report.entries, report.format) == (True, 100, "wire")


async def test_a_legacy_log_at_the_path_is_set_aside(audit_key, grant, tmp_path) -> None:
    path = tmp_path / "audit.jsonl"
    shutil.copy(PEER / "py_chain100.jsonl", path)
    with pytest.warns(LegacyFormatWarning, match="moved"):
        log = create_offline_audit_log(audit_key, str(path))
    entry = await log.append("a", grant, "success")
    assert (entry.seq, entry.prev_hash) == (1, "0" * 16)
    moved = tmp_path / "audit.jsonl.grantex-gemma-0.1"
    assert moved.read_bytes() == (PEER / "py_chain100.jsonl").read_bytes()


def test_jsonl_lines_verify_without_python_objects() -> None:
    pem = (PEER / "audit_ed25519_public.pem").read_text()
    wire = (PEER / "ts-head_chain100.jsonl").read_text().splitlines()
    assert verify_chain(wire, public_key=pem) == (True, None)
    assert verify_chain(wire) == (True, None)
    tampered = list(wire)
    tampered[40] = tampered[40].replace('"result":"success"', '"result":"failure"')
    assert tampered != wire
    assert verify_chain(tampered, public_key=pem) == (False, 40)
    assert verify_chain(wire[:10] + wire[11:]) == (False, 10)
    legacy = (PEER / "py_chain100.jsonl").read_text().splitlines()
    with pytest.warns(LegacyFormatWarning):
        assert verify_chain(legacy, public_key=pem) == (True, None)


def test_instances_with_different_keys_each_sign_with_their_own(audit_key, grant, log_path) -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from grantex_gemma import OfflineAuditKey

    other = Ed25519PrivateKey.generate()
    other_key = OfflineAuditKey(
        public_key=other.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode(),
        private_key=other.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption()).decode(),
        algorithm="Ed25519",
    )
    a = create_offline_audit_log(audit_key, log_path)
    b = create_offline_audit_log(other_key, log_path)
    entries = [a.append_sync("a", grant, "success"), b.append_sync("b", grant, "success"),
               a.append_sync("a", grant, "success")]
    keys = [audit_key, other_key, audit_key]
    for e, k in zip(entries, keys):
        load_pem_public_key(k.public_key.encode()).verify(bytes.fromhex(e.signature), e.hash.encode())
    assert [e.seq for e in entries] == [1, 2, 3]
    assert verify_chain(entries) == (True, None)
    assert verify_chain(entries, public_key=audit_key.public_key) == (False, 1)
