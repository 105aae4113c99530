"""Where the sync result type lives in grantex-gemma 0.1.2; the upload is OfflineAuditLog.sync."""

from __future__ import annotations

from ._types import SyncResult

__all__ = ["SyncResult"]
