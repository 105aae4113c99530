"""Entry hashes and chain checks, computed by gx-core.

``compute_entry_hash`` is the protocol's hash (SHA-256 over the nine ``|``-joined fields,
metadata as JavaScript's ``JSON.stringify``), the one the Grantex service recomputes.
``verify_chain`` also recognises entries in grantex-gemma 0.1.x's own format (sorted-key
JSON hash, 64-zero genesis, base64url signatures), verifies them, and warns with
LegacyFormatWarning: the service rejects such entries.
"""

from __future__ import annotations

import functools
import json
import warnings
from dataclasses import dataclass
from typing import Any, Mapping, Optional, Sequence, Tuple, Union

from . import _native
from ._errors import AuditLogError, HashChainError, LegacyFormatWarning, _with_code
from ._types import SignedAuditEntry

#: Metadata as JSON text for gx-core (which re-parses it with JavaScript's rules).
_dumps = functools.partial(json.dumps, separators=(",", ":"), ensure_ascii=False, allow_nan=False)

_LEGACY_WARNING = (
    "these audit entries are in grantex-gemma 0.1.x's own format (snake_case fields, "
    "sorted-key hash, 64-zero genesis, base64url signatures): they verify locally, but "
    "the Grantex service rejects them, so they can never be synced"
)


def _field(entry: Mapping[str, Any], snake: str, camel: str) -> Any:
    if snake in entry:
        return entry[snake]
    return entry[camel]


def _metadata_json(metadata: Any) -> Optional[str]:
    if metadata is None:
        return None
    if isinstance(metadata, dict) and not metadata:
        return "{}"
    return _dumps(metadata)


def compute_entry_hash(entry: Union[Mapping[str, Any], SignedAuditEntry]) -> str:
    """The protocol's SHA-256 entry hash (64 lowercase hex) of an entry's content fields.

    ``entry`` is a dict with ``seq, timestamp, action, agent_did, grant_id, scopes,
    result, metadata, prev_hash`` (camelCase names work too) or a SignedAuditEntry.
    """
    if isinstance(entry, SignedAuditEntry):
        entry = entry.__dict__
    try:
        return _native.entry_hash(
            int(entry["seq"]),
            entry["timestamp"],
            entry["action"],
            _field(entry, "agent_did", "agentDID"),
            _field(entry, "grant_id", "grantId"),
            list(entry["scopes"]),
            entry["result"],
            _metadata_json(entry.get("metadata")),
            _field(entry, "prev_hash", "prevHash"),
        )
    except _native.GxError as err:
        code, message, _ = err.args
        raise _with_code(HashChainError(f"Cannot hash this entry: {message}"), code) from None


def verify_chain(
    entries: Sequence[Union[SignedAuditEntry, str]], public_key: Optional[str] = None
) -> Tuple[bool, Optional[int]]:
    """Check a chain: every hash recomputed, ``seq`` consecutive, each ``prev_hash`` the
    hash before it, and with ``public_key`` (the bundle's Ed25519 SPKI PEM) every
    signature. Returns ``(True, None)`` or ``(False, index_of_first_broken_entry)``.

    ``entries`` are SignedAuditEntry objects, or the JSONL lines of a log as strings
    (parsed in Rust: the fast way to check a file, no Python object per entry).
    Raises HashChainError for an empty chain.
    """
    if not entries:
        raise _with_code(HashChainError("Cannot verify an empty chain"), "EMPTY_CHAIN")
    items = list(entries)
    try:
        if all(isinstance(e, str) for e in items):
            ok, index, _code, fmt = _native.verify_lines(items, public_key)
        else:
            ok, index, _code, fmt = _native.verify_entries(items, _dumps, public_key)
    except _native.GxError as err:
        code, message, _ = err.args
        raise _with_code(HashChainError(message), code) from None
    if fmt == "py":
        warnings.warn(_LEGACY_WARNING, LegacyFormatWarning, stacklevel=2)
    return (True, None) if ok else (False, index)


@dataclass
class LogVerification:
    """The outcome of verify_log."""

    valid: bool
    #: Entries that verified before the first break (all of them when valid).
    entries: int
    #: 0-based index (across segments) and seq of the first broken entry.
    broken_index: Optional[int]
    broken_seq: Optional[int]
    #: Why it broke: INVALID_ENTRY, INVALID_HASH, INVALID_SIGNATURE, BROKEN_CHAIN, SEQ_GAP, BAD_GENESIS.
    code: Optional[str]
    #: "wire" (accepted by the service) or "py" (grantex-gemma 0.1.x's own, rejected).
    format: str


def verify_log(path: str, public_key: str, format: Optional[str] = None) -> LogVerification:
    """Verify an audit log file (every rotated segment too) under the bundle's audit
    public key (SPKI PEM), with gx-storage, one line in memory at a time. ``format`` is
    ``"wire"``, ``"py"`` or None (from the first line). Not in grantex-gemma 0.1.2.
    """
    try:
        ok, n, index, seq, code, fmt = _native.verify_log_file(path, public_key, format)
    except _native.GxError as err:
        code, message, _ = err.args
        if code == "LOG_NOT_FOUND":
            raise FileNotFoundError(message) from None
        raise _with_code(AuditLogError(message), code) from None
    if fmt == "py":
        warnings.warn(_LEGACY_WARNING, LegacyFormatWarning, stacklevel=2)
    return LogVerification(ok, n, index, seq, code, fmt)
