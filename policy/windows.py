"""Local send windows and quiet hours as sets of UTC instants, DST-correct (SPEC §4).

Membership is decided by an instant's *local wall time* in the contact's zone, so it is exact across
DST gaps and folds: a wall time skipped by a spring-forward jump simply never happens that day, and a
wall time repeated by a fall-back fold happens twice. Everything that turns windows into instants
(openings, quiet-hour ends, the open spans the due-time search walks) is derived from that one
membership rule, evaluated at "breakpoints" — the instants where the answer can change: the boundary
wall times of each local day and the zone's offset transitions. Between two breakpoints local time runs
continuously and crosses no boundary, so membership is constant there.

Conventions (the shipped policy file should say the same next to `[quiet_hours]` and `[windows]`):
- ends are exclusive; `from > to` wraps midnight: 22:00–02:00 on "fri" covers Fri 22:00 → Sat 02:00,
  i.e. `days` names the local day on which the window OPENS;
- `from == to` is a full 24 hours starting at `from` on each listed day (00:00–00:00 = the whole day);
  for quiet hours `from == to` means *no* quiet hours (a whole-day quiet period would forbid every
  mass and scenario message, which nobody means);
- `to = "24:00"` is the end of the day.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from typing import NamedTuple
from zoneinfo import ZoneInfo

from policy.config import LocalWindow, QuietHours, parse_days
from policy.timeutil import parse_hhmm

DAY_S = 86_400
_EPSILON = timedelta(microseconds=1)
_ONE_DAY = timedelta(days=1)


class _Span(NamedTuple):
    """A daily local span [from_s, end_s) in seconds after the opening day's midnight (end_s ≤ 2 days)."""

    from_s: int
    end_s: int
    days: frozenset[int] | None  # weekdays (Mon=0) on which it opens; None = every day


@lru_cache(maxsize=1024)
def _span(from_: str, to: str, days: str | None) -> _Span:
    start, end = parse_hhmm(from_) * 60, parse_hhmm(to) * 60
    if end <= start:
        end += DAY_S  # wraps midnight; equal ends mean a full 24 hours
    weekdays = parse_days(days) if days is not None else None
    return _Span(start, end, None if weekdays == frozenset(range(7)) else weekdays)


def window_span(window: LocalWindow) -> _Span:
    return _span(window.from_, window.to, window.days)


def quiet_span(quiet: QuietHours) -> _Span | None:
    """The quiet hours' span, or None when `from == to` (no quiet hours)."""
    return _quiet_span(quiet.from_, quiet.to)


@lru_cache(maxsize=256)
def _quiet_span(from_: str, to: str) -> _Span | None:
    return None if parse_hhmm(from_) == parse_hhmm(to) else _span(from_, to, None)


def _contains(span: _Span, local: datetime) -> bool:
    """Whether a local wall time lies in the span opened today (k=0) or yesterday (k=1)."""
    tod = local.hour * 3600 + local.minute * 60 + local.second
    if span.from_s <= tod < span.end_s and (span.days is None or local.weekday() in span.days):
        return True
    tod += DAY_S
    return span.from_s <= tod < span.end_s and (span.days is None or (local.weekday() - 1) % 7 in span.days)


def in_window(t: datetime, tz: ZoneInfo, window: LocalWindow) -> bool:
    """Whether instant `t` is inside the send window in zone `tz`."""
    return _contains(window_span(window), t.astimezone(tz))


def in_quiet(t: datetime, tz: ZoneInfo, quiet: QuietHours) -> bool:
    """Whether instant `t` falls in quiet hours in zone `tz`."""
    span = quiet_span(quiet)
    return span is not None and _contains(span, t.astimezone(tz))


def resolve_wall(wall: datetime, tz: ZoneInfo) -> tuple[datetime, ...]:
    """The UTC instants whose local time in `tz` is the wall time `wall` (its tzinfo is ignored).

    None for a wall time in a DST gap, two (earliest first) for one in a fold, else one.
    """
    local = wall.replace(tzinfo=tz)
    found: list[datetime] = []
    for fold in (0, 1):
        moment = local.replace(fold=fold).astimezone(UTC)
        back = moment.astimezone(tz)
        if back.date() == local.date() and back.time() == local.time() and moment not in found:
            found.append(moment)
    return tuple(sorted(found))


@lru_cache(maxsize=16_384)
def _transitions_on(tz: ZoneInfo, day: date) -> tuple[datetime, ...]:
    """Instants in the UTC day `day` where the UTC offset of `tz` changes (hourly probe, then bisect)."""
    base = datetime.combine(day, time(), tzinfo=UTC)
    found: list[datetime] = []
    prev = base - timedelta(hours=1)  # so a change exactly at midnight UTC is seen
    prev_off = prev.astimezone(tz).utcoffset()
    for hour in range(25):
        probe = base + timedelta(hours=hour)
        off = probe.astimezone(tz).utcoffset()
        if off != prev_off:
            lo, hi = 0, 3600
            while hi - lo > 1:
                mid = (lo + hi) // 2
                if (prev + timedelta(seconds=mid)).astimezone(tz).utcoffset() == prev_off:
                    lo = mid
                else:
                    hi = mid
            moment = prev + timedelta(seconds=hi)
            if base <= moment < base + _ONE_DAY:
                found.append(moment)
        prev, prev_off = probe, off
    return tuple(found)


