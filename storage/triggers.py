"""What trigger ticks read and write: the change feed, each trigger's cursor, its runs and members.

The feed (`trigger_feed`, filled by SQLite triggers on events, orders and tags — migration 0014) is read
by id range, so a tick costs what changed since the previous one, never the whole base.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import aiosqlite

from policy.triggers import outbox_step
from storage.bulk import ids_param, insert_rows
from storage.db import Database
from storage.outbox import INSERT_PLANNED, PlannedRow


@dataclass(frozen=True, slots=True)
class TriggerState:
    campaign_id: str
    cursor: int  # the last feed id this trigger read
    full_at: int | None  # the last whole-base evaluation (`enter:`, `date:`), epoch seconds


@dataclass(frozen=True, slots=True)
class FeedItem:
    id: int
    contact_id: str
    at: int


@dataclass(frozen=True, slots=True)
class NewRun:
    """A run to start: its outbox rows carry the step index; the run id is added on insert."""

    contact_id: str
    key: str
    started_at: int
    rows: tuple[PlannedRow, ...]


async def feed_head(db: Database) -> int:
    """The newest feed id (0 when the feed is empty)."""
    return int(await db.scalar("SELECT COALESCE(MAX(id), 0) FROM trigger_feed"))  # type: ignore[call-overload]


async def trigger_states(db: Database) -> dict[str, TriggerState]:
    rows = await db.fetchall("SELECT campaign_id, cursor, full_at FROM trigger_state")
    return {r[0]: TriggerState(r[0], int(r[1]), r[2]) for r in rows}


async def start_trigger(db: Database, campaign_id: str) -> None:
    """Make a trigger live: it reads only changes made from now on (idempotent)."""
    async with db.transaction() as conn:
        await conn.execute(
            "INSERT OR IGNORE INTO trigger_state (campaign_id, cursor)"
            " SELECT ?, COALESCE(MAX(id), 0) FROM trigger_feed",
            (campaign_id,),
        )


async def feed_items(db: Database, *, after: int, upto: int, kind: str, name: str) -> list[FeedItem]:
    """Feed rows of one kind and name in (after, upto], oldest first."""
    rows = await db.fetchall(
        "SELECT id, contact_id, at FROM trigger_feed WHERE id > ? AND id <= ? AND kind = ? AND name = ?"
        " ORDER BY id",
        (after, upto, kind, name),
    )
    return [FeedItem(int(r[0]), r[1], int(r[2])) for r in rows]


async def touched_contacts(db: Database, *, after: int, upto: int) -> list[str]:
    """Contacts with any change in (after, upto], by id."""
    rows = await db.fetchall(
        "SELECT DISTINCT contact_id FROM trigger_feed WHERE id > ? AND id <= ? ORDER BY contact_id",
        (after, upto),
    )
    return [r[0] for r in rows]


async def latest_starts(db: Database, campaign_id: str, ids: Sequence[str]) -> dict[str, int]:
    """contact → when its latest run of this trigger started."""
    if not ids:
        return {}
    rows = await db.fetchall(
        "SELECT contact_id, MAX(started_at) FROM trigger_runs WHERE campaign_id = ?"
        " AND contact_id IN (SELECT value FROM json_each(?)) GROUP BY contact_id",
        (campaign_id, ids_param(ids)),
    )
    return {r[0]: int(r[1]) for r in rows}


async def run_starts(db: Database, run_ids: Sequence[int]) -> dict[int, int]:
    """run id → when it started (the send-time re-check reads `until` since then)."""
    if not run_ids:
        return {}
    rows = await db.fetchall(
        "SELECT id, started_at FROM trigger_runs WHERE id IN (SELECT value FROM json_each(?))",
        (ids_param(str(i) for i in run_ids),),
    )
    return {int(r[0]): int(r[1]) for r in rows}


async def members(db: Database, campaign_id: str, ids: Sequence[str] | None = None) -> set[str]:
    """Who was in an `enter:` trigger's segment at its last evaluation (of `ids`, or all)."""
    if ids is None:
        rows = await db.fetchall(
            "SELECT contact_id FROM trigger_members WHERE campaign_id = ?", (campaign_id,)
        )
    else:
        rows = await db.fetchall(
            "SELECT contact_id FROM trigger_members WHERE campaign_id = ?"
            " AND contact_id IN (SELECT value FROM json_each(?))",
            (campaign_id, ids_param(ids)),
        )
    return {r[0] for r in rows}


