"""What happened to the outbox, read back for people: per campaign and step, per channel, per contact."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from policy.timeutil import to_epoch
from storage.db import Database


@dataclass(frozen=True)
class Outcome:
    """How many rows of one (campaign, step, channel) ended in one status, and why."""

    campaign_id: str
    step: int
    channel: str
    status: str
    reason: str  # "" when the status needs no reason
    count: int


@dataclass(frozen=True)
class ContactRow:
    """One message of one contact, in due order."""

    campaign_id: str
    step: int
    channel: str
    status: str
    reason: str


async def outcomes(db: Database) -> list[Outcome]:
    rows = await db.fetchall(
        "SELECT campaign_id, step, channel, status, COALESCE(reason, ''), COUNT(*) FROM outbox"
        " GROUP BY campaign_id, step, channel, status, reason ORDER BY campaign_id, step, channel, status"
    )
    return [Outcome(str(r[0]), int(r[1]), str(r[2]), str(r[3]), str(r[4]), int(r[5])) for r in rows]


async def sent_per_channel(db: Database) -> dict[str, int]:
    rows = await db.fetchall("SELECT channel, COUNT(*) FROM outbox WHERE status = 'sent' GROUP BY channel")
    return {str(r[0]): int(r[1]) for r in rows}


async def campaign_statuses(db: Database) -> dict[str, str]:
    """Every campaign's status, by id."""
    rows = await db.fetchall("SELECT id, status FROM campaigns ORDER BY id")
    return {str(r[0]): str(r[1]) for r in rows}


async def messages_of_contact(db: Database, contact_id: str) -> list[ContactRow]:
    rows = await db.fetchall(
        "SELECT campaign_id, step, channel, status, COALESCE(reason, '') FROM outbox WHERE contact_id = ?"
        " ORDER BY due_at",
        (contact_id,),
    )
    return [ContactRow(str(r[0]), int(r[1]), str(r[2]), str(r[3]), str(r[4])) for r in rows]


async def contact_of_row(db: Database, outbox_id: int) -> str | None:
    value = await db.scalar("SELECT contact_id FROM outbox WHERE id = ?", (outbox_id,))
    return None if value is None else str(value)


async def next_planned_contact(db: Database, campaign_id: str, channel: str, after: datetime) -> str | None:
    """The contact whose planned message of this campaign and channel is due first after `after`."""
    value = await db.scalar(
        "SELECT contact_id FROM outbox WHERE campaign_id = ? AND status = 'planned' AND channel = ?"
        " AND due_at > ? ORDER BY due_at, contact_id LIMIT 1",
        (campaign_id, channel, to_epoch(after)),
    )
    return None if value is None else str(value)
