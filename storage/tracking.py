"""What subscribers and providers tell us: consent changes, dead addresses, opens, clicks, bindings.

Unsubscribing revokes a consent, it never deletes a contact; every change is also written to the
audit log, which keeps the consent history.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import aiosqlite

from policy.timeutil import to_epoch
from storage.audit import audit
from storage.contacts import SUBSCRIBER_SOURCES
from storage.suppressions import lift_contact_address, suppress_contact_address

# Consent revocations that say something about the address, and the suppression each one writes.
ADDRESS_REVOCATIONS = {
    "unsubscribe_link": "unsubscribe",
    "unsubscribe_mail": "unsubscribe",  # a mail to the List-Unsubscribe mailto: address
    "bot": "unsubscribe",
    "vk": "unsubscribe",
    "bot_blocked": "bot_blocked",
    "complaint": "complaint",  # a spam complaint (ARF) from the mailbox provider's feedback loop
}


async def set_consent(
    conn: aiosqlite.Connection, contact_id: str, channel: str, status: str, source: str, at: datetime
) -> bool:
    """Grant or revoke a channel's consent; returns whether anything changed."""
    async with conn.execute(
        "SELECT status FROM consents WHERE contact_id = ? AND channel = ?", (contact_id, channel)
    ) as cur:
        row = await cur.fetchone()
    if row is not None and row[0] == status:
        return False
    await conn.execute(
        "INSERT INTO consents (contact_id, channel, status, source, at) VALUES (?, ?, ?, ?, ?)"
        " ON CONFLICT(contact_id, channel) DO UPDATE SET status = excluded.status,"
        " source = excluded.source, at = excluded.at",
        (contact_id, channel, status, source, to_epoch(at)),
    )
    await audit(
        conn,
        at=at,
        actor=f"contact:{contact_id}",
        action=f"consent.{status}",
        target=contact_id,
        source=source,
        details={"channel": channel},
    )
    return True


async def revoke_consent(
    conn: aiosqlite.Connection, contact_id: str, channel: str, source: str, at: datetime
) -> bool:
    """Revoke a consent. When the subscriber did it (the unsubscribe link, /stop, the preferences) or the
    channel reported a blocked bot, it is about the address: that is suppressed too, for every holder."""
    changed = await set_consent(conn, contact_id, channel, "revoked", source, at)
    reason = ADDRESS_REVOCATIONS.get(source)
    if reason is not None:
        await suppress_contact_address(conn, contact_id, channel, reason, at, source=source)
    return changed


async def grant_consent(
    conn: aiosqlite.Connection, contact_id: str, channel: str, source: str, at: datetime
) -> bool:
    """Grant a consent; the subscriber opting in again lifts their own unsubscribe of the address."""
    changed = await set_consent(conn, contact_id, channel, "granted", source, at)
    if source in SUBSCRIBER_SOURCES:
        await lift_contact_address(conn, contact_id, channel, ("unsubscribe",))
    return changed


async def record_event(
    conn: aiosqlite.Connection,
    contact_id: str,
    type_: str,
    at: datetime,
    campaign_id: str | None = None,
    meta: dict[str, Any] | None = None,
) -> bool:
    """One event (open, click, unsubscribe…); the natural key makes a repeat a no-op."""
    cur = await conn.execute(
        "INSERT OR IGNORE INTO events (contact_id, type, at, campaign_id, meta) VALUES (?, ?, ?, ?, ?)",
        (contact_id, type_, to_epoch(at), campaign_id or "", json.dumps(meta or {}, ensure_ascii=False)),
    )
    return cur.rowcount > 0


async def bind_telegram(conn: aiosqlite.Connection, contact_id: str, chat_id: int, at: datetime) -> None:
    """Link a chat to a contact (deep link): the chat's previous owner, if any, loses it."""
    await conn.execute(
        "UPDATE contacts SET telegram_chat_id = NULL WHERE telegram_chat_id = ? AND id != ?",
        (chat_id, contact_id),
    )
    await conn.execute("UPDATE contacts SET telegram_chat_id = ? WHERE id = ?", (chat_id, contact_id))
    # The subscriber wrote from this chat: whatever made it unreachable (blocked, gone, /stop) is over.
    await conn.execute("DELETE FROM suppressions WHERE channel = 'telegram' AND address = ?", (str(chat_id),))
    await audit(
        conn,
        at=at,
        actor=f"contact:{contact_id}",
        action="telegram.bound",
        target=contact_id,
        source="bot",
        details={"chat_id": chat_id},
    )
