"""The exceptions of grantex_gemma: the classes of grantex-gemma 0.1.2, same names and hierarchy.

Every exception also carries ``code``: gx's stable machine-readable cause
(``KID_NOT_FOUND``, ``TOKEN_EXPIRED``, ``LOG_LOCKED``, ...) or ``None``.
"""

from __future__ import annotations

from typing import Optional


class GrantexGemmaError(Exception):
    """Base class of every grantex_gemma error."""

    code: Optional[str] = None


class OfflineVerificationError(GrantexGemmaError):
    """A grant token failed offline verification (signature, key, claims, algorithm)."""


class ScopeViolationError(GrantexGemmaError):
    """A required scope is missing from the grant."""


class TokenExpiredError(GrantexGemmaError):
    """The grant token (or the key snapshot it is checked against) has expired."""


class BundleTamperedError(GrantexGemmaError):
    """A stored consent bundle failed authentication: wrong key or modified file."""


class GrantexAuthError(GrantexGemmaError):
    """The API refused the API key (401/403), failed, or could not be reached."""

    def __init__(self, message: str, status_code: Optional[int] = None) -> None:
        super().__init__(message)
        self.status_code = status_code


class HashChainError(GrantexGemmaError):
    """An audit chain is broken or empty, or the server refused a sync."""


class AuditLogError(GrantexGemmaError):
    """The audit log file could not be opened or written (gx: locked, corrupt, disk error).

    Not in grantex-gemma 0.1.2, which had no such checks.
    """


class LegacyFormatWarning(UserWarning):
    """Data in grantex-gemma 0.1.x's own log format: it verifies, but the Grantex
    service rejects such entries, so they can never be synced."""


def _with_code(exc: GrantexGemmaError, code: Optional[str]) -> GrantexGemmaError:
    exc.code = code
    return exc