def _utc_days(since: datetime, until: datetime) -> Iterator[date]:
    day, last = since.astimezone(UTC).date(), (until - _EPSILON).astimezone(UTC).date()
    while day <= last:
        yield day
        day += _ONE_DAY


def transitions(tz: ZoneInfo, since: datetime, until: datetime) -> list[datetime]:
    """Every offset change of `tz` in [since, until), as UTC instants."""
    return [t for d in _utc_days(since, until) for t in _transitions_on(tz, d) if since <= t < until]


def _breakpoints(tz: ZoneInfo, spans: tuple[_Span, ...], since: datetime, until: datetime) -> list[datetime]:
    """`since`, the transitions and every instant of a span boundary wall time in [since, until), sorted."""
    if since >= until:
        return []
    points = {since.astimezone(UTC), *transitions(tz, since, until)}
    first = since.astimezone(tz).date() - timedelta(days=2)  # a span may end up to two days after it opens
    last = until.astimezone(tz).date()
    day = first
    while day <= last:
        midnight = datetime.combine(day, time())
        for span in spans:
            for offset_s in (span.from_s, span.end_s):
                for moment in resolve_wall(midnight + timedelta(seconds=offset_s), tz):
                    if since <= moment < until:
                        points.add(moment)
        day += _ONE_DAY
    return sorted(points)


def _changes(
    tz: ZoneInfo, span: _Span, since: datetime, until: datetime, *, entering: bool
) -> list[datetime]:
    """Instants in [since, until) where local time enters (or leaves) the span."""
    found = []
    for point in _breakpoints(tz, (span,), since, until):
        now_in = _contains(span, point.astimezone(tz))
        before_in = _contains(span, (point - _EPSILON).astimezone(tz))
        if (now_in and not before_in) if entering else (before_in and not now_in):
            found.append(point)
    return found


def openings(
    what: LocalWindow | QuietHours, tz: ZoneInfo, since: datetime, until: datetime
) -> list[datetime]:
    """UTC instants in [since, until) where a window opens — or, given quiet hours, where they end.

    A DST jump over the opening wall time opens the window at the transition instant (if local time
    lands inside it); an opening wall time in a fold counts at its earliest instant, and again at the
    repeat only if local time had left the window in between.
    """
    if isinstance(what, QuietHours):
        return quiet_ends(what, tz, since, until)
    return _changes(tz, window_span(what), since, until, entering=True)


def quiet_ends(quiet: QuietHours, tz: ZoneInfo, since: datetime, until: datetime) -> list[datetime]:
    """UTC instants in [since, until) where local time leaves quiet hours."""
    span = quiet_span(quiet)
    return [] if span is None else _changes(tz, span, since, until, entering=False)


@lru_cache(maxsize=65_536)
def _day_open(
    tz: ZoneInfo, window: _Span, quiet: _Span | None, day: date
) -> tuple[tuple[datetime, datetime], ...]:
    """Merged spans of (window and not quiet) inside one UTC day."""
    since = datetime.combine(day, time(), tzinfo=UTC)
    until = since + _ONE_DAY
    spans = (window,) if quiet is None else (window, quiet)
    points = _breakpoints(tz, spans, since, until)
    found: list[tuple[datetime, datetime]] = []
    for i, point in enumerate(points):
        local = point.astimezone(tz)
        if _contains(window, local) and not (quiet is not None and _contains(quiet, local)):
            end = points[i + 1] if i + 1 < len(points) else until
            if found and found[-1][1] == point:
                found[-1] = (found[-1][0], end)
            else:
                found.append((point, end))
    return tuple(found)


def open_spans(
    tz: ZoneInfo, window: LocalWindow, quiet: QuietHours, since: datetime, until: datetime
) -> Iterator[tuple[datetime, datetime]]:
    """Half-open UTC spans inside the window and outside quiet hours, clipped to [since, until), in order."""
    wspan, qspan = window_span(window), quiet_span(quiet)
    pending: tuple[datetime, datetime] | None = None
    for day in _utc_days(since, until):
        for start, end in _day_open(tz, wspan, qspan, day):
            start, end = max(start, since), min(end, until)
            if start >= end:
                continue
            if pending is not None and pending[1] == start:
                pending = (pending[0], end)  # a span crossing UTC midnight is one span
                continue
            if pending is not None:
                yield pending
            pending = (start, end)
    if pending is not None:
        yield pending


@lru_cache(maxsize=65_536)
def _first_open(
    tz: ZoneInfo, wfrom: str, wto: str, wdays: str, qfrom: str, qto: str, since: datetime, until: datetime
) -> datetime | None:
    window = LocalWindow.model_validate({"from": wfrom, "to": wto, "days": wdays})
    quiet = QuietHours.model_validate({"from": qfrom, "to": qto})
    return next((start for start, _ in open_spans(tz, window, quiet, since, until)), None)


def first_open(
    tz: ZoneInfo, window: LocalWindow, quiet: QuietHours, since: datetime, until: datetime
) -> datetime | None:
    """The earliest instant in [since, until) inside the window and outside quiet hours (memoised)."""
    return _first_open(tz, window.from_, window.to, window.days, quiet.from_, quiet.to, since, until)
