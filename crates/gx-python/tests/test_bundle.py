"""Bundle files: gx's format (0600, atomic), and the files the published clients wrote."""

from __future__ import annotations

import json
import os
import stat

import pytest

from grantex_gemma import BundleTamperedError, create_offline_verifier, load_bundle, store_bundle
from grantex_gemma._consent_bundle import _parse_bundle

from conftest import PEER

KEY = (PEER / "bundle_key.hex").read_text().strip()


def _peer_bundle():
    return _parse_bundle(json.loads((PEER / "bundle.json").read_text()))


def test_a_bundle_the_original_client_stored_opens() -> None:
    loaded = load_bundle(str(PEER / "py_bundle.enc"), KEY)
    expected = _peer_bundle()
    assert loaded.bundle_id == expected.bundle_id
    assert loaded.grant_token == expected.grant_token
    assert loaded.offline_audit_key.private_key == expected.offline_audit_key.private_key
    assert loaded.jwks_snapshot.keys == expected.jwks_snapshot.keys


def test_store_writes_gx_format_owner_only_and_round_trips(tmp_path) -> None:
    path = tmp_path / "bundle.enc"
    store_bundle(_peer_bundle(), str(path), KEY)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert path.read_bytes()[:4] == b"\x89GXB"
    loaded = load_bundle(path, KEY)
    assert loaded.grant_token == _peer_bundle().grant_token
    assert loaded.checkpoint_at == _peer_bundle().checkpoint_at
    # The snapshot still verifies the token (at the fixture's own time).
    create_offline_verifier(loaded.jwks_snapshot)


def test_wrong_key_tampering_and_missing_files(tmp_path) -> None:
    path = tmp_path / "bundle.enc"
    store_bundle(_peer_bundle(), str(path), KEY)
    with pytest.raises(BundleTamperedError, match="tampered") as e:
        load_bundle(str(path), "f" * 64)
    assert e.value.code == "BUNDLE_TAMPERED"
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 1
    path.write_bytes(bytes(data))
    with pytest.raises(BundleTamperedError):
        load_bundle(str(path), KEY)
    with pytest.raises(FileNotFoundError):
        load_bundle(str(tmp_path / "none.enc"), KEY)
    with pytest.raises(ValueError):
        store_bundle(_peer_bundle(), str(path), "not-hex")
