"""Durations, ISO-8601 parsing and epoch conversion shared by every layer.

Storage keeps instants as integer UTC epoch seconds (fast comparisons over millions of rows);
the core works with aware datetimes and converts only at the edges.
"""

from __future__ import annotations

import functools
import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

# ASCII digits only: `\d` would also read "٧d" as seven days.
_DURATION = re.compile(r"^\s*([0-9]{1,12})\s*(s|m|h|d|w)\s*$", re.IGNORECASE)
_UNIT_S = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
# Bounds on what a file or an expression may say (SPEC §12.3): anything past them is a typo, and
# would overflow date arithmetic or SQLite's 64-bit integers somewhere downstream.
MAX_DURATION = timedelta(weeks=5218)  # 100 years
MAX_DURATION_TEXT = "100 years (5218w)"
YEARS = (1900, 2200)


class TimeParseError(ValueError):
    """A duration, datetime or timezone that cannot be understood."""


def parse_duration(text: str) -> timedelta:
    """Parse `<int>(m|h|d|w)` (seconds `s` accepted too) into a timedelta."""
    match = _DURATION.match(text)
    if not match:
        raise TimeParseError(
            f"bad duration {text[:40]!r}: expected a number and a unit m, h, d or w, e.g. 24h"
        )
    delta = timedelta(seconds=int(match.group(1)) * _UNIT_S[match.group(2).lower()])
    check_duration(delta, text)
    return delta


def check_duration(delta: timedelta, text: str = "") -> timedelta:
    """`delta` when it lies within ±100 years, else TimeParseError."""
    if abs(delta) > MAX_DURATION:
        shown = text.strip()[:40] or format_duration(delta)
        raise TimeParseError(f"duration {shown!r} is too long: at most {MAX_DURATION_TEXT}")
    return delta


def year_problem(year: int) -> str | None:
    """Why `year` is out of range (outside 1900–2200), or None."""
    return None if YEARS[0] <= year <= YEARS[1] else f"year {year} is outside {YEARS[0]}–{YEARS[1]}"


def check_year(value: datetime) -> datetime:
    """`value` when its year lies in 1900–2200, else TimeParseError."""
    problem = year_problem(value.year)
    if problem is not None:
        raise TimeParseError(problem)
    return value


def format_duration(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    for unit in ("w", "d", "h", "m"):
        if seconds and seconds % _UNIT_S[unit] == 0:
            return f"{seconds // _UNIT_S[unit]}{unit}"
    return f"{seconds}s"


# ZoneInfo keeps only the last 8 zones it was asked for alive: a base spread over more zones than
# that would read and parse a tzdata file for most messages rendered (a contact's zone each).
@functools.lru_cache(maxsize=1024)
def zone(name: str) -> ZoneInfo:
    """The IANA zone `name`; a clear error for an unknown one."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise TimeParseError(f"unknown timezone {name!r}") from exc


def parse_instant(text: str, default_tz: ZoneInfo | str = "UTC") -> datetime:
    """Parse ISO-8601 (also `YYYY-MM-DD HH:MM[:SS]`); a naive value is read in `default_tz`."""
    raw = text.strip()
    if not raw:
        raise TimeParseError("empty date")
    try:
        value = datetime.fromisoformat(raw.replace("Z", "+00:00") if raw.endswith("Z") else raw)
    except ValueError as exc:
        raise TimeParseError(f"unparsable date {text[:40]!r}") from exc
    check_year(value)
    if value.tzinfo is None:
        tz = default_tz if isinstance(default_tz, ZoneInfo) else zone(default_tz)
        value = value.replace(tzinfo=tz)
    return value.astimezone(UTC)


def to_epoch(value: datetime) -> int:
    if value.tzinfo is None:
        raise TimeParseError("naive datetime")
    return int(value.timestamp())


def from_epoch(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, tz=UTC)


def iso_utc(value: datetime | int | None) -> str | None:
    """ISO-8601 in UTC with an explicit `+00:00`, the format the CLI prints."""
    if value is None:
        return None
    moment = from_epoch(value) if isinstance(value, int) else value.astimezone(UTC)
    return moment.isoformat()


def parse_hhmm(text: str) -> int:
    """`HH:MM` → minutes after midnight (24:00 allowed as the end of a day)."""
    match = re.fullmatch(r"(\d{1,2}):(\d{2})", text.strip())
    if not match:
        raise TimeParseError(f"bad time of day {text!r}: expected HH:MM")
    hours, minutes = int(match.group(1)), int(match.group(2))
    if hours > 24 or minutes > 59 or (hours == 24 and minutes):
        raise TimeParseError(f"bad time of day {text!r}")
    return hours * 60 + minutes


def next_local_day(moment: datetime, tz: ZoneInfo) -> datetime:
    """Local midnight after `moment` in `tz`, as an aware UTC-comparable datetime."""
    local = moment.astimezone(tz)
    # Wall-clock arithmetic on the same tzinfo: the next calendar day's 00:00, DST-correct.
    return datetime(local.year, local.month, local.day, tzinfo=tz) + timedelta(days=1)
