"""The outbox: one row per planned message, and the queries the planner and worker run on it."""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import NamedTuple

import aiosqlite

from storage.db import Database

# Statuses that count against caps (SPEC §4): planned, sending or sent.
COUNTED_STATUSES = ("planned", "sending", "sent", "retry", "uncertain")
# A read of a batch of contacts' rows writes `+status` / `+priority` (no index on them):
# without statistics on the outbox SQLite prefers the (status, priority) slice of outbox_claim over the
# contacts' own rows, and that slice grows with every message sent — at 300 k sent rows the send-time
# cap read of one 200-row batch took 128 ms instead of 0.1 ms, per batch, for the rest of the campaign.
BATCH = 5000
# The outbox's `step`: 0 is a campaign's first send, 1.. its cascade steps, REMINDER_STEP + k the
# k-th reminder of its event.
REMINDER_STEP = 100


class PlannedRow(NamedTuple):
    """One outbox row to plan; a tuple in INSERT_PLANNED's column order (a million build cheaply)."""

    campaign_id: str
    contact_id: str
    step: int
    priority: str
    channel: str
    version: str | None
    variant: str | None
    due_at: int
    deadline: int | None
    status: str  # planned | holdout | cancelled (a follow-up decided against, kept so it is decided once)
    reason: str | None = None


# A PlannedRow's values followed by created_at.
INSERT_PLANNED = (
    "INSERT OR IGNORE INTO outbox (campaign_id, contact_id, step, priority, channel, version,"
    " variant, due_at, deadline, status, reason, created_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)"
)


@dataclass(frozen=True)
class CountedRow:
    contact_id: str
    at: int
    channel: str
    priority: str


async def counted_messages(
    db: Database,
    *,
    since: int,
    until: int,
    exclude_campaign: str | None = None,
    contact_ids: Sequence[str] = (),
) -> dict[str, list[CountedRow]]:
    """Cap-scope messages (mass/scenario) per contact whose due or sent time is in [since, until).

    `exclude_campaign` leaves out the campaign being planned (re-planning must not count itself);
    `contact_ids` narrows the read to a batch.
    """
    marks = ",".join("?" * len(COUNTED_STATUSES))
    only = f" AND contact_id IN ({','.join('?' * len(contact_ids))})" if contact_ids else ""
    # For a batch: the contacts' own rows (outbox_contact), never the status slice (see above).
    by = "+" if contact_ids else ""
    sql = (
        "SELECT contact_id, COALESCE(sent_at, due_at) AS t, channel, priority FROM outbox "
        f"WHERE {by}status IN ({marks}) AND {by}priority IN ('mass', 'scenario') "
        f"AND COALESCE(sent_at, due_at) >= ? AND COALESCE(sent_at, due_at) < ? AND campaign_id != ?{only}"
    )
    found: dict[str, list[CountedRow]] = defaultdict(list)
    params = (*COUNTED_STATUSES, since, until, exclude_campaign or "", *contact_ids)
    async with db.cursor(sql, params) as cur:
        async for contact_id, t, channel, priority in cur:
            found[contact_id].append(CountedRow(contact_id, int(t), channel, priority))
    return found


async def insert_planned(db: Database, rows: Iterable[PlannedRow], *, now: int) -> int:
    """Insert rows in batched transactions; existing (campaign, contact, step) keys are left alone."""
    it = iter(rows)
    return await insert_planned_batches(db, iter(lambda: list(itertools.islice(it, BATCH)), []), now=now)


async def insert_planned_batches(
    db: Database, batches: Iterable[Sequence[tuple[object, ...]]], *, now: int
) -> int:
    """Insert each batch (`PlannedRow`s, or plain tuples of their values) in a transaction of its own
    (the writer is never held for long); existing (campaign, contact, step) keys are left alone;
    return how many rows were new."""
    inserted = 0
    for batch in batches:
        values = [(*row, now) for row in batch]
        async with db.transaction() as conn:
            before = conn.total_changes
            await conn.executemany(INSERT_PLANNED, values)
            inserted += conn.total_changes - before
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


