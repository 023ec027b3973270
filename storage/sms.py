"""SMS bookkeeping: delivery reports by SMS.ru's sms_id, the parts spent in a span, per-campaign SMS."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from storage.db import Database


@dataclass(frozen=True)
class SmsReport:
    """One delivery report: the message SMS.ru calls `sms_id` ended `state` (delivered | failed)."""

    sms_id: str
    state: str
    code: int
    at: int


@dataclass(frozen=True)
class CampaignSms:
    """A campaign's SMS: messages accepted, the parts they were billed as, delivery reports."""

    sent: int = 0
    parts: int = 0
    delivered: int = 0
    failed: int = 0


async def record_sms_reports(db: Database, reports: Sequence[SmsReport]) -> int:
    """Store the reports of messages we sent (one of an unknown sms_id is ignored); a report older
    than the one stored does not replace it. Returns how many matched a message."""
    if not reports:
        return 0
    matched = 0
    async with db.transaction() as conn:
        for report in reports:
            cur = await conn.execute(
                "INSERT INTO sms_reports (outbox_id, state, code, at)"
                " SELECT id, ?, ?, ? FROM outbox WHERE channel = 'sms' AND message_id = ?"
                " ON CONFLICT (outbox_id) DO UPDATE SET state = excluded.state, code = excluded.code,"
                " at = excluded.at WHERE excluded.at >= sms_reports.at",
                (report.state, report.code, report.at, report.sms_id),
            )
            matched += max(cur.rowcount, 0)
    return matched


async def sms_parts_sent(db: Database, *, since: int, until: int) -> int:
    """Parts of the SMS accepted by the gateway in [since, until) (what the month's budget has paid)."""
    value = await db.scalar(
        "SELECT COALESCE(SUM(sms_parts), 0) FROM outbox WHERE channel = 'sms' AND status = 'sent'"
        " AND sent_at >= ? AND sent_at < ?",
        (since, until),
    )
    return int(value)  # type: ignore[call-overload]


async def sms_by_campaign(db: Database, campaign_ids: Sequence[str] | None = None) -> dict[str, CampaignSms]:
    """Per campaign (all, or those named): SMS sent, their parts, and how their reports ended."""
    where, params = "", tuple[str, ...]()
    if campaign_ids is not None:
        where = f" AND o.campaign_id IN ({','.join('?' * len(campaign_ids))})"
        params = tuple(campaign_ids)
    rows = await db.fetchall(
        "SELECT o.campaign_id, COUNT(*), COALESCE(SUM(o.sms_parts), 0),"
        " SUM(r.state = 'delivered'), SUM(r.state = 'failed')"
        " FROM outbox o LEFT JOIN sms_reports r ON r.outbox_id = o.id"
        f" WHERE o.channel = 'sms' AND o.status = 'sent'{where} GROUP BY o.campaign_id",
        params,
    )
    return {str(r[0]): CampaignSms(int(r[1]), int(r[2]), int(r[3] or 0), int(r[4] or 0)) for r in rows}
