"""The audit log: who did what, when, from where."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import aiosqlite

from policy.timeutil import to_epoch


async def audit(
    conn: aiosqlite.Connection,
    *,
    at: datetime,
    actor: str,
    action: str,
    target: str | None = None,
    source: str = "cli",
    details: dict[str, Any] | None = None,
) -> None:
    """Append one audit row on `conn` (inside the caller's transaction when there is one)."""
    await conn.execute(
        "INSERT INTO audit_log (at, actor, action, target, source, details) VALUES (?, ?, ?, ?, ?, ?)",
        (to_epoch(at), actor, action, target, source, json.dumps(details or {}, ensure_ascii=False)),
    )
