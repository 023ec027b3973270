"""What is planned for the next local days, per campaign and version, with the conflicts (the /calendar).

Days are the policy's default timezone's calendar days (DST-correct: each day's bounds are computed
with zoneinfo). A conflict is a contact with two or more non-service messages due the same day, or a
day on which contacts exceed a global cap of a day or shorter.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from policy.config import Cap, Policy
from policy.timeutil import format_duration, zone
from storage.db import Database
from storage.reports import CalendarRow, Day, double_booked, over_cap, planned_by_day

DAYS = 7


@dataclass(frozen=True)
class CalendarDay:
    day: date
    rows: tuple[CalendarRow, ...]  # per campaign and version
    double_booked: int  # contacts with 2+ non-service messages this day
    over_caps: tuple[tuple[str, int], ...]  # (cap, contacts over it), only the caps exceeded

    @property
    def total(self) -> int:
        return sum(r.count for r in self.rows)


@dataclass(frozen=True)
class CalendarReport:
    timezone: str
    days: tuple[CalendarDay, ...]


def local_days(now: datetime, timezone: str, count: int = DAYS) -> list[Day]:
    """Today (from `now`) and the next days, local time."""
    tz = zone(timezone)
    today = now.astimezone(tz).date()
    days = []
    for i in range(count):
        day = today + timedelta(days=i)
        start = datetime.combine(day, time(0), tzinfo=tz)
        end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=tz)
        days.append(Day(day.isoformat(), max(start, now), end))
    return days


def describe_cap(cap: Cap) -> str:
    return f"{cap.max}/{format_duration(cap.per)} {cap.scope} ({cap.channel})"


async def plan_calendar(db: Database, policy: Policy, now: datetime, count: int = DAYS) -> CalendarReport:
    timezone = policy.default_timezone
    days = local_days(now, timezone, count)
    rows = await planned_by_day(db, days)
    doubles = await double_booked(db, days)
    daily_caps = [c for c in policy.caps if c.per <= timedelta(days=1)]
    caps = [(describe_cap(cap), await over_cap(db, days, cap)) for cap in daily_caps]
    return CalendarReport(
        timezone,
        tuple(
            CalendarDay(
                date.fromisoformat(d.key),
                tuple(r for r in rows if r.day == d.key),
                doubles.get(d.key, 0),
                tuple((described, over[d.key]) for described, over in caps if over.get(d.key)),
            )
            for d in days
        ),
    )
