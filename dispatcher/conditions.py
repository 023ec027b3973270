"""Questions the dispatcher asks about a few contacts at a time (cascade `unless`, attendance)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from policy.config import LocalWindow
from policy.timeutil import to_epoch
from storage.db import Database
from storage.segments import SegmentContext

# Reminders ignore the per-segment send windows (they are bound to the event), not quiet hours.
WHOLE_DAY = LocalWindow.model_validate({"from": "00:00", "to": "00:00"})


async def matching_ids(db: Database, ctx: SegmentContext, dsl: str, ids: Sequence[str]) -> set[str]:
    """Which of `ids` match the DSL expression at the context's `at`."""
    if not ids:
        return set()
    frag = ctx.compile(dsl, lookup=True)
    await ctx.prepare()
    marks = ",".join("?" * len(ids))
    rows = await db.fetchall(
        f"SELECT c.id FROM contacts c WHERE c.id IN ({marks}) AND ({frag.sql})", (*ids, *frag.params)
    )
    return {r[0] for r in rows}


async def attended(db: Database, campaign_id: str, ids: Sequence[str], now: datetime) -> set[str]:
    """Contacts who attended this campaign's event (an event recorded with its campaign id)."""
    if not ids:
        return set()
    marks = ",".join("?" * len(ids))
    rows = await db.fetchall(
        "SELECT DISTINCT contact_id FROM events WHERE type = 'webinar_attended' AND campaign_id = ?"
        f" AND at <= ? AND contact_id IN ({marks})",
        (campaign_id, to_epoch(now), *ids),
    )
    return {r[0] for r in rows}
