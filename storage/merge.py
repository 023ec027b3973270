"""`merge_contacts`: fold one contact (OTHER) into another (KEEP) — one person under two ids.

Orders, events, tags, silences, consents and outbox history move to KEEP; of two consents on a channel
the stricter wins (a revocation stays); KEEP's profile wins where it says something, OTHER fills its
gaps, except that a chat the subscriber bound themselves (/start) is the one kept. OTHER is deleted and
its id becomes an alias of KEEP, so imports, the webhook and explain that still say OTHER reach KEEP.
Suppressions are per address and need no moving: they keep holding whichever contact has the address.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime

import aiosqlite

from policy.timeutil import to_epoch
from storage.audit import audit
from storage.cancellations import WAITING
from storage.contacts import CONTACT_COLUMNS, SUBSCRIBER_SOURCES
from storage.db import Database
from storage.identity import add_alias

_COLUMNS = ", ".join(CONTACT_COLUMNS)
Consent = tuple[str, str, int]  # status, source, at


class MergeError(ValueError):
    """The merge cannot be done; the message is one sentence."""


@dataclass
class MergeReport:
    keep: str
    other: str
    moved: dict[str, int] = field(default_factory=dict)  # table → rows now KEEP's
    kept_under_other: int = 0  # outbox rows of a campaign step that reached both: history stays apart
    taken: list[str] = field(default_factory=list)  # KEEP's columns filled from OTHER
    consents: dict[str, str] = field(default_factory=dict)  # KEEP's consents afterwards
    dry_run: bool = False

    def to_json(self) -> dict[str, object]:
        return {
            "keep": self.keep,
            "other": self.other,
            "moved": self.moved,
            "outbox_kept_under_other": self.kept_under_other,
            "taken": self.taken,
            "consents": self.consents,
            "dry_run": self.dry_run,
        }


class _Rollback(Exception):
    def __init__(self, report: MergeReport) -> None:
        self.report = report


async def merge_contacts(
    db: Database, keep: str, other: str, *, at: datetime, actor: str = "cli", dry_run: bool = False
) -> MergeReport:
    """Fold OTHER into KEEP in one transaction; `dry_run` computes the same report and rolls back."""
    try:
        async with db.transaction() as conn:
            report = await _merge(conn, keep, other, at, actor)
            if dry_run:
                report.dry_run = True
                raise _Rollback(report)
    except _Rollback as done:
        return done.report
    return report


async def _merge(conn: aiosqlite.Connection, keep: str, other: str, at: datetime, actor: str) -> MergeReport:
    async with conn.execute(
        "SELECT id, contact_id FROM contact_aliases WHERE id IN (?, ?)", (keep, other)
    ) as cur:
        aliases = {row[0]: row[1] for row in await cur.fetchall()}
    if other in aliases:
        raise MergeError(f"contact {other} was already merged into {aliases[other]}")
    keep = aliases.get(keep, keep)
    if keep == other:
        raise MergeError("a contact cannot be merged into itself")
    rows = {}
    for cid in (keep, other):
        async with conn.execute(f"SELECT {_COLUMNS}, fields FROM contacts WHERE id = ?", (cid,)) as cur:
            row = await cur.fetchone()
        if row is None:
            raise MergeError(f"there is no contact {cid!r}")
        rows[cid] = list(row)
    consents = {cid: await _consents(conn, cid) for cid in (keep, other)}
    report = MergeReport(keep, other)
    values, report.taken = _profile(rows[keep], rows[other], consents[keep], consents[other])
    now = to_epoch(at)

    final = _stricter(consents[keep], consents[other])
    for channel, (status, source, when) in final.items():
        await conn.execute(
            "INSERT INTO consents (contact_id, channel, status, source, at) VALUES (?, ?, ?, ?, ?)"
            " ON CONFLICT (contact_id, channel) DO UPDATE SET status = excluded.status,"
            " source = excluded.source, at = excluded.at",
            (keep, channel, status, source, when),
        )
    report.consents = {channel: c[0] for channel, c in sorted(final.items())}
    report.moved["consents"] = sum(1 for ch, c in final.items() if consents[other].get(ch) == c)

    for table, sql in (
        ("orders", "UPDATE orders SET contact_id = ? WHERE contact_id = ?"),
        # The same event recorded for both (natural key) stays once: OTHER's copy goes with OTHER.
        ("events", "UPDATE OR IGNORE events SET contact_id = ? WHERE contact_id = ?"),
        ("silences", "UPDATE silences SET contact_id = ? WHERE contact_id = ?"),
        # A campaign step that reached both (unique key) keeps OTHER's row where it is, as history.
        ("outbox", "UPDATE OR IGNORE outbox SET contact_id = ? WHERE contact_id = ?"),
    ):
        cur = await conn.execute(sql, (keep, other))
        report.moved[table] = max(cur.rowcount, 0)
    cur = await conn.execute(
        "INSERT INTO tags (contact_id, tag, set_at, expires_at, removed_at)"
        " SELECT ?, tag, set_at, expires_at, removed_at FROM tags WHERE contact_id = ? AND true"
        " ON CONFLICT (contact_id, tag) DO UPDATE SET set_at = excluded.set_at,"
        " expires_at = excluded.expires_at, removed_at = excluded.removed_at"
        " WHERE excluded.set_at > tags.set_at",  # the newer setting of a tag both have wins
        (keep, other),
    )
    report.moved["tags"] = max(cur.rowcount, 0)
    cur = await conn.execute(
        f"UPDATE outbox SET status = 'cancelled', reason = 'merged into {keep}'"
        f" WHERE contact_id = ? AND status IN {WAITING}",
        (other,),
    )
    async with conn.execute("SELECT COUNT(*) FROM outbox WHERE contact_id = ?", (other,)) as count:
        found = await count.fetchone()
    report.kept_under_other = int(found[0]) if found else 0

    await conn.execute(
        "UPDATE contacts SET shares_address_with = ? WHERE shares_address_with = ?", (keep, other)
    )
    await add_alias(conn, [(other, keep)], at=now)  # before the delete: it cascades to OTHER's aliases
    await conn.execute("DELETE FROM contacts WHERE id = ?", (other,))  # frees its addresses first
    sets = ", ".join(f"{c} = ?" for c in CONTACT_COLUMNS)
    await conn.execute(f"UPDATE contacts SET {sets}, fields = ? WHERE id = ?", (*values, keep))
    await conn.execute(
        "UPDATE contacts SET shares_address_with = ? WHERE id = ?",
        (await _address_holder(conn, keep, values), keep),
    )
    await audit(
        conn, at=at, actor=actor, action="contact.merged", target=keep, source="cli",
        details={"other": other, "moved": report.moved, "taken": report.taken},
    )  # fmt: skip
    return report


async def _consents(conn: aiosqlite.Connection, cid: str) -> dict[str, Consent]:
    async with conn.execute(
        "SELECT channel, status, source, at FROM consents WHERE contact_id = ?", (cid,)
    ) as cur:
        return {row[0]: (row[1], row[2], row[3]) for row in await cur.fetchall()}


def _stricter(keep: dict[str, Consent], other: dict[str, Consent]) -> dict[str, Consent]:
    """Per channel: a revocation wins over a grant (whoever holds it); of two alike the subscriber's own
    (so it stays theirs: no import changes it); otherwise KEEP's, else OTHER's."""
    out = dict(keep)
    for channel, theirs in other.items():
        mine = out.get(channel)
        if (
            mine is None
            or (mine[0] == "granted" and theirs[0] == "revoked")
            or (
                mine[0] == theirs[0] and theirs[1] in SUBSCRIBER_SOURCES and mine[1] not in SUBSCRIBER_SOURCES
            )
        ):
            out[channel] = theirs
    return out


def _profile(
    keep: list[object],
    other: list[object],
    keep_consents: dict[str, Consent],
    other_consents: dict[str, Consent],
) -> tuple[list[object], list[str]]:
    """KEEP's columns after the merge (and the custom fields as JSON), and which came from OTHER."""
    values: list[object] = []
    taken: list[str] = []
    chat = CONTACT_COLUMNS.index("telegram_chat_id")
    bound_by_other = other_consents.get("telegram", ("", "", 0))[1] in SUBSCRIBER_SOURCES
    bound_by_keep = keep_consents.get("telegram", ("", "", 0))[1] in SUBSCRIBER_SOURCES
    for i, column in enumerate(CONTACT_COLUMNS):
        mine, theirs = keep[i], other[i]
        if column == "created_at" and isinstance(mine, int) and isinstance(theirs, int):
            use_theirs = theirs < mine  # the person is as old as their first record
        elif i == chat and theirs is not None and bound_by_other and not bound_by_keep:
            use_theirs = theirs != mine  # the chat the subscriber bound themselves
        else:
            use_theirs = mine in (None, "") and theirs not in (None, "")
        values.append(theirs if use_theirs else mine)
        if use_theirs:
            taken.append(column)
    fields = {**_fields(other[-1]), **_fields(keep[-1])}
    if fields != _fields(keep[-1]):
        taken.append("fields")
    values.append(json.dumps(fields, ensure_ascii=False, sort_keys=True) if fields else "{}")
    return values, taken


