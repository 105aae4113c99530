"""The offline audit log: gx-storage's durable, locked, crash-safe JSONL log.

Entries are written in the protocol's wire format (the one the Grantex service accepts):
camelCase fields, genesis ``prevHash`` of sixteen zeros, hex signatures, the JavaScript
hash. gx-storage appends, fsyncs (group commit by default: concurrent appends from
threads or asyncio tasks share one flush), repairs a torn last line on open, rotates
without breaking the chain and holds an exclusive lock, so two processes cannot
interleave. Every OfflineAuditLog of one path in a process shares that one writer.

The upload (``sync``) is httpx, as in grantex-gemma 0.1.2: it sends the entries past the
sync cursor, in batches, and advances the cursor on each confirmed batch.
"""

from __future__ import annotations

import functools
import json
import os
import threading
import warnings
import weakref
from typing import TYPE_CHECKING, Any, Dict, List, Optional


from . import _lazy, _native
from ._errors import (
    AuditLogError,
    GrantexAuthError,
    HashChainError,
    LegacyFormatWarning,
    _with_code,
)
from ._hash_chain import _dumps
from ._types import ConsentBundle, OfflineAuditKey, SignedAuditEntry, SyncResult, VerifiedGrant

if TYPE_CHECKING:
    import httpx


def __getattr__(name: str) -> Any:
    # httpx is loaded on first use (see _lazy); `module.httpx` still works: tests patch
    # `grantex_gemma._audit_log.httpx.AsyncClient`.
    if name == "httpx":
        return _lazy.httpx()
    raise AttributeError(name)


#: The open logs of this process by real path: one gx writer per file.
_open_logs: "weakref.WeakValueDictionary[str, _native.NativeLog]" = weakref.WeakValueDictionary()
_open_lock = threading.Lock()

_FSYNC_POLICIES = ("group", "every", "none")
_MAX_BATCH = 1000
_RETRIES = 3


def _log_error(err: "_native.GxError") -> AuditLogError:
    code, message, _ = err.args
    return _with_code(AuditLogError(message), code)  # type: ignore[return-value]


def _first_line(path: str) -> Optional[str]:
    try:
        with open(path, "rb") as f:
            for raw in f:
                if raw.strip():
                    return raw.decode("utf-8", "replace")
    except FileNotFoundError:
        return None
    return None


def _set_aside_legacy(path: str) -> None:
    """A log written by grantex-gemma 0.1.x cannot be continued in the wire format (and
    the service rejects its entries): keep it beside, under a new name, and start anew."""
    line = _first_line(path)
    if line is None or '"prev_hash"' not in line:
        return
    target = f"{path}.grantex-gemma-0.1"
    n = 1
    while os.path.exists(target):
        n += 1
        target = f"{path}.grantex-gemma-0.1.{n}"
    os.rename(path, target)
    warnings.warn(
        f"{path} was written by grantex-gemma 0.1.x in its own format, which the Grantex "
        f"service rejects; it was moved to {target} (check it with verify_log) and a new "
        "log in the service's format starts here",
        LegacyFormatWarning,
        stacklevel=4,
    )


