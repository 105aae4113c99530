"""The dataclasses of the grantex_gemma API (fields as in grantex-gemma 0.1.2)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Dict, List, Optional


@dataclass
class JWKSSnapshot:
    """The issuer's public keys at bundle time, for verifying grant tokens offline."""

    keys: List[Dict[str, Any]]
    fetched_at: str
    valid_until: str


@dataclass
class OfflineAuditKey:
    """The bundle's Ed25519 key pair (PEM) that signs audit entries."""

    public_key: str
    private_key: str
    algorithm: str

    def __repr__(self) -> str:
        # The private key never appears in a repr, a log line or a traceback.
        return f"OfflineAuditKey(algorithm={self.algorithm!r}, public_key=..., private_key=<hidden>)"


@dataclass
class ConsentBundle:
    """Everything a device needs to act offline: token, key snapshot, audit key, endpoint."""

    bundle_id: str
    grant_token: str
    jwks_snapshot: JWKSSnapshot
    offline_audit_key: OfflineAuditKey
    checkpoint_at: int
    sync_endpoint: str
    offline_expires_at: str


@dataclass
class VerifiedGrant:
    """A grant token that verified offline, and what it allows."""

    agent_did: str
    principal_did: str
    scopes: List[str]
    expires_at: datetime
    jti: str
    grant_id: str
    depth: int


@dataclass
class SignedAuditEntry:
    """One audit entry: hash-chained (SHA-256) and signed (Ed25519).

    Entries written by this package are in the protocol's wire format: genesis
    ``prev_hash`` is sixteen zeros and ``signature`` is 128 hex characters.
    """

    seq: int
    timestamp: str
    action: str
    agent_did: str
    grant_id: str
    scopes: List[str]
    result: str
    metadata: Dict[str, Any]
    prev_hash: str
    hash: str
    signature: str


@dataclass
class SyncResult:
    """What the server said about an uploaded audit log."""

    accepted: int
    rejected: int
    revocation_status: str
    new_bundle: Optional[ConsentBundle] = field(default=None)