def _fields(raw: object) -> dict[str, object]:
    loaded = json.loads(raw) if isinstance(raw, str) and raw else {}
    return loaded if isinstance(loaded, dict) else {}


async def _address_holder(conn: aiosqlite.Connection, keep: str, values: list[object]) -> str | None:
    """Another contact that already owns KEEP's email or phone (KEEP then stays marked as sharing it)."""
    email, phone = values[CONTACT_COLUMNS.index("email")], values[CONTACT_COLUMNS.index("phone")]
    for sql, value in (
        ("email != '' AND lower(email) = lower(?)", email),
        ("phone != '' AND phone = ?", phone),
    ):
        if value in (None, ""):
            continue
        async with conn.execute(
            f"SELECT id FROM contacts WHERE {sql} AND shares_address_with IS NULL AND id != ? LIMIT 1",
            (value, keep),
        ) as cur:
            row = await cur.fetchone()
        if row is not None:
            return str(row[0])
    return None


async def duplicates(db: Database) -> list[tuple[str, str]]:
    """(contact, the contact that owns its address) for every contact found sharing an address when
    addresses became unique: each pair is one `ritm contact merge KEEP OTHER` away from resolved."""
    rows = await db.fetchall(
        "SELECT id, shares_address_with FROM contacts WHERE shares_address_with IS NOT NULL"
        " ORDER BY shares_address_with, id"
    )
    return [(str(r[0]), str(r[1])) for r in rows]
