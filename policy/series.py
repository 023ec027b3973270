"""A series (SPEC §12.4): one campaign file whose schedule yields an occurrence per date.

The schedule is an RFC 5545 RRULE (python-dateutil reads it) or one of the simple forms
`every tuesday 11:00`, `every day at 10:00`, `monthly on day 1 at 10:00`, evaluated in the policy's
timezone from the campaign's `start` (its DTSTART: the hour and minute a rule does not give come
from it). `until` (a local date, inclusive, or an instant) or `count` bound the series; `skip` lists
local dates that do not run. Skipped dates still count towards `count`, as EXDATEs do in RFC 5545,
but get no occurrence number. Everything here is pure: the clock is a parameter.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from dateutil.rrule import rrule, rrulestr

from policy.timeutil import TimeParseError, parse_duration, parse_instant, year_problem, zone

SERIES_KEYS = ("schedule", "run_window", "until", "count", "skip")
DEFAULT_RUN_WINDOW = timedelta(days=1)
MAX_COUNT = 1000
# A series fires at most once a local day (occurrence ids are `<id>@<date>`).
FREQUENCIES = ("DAILY", "WEEKLY", "MONTHLY", "YEARLY")
SINGLE_VALUED = ("BYHOUR", "BYMINUTE", "BYSECOND")
BOUNDS_IN_KEYS = {"UNTIL": "until", "COUNT": "count", "DTSTART": "start"}
WEEKDAYS = {
    "monday": "MO",
    "tuesday": "TU",
    "wednesday": "WE",
    "thursday": "TH",
    "friday": "FR",
    "saturday": "SA",
    "sunday": "SU",
}
_AT = r"(?:\s+at)?\s+(?P<h>[0-9]{1,2}):(?P<m>[0-9]{2})"
_WEEKLY = re.compile(rf"every\s+(?P<days>[a-z]+(?:\s*(?:,|and)\s*[a-z]+)*){_AT}", re.IGNORECASE)
_MONTHLY = re.compile(rf"monthly\s+on\s+day\s+(?P<d>[0-9]{{1,2}}){_AT}", re.IGNORECASE)
_EXAMPLE = "an RRULE such as 'FREQ=WEEKLY;BYDAY=TU;BYHOUR=11;BYMINUTE=0' or 'every tuesday 11:00'"


class SeriesError(ValueError):
    """A bad series key: `key` is the file's key, the message one sentence."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(message)
        self.key = key


@dataclass(frozen=True)
class Occurrence:
    """One run of a series: its number (1, 2, … over the dates that run), start and local date."""

    number: int
    start: datetime  # UTC
    date: date  # in the policy's timezone: the occurrence id's suffix

    def campaign_id(self, series_id: str) -> str:
        return f"{series_id}@{self.date.isoformat()}"


def occurrence_day(campaign_id: str) -> tuple[str, date] | None:
    """`digest@2026-12-08` → ("digest", 2026-12-08); None when the id names no occurrence."""
    series_id, at, day = campaign_id.partition("@")
    if not at:
        return None
    try:
        return series_id, date.fromisoformat(day)
    except ValueError:
        return None


