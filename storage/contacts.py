"""Batch upserts of contacts with their consents and tags — shared by the CSV import and the webhook.

Every function takes an open aiosqlite connection and runs inside the caller's transaction. A batch
costs a handful of statements whatever its size (one lookup per table through `json_each`, then one
multi-row statement per kind of write), never one await per row. Re-applying the same records writes
nothing and counts them as unchanged.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import aiosqlite

from storage.addresses import email_key
from storage.bulk import UpsertCounts, ids_param, insert_rows
from storage.identity import address_owners, claim_addresses, resolve_aliases

__all__ = [
    "CONTACT_COLUMNS", "ContactRecord", "TagMark", "UpsertCounts", "contacts_by_email", "known_contacts",
    "remove_tags", "upsert_contacts",
]  # fmt: skip

# The scalar columns of `contacts` besides `id` and `fields`, in table order.
CONTACT_COLUMNS = (
    "email", "name", "telegram_chat_id", "phone", "timezone", "locale", "region", "interest", "created_at",
    "vk_id",
)  # fmt: skip
# Consents the subscriber set (the bot: /start, /stop, /prefs; the unsubscribe link): subscriber-owned
# state that no import or webhook may change (SPEC §12.3), nor the chat the subscriber bound with /start.
# `vk` is the subscriber allowing or denying the community's messages (the Callback API).
SUBSCRIBER_SOURCES = frozenset({"bot", "unsubscribe_link", "unsubscribe_mail", "deep_link", "vk"})
_ALL = frozenset(CONTACT_COLUMNS)
_EMAIL, _PHONE = CONTACT_COLUMNS.index("email"), CONTACT_COLUMNS.index("phone")
_CHAT = frozenset({"telegram_chat_id"})


@dataclass(slots=True)
class TagMark:
    """A tag to set: `set_at` None means "no date given" (then: now — first time only)."""

    tag: str
    set_at: int | None = None
    ttl_s: int | None = None


@dataclass(slots=True)
class ContactRecord:
    """One validated contact. Only the columns named in `present` are written; the others are kept, and
    so is a present column whose value is None (an empty cell) unless it is `cleared`.

    `values` follow CONTACT_COLUMNS (instants as epoch seconds). `fields` are custom fields merged into
    the JSON column (an empty value deletes the key); `consents` are (channel, granted) pairs; tags
    are only ever added here (see `remove_tags`).
    """

    id: str
    values: tuple[object, ...] = (None,) * len(CONTACT_COLUMNS)
    present: frozenset[str] = _ALL
    fields: Mapping[str, str] = field(default_factory=dict)
    consents: tuple[tuple[str, bool], ...] = ()
    tags: tuple[TagMark, ...] = ()
    cleared: frozenset[str] = frozenset()  # present columns to set to NULL (a `-` cell)


@dataclass(slots=True)
class _Tag:
    set_at: int
    expires_at: int | None
    removed_at: int | None


Row = tuple[list[object], dict[str, str]]  # column values, custom fields


@dataclass
class _Merge:
    """The stored state of a batch's contacts, and what applying the records changes in it."""

    rows: dict[str, Row]
    consents: dict[tuple[str, str], tuple[str, str]]  # (contact, channel) → (status, source)
    tags: dict[tuple[str, str], _Tag]
    now: int
    source: str
    dirty_rows: dict[str, None] = field(default_factory=dict)  # ordered: inserts go in file order
    dirty_consents: dict[tuple[str, str], str] = field(default_factory=dict)
    dirty_tags: dict[tuple[str, str], _Tag] = field(default_factory=dict)

    def apply(self, records: Sequence[ContactRecord]) -> UpsertCounts:
        counts = UpsertCounts()
        full = len(CONTACT_COLUMNS)
        for rec in records:
            cid = rec.id
            row = self.rows.get(cid)
            new = row is None
            if row is None:
                if len(rec.present) == full:
                    values = list(rec.values)
                else:
                    values = [
                        v if c in rec.present else None
                        for c, v in zip(CONTACT_COLUMNS, rec.values, strict=True)
                    ]
                row = self.rows[cid] = (values, {k: v for k, v in rec.fields.items() if v})
                self.dirty_rows[cid] = None
                counts.imported += 1
                changed = True
            elif changed := _merge_row(row, rec, self._owned(cid)):
                self.dirty_rows[cid] = None
            if rec.consents and self._consents(cid, rec.consents):
                changed = True
            if rec.tags and self._tags(cid, rec.tags):
                changed = True
            if not new:
                if changed:
                    counts.updated += 1
                else:
                    counts.unchanged += 1
        return counts

    def _owned(self, cid: str) -> frozenset[str]:
        """Columns the subscriber owns on this contact: the chat they bound themselves."""
        telegram = self.consents.get((cid, "telegram"))
        return _CHAT if telegram is not None and telegram[1] in SUBSCRIBER_SOURCES else frozenset()

    def _consents(self, cid: str, consents: Iterable[tuple[str, bool]]) -> bool:
        """A value writes the row (with `at = now`) only when the status changes; a grant never
        overrides a revocation recorded by another source (an unsubscribe outranks a stale export), and
        a consent the subscriber set is theirs: no import or webhook changes it."""
        changed = False
        for channel, granted in consents:
            status = "granted" if granted else "revoked"
            key = (cid, channel)
            current = self.consents.get(key)
            if current is not None and (
                current[0] == status
                or (granted and current[0] == "revoked" and current[1] != self.source)
                or (current[1] in SUBSCRIBER_SOURCES and self.source not in SUBSCRIBER_SOURCES)
            ):
                continue
            self.consents[key] = (status, self.source)
            self.dirty_consents[key] = status
            changed = True
        return changed

    def _tags(self, cid: str, marks: Iterable[TagMark]) -> bool:
        changed = False
        for mark in marks:
            key = (cid, mark.tag)
            tag = _apply_tag(self.tags.get(key), mark, self.now)
            if tag is not None:
                self.tags[key] = self.dirty_tags[key] = tag
                changed = True
        return changed


