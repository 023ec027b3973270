"""Notices the bot starts on its own (fatigue alerts, the weekly report), each told once per period."""

from __future__ import annotations

from datetime import datetime

from policy.timeutil import to_epoch
from storage.db import Database


async def claim_notice(db: Database, key: str, now: datetime) -> bool:
    """True the first time `key` is claimed (then the caller tells the team), False ever after."""
    async with db.transaction() as conn:
        cur = await conn.execute(
            "INSERT INTO team_notices (key, sent_at) VALUES (?, ?) ON CONFLICT(key) DO NOTHING",
            (key, to_epoch(now)),
        )
        return cur.rowcount > 0


async def release_notice(db: Database, key: str) -> None:
    """Forget a claim whose notice reached nobody (the next round tries again)."""
    async with db.transaction() as conn:
        await conn.execute("DELETE FROM team_notices WHERE key = ?", (key,))
