"""What cascade steps, reminders and the send-time re-check ask of the outbox and the events.

A follow-up is decided once: the queries below only return contacts whose step has no outbox row yet,
and the planner writes a row (planned or cancelled) for every one of them.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from policy.dsl import Expr
from policy.timeutil import from_epoch, to_epoch
from storage.db import Database
from storage.outbox import REMINDER_STEP
from storage.segments import SegmentContext

ACTIVE = ("scheduled", "sending", "done")  # campaigns whose follow-ups are still planned


@dataclass(frozen=True, slots=True)
class PreviousSend:
    """A contact whose previous step went out and whose next step is not decided yet."""

    contact_id: str
    sent_at: datetime
    version: str | None
    variant: str | None


async def active_campaign_ids(db: Database) -> list[str]:
    rows = await db.fetchall(
        f"SELECT id FROM campaigns WHERE status IN ({','.join('?' * len(ACTIVE))}) ORDER BY id", ACTIVE
    )
    return [r[0] for r in rows]


async def ready_for_cascade(
    db: Database, campaign_id: str, index: int, *, sent_before: datetime, limit: int
) -> list[PreviousSend]:
    """Up to `limit` contacts whose step `index - 1` was sent before `sent_before` and who have no row
    for step `index`, by id."""
    rows = await db.fetchall(
        "SELECT o.contact_id, o.sent_at, o.version, o.variant FROM outbox o"
        " WHERE o.campaign_id = ? AND o.step = ? AND o.status = 'sent' AND o.sent_at <= ?"
        " AND NOT EXISTS (SELECT 1 FROM outbox n WHERE n.campaign_id = o.campaign_id"
        " AND n.contact_id = o.contact_id AND n.step = ?) ORDER BY o.contact_id LIMIT ?",
        (campaign_id, index - 1, to_epoch(sent_before), index, limit),
    )
    return [PreviousSend(r[0], from_epoch(int(r[1])), r[2], r[3]) for r in rows]


async def registered_not_attended(db: Database, campaign_id: str, now: datetime) -> list[str]:
    """Contacts registered for the campaign's event by `now` who have not attended it, by id."""
    rows = await db.fetchall(
        "SELECT DISTINCT r.contact_id FROM events r WHERE r.type = 'webinar_registered'"
        " AND r.campaign_id = ? AND r.at <= ? AND NOT EXISTS (SELECT 1 FROM events a"
        " WHERE a.contact_id = r.contact_id AND a.type = 'webinar_attended'"
        " AND a.campaign_id = r.campaign_id)"
        " ORDER BY r.contact_id",
        (campaign_id, to_epoch(now)),
    )
    return [r[0] for r in rows]


async def reminders_decided(db: Database, campaign_id: str) -> set[tuple[str, int]]:
    """(contact, step) of every reminder row the campaign has (planned, sent or cancelled)."""
    rows = await db.fetchall(
        "SELECT contact_id, step FROM outbox WHERE campaign_id = ? AND step >= ?",
        (campaign_id, REMINDER_STEP),
    )
    return {(r[0], int(r[1])) for r in rows}


async def first_send_versions(db: Database, campaign_id: str) -> dict[str, tuple[str | None, str | None]]:
    """contact → (version, variant) of the campaign's first send."""
    rows = await db.fetchall(
        "SELECT contact_id, version, variant FROM outbox WHERE campaign_id = ? AND step = 0", (campaign_id,)
    )
    return {r[0]: (r[1], r[2]) for r in rows}


async def matching_ids(db: Database, ctx: SegmentContext, dsl: str | Expr, ids: Sequence[str]) -> set[str]:
    """Which of `ids` match the DSL expression at the context's `at` (a cascade's `unless`)."""
    if not ids:
        return set()
    frag = ctx.compile(dsl, lookup=True)
    await ctx.prepare()
    marks = ",".join("?" * len(ids))
    rows = await ctx.fetchall(
        f"SELECT c.id FROM contacts c WHERE c.id IN ({marks}) AND ({frag.sql})", (*ids, *frag.params)
    )
    return {r[0] for r in rows}


async def attended(db: Database, campaign_id: str, ids: Sequence[str], now: datetime) -> set[str]:
    """Contacts who attended this campaign's event (an event recorded with its campaign id)."""
    if not ids:
        return set()
    marks = ",".join("?" * len(ids))
    rows = await db.fetchall(
        "SELECT DISTINCT contact_id FROM events WHERE type = 'webinar_attended' AND campaign_id = ?"
        f" AND at <= ? AND contact_id IN ({marks})",
        (campaign_id, to_epoch(now), *ids),
    )
    return {r[0] for r in rows}


@dataclass(frozen=True, slots=True)
class TelegramLinks:
    """Where contacts stand with Telegram, for a step's connect-link fallback: a chat bound, or the
    Telegram consent revoked (the stricter setting: never invite them to it)."""

    bound: frozenset[str]
    declined: frozenset[str]


async def telegram_links(db: Database, contact_ids: Sequence[str]) -> TelegramLinks:
    if not contact_ids:
        return TelegramLinks(frozenset(), frozenset())
    rows = await db.fetchall(
        "SELECT c.id, c.telegram_chat_id IS NOT NULL, EXISTS (SELECT 1 FROM consents k"
        " WHERE k.contact_id = c.id AND k.channel = 'telegram' AND k.status = 'revoked')"
        " FROM contacts c WHERE c.id IN (SELECT value FROM json_each(?))",
        (json.dumps(list(contact_ids)),),
    )
    return TelegramLinks(
        frozenset(str(r[0]) for r in rows if r[1]), frozenset(str(r[0]) for r in rows if r[2])
    )
