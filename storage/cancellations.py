"""Cancelling outbox rows not yet sent: a whole campaign, or an attendee's remaining reminders."""

from __future__ import annotations

from collections.abc import Sequence

from storage.db import Connection
from storage.outbox import REMINDER_STEP

# Rows still waiting for the worker; a row being sent (or done) is past cancelling.
WAITING = "('planned', 'retry')"


async def cancel_rows_of_campaign(conn: Connection, campaign_id: str) -> int:
    """Cancel every waiting row of the campaign; returns how many were cancelled."""
    cur = await conn.execute(
        f"UPDATE outbox SET status = 'cancelled', reason = 'campaign cancelled'"
        f" WHERE campaign_id = ? AND status IN {WAITING}",
        (campaign_id,),
    )
    return cur.rowcount


async def cancel_reminders_of(conn: Connection, attendees: Sequence[tuple[str, str]]) -> int:
    """Cancel the waiting reminders of each (campaign, contact); returns how many were cancelled."""
    if not attendees:
        return 0
    before = conn.total_changes
    await conn.executemany(
        "UPDATE outbox SET status = 'cancelled', reason = 'attended' WHERE campaign_id = ? AND contact_id = ?"
        f" AND step >= {REMINDER_STEP} AND status IN {WAITING}",
        attendees,
    )
    return conn.total_changes - before