@dataclass(frozen=True)
class Series:
    """The schedule of a series and its bounds, ready to list occurrences."""

    rule: str  # the RRULE text (simple forms already translated)
    timezone: str
    anchor: datetime  # UTC: the `start` key, DTSTART of the rule
    run_window: timedelta
    until: datetime | None  # UTC, inclusive
    count: int | None
    skip: frozenset[date]

    def _rrule(self) -> rrule:
        tz = zone(self.timezone)
        local = self.anchor.astimezone(tz).replace(tzinfo=None, second=0, microsecond=0)
        rule: rrule = rrulestr(self.rule, dtstart=local, cache=False)
        if self.count is not None:
            rule = rule.replace(count=self.count)
        if self.until is not None:
            rule = rule.replace(until=self.until.astimezone(tz).replace(tzinfo=None))
        return rule

    def _utc(self, local: datetime) -> datetime:
        return local.replace(tzinfo=zone(self.timezone)).astimezone(UTC)

    def occurrences(self) -> Iterator[Occurrence]:
        """Every occurrence in order (unbounded when the series has neither until nor count)."""
        number = 0
        for local in self._rrule():
            if local.date() in self.skip:
                continue
            number += 1
            yield Occurrence(number, self._utc(local), local.date())

    def first(self) -> Occurrence | None:
        return next(self.occurrences(), None)

    def on(self, day: date) -> Occurrence | None:
        """The occurrence on local date `day`, numbered, or None."""
        for occurrence in self.occurrences():
            if occurrence.date >= day:
                return occurrence if occurrence.date == day else None
        return None

    def upcoming(self, now: datetime, limit: int) -> list[Occurrence]:
        """The next `limit` occurrences still running at `now` (their window has not closed)."""
        found: list[Occurrence] = []
        for occurrence in self.occurrences():
            if len(found) >= limit:
                break
            if occurrence.start + self.run_window > now:
                found.append(occurrence)
        return found

    def due(self, now: datetime, ahead: timedelta) -> list[Occurrence]:
        """Occurrences to plan at `now`: starting within `ahead` and whose window is still open."""
        found: list[Occurrence] = []
        for occurrence in self.occurrences():
            if occurrence.start - ahead > now:
                break
            if occurrence.start + self.run_window > now:
                found.append(occurrence)
        return found


def to_rrule(text: str) -> str:
    """The RRULE text of `schedule`: an RRULE as given, or a simple form translated."""
    raw = " ".join(text.split())
    weekly = _WEEKLY.fullmatch(raw)
    monthly = _MONTHLY.fullmatch(raw)
    found = weekly or monthly
    clock = f"BYHOUR={int(found['h'])};BYMINUTE={int(found['m'])}" if found else ""
    if weekly:
        days = [d.lower() for d in re.split(r"\s*(?:,|and)\s*", weekly.group("days"))]
        if days == ["day"]:
            return f"FREQ=DAILY;{clock}"
        unknown = [d for d in days if d not in WEEKDAYS]
        if unknown:
            raise SeriesError("schedule", f"{unknown[0]!r} is not a weekday: use monday … sunday or 'day'")
        byday = ",".join(WEEKDAYS[d] for d in dict.fromkeys(days))
        return f"FREQ=WEEKLY;BYDAY={byday};{clock}"
    if monthly:
        return f"FREQ=MONTHLY;BYMONTHDAY={int(monthly['d'])};{clock}"
    return raw.removeprefix("RRULE:")


def _check_rule(text: str) -> None:
    parts: dict[str, str] = {}
    for part in text.split(";"):
        name, eq, value = part.partition("=")
        if not eq or not name.strip():
            raise SeriesError("schedule", f"{text[:60]!r} is not {_EXAMPLE}")
        parts[name.strip().upper()] = value.strip()
    for name, key in BOUNDS_IN_KEYS.items():
        if name in parts:
            raise SeriesError("schedule", f"give {name} as the campaign's `{key}` key, not in the rule")
    freq = parts.get("FREQ", "").upper()
    if freq not in FREQUENCIES:
        raise SeriesError(
            "schedule", f"FREQ must be {', '.join(FREQUENCIES)}: a series runs at most once a day"
        )
    for name in SINGLE_VALUED:
        if "," in parts.get(name, ""):
            raise SeriesError("schedule", f"{name} takes one value: a series runs at most once a day")