@dataclass(frozen=True)
class ClaimedRow:
    id: int
    campaign_id: str
    contact_id: str
    step: int
    priority: str
    channel: str
    version: str | None
    variant: str | None
    due_at: int
    deadline: int | None
    attempts: int


# A held campaign's rows wait in the outbox: paused, or back to approval after its count drifted.
HELD_STATUSES = ("paused", "pending_approval", "draft", "dry_run")
HELD = ", ".join(f"'{s}'" for s in HELD_STATUSES)
PRIORITIES = ("service", "scenario", "mass")
# A claim is a row lease (`lease_until`, `claimed_by`) on a row that keeps its status: a crash before
# hand-off leaves a stale claim that is simply claimable again once the lease runs out. One (status,
# priority) slice at a time, walked in due order along outbox_claim: no sort of every due row per tick.
# `attempts + 1` is the number this attempt will have if the row is handed to its channel.
CLAIM_SQL = (
    "UPDATE outbox SET lease_until = ?, claimed_by = ? WHERE id IN ("
    " SELECT id FROM outbox WHERE status = ? AND priority = ? AND due_at <= ?"
    " AND (lease_until IS NULL OR lease_until < ?)"
    f" AND campaign_id NOT IN (SELECT id FROM campaigns WHERE status IN ({HELD}))"
    " ORDER BY due_at LIMIT ?)"
    " RETURNING id, campaign_id, contact_id, step, priority, channel, version, variant, due_at,"
    " deadline, attempts + 1"
)
# What may be done to a claimed row that was not handed to a channel, and to one that was.
UNSENT = "claimed_by = ? AND status IN ('planned', 'retry')"
IN_FLIGHT = "claimed_by = ? AND status = 'sending'"


async def claim_due(
    db: Database, *, holder: str, now: int, lease_s: int, limit: int, service_only: bool = False
) -> list[ClaimedRow]:
    """Lease up to `limit` due rows (service, then scenario, then mass) to `holder`; statuses stay."""
    claimed: list[ClaimedRow] = []
    async with db.transaction() as conn:
        for priority in PRIORITIES[:1] if service_only else PRIORITIES:
            for status in ("retry", "planned"):
                left = limit - len(claimed)
                if left <= 0:
                    break
                params = (now + lease_s, holder, status, priority, now, now, left)
                async with conn.execute(CLAIM_SQL, params) as cur:
                    claimed.extend(ClaimedRow(*tuple(r)) for r in await cur.fetchall())
    claimed.sort(key=lambda r: (PRIORITIES.index(r.priority), r.due_at, r.id))
    return claimed


@dataclass(frozen=True)
class Outcome:
    """The new state of one claimed row."""

    id: int
    status: str  # sent | retry | failed | suppressed | expired | cancelled | planned (deferred)
    reason: str | None = None
    due_at: int | None = None  # for retry and deferral
    sent_at: int | None = None
    message_id: str | None = None
    error: str | None = None
    sms_parts: int | None = None


OUTCOME_SQL = (
    "UPDATE outbox SET status = ?, reason = COALESCE(?, reason), due_at = COALESCE(?, due_at),"
    " sent_at = COALESCE(?, sent_at), message_id = COALESCE(?, message_id), error = ?,"
    " sms_parts = COALESCE(?, sms_parts), lease_until = NULL, claimed_by = NULL WHERE id = ? AND "
)


def outcome_params(outcome: Outcome, holder: str) -> tuple[object, ...]:
    o = outcome
    return (o.status, o.reason, o.due_at, o.sent_at, o.message_id, o.error, o.sms_parts, o.id, holder)


async def record_unsent(db: Database, outcomes: Sequence[Outcome], *, holder: str) -> None:
    """Settle claimed rows the re-check kept from their channel (suppressed, deferred, …) at once."""
    if not outcomes:
        return
    async with db.transaction() as conn:
        await conn.executemany(OUTCOME_SQL + UNSENT, [outcome_params(o, holder) for o in outcomes])


