"""A campaign's results per local day (the dashboard's and the chat's charts): sends, opens, clicks and
conversions (paid orders within the attribution window after the contact's first send)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from policy.timeutil import to_epoch
from storage.db import Database
from storage.reports import SENT_LAG_S, Day, days_cte


@dataclass(frozen=True)
class DayCounts:
    day: str  # ISO date
    sends: int
    opens: int
    clicks: int
    conversions: int


async def campaign_days(
    db: Database, campaign_id: str, days: Sequence[Day], window: timedelta
) -> list[DayCounts]:
    """One entry per day in `days` (zeros included), in their order."""
    cte, params = days_cte(days)
    rows = await db.fetchall(
        f"{cte}, first AS (SELECT contact_id, MIN(sent_at) AS t FROM outbox WHERE campaign_id = ?"
        " AND step = 0 AND status = 'sent' GROUP BY contact_id)"
        " SELECT d.day,"
        " (SELECT COUNT(*) FROM outbox o WHERE o.campaign_id = ? AND o.status = 'sent'"
        "  AND o.sent_at >= d.lo AND o.sent_at < d.hi),"
        " (SELECT COUNT(*) FROM events e WHERE e.campaign_id = ? AND e.type = 'open'"
        "  AND e.at >= d.lo AND e.at < d.hi),"
        " (SELECT COUNT(*) FROM events e WHERE e.campaign_id = ? AND e.type = 'click'"
        "  AND e.at >= d.lo AND e.at < d.hi),"
        " (SELECT COUNT(*) FROM first f JOIN orders r ON r.contact_id = f.contact_id AND r.status = 'paid'"
        "  AND r.paid_at >= f.t AND r.paid_at < f.t + ? WHERE r.paid_at >= d.lo AND r.paid_at < d.hi)"
        " FROM days d ORDER BY d.lo",
        (*params, campaign_id, campaign_id, campaign_id, campaign_id, int(window.total_seconds())),
    )
    return [DayCounts(str(r[0]), int(r[1]), int(r[2]), int(r[3]), int(r[4])) for r in rows]


async def team_days(db: Database, days: Sequence[Day]) -> list[DayCounts]:
    """Every campaign's sends, opens and clicks per day (the weekly report); conversions are per campaign."""
    cte, params = days_cte(days)
    lo, hi = to_epoch(min(d.start for d in days)), to_epoch(max(d.end for d in days))
    rows = await db.fetchall(
        f"{cte} SELECT d.day,"
        " (SELECT COUNT(*) FROM outbox o WHERE o.status = 'sent' AND o.sent_at >= d.lo AND o.sent_at < d.hi"
        "  AND o.due_at >= ? AND o.due_at < ?),"
        " (SELECT COUNT(*) FROM events e WHERE e.type = 'open' AND e.at >= d.lo AND e.at < d.hi),"
        " (SELECT COUNT(*) FROM events e WHERE e.type = 'click' AND e.at >= d.lo AND e.at < d.hi)"
        " FROM days d ORDER BY d.lo",
        (*params, lo - SENT_LAG_S, hi),
    )
    return [DayCounts(str(r[0]), int(r[1]), int(r[2]), int(r[3]), 0) for r in rows]
