"""Fixtures of the package's own tests: fresh RSA and Ed25519 keys, a JWKS snapshot valid
now, a token maker, the peer fixtures written by the published clients."""

from __future__ import annotations

import json
import os
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Callable, Dict, Optional

import jwt as pyjwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from jwt.algorithms import RSAAlgorithm

from grantex_gemma import JWKSSnapshot, OfflineAuditKey, VerifiedGrant

REPO = Path(__file__).resolve().parents[3]
PEER = REPO / "fixtures" / "peer"


def iso(t: datetime) -> str:
    return t.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000Z")


@pytest.fixture(scope="session")
def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="session")
def snapshot(rsa_key: rsa.RSAPrivateKey) -> JWKSSnapshot:
    jwk: Dict[str, Any] = json.loads(RSAAlgorithm.to_jwk(rsa_key.public_key()))
    jwk.update(kid="k1", use="sig", alg="RS256")
    now = datetime.now(timezone.utc)
    return JWKSSnapshot(keys=[jwk], fetched_at=iso(now - timedelta(hours=1)),
                        valid_until=iso(now + timedelta(days=1)))


@pytest.fixture(scope="session")
def make_token(rsa_key: rsa.RSAPrivateKey) -> Callable[..., str]:
    def make(claims: Optional[Dict[str, Any]] = None, kid: Optional[str] = "k1") -> str:
        now = int(time.time())
        body: Dict[str, Any] = {
            "jti": "tok_1", "sub": "user_1", "agt": "did:grantex:ag_1", "dev": "dev_1",
            "scp": ["read:contacts", "write:calendar"], "grnt": "grnt_1",
            "iat": now, "exp": now + 3600,
        }
        body.update(claims or {})
        headers = {"kid": kid} if kid is not None else {}
        return pyjwt.encode(body, rsa_key, algorithm="RS256", headers=headers)

    return make


@pytest.fixture(scope="session")
def audit_key() -> OfflineAuditKey:
    k = Ed25519PrivateKey.generate()
    return OfflineAuditKey(
        public_key=k.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode(),
        private_key=k.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption()).decode(),
        algorithm="Ed25519",
    )


@pytest.fixture
def grant() -> VerifiedGrant:
    return VerifiedGrant(agent_did="did:grantex:ag_1", principal_did="user_1",
                         scopes=["read:contacts", "write:calendar"],
                         expires_at=datetime(2030, 1, 1, tzinfo=timezone.utc),
                         jti="tok_1", grant_id="grnt_1", depth=0)


@pytest.fixture
def log_path(tmp_path: Path) -> str:
    return os.fspath(tmp_path / "audit.jsonl")