def _merge_row(row: Row, rec: ContactRecord, owned: frozenset[str]) -> bool:
    """Apply the record's present columns (but those the subscriber owns) and custom fields to a stored
    row; True when it changed."""
    values, extra = row
    changed = False
    for i, column in enumerate(CONTACT_COLUMNS):
        if column not in rec.present or column in owned:
            continue
        value = rec.values[i]
        if (value is not None or column in rec.cleared) and values[i] != value:
            if i == _EMAIL and isinstance(value, str) and email_key(str(values[i])) == email_key(value):
                continue  # the same address in another case: the stored spelling stays
            values[i] = value
            changed = True
    for key, value in rec.fields.items():
        if value and extra.get(key) != value:
            extra[key] = value
            changed = True
        elif not value and key in extra:
            del extra[key]
            changed = True
    return changed


def _apply_tag(current: _Tag | None, mark: TagMark, now: int) -> _Tag | None:
    """The tag row after applying `mark`, or None when nothing changes.

    Without a date a mark only creates the tag. With a date it moves the tag forward when the date is
    newer than both the stored setting and a removal, so an old export never undoes a newer change.
    """
    if current is None:
        # Undated: set now. Stamping it with the contact's creation would expire a 14-day tag at once.
        set_at = mark.set_at if mark.set_at is not None else now
        return _Tag(set_at, None if mark.ttl_s is None else set_at + mark.ttl_s, None)
    if mark.set_at is None:
        return None
    expires = None if mark.ttl_s is None else mark.set_at + mark.ttl_s
    if mark.set_at == current.set_at and current.removed_at is None:
        return None if expires == current.expires_at else _Tag(current.set_at, expires, None)
    if mark.set_at > current.set_at and (current.removed_at is None or mark.set_at > current.removed_at):
        return _Tag(mark.set_at, expires, None)
    return None


async def upsert_contacts(
    conn: aiosqlite.Connection,
    records: Sequence[ContactRecord],
    *,
    now: int,
    source: str = "import",
    merge_by_email: bool = False,
) -> UpsertCounts:
    """Insert new contacts, update changed ones, set consents and tags; count each record once.

    Consent and tag rules are those of `_Merge`; `source` is stamped on the consents written. A merged
    contact's id resolves to the contact it was merged into; a record setting an email or phone that
    another contact owns is left out and listed in `rejected` (or, `merge_by_email`, updates that
    contact).
    """
    if not records:
        return UpsertCounts()
    aliases = await resolve_aliases(conn, (r.id for r in records))
    if aliases:
        for record in records:
            record.id = aliases.get(record.id, record.id)
    rows = await _load_contacts(conn, ids_param(r.id for r in records))
    rejected = await _claim_new_addresses(conn, records, rows, merge_by_email=merge_by_email, now=now)
    if rejected:
        records = [r for i, r in enumerate(records) if i not in rejected]
    existed = set(rows)
    # New contacts cannot have consents or tags yet (foreign keys): only look those up for known ones.
    known = ids_param(existed) if existed else None
    merge = _Merge(
        rows,
        await _load_consents(conn, known) if known else {},
        await _load_tags(conn, known) if known else {},
        now,
        source,
    )
    counts = merge.apply(records)
    counts.rejected = rejected
    await _write_contacts(conn, rows, merge.dirty_rows, existed)
    await insert_rows(
        conn,
        "INSERT INTO consents (contact_id, channel, status, source, at)",
        [(cid, ch, status, source, now) for (cid, ch), status in merge.dirty_consents.items()],
        " ON CONFLICT(contact_id, channel) DO UPDATE SET"
        " status = excluded.status, source = excluded.source, at = excluded.at",
    )
    await insert_rows(
        conn,
        "INSERT INTO tags (contact_id, tag, set_at, expires_at, removed_at)",
        [(cid, name, t.set_at, t.expires_at, t.removed_at) for (cid, name), t in merge.dirty_tags.items()],
        " ON CONFLICT(contact_id, tag) DO UPDATE SET"
        " set_at = excluded.set_at, expires_at = excluded.expires_at, removed_at = excluded.removed_at",
    )
    return counts


