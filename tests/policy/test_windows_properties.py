"""Hypothesis properties of windows and quiet hours around real DST transitions and odd offsets.

Every boundary here lies on a 5-minute grid (window ends, zone offsets, the transitions of these zones),
so scanning the grid finds exactly the instants where membership changes; membership itself is checked
against a reference written independently from `policy.windows` (plain wall-clock comparison).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from policy.config import DAY_NAMES, LocalWindow, QuietHours
from policy.windows import in_quiet, in_window, open_spans, openings, quiet_ends

STEP = timedelta(minutes=5)

# (zone, an instant near one of its real offset changes — or any date for zones without DST)
AROUND = [
    ("Europe/Berlin", "2026-03-29T01:00"),
    ("Europe/Berlin", "2026-10-25T01:00"),
    ("America/New_York", "2026-03-08T07:00"),
    ("America/New_York", "2026-11-01T06:00"),
    ("Australia/Lord_Howe", "2026-04-04T15:00"),
    ("Australia/Lord_Howe", "2026-10-03T15:30"),
    ("Australia/Adelaide", "2026-04-04T16:30"),
    ("Australia/Adelaide", "2026-10-03T16:30"),
    ("Pacific/Chatham", "2026-09-26T14:00"),
    ("Asia/Kathmandu", "2026-11-20T12:00"),
    ("Asia/Kolkata", "2026-11-20T12:00"),
    ("Europe/Moscow", "2026-11-20T12:00"),
]


def hhmm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


@st.composite
def places(draw: st.DrawFn) -> tuple[ZoneInfo, datetime]:
    """A zone and a grid instant up to two days before (mostly) one of its transitions."""
    zone, near = draw(st.sampled_from(AROUND))
    shift = draw(st.integers(-2 * 288, 24)) * STEP
    return ZoneInfo(zone), datetime.fromisoformat(near).replace(tzinfo=UTC) + shift


# Times of day in minutes: anywhere, or (often) in the small hours where DST jumps happen.
ANY_TIME = st.integers(0, 287).map(lambda i: i * 5)
SMALL_HOURS = st.integers(0, 48).map(lambda i: i * 5)
TIMES = st.one_of(ANY_TIME, SMALL_HOURS)


@st.composite
def windows(draw: st.DrawFn) -> LocalWindow:
    start = draw(TIMES)
    end = draw(st.one_of(TIMES, st.just(1440)))
    days = draw(st.sets(st.sampled_from(DAY_NAMES), min_size=1))
    return LocalWindow.model_validate({"from": hhmm(start), "to": hhmm(end), "days": ",".join(sorted(days))})


@st.composite
def quiets(draw: st.DrawFn) -> QuietHours:
    start, end = draw(TIMES), draw(TIMES)
    return QuietHours.model_validate({"from": hhmm(start), "to": hhmm(end)})


def _minutes(text: str) -> int:
    hours, minutes = text.split(":")
    return int(hours) * 60 + int(minutes)


def ref_inside(moment: datetime, tz: ZoneInfo, start: str, end: str, days: set[int] | None) -> bool:
    """Reference: is the local wall clock within [D start, D end) for an opening day D in `days`?"""
    wall = moment.astimezone(tz).replace(tzinfo=None)
    first, last = _minutes(start), _minutes(end)
    length = last - first if last > first else last - first + 1440
    for back in (0, 1, 2):
        day: date = wall.date() - timedelta(days=back)
        if days is not None and day.weekday() not in days:
            continue
        opened = datetime.combine(day, time()) + timedelta(minutes=first)
        if opened <= wall < opened + timedelta(minutes=length):
            return True
    return False


def ref_window(moment: datetime, tz: ZoneInfo, window: LocalWindow) -> bool:
    days = {DAY_NAMES.index(d) for d in window.days.split(",")}
    return ref_inside(moment, tz, window.from_, window.to, days)


def ref_quiet(moment: datetime, tz: ZoneInfo, quiet: QuietHours) -> bool:
    return quiet.from_ != quiet.to and ref_inside(moment, tz, quiet.from_, quiet.to, None)


def grid(since: datetime, until: datetime) -> list[datetime]:
    return [since + i * STEP for i in range(int((until - since) / STEP))]


@settings(max_examples=300, deadline=None)
@given(place=places(), window=windows(), quiet=quiets())
def test_membership_matches_the_wall_clock(
    place: tuple[ZoneInfo, datetime], window: LocalWindow, quiet: QuietHours
) -> None:
    tz, moment = place
    for t in (moment, moment + timedelta(seconds=59), moment - timedelta(microseconds=1)):
        assert in_window(t, tz, window) is ref_window(t, tz, window)
        assert in_quiet(t, tz, quiet) is ref_quiet(t, tz, quiet)


@settings(max_examples=120, deadline=None)
@given(place=places(), window=windows())
def test_openings_are_exactly_the_entries_into_the_window(
    place: tuple[ZoneInfo, datetime], window: LocalWindow
) -> None:
    tz, since = place
    until = since + timedelta(days=2)
    expected = [
        g for g in grid(since, until) if ref_window(g, tz, window) and not ref_window(g - STEP, tz, window)
    ]
    assert openings(window, tz, since, until) == expected


@settings(max_examples=120, deadline=None)
@given(place=places(), quiet=quiets())
def test_quiet_ends_are_exactly_the_exits_from_quiet_hours(
    place: tuple[ZoneInfo, datetime], quiet: QuietHours
) -> None:
    tz, since = place
    until = since + timedelta(days=2)
    expected = [
        g for g in grid(since, until) if ref_quiet(g - STEP, tz, quiet) and not ref_quiet(g, tz, quiet)
    ]
    assert quiet_ends(quiet, tz, since, until) == expected


@settings(max_examples=120, deadline=None)
@given(place=places(), window=windows(), quiet=quiets())
def test_open_spans_are_the_window_minus_quiet_hours(
    place: tuple[ZoneInfo, datetime], window: LocalWindow, quiet: QuietHours
) -> None:
    tz, since = place
    until = since + timedelta(days=2)
    spans = list(open_spans(tz, window, quiet, since, until))
    for (_, end), (start, _) in pairwise(spans):
        assert end < start  # sorted, disjoint and merged
    for g in grid(since, until):
        inside = any(start <= g < end for start, end in spans)
        assert inside is (ref_window(g, tz, window) and not ref_quiet(g, tz, quiet)), g