def _create_private(path: str) -> None:
    """Create the log file owner-only (0600) if it does not exist yet: entries can name
    what the agent did for whom."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return
    os.close(fd)


def _shared_log(path: str, key: "_native.SigningKey", fsync: str, segment: Optional[int]) -> "_native.NativeLog":
    real = os.path.realpath(path)
    with _open_lock:
        log = _open_logs.get(real)
        if log is None:
            _set_aside_legacy(path)
            _create_private(path)
            try:
                log = _native.NativeLog(path, key, fsync, segment)
            except _native.GxError as err:
                raise _log_error(err) from None
            _open_logs[real] = log
        return log


class OfflineAuditLog:
    """An append-only, hash-chained, Ed25519-signed audit log in a JSONL file.

    ``fsync`` (not in grantex-gemma 0.1.2, which never flushes): ``"group"`` (default)
    makes every acknowledged entry durable, sharing flushes between concurrent appends;
    ``"every"`` flushes per append; ``"none"`` never flushes (an entry survives the
    process being killed, not a power cut).

    Every instance for one path in a process shares one writer: the first one opened sets
    its fsync policy and rotation size; each instance signs with its own key.
    """

    def __init__(
        self,
        signing_key: OfflineAuditKey,
        log_path: str,
        max_size_mb: int = 50,
        rotate_on_size: bool = True,
        *,
        fsync: str = "group",
    ) -> None:
        if fsync not in _FSYNC_POLICIES:
            raise ValueError(f"fsync must be one of {_FSYNC_POLICIES}, not {fsync!r}")
        try:
            self._key = _native.SigningKey(signing_key.private_key)
        except _native.GxError:
            raise ValueError("Expected an Ed25519 private key (PKCS#8 PEM)") from None
        self._signing_key = signing_key
        self._log_path = log_path
        self._max_size_mb = max_size_mb
        self._rotate_on_size = rotate_on_size
        self._fsync = fsync
        segment = int(max_size_mb * 1024 * 1024) if rotate_on_size else None
        self._log = _shared_log(log_path, self._key, fsync, segment)

    @property
    def log_path(self) -> str:
        """The log file's path."""
        return self._log_path

    @property
    def last_seq(self) -> int:
        """The seq of the last entry (0 when empty)."""
        return int(self._log.last_seq)

    @property
    def synced_seq(self) -> int:
        """The last seq the server confirmed."""
        return int(self._log.synced_seq)

    def _append(self, action: str, grant: VerifiedGrant, result: str, meta: Dict[str, Any]) -> SignedAuditEntry:
        try:
            meta_json = "{}" if not meta else _dumps(meta)
        except (TypeError, ValueError) as err:  # metadata that is not JSON (NaN, a set, ...)
            raise _with_code(AuditLogError(f"metadata is not JSON: {err}"), "INVALID_ENTRY") from None
        scopes = list(grant.scopes)
        try:
            seq, ts, prev, digest, sig = self._log.append(
                self._key, action, grant.agent_did, grant.grant_id, scopes, result, meta_json
            )
        except _native.GxError as err:
            raise _log_error(err) from None
        return SignedAuditEntry(
            seq=seq,
            timestamp=ts,
            action=action,
            agent_did=grant.agent_did,
            grant_id=grant.grant_id,
            scopes=scopes,
            result=result,
            metadata=meta,
            prev_hash=prev,
            hash=digest,
            signature=sig,
        )

    async def append(
        self,
        action: str,
        grant: VerifiedGrant,
        result: str,
        metadata: Optional[Dict[str, Any]] = None,
    ) -> SignedAuditEntry:
        """Append a signed, hash-chained entry; returns it once it is durable.

        A durable append waits for its flush in a worker thread, so the event loop (and
        other tasks' appends, which share the flush) keep running meanwhile.
        """
        meta = metadata if metadata is not None else {}
        if self._fsync == "none":
            return self._append(action, grant, result, meta)
        loop = _lazy.asyncio().get_running_loop()
        return await loop.run_in_executor(
            None, functools.partial(self._append, action, grant, result, meta)
        )

    def append_sync(
        self,
        action: str,
        grant: VerifiedGrant,
        result: str,
        metadata: Optional[Dict[str, Any]] = None,
    ) -> SignedAuditEntry:
        """``append`` for code that is not async (threads may call it concurrently)."""
        return self._append(action, grant, result, metadata if metadata is not None else {})

    def _read_lines(self, after: int) -> List[str]:
        try:
            return list(self._log.entries_after(after))
        except _native.GxError as err:
            raise _log_error(err) from None

    def _read_entries(self) -> List[Dict[str, Any]]:
        """Every entry still on disk, as dicts with the dataclass's snake_case names."""
        try:
            lines = self._log.entries_after(0)
        except _native.GxError:
            # Entries the server confirmed may have been deleted: read what is left.
            lines = self._read_lines(self.synced_seq)
        out: List[Dict[str, Any]] = []
        for line in lines:
            e = json.loads(line)
            out.append(
                {
                    "seq": e["seq"],
                    "timestamp": e["timestamp"],
                    "action": e["action"],
                    "agent_did": e["agentDID"],
                    "grant_id": e["grantId"],
                    "scopes": e["scopes"],
                    "result": e["result"],
                    "metadata": e.get("metadata", {}),
                    "prev_hash": e["prevHash"],
                    "hash": e["hash"],
                    "signature": e["signature"],
                }
            )
        return out

    async def sync(
        self,
        endpoint: str,
        api_key: str,
        bundle_id: str,
        batch_size: int = 100,
    ) -> SyncResult:
        """Upload the entries the server has not confirmed yet, ``batch_size`` per request
        (at most 1000), and return the totals and the bundle's revocation status.

        Raises GrantexAuthError (401/403, network), HashChainError (the server refused
        the entries). Entries of a confirmed batch are never sent again.
        """
        lines = self._read_lines(self.synced_seq)
        if not lines:
            return SyncResult(accepted=0, rejected=0, revocation_status="active", new_bundle=None)
        size = max(1, min(int(batch_size), _MAX_BATCH))
        headers = {"Authorization": f"Bearer {api_key}", "Content-Type": "application/json"}
        accepted = rejected = 0
        status = "active"
        new_bundle: Optional[ConsentBundle] = None
        async with _lazy.httpx().AsyncClient() as client:
            for start in range(0, len(lines), size):
                batch = lines[start : start + size]
                # The stored lines go out byte for byte: nothing re-serialises an entry.
                body = '{"bundleId":%s,"entries":[%s]}' % (json.dumps(bundle_id), ",".join(batch))
                data = await _post(client, endpoint, body.encode("utf-8"), headers)
                accepted += int(data.get("accepted", 0) or 0)
                rejected += int(data.get("rejected", 0) or 0)
                status = data.get("revocationStatus", status) or status
                if data.get("newBundle"):
                    from ._consent_bundle import _parse_bundle

                    new_bundle = _parse_bundle(data["newBundle"])
                try:
                    self._log.mark_synced(int(json.loads(batch[-1])["seq"]))
                except _native.GxError as err:
                    raise _log_error(err) from None
        return SyncResult(
            accepted=accepted, rejected=rejected, revocation_status=status, new_bundle=new_bundle
        )


