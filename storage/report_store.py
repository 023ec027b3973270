"""SQLite's implementation of the report ports (`dispatcher.ports`): the same reads, bound to one database."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from policy.config import Cap
from storage import campaign_stats, outbox, reports
from storage.campaign_stats import Arms, Attendance, Breakdown, Reaction
from storage.campaigns import CampaignRecord, list_campaigns
from storage.db import Database
from storage.reports import CalendarRow, Day
from storage.sms import CampaignSms, sms_by_campaign


class SqliteReports:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def status_counts(self, campaign_id: str) -> dict[str, int]:
        return await outbox.status_counts(self.db, campaign_id)

    async def reactions(self, campaign_id: str, at: datetime) -> dict[str, Reaction]:
        return await campaign_stats.reactions(self.db, campaign_id, at)

    async def attendance(self, campaign_id: str, at: datetime) -> Attendance:
        return await campaign_stats.attendance(self.db, campaign_id, at)

    async def conversion_arms(self, campaign_id: str, window: timedelta, at: datetime) -> Arms:
        return await campaign_stats.conversion_arms(self.db, campaign_id, window, at)

    async def breakdown(self, campaign_id: str, window: timedelta, at: datetime) -> list[Breakdown]:
        return await campaign_stats.breakdown(self.db, campaign_id, window, at)

    async def channel_counts(self, campaign_id: str) -> dict[str, dict[str, int]]:
        return await campaign_stats.channel_counts(self.db, campaign_id)

    async def channel_feedback(self, campaign_id: str) -> dict[str, dict[str, int]]:
        return await campaign_stats.channel_feedback(self.db, campaign_id)

    async def sms_summary(self, campaign_id: str) -> CampaignSms:
        return (await sms_by_campaign(self.db, [campaign_id])).get(campaign_id, CampaignSms())

    async def campaigns(self, statuses: Sequence[str]) -> list[CampaignRecord]:
        return await list_campaigns(self.db, tuple(statuses))

    async def planned_by_day(self, days: Sequence[Day]) -> list[CalendarRow]:
        return await reports.planned_by_day(self.db, days)

    async def double_booked(self, days: Sequence[Day]) -> dict[str, int]:
        return await reports.double_booked(self.db, days)

    async def over_cap(self, days: Sequence[Day], cap: Cap) -> dict[str, int]:
        return await reports.over_cap(self.db, days, cap)
