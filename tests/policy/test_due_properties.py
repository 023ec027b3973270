"""Hypothesis properties of the due-time search, checked against a brute-force grid scan.

All inputs sit on a 5-minute grid (window ends, zone offsets and transitions, silence ends, counted
messages and cap lengths), so every candidate instant of the SPEC lies on the grid and scanning it
finds the true earliest admissible instant and the true exclusion reason.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from policy.caps import Channel, Counted, Priority, violates
from policy.config import DAY_NAMES, Cap, LocalWindow, QuietHours, parse_days
from policy.due import Due, Excluded, due_time
from policy.silence import SilenceWindow

STEP = timedelta(minutes=5)
AROUND = [
    ("Europe/Berlin", "2026-03-29T01:00"),
    ("Europe/Berlin", "2026-10-25T01:00"),
    ("America/New_York", "2026-03-08T07:00"),
    ("America/New_York", "2026-11-01T06:00"),
    ("Australia/Lord_Howe", "2026-04-04T15:00"),
    ("Australia/Lord_Howe", "2026-10-03T15:30"),
    ("Australia/Adelaide", "2026-10-03T16:30"),
    ("Asia/Kathmandu", "2026-11-20T12:00"),
    ("Asia/Kolkata", "2026-11-20T12:00"),
]
CHANNELS: tuple[Channel, ...] = ("email", "telegram")
PRIORITIES: tuple[Priority, ...] = ("mass", "scenario")
TIMES = st.one_of(st.integers(0, 287).map(lambda i: i * 5), st.integers(0, 48).map(lambda i: i * 5))
USUAL_WINDOWS = [
    ("08:00", "10:00"),
    ("10:00", "20:00"),
    ("12:00", "14:00"),
    ("22:00", "02:00"),
    ("02:30", "04:00"),
]
USUAL_QUIET = [("21:00", "08:00"), ("21:00", "09:00"), ("22:00", "02:30"), ("00:00", "00:00")]
PERS = st.sampled_from([timedelta(minutes=30), timedelta(hours=2), timedelta(hours=9), timedelta(days=1)])


def hhmm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def hhmm_pair(pair: tuple[int, int]) -> tuple[str, str]:
    return hhmm(pair[0]), hhmm(pair[1])


def grid_at(draw: st.DrawFn, base: datetime, low: int, high: int) -> datetime:
    return base + draw(st.integers(low, high)) * STEP


@st.composite
def scenes(draw: st.DrawFn, *, busy: bool = True) -> dict[str, object]:
    """Keyword arguments for `due_time`: a zone near a transition, window, quiet hours, silences, caps."""
    zone, near = draw(st.sampled_from(AROUND))
    base = datetime.fromisoformat(near).replace(tzinfo=UTC)
    start = grid_at(draw, base, -2 * 288, 24)
    some_days = st.sets(st.sampled_from(DAY_NAMES), min_size=1).map(lambda d: ",".join(sorted(d)))
    wdays = draw(st.one_of(st.sampled_from(["mon-sun", "mon-fri", "sat-sun"]), some_days))
    window_ends = draw(st.one_of(st.sampled_from(USUAL_WINDOWS), st.tuples(TIMES, TIMES).map(hhmm_pair)))
    window = LocalWindow.model_validate({"from": window_ends[0], "to": window_ends[1], "days": wdays})
    quiet_ends = draw(st.one_of(st.sampled_from(USUAL_QUIET), st.tuples(TIMES, TIMES).map(hhmm_pair)))
    quiet = QuietHours.model_validate({"from": quiet_ends[0], "to": quiet_ends[1]})
    silences: list[SilenceWindow] = []
    caps: list[Cap] = []
    counted: list[Counted] = []
    if busy:
        for _ in range(draw(st.integers(0, 4))):
            starts = grid_at(draw, start, -72, 288)
            ends = starts + draw(st.integers(1, 288)) * STEP
            silences.append(SilenceWindow(starts, ends, draw(st.sampled_from(["mass", "all"])), "manual"))
        for _ in range(draw(st.integers(0, 3))):
            caps.append(
                Cap(
                    max=draw(st.integers(0, 3)),
                    per=draw(PERS),
                    channel=draw(st.sampled_from(["any", *CHANNELS])),
                    scope=draw(st.sampled_from(["mass", "scenario", "nonservice"])),
                )
            )
        for _ in range(draw(st.integers(0, 6))):
            at = grid_at(draw, start, -288, 2 * 288)
            counted.append(
                Counted(at, draw(st.sampled_from(CHANNELS)), draw(st.sampled_from(["mass", "scenario"])))
            )
    return {
        "priority": draw(st.sampled_from(PRIORITIES)),
        "channel": draw(st.sampled_from(CHANNELS)),
        "tz": ZoneInfo(zone),
        "window": window,
        "quiet": quiet,
        "silences": silences,
        "caps": caps,
        "counted": counted,
        "start": start,
        "deadline": start
        + draw(st.one_of(st.sampled_from([288, 2 * 288, 3 * 288]), st.integers(1, 3 * 288))) * STEP,
        "at": start - draw(st.integers(0, 12)) * STEP,
    }


def ref_inside(moment: datetime, tz: ZoneInfo, start: str, end: str, days: set[int] | None) -> bool:
    """Reference wall-clock membership, written independently of `policy.windows`."""
    wall = moment.astimezone(tz).replace(tzinfo=None)
    first = int(start[:2]) * 60 + int(start[3:])
    last = int(end[:2]) * 60 + int(end[3:])
    length = last - first if last > first else last - first + 1440
    for back in (0, 1, 2):
        day: date = wall.date() - timedelta(days=back)
        if days is not None and day.weekday() not in days:
            continue
        opened = datetime.combine(day, time()) + timedelta(minutes=first)
        if opened <= wall < opened + timedelta(minutes=length):
            return True
    return False


def ref_open(t: datetime, scene: dict[str, object]) -> bool:
    tz, window, quiet = scene["tz"], scene["window"], scene["quiet"]
    assert isinstance(tz, ZoneInfo) and isinstance(window, LocalWindow) and isinstance(quiet, QuietHours)
    days = set(parse_days(window.days))
    in_quiet = quiet.from_ != quiet.to and ref_inside(t, tz, quiet.from_, quiet.to, None)
    return ref_inside(t, tz, window.from_, window.to, days) and not in_quiet


def ref_silenced(t: datetime, scene: dict[str, object]) -> bool:
    silences = scene["silences"]
    assert isinstance(silences, list)
    kinds = {"mass", "all"} if scene["priority"] == "mass" else {"all"}
    return any(w.starts <= t < w.ends and w.blocks in kinds for w in silences)


def ref_capped(t: datetime, scene: dict[str, object]) -> bool:
    caps, counted = scene["caps"], scene["counted"]
    assert isinstance(caps, list) and isinstance(counted, list)
    priority, channel = scene["priority"], scene["channel"]
    return any(
        cap.scope in ("nonservice", priority)
        and cap.channel in ("any", channel)
        and violates(cap, t, counted)
        for cap in caps
    )


def brute(scene: dict[str, object]) -> Due | Excluded:
    start, at, deadline = scene["start"], scene["at"], scene["deadline"]
    assert isinstance(start, datetime) and isinstance(at, datetime) and isinstance(deadline, datetime)
    t, seen_open, seen_unsilenced = max(start, at), False, False
    while t < deadline:
        if ref_open(t, scene):
            seen_open = True
            if not ref_silenced(t, scene):
                seen_unsilenced = True
                if not ref_capped(t, scene):
                    return Due(t)
        t += STEP
    return Excluded("no_window" if not seen_open else "cap" if seen_unsilenced else "silence")


@settings(max_examples=250, deadline=None)
@given(scene=scenes(busy=False))
def test_due_times_are_the_first_open_instant_across_dst(scene: dict[str, object]) -> None:
    result = due_time(**scene)  # type: ignore[arg-type]
    assert result == brute(scene)
    if isinstance(result, Due):
        assert ref_open(result.at, scene)  # inside the window and outside quiet hours, in local time
        assert result.at.tzinfo is UTC


@settings(max_examples=300, deadline=None)
@given(scene=scenes())
def test_due_time_is_the_earliest_admissible_instant_or_the_right_reason(scene: dict[str, object]) -> None:
    result = due_time(**scene)  # type: ignore[arg-type]
    assert result == brute(scene)
    if isinstance(result, Due):
        assert not ref_silenced(result.at, scene)  # never inside a silence that blocks the priority
        assert not ref_capped(result.at, scene)


@settings(max_examples=150, deadline=None)
@given(scene=scenes(), starts=st.lists(st.integers(0, 2 * 288), min_size=2, max_size=8), data=st.data())
def test_planning_one_after_another_never_breaks_a_cap(
    scene: dict[str, object], starts: list[int], data: st.DataObject
) -> None:
    first, caps = scene["start"], scene["caps"]
    assert isinstance(first, datetime) and isinstance(caps, list)
    planned: list[Counted] = []
    for offset in starts:
        priority = data.draw(st.sampled_from(PRIORITIES))
        channel = data.draw(st.sampled_from(CHANNELS))
        step = {**scene, "priority": priority, "channel": channel, "counted": list(planned)}
        step.update(start=first + offset * STEP, at=first, deadline=first + (offset + 288) * STEP)
        result = due_time(**step)  # type: ignore[arg-type]
        if isinstance(result, Due):
            assert not ref_silenced(result.at, step)
            planned.append(Counted(result.at, channel, priority))
    for cap in caps:
        mine = [
            m.at
            for m in planned
            if cap.scope in ("nonservice", m.priority) and cap.channel in ("any", m.channel)
        ]
        # The fullest half-open interval [y, y + per) starts at one of the messages it holds.
        for y in mine:
            assert sum(1 for m in mine if y <= m < y + cap.per) <= cap.max, (cap, y, sorted(mine))
