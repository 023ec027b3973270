"""The counts behind the over-mailing watch: per segment (campaign version) × channel, what was sent in a
span and how many of those messages were followed, in the span, by an unsubscribe, a complaint or an open."""

from __future__ import annotations

from datetime import datetime

from policy.fatigue import Usage
from policy.timeutil import to_epoch
from storage.db import Database
from storage.reports import SENT_LAG_S

_REACTED = (
    "SUM(EXISTS(SELECT 1 FROM events e WHERE e.campaign_id = s.campaign_id AND e.type = '{kind}'"
    " AND e.contact_id = s.contact_id AND e.at >= :lo AND e.at < :hi{extra}))"
)
# An unsubscribe names its channel; complaints and opens only exist for email.
_UNSUBSCRIBED = _REACTED.format(
    kind="unsubscribe", extra=" AND COALESCE(json_extract(e.meta, '$.channel'), s.channel) = s.channel"
)
_COMPLAINED = _REACTED.format(kind="complaint", extra=" AND s.channel = 'email'")
_OPENED = _REACTED.format(kind="open", extra=" AND s.channel = 'email'")


async def usage(db: Database, begin: datetime, end: datetime) -> list[Usage]:
    """Non-service messages sent in [begin, end), per segment × channel, with their reactions."""
    lo, hi = to_epoch(begin), to_epoch(end)
    rows = await db.fetchall(
        "WITH s AS (SELECT campaign_id, contact_id, COALESCE(NULLIF(version, ''), 'all') AS segment, channel"
        " FROM outbox WHERE status = 'sent' AND due_at >= :since AND due_at < :hi AND sent_at >= :lo"
        " AND sent_at < :hi AND priority != 'service')"
        " SELECT segment, channel, COUNT(*), COUNT(DISTINCT contact_id), GROUP_CONCAT(DISTINCT campaign_id),"
        f" {_UNSUBSCRIBED}, {_COMPLAINED}, {_OPENED} FROM s"
        " GROUP BY segment, channel ORDER BY segment, channel",
        {"lo": lo, "hi": hi, "since": lo - SENT_LAG_S},
    )
    return [
        Usage(
            segment=str(r[0]),
            channel=str(r[1]),
            sends=int(r[2]),
            contacts=int(r[3]),
            campaigns=tuple(sorted(str(r[4] or "").split(","))),
            unsubscribes=int(r[5] or 0),
            complaints=int(r[6] or 0),
            opens=int(r[7] or 0),
        )
        for r in rows
    ]
