"""The read queries behind the team's answers (segments, calendar) and a subscriber's own rows.

Parameterised SQL only; segment fragments come from `storage.segments.SegmentContext.compile`.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import aiosqlite

from policy.config import Cap
from policy.dsl import Expr
from policy.timeutil import to_epoch
from storage.db import Database
from storage.outbox import COUNTED_STATUSES
from storage.segments import SegmentContext


# -- subscribers --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Subscriber:
    contact_id: str
    has_email: bool
    consents: dict[str, str]  # channel -> granted | revoked
    frequency: str  # fields.frequency: "normal" (default) or "weekly"

    def on(self, channel: str) -> bool:
        return self.consents.get(channel) == "granted"


async def chat_contact(db: Database, chat_id: int) -> str | None:
    """The contact this chat is bound to (deep link), if any."""
    value = await db.scalar("SELECT id FROM contacts WHERE telegram_chat_id = ? LIMIT 1", (chat_id,))
    return None if value is None else str(value)


async def contact_exists(db: Database, contact_id: str) -> bool:
    return await db.scalar("SELECT 1 FROM contacts WHERE id = ?", (contact_id,)) is not None


async def subscriber(db: Database, contact_id: str) -> Subscriber | None:
    row = await db.fetchone("SELECT email, fields FROM contacts WHERE id = ?", (contact_id,))
    if row is None:
        return None
    consents = await db.fetchall("SELECT channel, status FROM consents WHERE contact_id = ?", (contact_id,))
    try:
        fields = json.loads(row[1] or "{}")
    except ValueError:
        fields = {}
    frequency = fields.get("frequency") if isinstance(fields, dict) else None
    return Subscriber(
        contact_id,
        bool(row[0]),
        {str(c[0]): str(c[1]) for c in consents},
        frequency if frequency in ("normal", "weekly") else "normal",
    )


async def set_frequency(conn: aiosqlite.Connection, contact_id: str, frequency: str) -> None:
    """Keep the subscriber's "how often" wish in `contacts.fields.frequency`."""
    await conn.execute(
        "UPDATE contacts SET fields = json_set(COALESCE(NULLIF(fields, ''), '{}'), '$.frequency', ?)"
        " WHERE id = ?",
        (frequency, contact_id),
    )


# -- segments -----------------------------------------------------------------------------------------
async def rfm_breakdown(ctx: SegmentContext, tree: Expr) -> dict[str, int]:
    """Members of a segment per RFM segment, largest first."""
    frag = ctx.compile(tree)
    rfm = ctx.rfm_segment_sql()
    await ctx.prepare()
    rows = await ctx.fetchall(
        f"SELECT {rfm.sql} AS seg, COUNT(*) AS n FROM contacts c WHERE {frag.sql} GROUP BY seg"
        " ORDER BY n DESC, seg",
        (*rfm.params, *frag.params),
    )
    return {str(r[0]): int(r[1]) for r in rows}


async def people(db: Database, ids: Sequence[str]) -> list[tuple[str, str | None, str | None]]:
    """(id, name, email) of these contacts, in the order given."""
    if not ids:
        return []
    marks = ",".join("?" * len(ids))
    rows = await db.fetchall(f"SELECT id, name, email FROM contacts WHERE id IN ({marks})", tuple(ids))
    found = {str(r[0]): (str(r[0]), r[1], r[2]) for r in rows}
    return [found[i] for i in ids if i in found]


# -- calendar -----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Day:
    """One local calendar day, [start, end); today starts at the moment asked."""

    key: str  # the ISO date
    start: datetime
    end: datetime


@dataclass(frozen=True)
class CalendarRow:
    day: str
    campaign_id: str
    name: str
    priority: str
    version: str
    count: int
    channel: str


def days_cte(days: Sequence[Day]) -> tuple[str, list[object]]:
    values = ",".join("(?, ?, ?)" for _ in days)
    return f"WITH days(day, lo, hi) AS (VALUES {values})", [
        v for d in days for v in (d.key, to_epoch(d.start), to_epoch(d.end))
    ]


async def planned_by_day(db: Database, days: Sequence[Day]) -> list[CalendarRow]:
    """Planned (or retrying) messages per local day, campaign, version and channel."""
    cte, params = days_cte(days)
    rows = await db.fetchall(
        f"{cte} SELECT d.day, o.campaign_id, COALESCE(c.name, ''), o.priority, COALESCE(o.version, ''),"
        " COUNT(*), o.channel FROM days d JOIN outbox o ON o.due_at >= d.lo AND o.due_at < d.hi"
        " LEFT JOIN campaigns c ON c.id = o.campaign_id"
        " WHERE o.status IN ('planned', 'retry') GROUP BY 1, 2, 3, 4, 5, 7 ORDER BY d.lo, 2, 5, 7",
        tuple(params),
    )
    return [
        CalendarRow(str(r[0]), str(r[1]), str(r[2]), str(r[3]), str(r[4]), int(r[5]), str(r[6])) for r in rows
    ]


async def double_booked(db: Database, days: Sequence[Day]) -> dict[str, int]:
    """Per day: contacts with two or more non-service messages planned that local day."""
    cte, params = days_cte(days)
    rows = await db.fetchall(
        f"{cte} SELECT day, COUNT(*) FROM (SELECT d.day AS day, o.contact_id FROM days d"
        " JOIN outbox o ON o.due_at >= d.lo AND o.due_at < d.hi"
        " WHERE o.status IN ('planned', 'retry') AND o.priority != 'service'"
        " GROUP BY d.day, o.contact_id HAVING COUNT(*) >= 2) GROUP BY day",
        tuple(params),
    )
    return {str(r[0]): int(r[1]) for r in rows}


SENT_LAG_S = 3 * 86400
_SCOPES = {"mass": "('mass')", "scenario": "('scenario')", "nonservice": "('mass', 'scenario')"}


async def over_cap(db: Database, days: Sequence[Day], cap: Cap) -> dict[str, int]:
    """Per day: contacts whose counted messages that local day exceed a (daily or shorter) cap.

    A sent message counts at its send time, which is at or after its due time and, retries ending with
    the send window, within `SENT_LAG_S` of it: that bound keeps the read on the (status, due_at) index,
    and CROSS JOIN keeps the outbox as the outer loop (one range read, not one per day).
    """
    cte, params = days_cte(days)
    marks = ",".join("?" * len(COUNTED_STATUSES))
    channel = "" if cap.channel == "any" else " AND o.channel = ?"
    since = to_epoch(min(d.start for d in days)) - SENT_LAG_S
    until = to_epoch(max(d.end for d in days))
    extra: list[object] = [*COUNTED_STATUSES, since, until, *([cap.channel] if channel else []), cap.max]
    rows = await db.fetchall(
        f"{cte} SELECT day, COUNT(*) FROM (SELECT d.day AS day, o.contact_id FROM outbox o CROSS JOIN days d"
        " ON COALESCE(o.sent_at, o.due_at) >= d.lo AND COALESCE(o.sent_at, o.due_at) < d.hi"
        f" WHERE o.status IN ({marks}) AND o.due_at >= ? AND o.due_at < ?"
        f" AND o.priority IN {_SCOPES[cap.scope]}{channel}"
        " GROUP BY d.day, o.contact_id HAVING COUNT(*) > ?) GROUP BY day",
        (*params, *extra),
    )
    return {str(r[0]): int(r[1]) for r in rows}
