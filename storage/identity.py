"""One person per address: who owns the emails and phones a batch of contact records claims, and the
ids that name another contact (merged ones).

The unique indexes `contacts(lower(email))` and `contacts(phone)` hold the rule in the database; this
module checks a batch against them first, so a row that would break it is rejected with the owner's id
("email anna@x.ru belongs to contact 1001") instead of failing the batch. One query per kind of
address per batch, never one per row.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import aiosqlite

from storage.addresses import email_key
from storage.bulk import ids_param, insert_rows
from storage.db import Database


async def resolve_aliases(conn: aiosqlite.Connection, ids: Iterable[str]) -> dict[str, str]:
    """Each of `ids` that names a merged contact → the contact it resolves to."""
    async with conn.execute("SELECT EXISTS (SELECT 1 FROM contact_aliases)") as cur:
        row = await cur.fetchone()
    if row is None or not row[0]:  # most bases never merged anyone: skip listing the batch's ids
        return {}
    async with conn.execute(
        "SELECT id, contact_id FROM contact_aliases WHERE id IN (SELECT value FROM json_each(?))",
        (ids_param(ids),),
    ) as cur:
        return {row[0]: row[1] for row in await cur.fetchall()}


async def resolved_id(db: Database, contact_id: str) -> str:
    """The contact an id names now: itself, or the contact it was merged into."""
    target = await db.scalar("SELECT contact_id FROM contact_aliases WHERE id = ?", (contact_id,))
    return contact_id if target is None else str(target)


async def add_alias(conn: aiosqlite.Connection, pairs: Sequence[tuple[str, str]], *, at: int) -> None:
    """Make each (old id, contact id) resolve; aliases of the old id follow it (no chains)."""
    for old, target in pairs:
        await conn.execute("UPDATE contact_aliases SET contact_id = ? WHERE contact_id = ?", (target, old))
    await insert_rows(
        conn,
        "INSERT INTO contact_aliases (id, contact_id, at)",
        [(old, target, at) for old, target in pairs],
        " ON CONFLICT (id) DO UPDATE SET contact_id = excluded.contact_id, at = excluded.at",
    )


async def address_owners(
    conn: aiosqlite.Connection, emails: Iterable[str], phones: Iterable[str], *, keyed: bool = False
) -> tuple[dict[str, str], dict[str, str]]:
    """(email key → owner id, phone → owner id) for the given addresses that some contact owns
    (`keyed`: the emails are keys already)."""
    found: list[dict[str, str]] = []
    for sql, values in (
        (
            "SELECT lower(email), id FROM contacts WHERE email != '' AND lower(email) IN",
            list(emails) if keyed else [email_key(e) for e in emails],
        ),
        ("SELECT phone, id FROM contacts WHERE phone != '' AND phone IN", list(phones)),
    ):
        owners: dict[str, str] = {}
        if values:
            async with conn.execute(
                f"{sql} (SELECT value FROM json_each(?)) AND shares_address_with IS NULL",
                (ids_param(values),),
            ) as cur:
                owners = {row[0]: row[1] for row in await cur.fetchall()}
        found.append(owners)
    return found[0], found[1]


@dataclass
class Claims:
    """What checking a batch's addresses decided, by the record's index in the batch."""

    conflicts: dict[int, str] = field(default_factory=dict)  # rejected, with the reason
    moved: dict[int, str] = field(default_factory=dict)  # merged by email into this contact


async def claim_addresses(
    conn: aiosqlite.Connection,
    claims: Sequence[tuple[str, object, object]],
    *,
    merge_by_email: bool,
    now: int,
) -> Claims:
    """Check the (id, email, phone) each record sets against the owners (and earlier records).

    With `merge_by_email` a record whose email another contact owns becomes an update of that contact
    (its id is kept as an alias), unless its own id is another stored contact: two stored contacts are
    folded only by `ritm contact merge`.
    """
    keys = [email_key(e) if isinstance(e, str) and e else None for _, e, _ in claims]
    ekeys = [k for k in keys if k]
    phones = [p for _, _, p in claims if isinstance(p, str) and p]
    out = Claims()
    if not ekeys and not phones:
        return out
    by_email, by_phone = await address_owners(conn, ekeys, phones, keyed=True)
    if not by_email and not by_phone and len(set(ekeys)) == len(ekeys) and len(set(phones)) == len(phones):
        return out  # a first import: every address is new and none repeats in the batch
    stored: set[str] = set()
    if merge_by_email and by_email:
        wanted = [c[0] for c, k in zip(claims, keys, strict=True) if k and by_email.get(k, c[0]) != c[0]]
        if wanted:
            async with conn.execute(
                "SELECT id FROM contacts WHERE id IN (SELECT value FROM json_each(?))", (ids_param(wanted),)
            ) as cur:
                stored = {row[0] for row in await cur.fetchall()}
    aliases: dict[int, tuple[str, str]] = {}
    for index, ((cid, email, raw_phone), ekey) in enumerate(zip(claims, keys, strict=True)):
        phone = raw_phone if isinstance(raw_phone, str) and raw_phone else None
        owner = by_email.get(ekey) if ekey else None
        if owner is not None and owner != cid and merge_by_email and cid not in stored:
            aliases[index] = (cid, owner)
            out.moved[index] = cid = owner
        phone_owner = by_phone.get(phone) if phone else None
        if (owner is not None and owner != cid) or (phone_owner is not None and phone_owner != cid):
            problems = []
            if owner is not None and owner != cid:
                hint = f" (`ritm contact merge {owner} {cid}` folds them)" if cid in stored else ""
                problems.append(f"email {email} belongs to contact {owner}{hint}")
            if phone_owner is not None and phone_owner != cid:
                problems.append(f"phone {phone} belongs to contact {phone_owner}")
            out.conflicts[index] = "; ".join(problems)
            out.moved.pop(index, None)
            aliases.pop(index, None)
            continue
        if ekey:
            by_email[ekey] = cid
        if phone:
            by_phone[phone] = cid
    if aliases:
        await add_alias(conn, list(aliases.values()), at=now)
    return out
