"""Modules loaded on first use, not with the package: a verify-only agent never imports
httpx (nor asyncio, which httpx pulls in)."""

from __future__ import annotations

from typing import Any


def httpx() -> Any:
    """The httpx module."""
    import httpx as module

    return module


def asyncio() -> Any:
    """The asyncio module."""
    import asyncio as module

    return module
