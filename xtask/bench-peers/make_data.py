"""bench-peers data: one token, key set, consent bundle and audit key for every side.

Run with the Python client's venv (PyJWT and `cryptography` come with grantex-gemma):
    python make_data.py DIR
Writes into DIR, all made fresh (the token must be valid now, as PyJWT checks `exp`
against the system clock):
    token.jwt               RS256 grant token, kid bench-2048, valid for one day
    jwks_snapshot.json      the bundle's jwksSnapshot (keys, fetchedAt, validUntil)
    bundle.json             the consent bundle (camelCase wire JSON) holding both
    bundle_key.hex          64 hex characters: raw AES key (Python), passphrase (TS)
    audit_public.pem        SPKI PEM of the bundle's Ed25519 audit key
    chain_py.jsonl          CHAIN entries written by the Python client's own append
"""
import asyncio
import base64
import json
import os
import sys
import time
from datetime import datetime, timezone

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

from grantex_gemma import create_offline_audit_log
from grantex_gemma import OfflineAuditKey, VerifiedGrant

CHAIN = 10_000
SCOPES = ["read:contacts", "write:calendar"]


def b64u_int(i: int) -> str:
    raw = i.to_bytes((i.bit_length() + 7) // 8, "big")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def iso(t: float) -> str:
    return datetime.fromtimestamp(t, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def main() -> None:
    out = sys.argv[1]
    now = int(time.time())
    exp = now + 86400
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pub = rsa_key.public_key().public_numbers()
    jwk = {"kty": "RSA", "kid": "bench-2048", "use": "sig", "alg": "RS256",
           "n": b64u_int(pub.n), "e": b64u_int(pub.e)}
    snapshot = {"keys": [jwk], "fetchedAt": iso(now), "validUntil": iso(exp)}
    claims = {"iss": "https://api.grantex.dev", "sub": "user_bench", "agt": "did:grantex:ag_bench",
              "dev": "dev_bench", "scp": SCOPES, "jti": "tok_bench", "grnt": "grnt_bench",
              "iat": now - 60, "exp": exp}
    token = jwt.encode(claims, rsa_key, algorithm="RS256", headers={"kid": "bench-2048"})

    audit = ed25519.Ed25519PrivateKey.generate()
    private_pem = audit.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                      serialization.NoEncryption()).decode()
    public_pem = audit.public_key().public_bytes(serialization.Encoding.PEM,
                                                 serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    bundle = {
        "bundleId": "bnd_bench",
        "grantToken": token,
        "jwksSnapshot": snapshot,
        "offlineAuditKey": {"publicKey": public_pem, "privateKey": private_pem, "algorithm": "Ed25519"},
        "checkpointAt": now * 1000,
        "syncEndpoint": "http://127.0.0.1:9/v1/audit/offline-sync",
        "offlineExpiresAt": iso(exp),
    }
    files = {
        "token.jwt": token,
        "jwks_snapshot.json": json.dumps(snapshot),
        "bundle.json": json.dumps(bundle),
        "bundle_key.hex": os.urandom(32).hex(),
        "audit_public.pem": public_pem,
    }
    for name, text in files.items():
        with open(os.path.join(out, name), "w", encoding="utf-8") as f:
            f.write(text)

    # The Python client's chain: its own format, written by its own append.
    log = create_offline_audit_log(OfflineAuditKey(public_pem, private_pem, "Ed25519"),
                                   os.path.join(out, "chain_py.jsonl"), rotate_on_size=False)
    grant = VerifiedGrant(agent_did=claims["agt"], principal_did=claims["sub"], scopes=SCOPES,
                          expires_at=datetime.fromtimestamp(exp, tz=timezone.utc), jti=claims["jti"],
                          grant_id=claims["grnt"], depth=0)

    async def write_chain() -> None:
        for i in range(CHAIN):
            await log.append("tool:read_contacts", grant, "success",
                             {"i": i, "tool": "contacts", "count": 42})

    asyncio.run(write_chain())
    print(json.dumps({"data": out, "chain": CHAIN}))


main()
