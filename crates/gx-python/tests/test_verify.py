"""The verifier: gx's checks and codes behind the original client's exception classes."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from grantex_gemma import (
    GrantexGemmaError,
    JWKSSnapshot,
    OfflineVerificationError,
    ScopeViolationError,
    TokenExpiredError,
    create_offline_verifier,
)

from conftest import iso


async def test_valid_token_gives_the_grant(snapshot, make_token) -> None:
    grant = await create_offline_verifier(snapshot, require_scopes=["read:contacts"]).verify(make_token())
    assert (grant.agent_did, grant.principal_did, grant.jti, grant.grant_id, grant.depth) == (
        "did:grantex:ag_1", "user_1", "tok_1", "grnt_1", 0)
    assert grant.scopes == ["read:contacts", "write:calendar"]
    assert grant.expires_at.tzinfo is not None and grant.expires_at > datetime.now(timezone.utc)


def test_verify_sync_is_the_same_check(snapshot, make_token) -> None:
    verifier = create_offline_verifier(snapshot)
    assert verifier.verify_sync(make_token()).grant_id == "grnt_1"
    with pytest.raises(OfflineVerificationError) as e:
        verifier.verify_sync(make_token()[:-4] + "AAAA")
    assert e.value.code == "BAD_SIGNATURE"


def test_an_expired_snapshot_refuses_a_fresh_token(snapshot, make_token) -> None:
    """gx's validUntil check, which grantex-gemma 0.1.2 does not make."""
    old = JWKSSnapshot(keys=snapshot.keys, fetched_at="2026-01-01T00:00:00Z",
                       valid_until=iso(datetime.now(timezone.utc) - timedelta(hours=1)))
    with pytest.raises(TokenExpiredError) as e:
        create_offline_verifier(old).verify_sync(make_token())
    assert e.value.code == "JWKS_SNAPSHOT_EXPIRED"


def test_a_token_must_name_its_key(snapshot, make_token) -> None:
    with pytest.raises(OfflineVerificationError, match="kid") as e:
        create_offline_verifier(snapshot).verify_sync(make_token(kid=None))
    assert e.value.code == "MISSING_KID"


@pytest.mark.parametrize(
    ("claims", "kid", "cls", "code"),
    [
        ({"exp": 1000, "iat": 900}, "k1", TokenExpiredError, "TOKEN_EXPIRED"),
        ({"iat": 4_000_000_000, "exp": 4_000_003_600}, "k1", OfflineVerificationError, "FUTURE_IAT"),
        ({"scp": "read:contacts"}, "k1", OfflineVerificationError, "INVALID_CLAIM"),
        ({"delegationDepth": 5}, "k1", OfflineVerificationError, "DELEGATION_DEPTH_EXCEEDED"),
        ({}, "other", OfflineVerificationError, "KID_NOT_FOUND"),
    ],
)
def test_each_failure_has_its_class_and_code(snapshot, make_token, claims, kid, cls, code) -> None:
    verifier = create_offline_verifier(snapshot, max_delegation_depth=2)
    with pytest.raises(cls) as e:
        verifier.verify_sync(make_token(claims, kid=kid))
    assert e.value.code == code
    assert isinstance(e.value, GrantexGemmaError)


def test_missing_scopes_are_all_named(snapshot, make_token) -> None:
    verifier = create_offline_verifier(snapshot, require_scopes=["a:x", "read:contacts", "b:y"])
    with pytest.raises(ScopeViolationError, match="a:x, b:y") as e:
        verifier.verify_sync(make_token())
    assert e.value.code == "SCOPE_VIOLATION"


def test_log_mode_warns_and_returns_the_grant(snapshot, make_token, caplog) -> None:
    verifier = create_offline_verifier(snapshot, require_scopes=["admin:all"], on_scope_violation="log")
    with caplog.at_level("WARNING", logger="grantex_gemma"):
        assert verifier.verify_sync(make_token()).jti == "tok_1"
    assert "admin:all" in caplog.text


def test_bad_options_are_refused(snapshot) -> None:
    with pytest.raises(ValueError):
        create_offline_verifier(snapshot, on_scope_violation="ignore")


def test_a_broken_snapshot_fails_at_verify(make_token) -> None:
    bad = JWKSSnapshot(keys=[], fetched_at="yesterday", valid_until="tomorrow")
    with pytest.raises(OfflineVerificationError):
        create_offline_verifier(bad).verify_sync(make_token())