async def release_claims(db: Database, ids: Sequence[int], *, holder: str) -> None:
    """Give back claimed rows that were never handed to a channel: same status, same due time."""
    if not ids:
        return
    async with db.transaction() as conn:
        await conn.executemany(
            f"UPDATE outbox SET lease_until = NULL, claimed_by = NULL WHERE id = ? AND {UNSENT}",
            [(row_id, holder) for row_id in ids],
        )


async def next_due_at(db: Database, *, after: int) -> int | None:
    """The earliest due time after `after` of a row waiting to be sent (a hint for an idle worker: the
    row may belong to a held campaign, then the wake-up simply finds nothing to claim)."""
    value = await db.scalar(
        "SELECT MIN(t) FROM (SELECT MIN(due_at) AS t FROM outbox WHERE status = 'planned' AND due_at > ?"
        " UNION ALL SELECT MIN(due_at) FROM outbox WHERE status = 'retry' AND due_at > ?)",
        (after, after),
    )
    return int(value) if value is not None else None  # type: ignore[call-overload]


async def recover_in_flight(db: Database, *, holder: str, now: int) -> dict[str, int]:
    """At start-up, under the instance lease: what other (dead) holders left behind.

    Their `sending` rows were handed to a channel with no answer recorded: service → re-planned,
    others → `uncertain` (never re-sent). Their claims on rows never handed are released. Rows of
    ours, and rows whose lease is still running under our own holder, are not touched.
    """
    async with db.transaction() as conn:
        dead = "(claimed_by IS NULL OR claimed_by != ? OR lease_until < ?)"
        cur = await conn.execute(
            "UPDATE outbox SET status = 'planned', lease_until = NULL, claimed_by = NULL,"
            f" due_at = MIN(due_at, ?) WHERE status = 'sending' AND priority = 'service' AND {dead}",
            (now, holder, now),
        )
        service = cur.rowcount
        cur = await conn.execute(
            "UPDATE outbox SET status = 'uncertain', lease_until = NULL, claimed_by = NULL,"
            f" reason = 'in flight at crash' WHERE status = 'sending' AND {dead}",
            (holder, now),
        )
        other = cur.rowcount
        cur = await conn.execute(
            "UPDATE outbox SET lease_until = NULL, claimed_by = NULL"
            " WHERE status IN ('planned', 'retry') AND claimed_by IS NOT NULL AND claimed_by != ?",
            (holder,),
        )
        released = cur.rowcount
    return {"service_requeued": service, "uncertain": other, "claims_released": released}


async def expire_leases(db: Database, *, now: int) -> int:
    """A lease that ran out while this process lives means a send hung: treat like a crash for that row."""
    async with db.transaction() as conn:
        cur = await conn.execute(
            "UPDATE outbox SET status = CASE priority WHEN 'service' THEN 'planned' ELSE 'uncertain' END,"
            " lease_until = NULL, claimed_by = NULL WHERE status = 'sending' AND lease_until < ?",
            (now,),
        )
        return cur.rowcount


async def sent_counted_for(
    db: Database, contact_ids: Sequence[str], *, since: int, until: int, exclude_ids: Sequence[int]
) -> dict[str, list[CountedRow]]:
    """What was really sent (or is in flight) to these contacts in [since, until): send-time cap checks.
    Keyed by the contacts, not by status (see the note on batch reads above)."""
    found: dict[str, list[CountedRow]] = defaultdict(list)
    if not contact_ids:
        return found
    excluded = set(exclude_ids)
    marks = ",".join("?" * len(contact_ids))
    async with db.cursor(
        "SELECT id, contact_id, COALESCE(sent_at, due_at), channel, priority FROM outbox"
        f" WHERE contact_id IN ({marks}) AND +status IN ('sent', 'sending', 'uncertain')"
        " AND +priority IN ('mass', 'scenario') AND COALESCE(sent_at, due_at) >= ?"
        " AND COALESCE(sent_at, due_at) < ?",
        (*contact_ids, since, until),
    ) as cur:
        async for row_id, contact_id, t, channel, priority in cur:
            if row_id not in excluded:
                found[contact_id].append(CountedRow(contact_id, int(t), channel, priority))
    return found
