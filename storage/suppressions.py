"""Suppressed addresses: an address in `suppressions` is never reached, whichever contact holds it.

`suppress` is the one way in (unsubscribes, a hard bounce or a dead chat reported at send time, a
blocked bot; bounce and complaint feeds call it too); every reachability path (segment counts,
planning, the send-time re-check, explain, the bot) compares a contact's address key with the table
through `storage.addresses.ADDRESS_KEY_SQL`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

import aiosqlite

from policy.timeutil import from_epoch, to_epoch
from storage.addresses import ADDRESS_KEY_SQL, CHANNEL_ADDRESS, BadPhone, email_key, normalize_phone
from storage.audit import audit
from storage.db import Database
from storage.import_rows import BadRow, normalize_email

# Why an address is suppressed. `unsubscribe` is the subscriber's own word and is lifted when they
# opt in again; the others say the address is dead or hostile and stay (`soft_bounces`: three soft
# bounces within 30 days, dispatcher/feedback.py).
SUPPRESSION_REASONS = (
    "unsubscribe", "hard_bounce", "soft_bounces", "complaint", "bot_blocked", "bad_address", "manual",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Suppression:
    channel: str
    address: str
    reason: str
    at: datetime


def address_key(channel: str, address: str | int) -> str:
    """The key `suppressions.address` holds for an address as written (the form contacts store)."""
    text = str(address).strip()
    if channel == "email":
        with contextlib.suppress(BadRow):  # else suppress what we were told, though no contact holds it
            text = normalize_email(text)
        return email_key(text)
    if channel == "sms":
        try:
            return normalize_phone(text)
        except BadPhone:
            return text
    if channel in ("telegram", "vk"):
        return str(int(text))
    raise ValueError(f"unknown channel {channel!r}")


async def suppress(
    conn: aiosqlite.Connection,
    channel: str,
    address: str | int,
    reason: str,
    at: datetime,
    *,
    source: str = "dispatcher",
    contact_id: str | None = None,
) -> bool:
    """Never reach `address` on `channel` again; True when it was not suppressed before.

    The first reason stands (an unsubscribed address that later bounces stays "unsubscribed on …");
    the audit log keeps every report. Runs inside the caller's transaction.
    """
    if reason not in SUPPRESSION_REASONS:
        raise ValueError(f"unknown suppression reason {reason!r}")
    key = address_key(channel, address)
    cur = await conn.execute(
        "INSERT INTO suppressions (channel, address, reason, at) VALUES (?, ?, ?, ?)"
        " ON CONFLICT (channel, address) DO NOTHING",
        (channel, key, reason, to_epoch(at)),
    )
    added = cur.rowcount > 0
    if added:
        await audit(
            conn,
            at=at,
            actor=f"contact:{contact_id}" if contact_id and source != "dispatcher" else source,
            action="address.suppressed",
            target=contact_id or key,
            source=source,
            details={"channel": channel, "address": key, "reason": reason},
        )
    return added


async def suppress_contact_address(
    conn: aiosqlite.Connection, contact_id: str, channel: str, reason: str, at: datetime, *, source: str
) -> bool:
    """Suppress the address the contact holds on `channel` (none: nothing to do)."""
    async with conn.execute(
        f"SELECT {CHANNEL_ADDRESS[channel]} FROM contacts WHERE id = ?", (contact_id,)
    ) as cur:
        row = await cur.fetchone()
    if row is None or row[0] is None or row[0] == "":
        return False
    return await suppress(conn, channel, row[0], reason, at, source=source, contact_id=contact_id)


async def lift_contact_address(
    conn: aiosqlite.Connection, contact_id: str, channel: str, reasons: Collection[str]
) -> int:
    """Lift the suppressions of the contact's address on `channel` with one of `reasons` (they opted
    in again, or wrote to the bot from that chat); returns how many were lifted."""
    marks = ",".join("?" * len(reasons))
    cur = await conn.execute(
        f"DELETE FROM suppressions WHERE channel = ? AND reason IN ({marks}) AND address ="
        f" (SELECT {ADDRESS_KEY_SQL[channel]} FROM contacts c WHERE c.id = ?)",
        (channel, *reasons, contact_id),
    )
    return max(cur.rowcount, 0)


async def suppressions_of(db: Database, contact_id: str) -> dict[str, Suppression]:
    """The suppressions that hold the contact's addresses, by channel."""
    found: dict[str, Suppression] = {}
    for channel, key in ADDRESS_KEY_SQL.items():
        row = await db.fetchone(
            "SELECT s.address, s.reason, s.at FROM contacts c JOIN suppressions s"
            f" ON s.channel = ? AND s.address = {key} WHERE c.id = ?",
            (channel, contact_id),
        )
        if row is not None:
            found[channel] = Suppression(channel, row[0], row[1], from_epoch(row[2]))
    return found
