"""What the dispatcher's services need from a store, declared here by them (ports); storage implements them.

SQLite implements every port today (`storage.report_store`, `storage.campaign_store`); a PostgreSQL store
plugs in by implementing the same methods, and the services, the bot and the CLI do not change.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from datetime import datetime, timedelta
from typing import Any, Protocol

from policy.config import Cap
from policy.dry_run import DryRunReport
from storage.campaign_stats import Arms, Attendance, Breakdown, Reaction
from storage.campaigns import Approval, CampaignRecord
from storage.recipients import Recipient
from storage.reports import CalendarRow, Day
from storage.sms import CampaignSms
from storage.team import Member


class ResultsStore(Protocol):
    """The reads behind a campaign's results (SPEC §9), each counting what happened up to `at`."""

    async def status_counts(self, campaign_id: str) -> dict[str, int]: ...

    async def reactions(self, campaign_id: str, at: datetime) -> dict[str, Reaction]: ...

    async def attendance(self, campaign_id: str, at: datetime) -> Attendance: ...

    async def conversion_arms(self, campaign_id: str, window: timedelta, at: datetime) -> Arms: ...

    async def breakdown(self, campaign_id: str, window: timedelta, at: datetime) -> list[Breakdown]: ...

    async def channel_counts(self, campaign_id: str) -> dict[str, dict[str, int]]: ...
    async def channel_feedback(self, campaign_id: str) -> dict[str, dict[str, int]]: ...

    async def sms_summary(self, campaign_id: str) -> CampaignSms: ...


class CalendarStore(Protocol):
    """The reads behind the calendar of planned messages, per local day."""

    async def planned_by_day(self, days: Sequence[Day]) -> list[CalendarRow]: ...

    async def campaigns(self, statuses: Sequence[str]) -> list[CampaignRecord]: ...

    async def double_booked(self, days: Sequence[Day]) -> dict[str, int]: ...

    async def over_cap(self, days: Sequence[Day], cap: Cap) -> dict[str, int]: ...


class ReportStore(ResultsStore, CalendarStore, Protocol):
    """Everything the team's reports read."""


class CampaignWrites(Protocol):
    """The campaign service's writes inside one transaction: all of them commit, or none."""

    async def insert_campaign(
        self,
        *,
        id: str,
        name: str,
        priority: str,
        source: str,
        fingerprint: str,
        author: str,
        at: datetime,
        series_id: str | None = None,
        status: str = "draft",
    ) -> None: ...

    async def update_source(
        self,
        *,
        id: str,
        name: str,
        priority: str,
        source: str,
        fingerprint: str,
        status: str,
        at: datetime,
    ) -> None: ...

    async def set_status(self, campaign_id: str, status: str, at: datetime) -> None: ...

    async def save_dry_run(
        self, campaign_id: str, report: DryRunReport, status: str, at: datetime
    ) -> None: ...

    async def mark_planned(self, campaign_id: str, status: str, at: datetime) -> None: ...

    async def record_decision(
        self,
        *,
        campaign_id: str,
        fingerprint: str,
        planned: int,
        decision: str,
        by_user: str,
        at: datetime,
        source: str,
    ) -> None: ...

    async def cancel_rows_of_campaign(self, campaign_id: str) -> int: ...

    async def audit(
        self,
        *,
        at: datetime,
        actor: str,
        action: str,
        target: str | None = None,
        source: str = "cli",
        details: dict[str, Any] | None = None,
    ) -> None: ...


class CampaignStore(Protocol):
    """What the campaign service reads, and its write transactions."""

    async def campaign(self, campaign_id: str) -> CampaignRecord | None: ...

    async def latest_approval(self, campaign_id: str) -> Approval | None: ...

    async def occurrences(self, series_id: str) -> list[CampaignRecord]: ...

    async def recipients(self, contact_ids: Sequence[str]) -> dict[str, Recipient]: ...

    async def member(self, user_id: int) -> Member | None: ...

    def writing(self) -> AbstractAsyncContextManager[CampaignWrites]: ...