def _until(value: Any, tz_name: str) -> datetime:
    """A date is inclusive (the end of that local day); an instant is read in the policy's zone."""
    tz = zone(tz_name)
    if isinstance(value, datetime):
        moment = value if value.tzinfo else value.replace(tzinfo=tz)
        return moment.astimezone(UTC)
    if isinstance(value, str) and len(value.strip()) == 10:
        try:
            value = date.fromisoformat(value.strip())
        except ValueError:
            raise SeriesError("until", f"{value!r} is not a date such as '2027-06-30'") from None
    if isinstance(value, date):
        problem = year_problem(value.year)
        if problem:
            raise SeriesError("until", problem)
        end = datetime.combine(value, time(23, 59, 59), tzinfo=tz)
        return end.astimezone(UTC)
    if isinstance(value, str):
        try:
            return parse_instant(value, tz)
        except TimeParseError as exc:
            raise SeriesError("until", str(exc)) from None
    raise SeriesError("until", "expected a date such as '2027-06-30'")


def _skip(value: Any) -> frozenset[date]:
    if not isinstance(value, list):
        raise SeriesError("skip", "expected a list of dates such as ['2026-12-29']")
    days: set[date] = set()
    for i, item in enumerate(value):
        try:
            day = item if isinstance(item, date) else date.fromisoformat(str(item).strip())
        except ValueError:
            raise SeriesError(f"skip.{i}", f"{str(item)[:40]!r} is not a date such as '2026-12-29'") from None
        if isinstance(day, datetime):
            raise SeriesError(f"skip.{i}", "give a date without a time")
        problem = year_problem(day.year)
        if problem:
            raise SeriesError(f"skip.{i}", problem)
        days.add(day)
    return frozenset(days)


def build_series(keys: Mapping[str, Any], anchor: datetime, timezone: str) -> Series:
    """Validate the series keys of a campaign file; `anchor` is its `start`. Refuses a rule that never
    fires, `until` before the first occurrence, and a skipped date the rule never reaches."""
    schedule = keys.get("schedule")
    if not isinstance(schedule, str) or not schedule.strip():
        raise SeriesError("schedule", f"expected {_EXAMPLE}")
    rule = to_rrule(schedule)
    _check_rule(rule)
    window = keys.get("run_window", DEFAULT_RUN_WINDOW)
    if not isinstance(window, timedelta):
        try:
            window = parse_duration(str(window))
        except TimeParseError as exc:
            raise SeriesError("run_window", str(exc)) from None
    if window <= timedelta(0):
        raise SeriesError("run_window", "must be > 0")
    count = keys.get("count")
    if count is not None and (isinstance(count, bool) or not isinstance(count, int)):
        raise SeriesError("count", "expected a whole number")
    if count is not None and not 1 <= count <= MAX_COUNT:
        raise SeriesError("count", f"must be between 1 and {MAX_COUNT}")
    if count is not None and keys.get("until") is not None:
        raise SeriesError("count", "give until or count, not both")
    until = _until(keys["until"], timezone) if keys.get("until") is not None else None
    skip = _skip(keys.get("skip", []))
    unbounded = Series(rule, timezone, anchor, window, None, count, frozenset())
    try:
        first = unbounded.first()
    except (ValueError, TypeError) as exc:  # dateutil's own complaint about the rule's parts
        raise SeriesError("schedule", f"{rule[:60]!r} is not {_EXAMPLE} ({exc})") from None
    if first is None:
        raise SeriesError("schedule", f"the rule {rule!r} never fires after the start")
    if until is not None and until < first.start:
        raise SeriesError(
            "until",
            f"{until.astimezone(zone(timezone)):%Y-%m-%d %H:%M} is before the first occurrence"
            f" ({first.start.astimezone(zone(timezone)):%Y-%m-%d %H:%M})",
        )
    series = Series(rule, timezone, anchor, window, until, count, skip)
    rule_set = series._rrule()
    for day in sorted(skip):
        start = datetime.combine(day, time(0))
        if not rule_set.between(start, start + timedelta(days=1), inc=True):
            raise SeriesError("skip", f"{day.isoformat()} is not a date of the schedule")
    if series.first() is None:
        raise SeriesError("skip", "every date of the schedule is skipped")
    return series
