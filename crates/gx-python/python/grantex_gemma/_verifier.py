"""Offline grant-token verification: gx-core's RS256 verifier behind the grantex-gemma API.

The JWKS snapshot is parsed once, when the verifier is made; ``verify`` runs gx-core with
the GIL released. gx's checks apply in full: RS256 only, the token must name its key
(``kid``) and that key must be in the snapshot, required claims (``jti``, ``sub``,
``agt``, ``scp`` as a list of strings, ``exp``), ``nbf``/``iat`` not in the future, and the
snapshot's ``validUntil``, all with the configured clock skew.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime, timezone
from typing import List, Optional

from . import _native
from ._errors import (
    GrantexGemmaError,
    OfflineVerificationError,
    ScopeViolationError,
    TokenExpiredError,
    _with_code,
)
from ._types import JWKSSnapshot, VerifiedGrant

logger = logging.getLogger("grantex_gemma")


class OfflineVerifier:
    """Verifies grant tokens against one JWKS snapshot, without any network call."""

    def __init__(
        self,
        jwks_snapshot: JWKSSnapshot,
        clock_skew_seconds: int = 30,
        require_scopes: Optional[List[str]] = None,
        max_delegation_depth: Optional[int] = None,
        on_scope_violation: str = "throw",
    ) -> None:
        if on_scope_violation not in ("throw", "log"):
            raise ValueError(
                f"on_scope_violation must be 'throw' or 'log', not {on_scope_violation!r}"
            )
        if clock_skew_seconds < 0:
            raise ValueError("clock_skew_seconds must not be negative")
        self._snapshot = jwks_snapshot
        self._require_scopes = list(require_scopes or [])
        self._on_scope_violation = on_scope_violation
        snapshot_json = json.dumps(
            {
                "keys": jwks_snapshot.keys,
                "fetchedAt": jwks_snapshot.fetched_at,
                "validUntil": jwks_snapshot.valid_until,
            }
        )
        self._native = _native.NativeVerifier(
            snapshot_json,
            int(clock_skew_seconds),
            self._require_scopes,
            on_scope_violation == "log",
            max_delegation_depth,
        )

    async def verify(self, token: str) -> VerifiedGrant:
        """Verify ``token`` offline and return the grant it carries.

        Raises OfflineVerificationError, TokenExpiredError or ScopeViolationError.
        """
        return self.verify_sync(token)

    def verify_sync(self, token: str) -> VerifiedGrant:
        """``verify`` for code that is not async (same checks, same errors)."""
        if not isinstance(token, str):
            raise _with_code(OfflineVerificationError("Malformed JWT: not a string"), "MALFORMED_TOKEN")
        try:
            agent, principal, scopes, exp, jti, grant_id, depth, missing = self._native.verify(token)
        except _native.GxError as err:
            raise _verify_error(*err.args) from None
        if missing:
            logger.warning(
                "Scope violation (logged, not thrown): missing required scopes: %s",
                ", ".join(missing),
            )
        return VerifiedGrant(
            agent_did=agent,
            principal_did=principal,
            scopes=scopes,
            expires_at=datetime.fromtimestamp(exp, tz=timezone.utc),
            jti=jti,
            grant_id=grant_id,
            depth=depth,
        )


def _verify_error(code: str, message: str, detail: Optional[str]) -> GrantexGemmaError:
    """The original client's exception class and wording for a gx verification failure."""
    exc: GrantexGemmaError
    if code in ("MALFORMED_TOKEN", "TOKEN_TOO_LARGE"):
        exc = OfflineVerificationError(f"Malformed JWT: {message}")
    elif code in ("BLOCKED_ALGORITHM", "UNSUPPORTED_ALGORITHM"):
        exc = OfflineVerificationError(f"Algorithm '{detail}' is not allowed: only RS256 ({message})")
    elif code == "MISSING_KID":
        exc = OfflineVerificationError("JWT header has no kid: the token must name its signing key")
    elif code == "KID_NOT_FOUND":
        exc = OfflineVerificationError(f"No key found in the JWKS snapshot for kid '{detail}'")
    elif code == "NO_USABLE_KEYS":
        exc = OfflineVerificationError("No RSA keys available in the JWKS snapshot")
    elif code == "BAD_SIGNATURE":
        exc = OfflineVerificationError("Token signature verification failed")
    elif code == "TOKEN_EXPIRED":
        exc = TokenExpiredError(f"Token has expired ({message})")
    elif code == "JWKS_SNAPSHOT_EXPIRED":
        exc = TokenExpiredError(
            f"The JWKS snapshot has expired ({message}): refresh the bundle while online"
        )
    elif code == "MISSING_CLAIM":
        exc = OfflineVerificationError(f"Token is missing required claim '{detail}'")
    elif code == "INVALID_CLAIM" and detail == "scp":
        exc = OfflineVerificationError(f"Claim 'scp' must be a list of strings ({message})")
    elif code == "INVALID_CLAIM":
        exc = OfflineVerificationError(f"Invalid claim '{detail}': {message}")
    elif code == "SCOPE_VIOLATION":
        exc = ScopeViolationError(f"Missing required scopes: {detail}")
    elif code == "DELEGATION_DEPTH_EXCEEDED" and detail:
        depth, maximum = detail.split(" ")
        exc = OfflineVerificationError(f"Delegation depth {depth} exceeds maximum {maximum}")
    else:
        exc = OfflineVerificationError(message)
    return _with_code(exc, code)


def create_offline_verifier(
    jwks_snapshot: JWKSSnapshot,
    clock_skew_seconds: int = 30,
    require_scopes: Optional[List[str]] = None,
    max_delegation_depth: Optional[int] = None,
    on_scope_violation: str = "throw",
) -> OfflineVerifier:
    """Make an OfflineVerifier (see its parameters)."""
    return OfflineVerifier(
        jwks_snapshot,
        clock_skew_seconds=clock_skew_seconds,
        require_scopes=require_scopes,
        max_delegation_depth=max_delegation_depth,
        on_scope_violation=on_scope_violation,
    )
