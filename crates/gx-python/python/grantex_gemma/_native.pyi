"""Type stubs of the Rust extension grantex_gemma._native (gx-core and gx-storage)."""

from typing import Any, Callable, List, Optional, Tuple

GENESIS_PREV_HASH: str

class GxError(Exception):
    """args: (code, message, detail)."""

class NativeVerifier:
    def __init__(
        self,
        jwks_json: str,
        clock_skew_secs: int,
        required_scopes: List[str],
        report_missing: bool,
        max_delegation_depth: Optional[int] = None,
    ) -> None: ...
    def verify(
        self, token: str, now_ms: Optional[int] = None
    ) -> Tuple[str, str, List[str], int, str, str, int, List[str]]: ...

class SigningKey:
    def __init__(self, private_key_pem: str) -> None: ...
    def public_key_pem(self) -> str: ...

class NativeLog:
    def __init__(
        self, path: str, key: SigningKey, fsync: str = "group", segment_max_bytes: Optional[int] = None
    ) -> None: ...
    def append(
        self,
        key: SigningKey,
        action: str,
        agent_did: str,
        grant_id: str,
        scopes: List[str],
        result: str,
        metadata: Optional[str] = None,
    ) -> Tuple[int, str, str, str, str]: ...
    def entries_after(self, seq: int) -> List[str]: ...
    def mark_synced(self, seq: int) -> None: ...
    def flush(self) -> None: ...
    @property
    def last_seq(self) -> int: ...
    @property
    def synced_seq(self) -> int: ...
    @property
    def last_hash(self) -> str: ...
    @property
    def torn_bytes_repaired(self) -> int: ...

def entry_hash(
    seq: int,
    timestamp: str,
    action: str,
    agent_did: str,
    grant_id: str,
    scopes: List[str],
    result: str,
    metadata: Optional[str],
    prev_hash: str,
) -> str: ...
def verify_entries(
    entries: List[Any], dumps: Callable[[Any], str], public_key_pem: Optional[str] = None
) -> Tuple[bool, Optional[int], Optional[str], str]: ...
def verify_lines(
    lines: List[str], public_key_pem: Optional[str] = None
) -> Tuple[bool, Optional[int], Optional[str], str]: ...
def verify_log_file(
    path: str, public_key_pem: str, format: Optional[str] = None
) -> Tuple[bool, int, Optional[int], Optional[int], Optional[str], str]: ...
def store_bundle(path: str, bundle_json: str, key: str) -> None: ...
def load_bundle(path: str, key: str) -> Tuple[str, str]: ...
