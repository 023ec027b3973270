"""The global pause: while set, the worker sends nothing but service messages."""

from __future__ import annotations

import json
from datetime import datetime

from policy.timeutil import iso_utc
from storage.audit import audit
from storage.db import Database

_KEY = "paused"


async def get_paused(db: Database) -> bool:
    value = await db.scalar("SELECT value FROM settings WHERE key = ?", (_KEY,))
    return bool(value) and json.loads(str(value)).get("paused", False) is True


async def pause_info(db: Database) -> dict[str, object]:
    value = await db.scalar("SELECT value FROM settings WHERE key = ?", (_KEY,))
    return json.loads(str(value)) if value else {"paused": False}


async def set_paused(db: Database, paused: bool, *, by: str, at: datetime, source: str = "cli") -> None:
    """Pause or resume; audited. The worker reads it at every tick, so it takes effect within one tick."""
    value = json.dumps({"paused": paused, "by": by, "at": iso_utc(at)})
    async with db.transaction() as conn:
        await conn.execute(
            "INSERT INTO settings (key, value) VALUES (?, ?)"
            " ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            (_KEY, value),
        )
        await audit(conn, at=at, actor=by, action="pause" if paused else "resume", source=source)
