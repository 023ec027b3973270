"""`POST /hooks/events`: a school platform tells us about contacts, orders, tags and events (SPEC §7).

The body is JSON, signed with HMAC-SHA256 over `"{timestamp}." + body` and the shared secret (headers
`X-Ritm-Timestamp` and `X-Ritm-Signature: sha256=<hex>`); a stale or wrong signature changes nothing.
Each delivery carries its id (`X-Ritm-Delivery`): a delivery seen in the last week — by its id or by
its very signature, so a replay under a new id counts too — is answered as a duplicate, unapplied.
Items are validated like CSV rows (same parser, same column map), bad ones are reported by index and
the good ones land. A payment opens a silence window and a pending order a protected segment by
themselves (both are derived from orders); an attendance stops the event's remaining reminders.

    {"contacts": [{"id": "c1", "email": "a@b.ru", "consent_email": "yes", ...}],
     "orders":   [{"id": "o1", "contact_id": "c1", "amount": 4900, "status": "paid",
                   "created_at": "...", "paid_at": "..."}],
     "tags":     [{"contact_id": "c1", "tag": "marathon", "set_at": "...", "action": "set|remove"}],
     "events":   [{"contact_id": "c1", "type": "webinar_registered", "at": "...", "campaign_id": "w1"}]}
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any, TypeVar

from policy.config import Policy
from policy.timeutil import to_epoch
from storage.cancellations import cancel_reminders_of
from storage.column_map import ImportFileError, Kind, map_header
from storage.contacts import (
    ContactRecord,
    TagMark,
    UpsertCounts,
    contacts_by_email,
    known_contacts,
    remove_tags,
    upsert_contacts,
)
from storage.db import Connection, Database
from storage.deliveries import claim_delivery
from storage.import_rows import BadRow, RowParser
from storage.orders_events import EventRecord, OrderRecord, insert_events, upsert_orders

T = TypeVar("T")
KINDS = ("contacts", "orders", "tags", "events")
MAX_ITEMS = 10_000


class HookError(ValueError):
    """The body as a whole is unusable (not JSON, wrong shape); one sentence."""


def sign_hook(secret: str, body: bytes, timestamp: int) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"sha256={mac}"


def verify_hook_signature(
    secrets: Sequence[str],
    body: bytes,
    timestamp: str,
    signature: str,
    *,
    now: datetime,
    tolerance_s: int,
) -> bool:
    """Whether one of `secrets` (the current one, then those before a rotation) signed this delivery."""
    if not (timestamp.isascii() and timestamp.isdigit()) or len(timestamp) > 12:
        return False
    if abs(to_epoch(now) - int(timestamp)) > tolerance_s:
        return False
    given = signature.encode("utf-8", "replace")  # compare_digest refuses non-ASCII str
    return any(
        hmac.compare_digest(sign_hook(secret, body, int(timestamp)).encode(), given) for secret in secrets
    )


def _items(payload: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    items = payload.get(kind, [])
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        raise HookError(f"{kind} must be a list of objects")
    return items


def _cells(item: dict[str, Any]) -> tuple[list[str], list[str]]:
    header = list(item)
    cells = ["" if v is None else json.dumps(v) if isinstance(v, dict) else str(v) for v in item.values()]
    return header, cells


async def apply_hook(
    db: Database, body: bytes, policy: Policy, *, now: datetime, delivery: Sequence[str] = ()
) -> dict[str, Any]:
    """Validate and store the payload; returns counts per kind and the rejected items.

    `delivery` holds the keys that identify this delivery (its id, its signature): when one was
    already applied within a week, nothing changes and the answer is `{"duplicate": True}`.
    """
    try:
        payload = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise HookError("the body is not JSON") from None
    except RecursionError:
        raise HookError("the body is nested too deeply") from None
    if not isinstance(payload, dict) or not set(payload) <= set(KINDS):
        raise HookError(f"the body must be an object with some of: {', '.join(KINDS)}")
    batches = {kind: _items(payload, kind) for kind in KINDS}
    if sum(len(v) for v in batches.values()) > MAX_ITEMS:
        raise HookError(f"at most {MAX_ITEMS} items per call")
    now_s = to_epoch(now)
    errors: list[dict[str, Any]] = []
    summary: dict[str, Any] = {}

    def parse(kind: str, table: Kind, build: Callable[[RowParser, list[str]], T]) -> list[tuple[int, T]]:
        good: list[tuple[int, T]] = []
        for index, item in enumerate(batches[kind]):
            header, cells = _cells(item)
            try:
                hmap = map_header(table, header, f"{kind}[{index}]")
                parser = RowParser(hmap, policy, now=now_s, unknown_tags="reject_row")
                good.append((index, build(parser, cells)))
            except (BadRow, ImportFileError) as exc:
                errors.append({"kind": kind, "index": index, "reason": str(exc)})
        return good

    contacts = parse("contacts", "contacts", lambda p, c: p.contact(c))
    orders = parse("orders", "orders", lambda p, c: p.order(c))
    events = parse("events", "events", lambda p, c: p.event(c))
    tags = _parse_tags(batches["tags"], policy, now_s, errors)
    async with db.transaction() as conn:
        if delivery and not await claim_delivery(conn, delivery, now_s=now_s):
            return {"duplicate": True}
        upserted = await upsert_contacts(conn, [r for _, r in contacts], now=now_s, source="hook")
        summary["contacts"] = _counts(upserted)
        for i, why in upserted.rejected.items():  # an address another contact owns
            errors.append({"kind": "contacts", "index": contacts[i][0], "reason": why})
        by_email = await contacts_by_email(conn, [e for _, (_, e) in [*orders, *events] if e is not None])
        order_rows = _by_email("orders", orders, by_email, errors)
        event_rows = _by_email("events", events, by_email, errors)
        named = (
            [r.contact_id for _, r in order_rows]
            + [r.contact_id for _, r in event_rows]
            + [t[1] for t in tags]
        )
        known = await known_contacts(conn, named)
        summary["orders"] = _counts(await upsert_orders(conn, _known("orders", order_rows, known, errors)))
        summary["tags"] = await _apply_tags(conn, tags, known, errors, now_s)
        kept_events = _known("events", event_rows, known, errors)
        summary["events"] = _counts(await insert_events(conn, kept_events))
        summary["reminders_stopped"] = await _stop_reminders(conn, kept_events)
    summary["errors"] = errors
    return summary


def _counts(c: UpsertCounts) -> dict[str, int]:
    return {"imported": c.imported, "updated": c.updated, "unchanged": c.unchanged}


R = TypeVar("R", OrderRecord, EventRecord)


def _by_email(
    kind: str,
    rows: Sequence[tuple[int, tuple[R, str | None]]],
    by_email: dict[str, list[str]],
    errors: list[dict[str, Any]],
) -> list[tuple[int, R]]:
    """Items that name their contact by email only get its id (when exactly one contact has it)."""
    out: list[tuple[int, R]] = []
    for index, (record, email) in rows:
        if email is None:
            out.append((index, record))
            continue
        owners = by_email.get(email, [])
        if len(owners) == 1:
            out.append((index, replace(record, contact_id=owners[0])))
        else:
            why = "no contact has" if not owners else f"{len(owners)} contacts share"
            errors.append(
                {"kind": kind, "index": index, "reason": f"unknown contact: {why} the email {email!r}"}
            )
    return out


def _known(
    kind: str,
    rows: Sequence[tuple[int, OrderRecord | EventRecord]],
    known: set[str],
    errors: list[dict[str, Any]],
) -> list[Any]:
    kept = []
    for index, record in rows:
        if record.contact_id in known:
            kept.append(record)
        else:
            errors.append({"kind": kind, "index": index, "reason": f"unknown contact {record.contact_id!r}"})
    return kept


def _parse_tags(
    items: list[dict[str, Any]], policy: Policy, now_s: int, errors: list[dict[str, Any]]
) -> list[tuple[int, str, TagMark, str]]:
    """(index, contact_id, mark, action) of every well-formed tag item."""
    parsed = []
    for index, item in enumerate(items):
        contact_id = str(item.get("contact_id") or "")
        action = str(item.get("action") or "set")
        tag = str(item.get("tag") or "")
        when = item.get("set_at")
        text = f"{tag}@{when}" if when else tag
        try:
            if not contact_id:
                raise BadRow("contact_id is empty")
            if action not in ("set", "remove"):
                raise BadRow(f"action must be set or remove, got {action!r}")
            hmap = map_header("contacts", ["id", "tags"], f"tags[{index}]")
            parser = RowParser(hmap, policy, now=now_s, unknown_tags="reject_row")
            marks = parser.contact([contact_id, text]).tags
            if len(marks) != 1:
                raise BadRow("give exactly one tag")
            parsed.append((index, contact_id, marks[0], action))
        except (BadRow, ImportFileError) as exc:
            errors.append({"kind": "tags", "index": index, "reason": str(exc)})
    return parsed


async def _apply_tags(
    conn: Connection,
    tags: list[tuple[int, str, TagMark, str]],
    known: set[str],
    errors: list[dict[str, Any]],
    now_s: int,
) -> dict[str, int]:
    to_set: list[ContactRecord] = []
    to_remove: list[tuple[str, str]] = []
    for index, contact_id, mark, action in tags:
        if contact_id not in known:
            errors.append({"kind": "tags", "index": index, "reason": f"unknown contact {contact_id!r}"})
        elif action == "set":
            to_set.append(ContactRecord(contact_id, present=frozenset(), tags=(mark,)))
        else:
            to_remove.append((contact_id, mark.tag))
    counts = await upsert_contacts(conn, to_set, now=now_s, source="hook") if to_set else UpsertCounts()
    removed = await remove_tags(conn, to_remove, at=now_s) if to_remove else 0
    return {"set": counts.imported + counts.updated, "removed": removed}


async def _stop_reminders(conn: Connection, events: Sequence[EventRecord]) -> int:
    """An attendance cancels the contact's remaining reminders of that campaign at once."""
    stops = [(e.campaign_id, e.contact_id) for e in events if e.type == "webinar_attended" and e.campaign_id]
    return await cancel_reminders_of(conn, stops)
