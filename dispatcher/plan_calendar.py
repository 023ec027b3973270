"""What is planned for the next local days, per campaign and version, with the conflicts (the /calendar).

Days are the policy's default timezone's calendar days (DST-correct: each day's bounds are computed
with zoneinfo). A conflict is a contact with two or more non-service messages due the same day, or a
day on which contacts exceed a global cap of a day or shorter.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from dispatcher.ports import CalendarStore
from policy.config import Cap, Policy
from policy.timeutil import format_duration, zone
from storage.reports import CalendarRow, Day

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


async def plan_calendar(
    store: CalendarStore, policy: Policy, now: datetime, count: int = DAYS
) -> CalendarReport:
    timezone = policy.default_timezone
    days = local_days(now, timezone, count)
    rows = await store.planned_by_day(days)
    doubles = await store.double_booked(days)
    daily_caps = [c for c in policy.caps if c.per <= timedelta(days=1)]
    caps = [(describe_cap(cap), await store.over_cap(days, cap)) for cap in daily_caps]
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
