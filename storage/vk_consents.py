"""VK consent as the community's Callback API reports it: a user allows or denies its messages."""

from __future__ import annotations

from datetime import datetime

from storage.db import Database
from storage.suppressions import lift_contact_address
from storage.tracking import grant_consent, revoke_consent

# The subscriber's own word (SUBSCRIBER_SOURCES): no import changes it, and it is audited as theirs.
VK_SOURCE = "vk"
# Allowing messages again ends both their own denial and an earlier "can't send" (error 901).
LIFTED_BY_ALLOW = ("unsubscribe", "bot_blocked")


async def set_vk_consent(db: Database, user_id: int, allowed: bool, at: datetime) -> list[str]:
    """Grant (allowed) or revoke the vk consent of every contact holding VK user `user_id`; returns the
    ids of the contacts whose consent changed (none when no contact has that VK id)."""
    changed: list[str] = []
    async with db.transaction() as conn:
        async with conn.execute("SELECT id FROM contacts WHERE vk_id = ? ORDER BY id", (user_id,)) as cur:
            ids = [str(row[0]) for row in await cur.fetchall()]
        for contact_id in ids:
            if allowed:
                done = await grant_consent(conn, contact_id, "vk", VK_SOURCE, at)
                lifted = await lift_contact_address(conn, contact_id, "vk", LIFTED_BY_ALLOW)
                done = done or lifted > 0
            else:
                done = await revoke_consent(conn, contact_id, "vk", VK_SOURCE, at)
            if done:
                changed.append(contact_id)
    return changed
