"""The reads behind a campaign's results (SPEC §9): outcomes per group, reactions, the two arms, show-up.

Every read counts what happened up to `at` and takes the attribution window as a `timedelta`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from policy.timeutil import to_epoch
from storage.db import Database


@dataclass(frozen=True)
class Arm:
    """Contacts of one arm (treated: sent; holdout: kept back) and their paid orders in the window."""

    contacts: int
    converted: int
    orders: int
    revenue: float


@dataclass(frozen=True)
class Arms:
    treated: Arm
    holdout: Arm


@dataclass(frozen=True)
class Reaction:
    """Events of one type attributed to the campaign, and how many contacts they came from."""

    events: int
    people: int


@dataclass(frozen=True)
class Breakdown:
    """One (version, variant, channel) group of a campaign's first sends (SPEC §9)."""

    version: str
    variant: str
    channel: str
    statuses: dict[str, int]
    opened: int
    clicked: int
    unsubscribed: int
    complained: int
    converted: int
    revenue: float
    bounced: int = 0  # refused at send time (SMTP 5xx on the recipient) or bounced later (a DSN)
    bounced_after: int = 0  # of the sent: bounced later, so not delivered


@dataclass(frozen=True)
class Attendance:
    """Contacts who registered for the campaign's event, and who attended it."""

    registered: int
    attended: int


async def reactions(db: Database, campaign_id: str, at: datetime) -> dict[str, Reaction]:
    """Events attributed to the campaign up to `at`, per type."""
    rows = await db.fetchall(
        "SELECT type, COUNT(*), COUNT(DISTINCT contact_id) FROM events WHERE campaign_id = ? AND at <= ?"
        " GROUP BY type ORDER BY type",
        (campaign_id, to_epoch(at)),
    )
    return {str(r[0]): Reaction(int(r[1]), int(r[2])) for r in rows}


async def attendance(db: Database, campaign_id: str, at: datetime) -> Attendance:
    rows = await db.fetchall(
        "SELECT type, COUNT(DISTINCT contact_id) FROM events WHERE campaign_id = ? AND at <= ?"
        " AND type IN ('webinar_registered', 'webinar_attended') GROUP BY type",
        (campaign_id, to_epoch(at)),
    )
    people = {str(r[0]): int(r[1]) for r in rows}
    return Attendance(people.get("webinar_registered", 0), people.get("webinar_attended", 0))


async def conversion_arms(db: Database, campaign_id: str, window: timedelta, at: datetime) -> Arms:
    """Paid orders within `window` after each contact's first send (holdout: its would-be send).

    Only exposures up to `at` count; a holdout contact's moment is the due time it was given.
    """
    now_s = to_epoch(at)
    rows = await db.fetchall(
        "WITH exposed AS (SELECT contact_id, MIN(COALESCE(sent_at, due_at)) AS t, status = 'holdout' AS arm"
        " FROM outbox WHERE campaign_id = ? AND step = 0 AND status IN ('sent', 'holdout')"
        " AND COALESCE(sent_at, due_at) <= ? GROUP BY contact_id, arm)"
        " SELECT e.arm, COUNT(DISTINCT e.contact_id), COUNT(DISTINCT o.contact_id), COUNT(o.id),"
        " COALESCE(SUM(o.amount), 0) FROM exposed e LEFT JOIN orders o ON o.contact_id = e.contact_id"
        " AND o.status = 'paid' AND o.paid_at >= e.t AND o.paid_at < e.t + ? AND o.paid_at <= ?"
        " GROUP BY e.arm",
        (campaign_id, now_s, int(window.total_seconds()), now_s),
    )
    arms = {"treated": Arm(0, 0, 0, 0.0), "holdout": Arm(0, 0, 0, 0.0)}
    for r in rows:
        arms["holdout" if r[0] else "treated"] = Arm(int(r[1]), int(r[2]), int(r[3]), float(r[4]))
    return Arms(arms["treated"], arms["holdout"])


