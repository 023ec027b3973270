"""The audit log: who did what, when, from where."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import aiosqlite

from policy.timeutil import to_epoch
from storage.db import Database


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


@dataclass(frozen=True)
class AuditRow:
    id: int
    at: int
    actor: str
    action: str
    target: str | None
    source: str
    details: str  # JSON as stored


async def recent_audit(db: Database, *, limit: int = 200, action_prefix: str = "") -> list[AuditRow]:
    """The newest rows first (optionally only actions starting with `action_prefix`, e.g. `campaign.`)."""
    rows = await db.fetchall(
        "SELECT id, at, actor, action, target, source, details FROM audit_log"
        " WHERE substr(action, 1, ?) = ? ORDER BY id DESC LIMIT ?",
        (len(action_prefix), action_prefix, limit),
    )
    return [AuditRow(int(r[0]), int(r[1]), str(r[2]), str(r[3]), r[4], str(r[5]), str(r[6])) for r in rows]
