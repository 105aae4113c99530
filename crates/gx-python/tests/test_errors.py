"""The error classes keep the original hierarchy and add gx's codes."""

from __future__ import annotations

import grantex_gemma as gg


def test_hierarchy_is_the_original() -> None:
    for cls in (gg.OfflineVerificationError, gg.ScopeViolationError, gg.TokenExpiredError,
                gg.BundleTamperedError, gg.GrantexAuthError, gg.HashChainError, gg.AuditLogError):
        assert issubclass(cls, gg.GrantexGemmaError)
    assert issubclass(gg.GrantexGemmaError, Exception)
    e = gg.GrantexAuthError("no", status_code=401)
    assert (str(e), e.status_code, e.code) == ("no", 401, None)


def test_public_names_of_the_original_are_all_there() -> None:
    original = {
        "create_offline_verifier", "OfflineVerifier", "create_consent_bundle",
        "create_offline_audit_log", "OfflineAuditLog", "compute_entry_hash", "verify_chain",
        "enforce_scopes", "has_scope", "store_bundle", "load_bundle", "GrantexGemmaError",
        "OfflineVerificationError", "ScopeViolationError", "TokenExpiredError",
        "BundleTamperedError", "GrantexAuthError", "HashChainError", "ConsentBundle",
        "JWKSSnapshot", "OfflineAuditKey", "SignedAuditEntry", "SyncResult", "VerifiedGrant",
        "__version__",
    }
    assert original <= set(gg.__all__)
    for name in original:
        assert hasattr(gg, name), name
    import grantex_gemma._audit_log, grantex_gemma._types, grantex_gemma._sync  # noqa: F401
    import grantex_gemma._verifier, grantex_gemma._hash_chain, grantex_gemma._errors  # noqa: F401
    import grantex_gemma._scope_enforcer, grantex_gemma._bundle_storage  # noqa: F401
    assert grantex_gemma._audit_log.httpx is not None


def test_enforce_scopes() -> None:
    gg.enforce_scopes(["a", "b"], ["b"])
    assert gg.has_scope(["a"], "a") and not gg.has_scope(["a-b"], "a")
    try:
        gg.enforce_scopes(["a"], ["b", "c"])
    except gg.ScopeViolationError as e:
        assert str(e) == "Missing required scopes: b, c" and e.code == "SCOPE_VIOLATION"
    else:
        raise AssertionError("no error")


def test_the_private_key_never_shows_in_a_repr(audit_key) -> None:
    assert "PRIVATE" not in repr(audit_key)
    assert "PRIVATE" not in repr(gg._native.SigningKey(audit_key.private_key))
