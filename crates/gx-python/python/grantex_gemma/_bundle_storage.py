"""Encrypted bundle files: gx-storage's BundleFile.

``store_bundle`` writes gx's format: AES-256-GCM with a versioned header bound as
associated data, mode 0600 from creation, replaced atomically (temp file, fsync, rename,
directory fsync). ``load_bundle`` reads that and the files grantex-gemma 0.1.x and
@grantex/gemma wrote. Times come back as gx normalises them (``2026-04-04T00:00:00.000Z``).
"""

from __future__ import annotations

import json
import os
from typing import Union

from . import _native
from ._consent_bundle import _bundle_json, _parse_bundle
from ._errors import BundleTamperedError, GrantexGemmaError, _with_code
from ._types import ConsentBundle

PathLike = Union[str, "os.PathLike[str]"]


def store_bundle(bundle: ConsentBundle, path: PathLike, encryption_key: str) -> None:
    """Encrypt ``bundle`` with ``encryption_key`` (64 hex characters) and write it to ``path``.

    Raises ValueError for a key that is not 64 hex characters or a bundle that is not
    valid (a time that is not ISO-8601, ...); OSError when the file cannot be written.
    """
    text = json.dumps(_bundle_json(bundle), separators=(",", ":"))
    try:
        _native.store_bundle(os.fspath(path), text, encryption_key)
    except _native.GxError as err:
        code, message, _ = err.args
        if code in ("INVALID_KEY", "INVALID_BUNDLE_JSON"):
            raise ValueError(message) from None
        raise _with_code(GrantexGemmaError(message), code) from None


def load_bundle(path: PathLike, encryption_key: str) -> ConsentBundle:
    """Decrypt the bundle at ``path``.

    Raises FileNotFoundError, BundleTamperedError (wrong key or modified file), ValueError
    (a key that is not 64 hex characters).
    """
    try:
        text, _format = _native.load_bundle(os.fspath(path), encryption_key)
    except _native.GxError as err:
        code, message, _ = err.args
        if code == "NOT_FOUND":
            raise FileNotFoundError(message) from None
        if code == "INVALID_KEY":
            raise ValueError(message) from None
        if code in ("BUNDLE_TAMPERED", "UNSUPPORTED_FORMAT", "INVALID_BUNDLE_JSON"):
            raise _with_code(
                BundleTamperedError(f"Bundle decryption failed: tampered or wrong key ({message})"),
                code,
            ) from None
        raise _with_code(GrantexGemmaError(message), code) from None
    return _parse_bundle(json.loads(text))
