"""Scope checks on a verified grant's scopes: exact string matches, nothing implied."""

from __future__ import annotations

from typing import Iterable

from ._errors import ScopeViolationError, _with_code


def enforce_scopes(grant_scopes: Iterable[str], required_scopes: Iterable[str]) -> None:
    """Raise ScopeViolationError naming every required scope the grant lacks."""
    held = set(grant_scopes)
    missing = [s for s in required_scopes if s not in held]
    if missing:
        raise _with_code(
            ScopeViolationError(f"Missing required scopes: {', '.join(missing)}"),
            "SCOPE_VIOLATION",
        )


def has_scope(grant_scopes: Iterable[str], scope: str) -> bool:
    """Whether the grant holds exactly this scope."""
    return scope in grant_scopes
