"""grantex_gemma on gx: offline authorization for on-device AI agents.

The API of grantex-gemma 0.1.2 (same functions, classes, errors and modules), backed by
gx's Rust core: token verification, entry hashing and signing, the durable audit log,
bundle encryption and chain checks run in Rust with the GIL released; HTTP stays in
Python (httpx). The audit log is written in the format the Grantex service accepts.

Beyond 0.1.2: ``guard`` (a tool decorator), ``verify_log`` (a log file with signatures),
``verify_chain(..., public_key=...)``, ``OfflineVerifier.verify_sync``,
``OfflineAuditLog.append_sync``, the ``fsync`` policy of the log, ``AuditLogError``,
``LegacyFormatWarning`` and a ``code`` on every error.
"""

from __future__ import annotations

from ._audit_log import OfflineAuditLog, create_offline_audit_log
from ._bundle_storage import load_bundle, store_bundle
from ._consent_bundle import create_consent_bundle
from ._errors import (
    AuditLogError,
    BundleTamperedError,
    GrantexAuthError,
    GrantexGemmaError,
    HashChainError,
    LegacyFormatWarning,
    OfflineVerificationError,
    ScopeViolationError,
    TokenExpiredError,
)
from ._guard import guard
from ._hash_chain import LogVerification, compute_entry_hash, verify_chain, verify_log
from ._scope_enforcer import enforce_scopes, has_scope
from ._types import (
    ConsentBundle,
    JWKSSnapshot,
    OfflineAuditKey,
    SignedAuditEntry,
    SyncResult,
    VerifiedGrant,
)
from ._verifier import OfflineVerifier, create_offline_verifier

#: The grantex-gemma API version this package implements.
__version__ = "0.1.2"
#: This package's own version (gx).
__gx_version__ = "0.1.0"

__all__ = [
    "create_offline_verifier",
    "OfflineVerifier",
    "create_consent_bundle",
    "create_offline_audit_log",
    "OfflineAuditLog",
    "compute_entry_hash",
    "verify_chain",
    "verify_log",
    "LogVerification",
    "enforce_scopes",
    "has_scope",
    "store_bundle",
    "load_bundle",
    "guard",
    "GrantexGemmaError",
    "OfflineVerificationError",
    "ScopeViolationError",
    "TokenExpiredError",
    "BundleTamperedError",
    "GrantexAuthError",
    "HashChainError",
    "AuditLogError",
    "LegacyFormatWarning",
    "ConsentBundle",
    "JWKSSnapshot",
    "OfflineAuditKey",
    "SignedAuditEntry",
    "SyncResult",
    "VerifiedGrant",
    "__version__",
]
