"""Consent bundle issuance: ``POST /v1/consent-bundles`` with httpx (as grantex-gemma 0.1.2)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Dict, List

from . import _lazy
from ._errors import GrantexAuthError, _with_code
from ._types import ConsentBundle, JWKSSnapshot, OfflineAuditKey

if TYPE_CHECKING:
    import httpx


def __getattr__(name: str) -> Any:
    # httpx is loaded on first use (see _lazy); `module.httpx` still works: tests patch
    # `grantex_gemma._consent_bundle.httpx.AsyncClient`.
    if name == "httpx":
        return _lazy.httpx()
    raise AttributeError(name)


async def create_consent_bundle(
    api_key: str,
    agent_id: str,
    user_id: str,
    scopes: List[str],
    offline_ttl: str = "72h",
    base_url: str = "https://api.grantex.dev",
) -> ConsentBundle:
    """Ask the Grantex API for a consent bundle (needs the network).

    Raises GrantexAuthError on 401/403, any other error answer, or a network failure.
    """
    url = f"{base_url.rstrip('/')}/v1/consent-bundles"
    body = {
        "agentId": agent_id,
        "userId": user_id,
        "scopes": list(scopes),
        "offlineTTL": offline_ttl,
        "offlineAuditKeyAlgorithm": "Ed25519",
    }
    headers = {"Authorization": f"Bearer {api_key}", "Content-Type": "application/json"}
    async with _lazy.httpx().AsyncClient() as client:
        try:
            resp = await client.post(url, json=body, headers=headers, timeout=30.0)
        except _lazy.httpx().HTTPError as exc:
            raise _with_code(
                GrantexAuthError(f"Network error creating consent bundle: {exc}"), "NETWORK"
            ) from exc
    status = int(resp.status_code)
    if status == 401:
        raise _with_code(GrantexAuthError("Invalid API key", status_code=401), "UNAUTHORIZED")
    if status == 403:
        raise _with_code(
            GrantexAuthError("Forbidden: insufficient permissions", status_code=403), "FORBIDDEN"
        )
    if status >= 400:
        raise _with_code(
            GrantexAuthError(f"API error ({status}): {resp.text}", status_code=status), "API_ERROR"
        )
    return _parse_bundle(resp.json())


def _parse_bundle(data: Dict[str, Any]) -> ConsentBundle:
    """A bundle from the service's JSON (fields at the top level, ``data`` as fallback)."""
    if "bundleId" not in data and isinstance(data.get("data"), dict):
        data = data["data"]
    jwks = data["jwksSnapshot"]
    key = data["offlineAuditKey"]
    return ConsentBundle(
        bundle_id=data["bundleId"],
        grant_token=data["grantToken"],
        jwks_snapshot=JWKSSnapshot(
            keys=jwks["keys"], fetched_at=jwks["fetchedAt"], valid_until=jwks["validUntil"]
        ),
        offline_audit_key=OfflineAuditKey(
            public_key=key["publicKey"], private_key=key["privateKey"], algorithm=key["algorithm"]
        ),
        checkpoint_at=data["checkpointAt"],
        sync_endpoint=data["syncEndpoint"],
        offline_expires_at=data["offlineExpiresAt"],
    )


def _bundle_json(bundle: ConsentBundle) -> Dict[str, Any]:
    """The bundle's wire JSON (camelCase), as the service sends it."""
    return {
        "bundleId": bundle.bundle_id,
        "grantToken": bundle.grant_token,
        "jwksSnapshot": {
            "keys": bundle.jwks_snapshot.keys,
            "fetchedAt": bundle.jwks_snapshot.fetched_at,
            "validUntil": bundle.jwks_snapshot.valid_until,
        },
        "offlineAuditKey": {
            "publicKey": bundle.offline_audit_key.public_key,
            "privateKey": bundle.offline_audit_key.private_key,
            "algorithm": bundle.offline_audit_key.algorithm,
        },
        "checkpointAt": bundle.checkpoint_at,
        "syncEndpoint": bundle.sync_endpoint,
        "offlineExpiresAt": bundle.offline_expires_at,
    }
