"""Bounce and complaint reports as stored (`feedback_reports`), and the outbox rows they name.

A report's key is claimed in the transaction that applies it, so a report read twice (the mailbox
polled again, a webhook retried) changes nothing the second time.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from policy.timeutil import from_epoch, to_epoch
from storage.db import Connection, Database


@dataclass(frozen=True, slots=True)
class SentRow:
    """The outbox row a report names, with the email its contact holds now."""

    outbox_id: int
    contact_id: str
    campaign_id: str
    email: str | None


@dataclass(frozen=True, slots=True)
class KeptAside:
    """A report that could not be used, with why."""

    key: str
    detail: str
    source: str
    received_at: datetime


@dataclass(frozen=True, slots=True)
class ReportRecord:
    key: str
    kind: str
    address: str | None
    outbox_id: int | None
    contact_id: str | None
    detail: str
    source: str


_SENT_ROW = (
    "SELECT o.id, o.contact_id, o.campaign_id, c.email FROM outbox o"
    " LEFT JOIN contacts c ON c.id = o.contact_id WHERE o.channel = 'email' AND "
)


async def find_sent_row(
    conn: Connection, outbox_ids: Sequence[int], message_ids: Sequence[tuple[int, str]]
) -> SentRow | None:
    """The first email row among `outbox_ids`, else the first whose Message-ID is in `message_ids`
    (given as (row id it carries, the whole Message-ID): the row must hold that very id)."""
    for outbox_id in outbox_ids:
        async with conn.execute(_SENT_ROW + "o.id = ?", (outbox_id,)) as cur:
            row = await cur.fetchone()
        if row is not None:
            return SentRow(int(row[0]), str(row[1]), str(row[2]), row[3])
    for outbox_id, message_id in message_ids:
        async with conn.execute(_SENT_ROW + "o.id = ? AND o.message_id = ?", (outbox_id, message_id)) as cur:
            row = await cur.fetchone()
        if row is not None:
            return SentRow(int(row[0]), str(row[1]), str(row[2]), row[3])
    return None


async def claim_report(conn: Connection, record: ReportRecord, *, at: datetime, raw: bytes | None) -> bool:
    """Store the report; False (nothing stored) when its key was stored before."""
    cur = await conn.execute(
        "INSERT INTO feedback_reports (key, kind, address, outbox_id, contact_id, detail, source,"
        " received_at, raw) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (key) DO NOTHING",
        (
            record.key,
            record.kind,
            record.address,
            record.outbox_id,
            record.contact_id,
            record.detail,
            record.source,
            to_epoch(at),
            raw,
        ),
    )
    return cur.rowcount > 0


async def soft_bounces_since(conn: Connection, address: str, since: datetime) -> int:
    """Soft bounces reported for `address` (the suppression key) since `since`."""
    async with conn.execute(
        "SELECT COUNT(*) FROM feedback_reports"
        " WHERE kind = 'soft_bounce' AND address = ? AND received_at >= ?",
        (address, to_epoch(since)),
    ) as cur:
        row = await cur.fetchone()
    return int(row[0]) if row else 0


async def kept_aside(db: Database, *, limit: int = 50) -> list[KeptAside]:
    """The latest reports that could not be used, newest first."""
    rows = await db.fetchall(
        "SELECT key, detail, source, received_at FROM feedback_reports WHERE kind = 'unparsable'"
        " ORDER BY received_at DESC LIMIT ?",
        (limit,),
    )
    return [KeptAside(str(r[0]), str(r[1]), str(r[2]), from_epoch(int(r[3]))) for r in rows]


async def report_counts(db: Database) -> dict[str, int]:
    """Reports stored per kind."""
    rows = await db.fetchall("SELECT kind, COUNT(*) FROM feedback_reports GROUP BY kind")
    return {str(r[0]): int(r[1]) for r in rows}