async def _claim_new_addresses(
    conn: aiosqlite.Connection,
    records: Sequence[ContactRecord],
    rows: dict[str, Row],
    *,
    merge_by_email: bool,
    now: int,
) -> dict[int, str]:
    """Check the emails and phones the records give their contacts for the first time (a re-import
    gives none, so it costs nothing); rewrite the ids of rows merged by email in place (loading the
    contacts they now update into `rows`). Returns the records refused, by index, with the reason."""
    check: list[int] = []
    for index, record in enumerate(records):
        email, phone = record.values[_EMAIL], record.values[_PHONE]
        if not email and not phone:
            continue
        stored = rows.get(record.id)
        if stored is not None:
            held_email, held_phone = stored[0][_EMAIL], stored[0][_PHONE]
            same_email = (
                not email
                or held_email == email
                or (
                    isinstance(held_email, str)
                    and isinstance(email, str)
                    and email_key(held_email) == email_key(email)
                )
            )
            if same_email and (not phone or phone == held_phone):
                continue
        check.append(index)
    if not check:
        return {}
    claims = await claim_addresses(
        conn,
        [(records[i].id, records[i].values[_EMAIL], records[i].values[_PHONE]) for i in check],
        merge_by_email=merge_by_email,
        now=now,
    )
    for position, owner in claims.moved.items():
        records[check[position]].id = owner
    missing = {owner for owner in claims.moved.values() if owner not in rows}
    if missing:
        rows.update(await _load_contacts(conn, ids_param(missing)))
    return {check[position]: why for position, why in claims.conflicts.items()}


async def remove_tags(conn: aiosqlite.Connection, pairs: Iterable[tuple[str, str]], *, at: int) -> int:
    """Stamp `removed_at` on active (contact_id, tag) rows; returns how many were removed."""
    cur = await conn.executemany(
        "UPDATE tags SET removed_at = ? WHERE contact_id = ? AND tag = ? AND removed_at IS NULL"
        " AND set_at <= ?",
        [(at, cid, tag, at) for cid, tag in pairs],
    )
    return max(cur.rowcount, 0)


async def known_contacts(conn: aiosqlite.Connection, ids: Iterable[str]) -> set[str]:
    """The subset of `ids` that exist."""
    async with conn.execute(
        "SELECT id FROM contacts WHERE id IN (SELECT value FROM json_each(?))", (ids_param(ids),)
    ) as cur:
        return {row[0] for row in await cur.fetchall()}


async def contacts_by_email(conn: aiosqlite.Connection, emails: Iterable[str]) -> dict[str, list[str]]:
    """Each given email that some contact owns → [that contact's id] (compared as the unique index
    compares them); emails no contact has are absent from the result."""
    wanted = list(dict.fromkeys(emails))
    owners, _ = await address_owners(conn, wanted, ())
    return {e: [owners[key]] for e in wanted if (key := email_key(e)) in owners}


async def _load_contacts(conn: aiosqlite.Connection, ids: str) -> dict[str, Row]:
    sql = (
        f"SELECT id, {', '.join(CONTACT_COLUMNS)}, fields FROM contacts"
        " WHERE id IN (SELECT value FROM json_each(?))"
    )
    found: dict[str, Row] = {}
    async with conn.execute(sql, (ids,)) as cur:
        for row in await cur.fetchall():
            raw = row[-1]
            found[row[0]] = (list(row[1:-1]), json.loads(raw) if raw and raw != "{}" else {})
    return found


async def _load_consents(conn: aiosqlite.Connection, ids: str) -> dict[tuple[str, str], tuple[str, str]]:
    async with conn.execute(
        "SELECT contact_id, channel, status, source FROM consents"
        " WHERE contact_id IN (SELECT value FROM json_each(?))",
        (ids,),
    ) as cur:
        return {(r[0], r[1]): (r[2], r[3]) for r in await cur.fetchall()}


async def _load_tags(conn: aiosqlite.Connection, ids: str) -> dict[tuple[str, str], _Tag]:
    async with conn.execute(
        "SELECT contact_id, tag, set_at, expires_at, removed_at FROM tags"
        " WHERE contact_id IN (SELECT value FROM json_each(?))",
        (ids,),
    ) as cur:
        return {(r[0], r[1]): _Tag(r[2], r[3], r[4]) for r in await cur.fetchall()}


async def _write_contacts(
    conn: aiosqlite.Connection, rows: Mapping[str, Row], dirty: Iterable[str], existed: set[str]
) -> None:
    inserts, updates = [], []
    for cid in dirty:
        values, extra = rows[cid]
        blob = json.dumps(extra, ensure_ascii=False, sort_keys=True) if extra else "{}"
        if cid in existed:
            updates.append((*values, blob, cid))
        else:
            inserts.append((cid, *values, blob))
    await insert_rows(conn, f"INSERT INTO contacts (id, {', '.join(CONTACT_COLUMNS)}, fields)", inserts)
    if updates:
        sets = ", ".join(f"{c} = ?" for c in CONTACT_COLUMNS)
        await conn.executemany(f"UPDATE contacts SET {sets}, fields = ? WHERE id = ?", updates)
