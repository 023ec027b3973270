"""Campaign results (SPEC §9): per version, variant and channel, and the uplift over the holdout."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from policy.timeutil import to_epoch
from policy.uplift import uplift
from storage.db import Database
from storage.reports import breakdown, conversion_arms

ATTRIBUTION = timedelta(days=7)


async def campaign_stats(db: Database, campaign_id: str, at: datetime) -> dict[str, Any]:
    """The SPEC §9 measurements of one campaign as plain data (the CLI prints it, `--json` dumps it)."""
    window, now = int(ATTRIBUTION.total_seconds()), to_epoch(at)
    groups = []
    for g in await breakdown(db, campaign_id, window, now):
        sent = g.statuses.get("sent", 0)
        groups.append(
            {
                "version": g.version,
                "variant": g.variant or None,
                "channel": g.channel,
                "statuses": g.statuses,
                "sent": sent,
                "delivered": sent,
                "failed": g.statuses.get("failed", 0) + g.statuses.get("expired", 0),
                "opens": g.opened,
                "clicks": g.clicked,
                "unsubscribes": g.unsubscribed,
                "complaints": g.complained,
                "conversions": g.converted,
                "revenue": round(g.revenue, 2),
                "revenue_per_send": round(g.revenue / sent, 2) if sent else None,
                "open_rate": round(g.opened / sent, 4) if sent else None,
                "click_rate": round(g.clicked / sent, 4) if sent else None,
            }
        )
    arms = await conversion_arms(db, campaign_id, window, now)
    treated, holdout = arms["treated"], arms["holdout"]
    lift = uplift(treated.contacts, treated.converted, holdout.contacts, holdout.converted)
    shows = await db.fetchall(
        "SELECT type, COUNT(DISTINCT contact_id) FROM events WHERE campaign_id = ? AND at <= ?"
        " AND type IN ('webinar_registered', 'webinar_attended') GROUP BY type",
        (campaign_id, now),
    )
    people = {str(r[0]): int(r[1]) for r in shows}
    registered = people.get("webinar_registered", 0)
    return {
        "campaign": campaign_id,
        "attribution_days": ATTRIBUTION.days,
        "groups": groups,
        "treated": {"contacts": treated.contacts, "converted": treated.converted, "revenue": treated.revenue},
        "holdout": {"contacts": holdout.contacts, "converted": holdout.converted, "revenue": holdout.revenue},
        "uplift": None
        if lift is None
        else {
            "treated_rate": round(lift.treated_rate, 4),
            "holdout_rate": round(lift.holdout_rate, 4),
            "difference": round(lift.difference, 4),
            "ci95": [round(lift.low, 4), round(lift.high, 4)],
            "significant": lift.significant,
        },
        "show_up_rate": round(people.get("webinar_attended", 0) / registered, 4) if registered else None,
    }
