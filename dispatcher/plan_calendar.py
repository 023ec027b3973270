"""What is planned for the next local days, per campaign and version, with the conflicts (the /calendar),
and the occurrences of approved series that start on those days but are not planned yet.

Days are the policy's default timezone's calendar days (DST-correct: each day's bounds are computed
with zoneinfo). A conflict is a contact with two or more non-service messages due the same day, or a
day on which contacts exceed a global cap of a day or shorter.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from dispatcher.ports import CalendarStore
from policy.config import Cap, Policy, PolicyError
from policy.occurrences import UPCOMING, is_series, parse_stored
from policy.timeutil import format_duration, zone
from storage.reports import CalendarRow, Day

DAYS = 7


@dataclass(frozen=True)
class SeriesSlot:
    """An occurrence of a series starting this day whose messages are not in the outbox yet."""

    campaign_id: str
    name: str
    start: datetime
    state: str  # `upcoming` (planned an hour before its start) or the opened occurrence's status


@dataclass(frozen=True)
class CalendarDay:
    day: date
    rows: tuple[CalendarRow, ...]  # per campaign and version
    double_booked: int  # contacts with 2+ non-service messages this day
    over_caps: tuple[tuple[str, int], ...]  # (cap, contacts over it), only the caps exceeded
    series: tuple[SeriesSlot, ...] = ()

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
    slots = await _series_slots(store, policy, days, {r.campaign_id for r in rows})
    return CalendarReport(
        timezone,
        tuple(
            CalendarDay(
                date.fromisoformat(d.key),
                tuple(r for r in rows if r.day == d.key),
                doubles.get(d.key, 0),
                tuple((described, over[d.key]) for described, over in caps if over.get(d.key)),
                tuple(slot for slot in slots if d.start <= slot.start < d.end),
            )
            for d in days
        ),
    )


async def _series_slots(
    store: CalendarStore, policy: Policy, days: list[Day], planned: set[str]
) -> list[SeriesSlot]:
    """Occurrences of approved series starting within `days` that have no planned rows yet."""
    begin, end = days[0].start, days[-1].end
    records = await store.campaigns(("approved", "pending_approval", "rejected"))
    opened = {r.id: r.status for r in records if r.series_id is not None}
    slots: list[SeriesSlot] = []
    for record in records:
        if record.series_id is not None or record.status != "approved":
            continue
        try:
            campaign = parse_stored(record.id, record.source, policy)
        except PolicyError:  # a file the policy no longer accepts plans nothing; the planner logs it
            continue
        if campaign.series is None or not is_series(campaign):
            continue
        for occurrence in campaign.series.occurrences():
            if occurrence.start >= end:
                break
            campaign_id = occurrence.campaign_id(record.id)
            if occurrence.start < begin or campaign_id in planned:
                continue
            slots.append(
                SeriesSlot(campaign_id, record.name, occurrence.start, opened.get(campaign_id, UPCOMING))
            )
    return sorted(slots, key=lambda s: s.start)
