"""Loads contacts as `policy.contact.ContactData` (their rows and full history) for pure evaluation.

Used by `contact explain` and by the tests that check the SQL compiler against the pure evaluator.
Ids are loaded in chunks with one query per table per chunk, never one query per contact.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime

from policy.contact import ContactData, EventRecord, OrderRecord, TagRecord
from policy.timeutil import from_epoch
from storage.addresses import ADDRESS_KEY_SQL
from storage.db import Database

CHUNK = 500  # ids per query: well under SQLite's bound-parameter limit


async def load_contact(db: Database, contact_id: str) -> ContactData | None:
    """One contact with its consents, suppressions, tags, orders and events; None when unknown."""
    found = await load_contacts(db, [contact_id])
    return found[0] if found else None


async def load_contacts(db: Database, ids: Sequence[str]) -> list[ContactData]:
    """The contacts among `ids` that exist, in the order given (duplicates collapsed)."""
    unique = list(dict.fromkeys(ids))
    loaded: dict[str, ContactData] = {}
    for start in range(0, len(unique), CHUNK):
        chunk = unique[start : start + CHUNK]
        for contact in await _load_chunk(db, chunk):
            loaded[contact.id] = contact
    return [loaded[i] for i in unique if i in loaded]


async def _load_chunk(db: Database, ids: list[str]) -> list[ContactData]:
    marks = ",".join("?" * len(ids))
    contacts = await db.fetchall(
        "SELECT id, email, telegram_chat_id, phone, timezone, locale, region, interest, created_at, vk_id "
        f"FROM contacts WHERE id IN ({marks})",
        tuple(ids),
    )
    consents: dict[str, dict[str, str]] = defaultdict(dict)
    for row in await db.fetchall(
        f"SELECT contact_id, channel, status FROM consents WHERE contact_id IN ({marks})", tuple(ids)
    ):
        consents[row[0]][row[1]] = row[2]
    suppressed: dict[str, set[str]] = defaultdict(set)
    for channel, key in ADDRESS_KEY_SQL.items():  # per address: whichever contact holds it
        for row in await db.fetchall(
            f"SELECT c.id FROM contacts c JOIN suppressions s ON s.channel = ? AND s.address = {key}"
            f" WHERE c.id IN ({marks})",
            (channel, *ids),
        ):
            suppressed[row[0]].add(channel)
    tags: dict[str, list[TagRecord]] = defaultdict(list)
    for row in await db.fetchall(
        f"SELECT contact_id, tag, set_at, expires_at, removed_at FROM tags WHERE contact_id IN ({marks}) "
        "ORDER BY contact_id, tag",
        tuple(ids),
    ):
        tags[row[0]].append(TagRecord(row[1], from_epoch(row[2]), _instant(row[3]), _instant(row[4])))
    orders: dict[str, list[OrderRecord]] = defaultdict(list)
    for row in await db.fetchall(
        "SELECT contact_id, id, amount, status, created_at, paid_at, product FROM orders "
        f"WHERE contact_id IN ({marks}) ORDER BY contact_id, created_at, id",
        tuple(ids),
    ):
        orders[row[0]].append(
            OrderRecord(row[1], row[2], row[3], from_epoch(row[4]), _instant(row[5]), row[6])
        )
    events: dict[str, list[EventRecord]] = defaultdict(list)
    for row in await db.fetchall(
        "SELECT contact_id, type, at, campaign_id FROM events "
        f"WHERE contact_id IN ({marks}) ORDER BY contact_id, at, id",
        tuple(ids),
    ):
        events[row[0]].append(EventRecord(row[1], from_epoch(row[2]), row[3] or None))
    return [
        ContactData(
            id=row[0],
            email=row[1],
            telegram_chat_id=row[2],
            phone=row[3],
            timezone=row[4],
            locale=row[5],
            region=row[6],
            interest=row[7],
            created_at=_instant(row[8]),
            vk_id=row[9],
            consents=dict(consents.get(row[0], {})),
            suppressed=frozenset(suppressed.get(row[0], ())),
            tags=tuple(tags.get(row[0], ())),
            orders=tuple(orders.get(row[0], ())),
            events=tuple(events.get(row[0], ())),
        )
        for row in contacts
    ]


def _instant(value: int | None) -> datetime | None:
    return None if value is None else from_epoch(value)