async def _post(client: Any, url: str, body: bytes, headers: Dict[str, str]) -> Dict[str, Any]:
    """One batch: retried on 429, 5xx and network errors (bounded), the body's fields read
    from the top level with ``data`` as fallback."""
    for attempt in range(_RETRIES + 1):
        try:
            resp = await client.post(url, content=body, headers=headers, timeout=30.0)
        except _lazy.httpx().HTTPError as exc:
            if attempt == _RETRIES:
                raise _with_code(GrantexAuthError(f"Network error during sync: {exc}"), "NETWORK") from exc
            await _lazy.asyncio().sleep(0.2 * 2**attempt)
            continue
        code = int(resp.status_code)
        if (code == 429 or code >= 500) and attempt < _RETRIES:
            await _lazy.asyncio().sleep(0.2 * 2**attempt)
            continue
        if code in (401, 403):
            raise _with_code(GrantexAuthError(f"Sync refused ({code}): {resp.text}", status_code=code), "UNAUTHORIZED")
        if code >= 400:
            raise _with_code(HashChainError(f"Sync failed ({code}): {resp.text}"), "SYNC_REFUSED")
        data = resp.json()
        if not isinstance(data, dict):
            raise _with_code(HashChainError("Sync answer is not a JSON object"), "BAD_RESPONSE")
        inner = data.get("data")
        if "accepted" not in data and isinstance(inner, dict):
            return inner
        return data
    raise _with_code(HashChainError("Sync failed"), "SYNC_REFUSED")


def create_offline_audit_log(
    signing_key: OfflineAuditKey,
    log_path: str,
    max_size_mb: int = 50,
    rotate_on_size: bool = True,
    *,
    fsync: str = "group",
) -> OfflineAuditLog:
    """Open (or create) the audit log at ``log_path``, signing with ``signing_key``."""
    return OfflineAuditLog(signing_key, log_path, max_size_mb, rotate_on_size, fsync=fsync)
