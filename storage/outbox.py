"""The outbox: one row per planned message, and the queries the planner and worker run on it."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import aiosqlite

from storage.db import Database

# Statuses that count against caps (SPEC §4): planned, sending or sent.
COUNTED_STATUSES = ("planned", "sending", "sent", "retry", "uncertain")
BATCH = 5000


@dataclass(frozen=True)
class PlannedRow:
    campaign_id: str
    contact_id: str
    step: int
    priority: str
    channel: str
    version: str | None
    variant: str | None
    due_at: int
    deadline: int | None
    status: str  # planned | holdout


@dataclass(frozen=True)
class CountedRow:
    contact_id: str
    at: int
    channel: str
    priority: str


async def counted_messages(
    db: Database, *, since: int, until: int, exclude_campaign: str | None = None
) -> dict[str, list[CountedRow]]:
    """Messages in cap scope (mass/scenario, not service) per contact whose due/sent time is in [since, until)."""
    marks = ",".join("?" * len(COUNTED_STATUSES))
    sql = (
        "SELECT contact_id, COALESCE(sent_at, due_at) AS t, channel, priority FROM outbox "
        f"WHERE status IN ({marks}) AND priority IN ('mass', 'scenario') "
        "AND COALESCE(sent_at, due_at) >= ? AND COALESCE(sent_at, due_at) < ? AND campaign_id != ?"
    )
    found: dict[str, list[CountedRow]] = defaultdict(list)
    async with db.conn.execute(sql, (*COUNTED_STATUSES, since, until, exclude_campaign or "")) as cur:
        async for contact_id, t, channel, priority in cur:
            found[contact_id].append(CountedRow(contact_id, int(t), channel, priority))
    return found


async def insert_planned(db: Database, rows: Iterable[PlannedRow], *, now: int) -> int:
    """Insert rows in batched transactions; existing (campaign, contact, step) keys are left alone."""
    inserted = 0
    batch: list[tuple[object, ...]] = []

    async def flush(conn: aiosqlite.Connection) -> int:
        before = conn.total_changes
        await conn.executemany(
            "INSERT OR IGNORE INTO outbox (campaign_id, contact_id, step, priority, channel, version, variant,"
            " due_at, deadline, status, created_at) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
            batch,
        )
        return conn.total_changes - before

    for row in rows:
        batch.append(
            (row.campaign_id, row.contact_id, row.step, row.priority, row.channel, row.version,
             row.variant, row.due_at, row.deadline, row.status, now)
        )
        if len(batch) >= BATCH:
            async with db.transaction() as conn:
                inserted += await flush(conn)
            batch.clear()
    if batch:
        async with db.transaction() as conn:
            inserted += await flush(conn)
    return inserted


async def rows_of_campaign(db: Database, campaign_id: str, step: int | None = None) -> list[aiosqlite.Row]:
    sql = "SELECT * FROM outbox WHERE campaign_id = ?"
    params: Sequence[object] = (campaign_id,)
    if step is not None:
        sql += " AND step = ?"
        params = (campaign_id, step)
    return await db.fetchall(sql + " ORDER BY contact_id, step", tuple(params))


async def status_counts(db: Database, campaign_id: str) -> dict[str, int]:
    rows = await db.fetchall(
        "SELECT status, COUNT(*) FROM outbox WHERE campaign_id = ? GROUP BY status", (campaign_id,)
    )
    return {r[0]: int(r[1]) for r in rows}
