"""Batch upserts of orders (by id) and events (by their natural key), shared by import and webhook.

Like `storage.contacts`, each function runs inside the caller's transaction on an open connection and
costs a few statements per batch; the contacts must already exist (see `known_contacts`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import aiosqlite

from storage.bulk import UpsertCounts, ids_param, insert_rows


@dataclass(slots=True)
class OrderRecord:
    """One validated order (instants in epoch seconds)."""

    id: str
    contact_id: str
    amount: float
    currency: str
    status: str  # pending | paid | cancelled | refunded
    created_at: int
    paid_at: int | None
    product: str | None = None  # None = keep the stored one (the file has no product, or an empty cell)


_ORDER_COLUMNS = ("contact_id", "amount", "currency", "status", "created_at", "paid_at", "product")


async def upsert_orders(conn: aiosqlite.Connection, records: Sequence[OrderRecord]) -> UpsertCounts:
    """Upsert by order id; the contacts must exist (check with `known_contacts` first)."""
    counts = UpsertCounts()
    if not records:
        return counts
    state: dict[str, tuple[object, ...]] = {}
    async with conn.execute(
        f"SELECT id, {', '.join(_ORDER_COLUMNS)} FROM orders WHERE id IN (SELECT value FROM json_each(?))",
        (ids_param(r.id for r in records),),
    ) as cur:
        for row in await cur.fetchall():
            state[row[0]] = tuple(row[1:])
    existed = set(state)
    dirty: dict[str, None] = {}
    for rec in records:
        current = state.get(rec.id)
        stored = None if current is None else current[-1]
        product = stored if rec.product is None else rec.product or None  # "" (a `-` cell) clears it
        values = (rec.contact_id, rec.amount, rec.currency, rec.status, rec.created_at, rec.paid_at, product)
        if current == values:
            counts.unchanged += 1
            continue
        if current is None:
            counts.imported += 1
        else:
            counts.updated += 1
        state[rec.id] = values
        dirty[rec.id] = None
    inserts = [(oid, *state[oid]) for oid in dirty if oid not in existed]
    updates = [(*state[oid], oid) for oid in dirty if oid in existed]
    if inserts:
        await insert_rows(conn, f"INSERT INTO orders (id, {', '.join(_ORDER_COLUMNS)})", inserts)
    if updates:
        sets = ", ".join(f"{c} = ?" for c in _ORDER_COLUMNS)
        await conn.executemany(f"UPDATE orders SET {sets} WHERE id = ?", updates)
    return counts


@dataclass(slots=True)
class EventRecord:
    """One event; its natural key is (contact_id, type, at, campaign_id). `meta` None = keep stored."""

    contact_id: str
    type: str
    at: int
    campaign_id: str = ""
    meta: Mapping[str, object] | None = None


async def insert_events(conn: aiosqlite.Connection, records: Sequence[EventRecord]) -> UpsertCounts:
    """Insert events that are new by their natural key; a differing `meta` updates the stored one."""
    if not records:
        return UpsertCounts()
    imported = await insert_rows(
        conn,
        "INSERT OR IGNORE INTO events (contact_id, type, at, campaign_id, meta)",
        [(r.contact_id, r.type, r.at, r.campaign_id, _meta(r.meta)) for r in records],
    )
    updated = 0
    with_meta = [
        (_meta(r.meta), r.contact_id, r.type, r.at, r.campaign_id) for r in records if r.meta is not None
    ]
    if with_meta:
        cur = await conn.executemany(
            "UPDATE events SET meta = ?1 WHERE contact_id = ?2 AND type = ?3 AND at = ?4 AND campaign_id = ?5"
            " AND meta != ?1",
            with_meta,
        )
        updated = max(cur.rowcount, 0)
    return UpsertCounts(imported, updated, max(len(records) - imported - updated, 0))


def _meta(meta: Mapping[str, object] | None) -> str:
    return json.dumps(meta, ensure_ascii=False, sort_keys=True) if meta else "{}"
