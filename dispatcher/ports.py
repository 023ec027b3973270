"""What the dispatcher's services need from a store, declared here by them (ports); storage implements them.

SQLite implements every port today (`storage.report_store`); a PostgreSQL store plugs in by implementing
the same methods, and the services, the bot and the CLI do not change.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Protocol

from policy.config import Cap
from storage.campaign_stats import Arms, Attendance, Breakdown, Reaction
from storage.reports import CalendarRow, Day


class ResultsStore(Protocol):
    """The reads behind a campaign's results (SPEC §9), each counting what happened up to `at`."""

    async def status_counts(self, campaign_id: str) -> dict[str, int]: ...

    async def reactions(self, campaign_id: str, at: datetime) -> dict[str, Reaction]: ...

    async def attendance(self, campaign_id: str, at: datetime) -> Attendance: ...

    async def conversion_arms(self, campaign_id: str, window: timedelta, at: datetime) -> Arms: ...

    async def breakdown(self, campaign_id: str, window: timedelta, at: datetime) -> list[Breakdown]: ...


class CalendarStore(Protocol):
    """The reads behind the calendar of planned messages, per local day."""

    async def planned_by_day(self, days: Sequence[Day]) -> list[CalendarRow]: ...

    async def double_booked(self, days: Sequence[Day]) -> dict[str, int]: ...

    async def over_cap(self, days: Sequence[Day], cap: Cap) -> dict[str, int]: ...


class ReportStore(ResultsStore, CalendarStore, Protocol):
    """Everything the team's reports read."""
