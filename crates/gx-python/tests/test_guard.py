"""guard: verify, enforce, run, audit, for plain and async tools."""

from __future__ import annotations

import json

import pytest

from grantex_gemma import (
    OfflineVerificationError,
    ScopeViolationError,
    create_offline_audit_log,
    create_offline_verifier,
    guard,
    verify_log,
)


def _lines(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f]


def test_a_sync_tool_runs_and_every_outcome_is_audited(snapshot, make_token, audit_key, log_path) -> None:
    log = create_offline_audit_log(audit_key, log_path)
    verifier = create_offline_verifier(snapshot)

    @guard("read:contacts", audit_log=log, verifier=verifier, token=make_token())
    def read_contacts(n: int) -> list:
        return list(range(n))

    @guard(["read:contacts", "admin:delete"], audit_log=log, verifier=verifier, token=make_token())
    def delete_all() -> None:
        raise AssertionError("must not run")

    @guard("write:calendar", audit_log=log, verifier=verifier, token=make_token, action="calendar.add")
    def add_event() -> None:
        raise RuntimeError("calendar is down")

    assert read_contacts(3) == [0, 1, 2]
    assert read_contacts.__name__ == "read_contacts"
    with pytest.raises(ScopeViolationError, match="admin:delete"):
        delete_all()
    with pytest.raises(RuntimeError):
        add_event()
    lines = _lines(log_path)
    assert [(e["action"], e["result"]) for e in lines] == [
        ("tool:read_contacts", "success"),
        ("tool:delete_all", "denied"),
        ("calendar.add", "error"),
    ]
    assert lines[1]["metadata"] == {"missingScopes": ["admin:delete"]}
    assert lines[2]["metadata"] == {"error": "RuntimeError"}
    assert verify_log(log_path, audit_key.public_key).valid


async def test_an_async_tool_is_guarded_the_same_way(snapshot, make_token, audit_key, log_path) -> None:
    log = create_offline_audit_log(audit_key, log_path)

    @guard("read:contacts", audit_log=log, verifier=create_offline_verifier(snapshot), token=make_token())
    async def lookup(name: str) -> str:
        return name.upper()

    @guard("send:email", audit_log=log, verifier=create_offline_verifier(snapshot), token=make_token())
    async def send() -> None:
        raise AssertionError("must not run")

    assert await lookup("ada") == "ADA"
    with pytest.raises(ScopeViolationError):
        await send()
    assert [e["result"] for e in _lines(log_path)] == ["success", "denied"]


def test_an_invalid_token_stops_the_tool_and_writes_nothing(snapshot, make_token, audit_key, log_path) -> None:
    log = create_offline_audit_log(audit_key, log_path)
    ran = []

    @guard("read:contacts", audit_log=log, verifier=create_offline_verifier(snapshot),
           token=make_token({"exp": 1000, "iat": 900}))
    def tool() -> None:
        ran.append(1)

    with pytest.raises(OfflineVerificationError.__base__):
        tool()
    assert ran == [] and log.last_seq == 0


def test_guard_needs_a_grant_source(audit_key, log_path) -> None:
    log = create_offline_audit_log(audit_key, log_path)
    with pytest.raises(ValueError):
        guard("a", audit_log=log)
    with pytest.raises(ValueError):
        guard([], audit_log=log)