async def breakdown(db: Database, campaign_id: str, window: timedelta, at: datetime) -> list[Breakdown]:
    """Outcomes per version, variant and channel: statuses, people who opened / clicked / left, and
    paid orders within `window` after the send (holdout rows: after their would-be send)."""
    rows = await db.fetchall(
        "WITH first AS (SELECT contact_id, COALESCE(version, '') AS version,"
        " COALESCE(variant, '') AS variant, channel, status, reason, COALESCE(sent_at, due_at) AS t"
        " FROM outbox WHERE campaign_id = :c AND step = 0),"
        " acted AS (SELECT contact_id, MAX(type = 'open') AS o, MAX(type = 'click') AS k,"
        " MAX(type = 'unsubscribe') AS u, MAX(type = 'complaint') AS p, MAX(type = 'bounce') AS b"
        " FROM events WHERE campaign_id = :c"
        " AND at <= :now GROUP BY contact_id),"
        " paid AS (SELECT f.contact_id, COUNT(o.id) AS n, TOTAL(o.amount) AS money FROM first f JOIN orders o"
        " ON o.contact_id = f.contact_id AND o.status = 'paid' AND o.paid_at >= f.t AND o.paid_at < f.t + :w"
        " AND o.paid_at <= :now WHERE f.status IN ('sent', 'holdout') GROUP BY f.contact_id)"
        " SELECT f.version, f.variant, f.channel, f.status, COUNT(*), TOTAL(a.o), TOTAL(a.k), TOTAL(a.u),"
        " TOTAL(a.p), COUNT(p.contact_id), TOTAL(p.money), TOTAL(a.b), TOTAL(f.reason = 'hard_bounce')"
        " FROM first f"
        " LEFT JOIN acted a ON a.contact_id = f.contact_id LEFT JOIN paid p ON p.contact_id = f.contact_id"
        " GROUP BY f.version, f.variant, f.channel, f.status ORDER BY f.version, f.variant, f.channel",
        {"c": campaign_id, "now": to_epoch(at), "w": int(window.total_seconds())},
    )
    groups: dict[tuple[str, str, str], Breakdown] = {}
    for version, variant, channel, status, n, o, k, u, p, conv, money, b, refused in rows:
        key = (str(version), str(variant), str(channel))
        old = groups.get(key) or Breakdown(*key, {}, 0, 0, 0, 0, 0, 0.0)
        counted = status == "sent"  # reactions and sales of the treated only; holdout has its own row
        groups[key] = Breakdown(
            *key,
            {**old.statuses, str(status): int(n)},
            old.opened + (int(o) if counted else 0),
            old.clicked + (int(k) if counted else 0),
            old.unsubscribed + (int(u) if counted else 0),
            old.complained + (int(p) if counted else 0),
            old.converted + (int(conv) if counted else 0),
            old.revenue + (float(money) if counted else 0.0),
            old.bounced + (int(b) if counted else 0) + (int(refused) if status == "failed" else 0),
            old.bounced_after + (int(b) if counted else 0),
        )
    return list(groups.values())


async def channel_counts(db: Database, campaign_id: str) -> dict[str, dict[str, int]]:
    """Rows of every step (first sends, cascade steps, reminders) per channel and status."""
    rows = await db.fetchall(
        "SELECT channel, status, COUNT(*) FROM outbox WHERE campaign_id = ? GROUP BY channel, status"
        " ORDER BY channel, status",
        (campaign_id,),
    )
    counts: dict[str, dict[str, int]] = {}
    for channel, status, n in rows:
        counts.setdefault(str(channel), {})[str(status)] = int(n)
    return counts


async def channel_feedback(db: Database, campaign_id: str) -> dict[str, dict[str, int]]:
    """Rows of every step per channel that were refused at send time (`refused`), bounced after being
    sent (`bounced_after`, a DSN) or complained about (`complaints`, an ARF report)."""
    rows = await db.fetchall(
        "SELECT o.channel,"
        " COUNT(DISTINCT CASE WHEN o.status = 'failed' AND o.reason = 'hard_bounce' THEN o.id END),"
        " COUNT(DISTINCT CASE WHEN o.status = 'sent' AND f.kind IN ('hard_bounce', 'soft_bounce')"
        " THEN o.id END),"
        " COUNT(DISTINCT CASE WHEN f.kind = 'complaint' THEN o.id END)"
        " FROM outbox o LEFT JOIN feedback_reports f ON f.outbox_id = o.id"
        " WHERE o.campaign_id = ? GROUP BY o.channel",
        (campaign_id,),
    )
    return {
        str(channel): {"refused": int(refused), "bounced_after": int(after), "complaints": int(complained)}
        for channel, refused, after, complained in rows
    }