async def date_values(db: Database, field: str) -> list[tuple[str, str | None, int | str]]:
    """(contact, timezone, value) of a date trigger's field: `first_paid_at` and `created_at` as epoch
    seconds, `fields.NAME` as the stored text."""
    if field == "first_paid_at":
        sql = (
            "SELECT o.contact_id, c.timezone, MIN(o.paid_at) FROM orders o"
            " JOIN contacts c ON c.id = o.contact_id"
            " WHERE o.status = 'paid' AND o.paid_at IS NOT NULL GROUP BY o.contact_id"
        )
        params: tuple[object, ...] = ()
    elif field == "created_at":
        sql = "SELECT id, timezone, created_at FROM contacts WHERE created_at IS NOT NULL"
        params = ()
    else:
        sql = (
            "SELECT id, timezone, json_extract(fields, ?) AS v FROM contacts"
            " WHERE json_extract(fields, ?) IS NOT NULL"
        )
        path = "$." + field.removeprefix("fields.")
        params = (path, path)
    return [(r[0], r[1], r[2]) for r in await db.fetchall(sql, params)]


async def commit_tick(
    db: Database,
    campaign_id: str,
    runs: Sequence[NewRun],
    *,
    cursor: int,
    now: int,
    full: bool = False,
    entered: Sequence[str] = (),
    left: Sequence[str] = (),
) -> int:
    """In one transaction: start the runs (a run whose key exists is skipped with its rows), write
    their outbox rows, move the cursor, update the members; return how many runs started."""
    async with db.transaction() as conn:
        before = await _scalar(conn, "SELECT COALESCE(MAX(id), 0) FROM trigger_runs")
        await insert_rows(
            conn,
            "INSERT OR IGNORE INTO trigger_runs (campaign_id, contact_id, key, started_at)",
            [(campaign_id, r.contact_id, r.key, r.started_at) for r in runs],
        )
        async with conn.execute(
            "SELECT id, contact_id, key FROM trigger_runs WHERE id > ? AND campaign_id = ?",
            (before, campaign_id),
        ) as cur:
            started = {(r[1], r[2]): int(r[0]) for r in await cur.fetchall()}
        rows = [
            (*row._replace(step=outbox_step(started[(run.contact_id, run.key)], row.step)), now)
            for run in runs
            if (run.contact_id, run.key) in started
            for row in run.rows
        ]
        await conn.executemany(INSERT_PLANNED, rows)
        await conn.execute(
            "UPDATE trigger_state SET cursor = MAX(cursor, ?), full_at = CASE WHEN ? THEN ? ELSE full_at END"
            " WHERE campaign_id = ?",
            (cursor, full, now, campaign_id),
        )
        if entered:
            await insert_rows(
                conn,
                "INSERT OR IGNORE INTO trigger_members (campaign_id, contact_id)",
                [(campaign_id, cid) for cid in entered],
            )
        if left:
            await conn.execute(
                "DELETE FROM trigger_members WHERE campaign_id = ? AND contact_id IN"
                " (SELECT value FROM json_each(?))",
                (campaign_id, ids_param(left)),
            )
    return len(started)


async def prune_feed(db: Database, live: Sequence[str]) -> int:
    """Drop feed rows every live trigger has read (all of them when none is live); return how many."""
    async with db.transaction() as conn:
        floor = await _scalar(
            conn,
            "SELECT MIN(cursor) FROM trigger_state WHERE campaign_id IN (SELECT value FROM json_each(?))",
            (ids_param(live),),
        )
        if not live:
            floor = await _scalar(conn, "SELECT COALESCE(MAX(id), 0) FROM trigger_feed")
        cur = await conn.execute("DELETE FROM trigger_feed WHERE id <= ?", (floor,))
        return max(cur.rowcount, 0)


async def forget_trigger(db: Database, campaign_id: str) -> None:
    """A trigger that is no longer live keeps its runs (reentry) but no cursor or members."""
    async with db.transaction() as conn:
        await conn.execute("DELETE FROM trigger_state WHERE campaign_id = ?", (campaign_id,))
        await conn.execute("DELETE FROM trigger_members WHERE campaign_id = ?", (campaign_id,))


async def _scalar(conn: aiosqlite.Connection, sql: str, params: Sequence[object] = ()) -> int:
    async with conn.execute(sql, params) as cur:
        row = await cur.fetchone()
    return int(row[0]) if row is not None and row[0] is not None else 0
