"""``guard``: run an agent's tool only under a valid grant, and audit every call.

Each call of a guarded function: verify the grant token offline, check the tool's
scopes, run the function, append an audit entry with the outcome (``success``,
``denied`` when a scope is missing, ``error`` when the function raised). A token that
does not verify raises before anything runs; there is no grant to audit it under.
Works on plain and ``async`` functions (not in grantex-gemma 0.1.2; the TypeScript
client's ADK/LangChain adapters do the same).
"""

from __future__ import annotations

import functools
from typing import Any, Callable, Optional, Sequence, TypeVar, Union, cast

from ._audit_log import OfflineAuditLog
from ._errors import ScopeViolationError, _with_code
from ._types import ConsentBundle, VerifiedGrant
from ._verifier import OfflineVerifier, create_offline_verifier

F = TypeVar("F", bound=Callable[..., Any])
TokenSource = Union[str, Callable[[], str]]


def guard(
    scope: Union[str, Sequence[str]],
    *,
    audit_log: OfflineAuditLog,
    bundle: Optional[ConsentBundle] = None,
    verifier: Optional[OfflineVerifier] = None,
    token: Optional[TokenSource] = None,
    action: Optional[str] = None,
) -> Callable[[F], F]:
    """Decorate a tool so that it runs only when the grant holds ``scope`` (one scope or
    several), and every call is written to ``audit_log``.

    The grant comes from ``bundle`` (its token and key snapshot) or from ``verifier`` and
    ``token`` (a string, or a function returning the current token). ``action`` names the
    entries (default ``tool:<function name>``).
    """
    scopes = [scope] if isinstance(scope, str) else list(scope)
    if not scopes:
        raise ValueError("guard needs at least one scope")
    if verifier is None:
        if bundle is None:
            raise ValueError("guard needs a bundle, or a verifier and a token")
        verifier = create_offline_verifier(bundle.jwks_snapshot)
    if token is None:
        if bundle is None:
            raise ValueError("guard needs a token (or a bundle that holds one)")
        token = bundle.grant_token
    checker, source = verifier, token

    def current_token() -> str:
        return source() if callable(source) else source

    def admit(name: str) -> "tuple[VerifiedGrant, list[str]]":
        grant = checker.verify_sync(current_token())
        missing = [s for s in scopes if s not in grant.scopes]
        return grant, missing

    def refusal(missing: "list[str]") -> ScopeViolationError:
        return _with_code(  # type: ignore[return-value]
            ScopeViolationError(f"Missing required scopes: {', '.join(missing)}"),
            "SCOPE_VIOLATION",
        )

    def decorate(fn: F) -> F:
        name = action or f"tool:{fn.__name__}"
        import inspect  # on decoration, not on import of the package

        if inspect.iscoroutinefunction(fn):

            @functools.wraps(fn)
            async def run_async(*args: Any, **kwargs: Any) -> Any:
                grant, missing = admit(name)
                if missing:
                    await audit_log.append(name, grant, "denied", {"missingScopes": missing})
                    raise refusal(missing)
                try:
                    value = await fn(*args, **kwargs)
                except Exception as exc:
                    await audit_log.append(name, grant, "error", {"error": type(exc).__name__})
                    raise
                await audit_log.append(name, grant, "success")
                return value

            return cast(F, run_async)

        @functools.wraps(fn)
        def run(*args: Any, **kwargs: Any) -> Any:
            grant, missing = admit(name)
            if missing:
                audit_log.append_sync(name, grant, "denied", {"missingScopes": missing})
                raise refusal(missing)
            try:
                value = fn(*args, **kwargs)
            except Exception as exc:
                audit_log.append_sync(name, grant, "error", {"error": type(exc).__name__})
                raise
            audit_log.append_sync(name, grant, "success")
            return value

        return cast(F, run)

    return decorate
