"""The global pause: while set, the worker sends nothing but service messages."""

from __future__ import annotations

import json
from datetime import datetime

from policy.timeutil import iso_utc
from storage.audit import audit
from storage.db import Database

# The worker also reads this key inside the very write that hands a row to its channel
# (storage/handoff.py), so a committed pause is seen by every later hand-off.
PAUSE_KEY = "paused"
_SQL = "SELECT value FROM settings WHERE key = ?"


def decode_pause(value: object) -> bool:
    """Whether a stored pause value says paused."""
    return bool(value) and json.loads(str(value)).get("paused", False) is True


# The same test in SQL, for statements that must see the pause in their own transaction.
PAUSED_SQL = (
    f"EXISTS (SELECT 1 FROM settings WHERE key = '{PAUSE_KEY}' AND json_type(value, '$.paused') = 'true')"
)


async def get_paused(db: Database) -> bool:
    return decode_pause(await db.scalar(_SQL, (PAUSE_KEY,)))


async def pause_info(db: Database) -> dict[str, object]:
    value = await db.scalar(_SQL, (PAUSE_KEY,))
    return json.loads(str(value)) if value else {"paused": False}


async def set_paused(db: Database, paused: bool, *, by: str, at: datetime, source: str = "cli") -> int:
    """Pause or resume; audited. Returns how many non-service messages wait (held, when pausing).

    The worker checks the pause before handing each message to its channel, so once this commits
    nothing but service goes out."""
    value = json.dumps({"paused": paused, "by": by, "at": iso_utc(at)})
    async with db.transaction() as conn:
        await conn.execute(
            "INSERT INTO settings (key, value) VALUES (?, ?)"
            " ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            (PAUSE_KEY, value),
        )
        async with conn.execute(
            "SELECT COUNT(*) FROM outbox WHERE status IN ('planned', 'retry') AND priority != 'service'"
        ) as cur:
            row = await cur.fetchone()
        waiting = int(row[0]) if row else 0
        await audit(
            conn,
            at=at,
            actor=by,
            action="pause" if paused else "resume",
            source=source,
            details={"waiting": waiting},
        )
    return waiting
