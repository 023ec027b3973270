"""Table tests for local windows and quiet hours: wrap-around, whole days, odd offsets and DST."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from policy.config import LocalWindow, QuietHours
from policy.windows import in_quiet, in_window, open_spans, openings, quiet_ends, resolve_wall, transitions

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
LORD_HOWE = ZoneInfo("Australia/Lord_Howe")


def win(start: str, end: str, days: str = "mon-sun") -> LocalWindow:
    return LocalWindow.model_validate({"from": start, "to": end, "days": days})


def quiet(start: str, end: str) -> QuietHours:
    return QuietHours.model_validate({"from": start, "to": end})


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def local(tz: ZoneInfo, text: str, fold: int = 0) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=tz, fold=fold)


@pytest.mark.parametrize(
    ("when", "inside"),
    [
        ("2026-11-20 21:59", False),  # Friday, before the opening
        ("2026-11-20 22:00", True),  # Friday 22:00 opens it
        ("2026-11-21 01:59", True),  # Saturday small hours still belong to Friday's window
        ("2026-11-21 02:00", False),  # the end is exclusive
        ("2026-11-21 22:30", False),  # Saturday evening: the window opens only on Fridays
        ("2026-11-20 01:00", False),  # Friday small hours would belong to Thursday's window
    ],
)
def test_wrapped_window_belongs_to_the_day_it_opens(when: str, inside: bool) -> None:
    assert in_window(local(BERLIN, when), BERLIN, win("22:00", "02:00", "fri")) is inside


def test_equal_ends_mean_a_whole_day_for_windows_but_no_quiet_hours() -> None:
    monday_noon, tuesday_noon = local(BERLIN, "2026-11-23 12:00"), local(BERLIN, "2026-11-24 12:00")
    assert in_window(monday_noon, BERLIN, win("00:00", "00:00", "mon"))
    assert not in_window(tuesday_noon, BERLIN, win("00:00", "00:00", "mon"))
    assert in_window(local(BERLIN, "2026-11-24 07:59"), BERLIN, win("08:00", "08:00", "mon"))
    assert not in_window(local(BERLIN, "2026-11-24 08:00"), BERLIN, win("08:00", "08:00", "mon"))
    assert not in_quiet(monday_noon, BERLIN, quiet("09:00", "09:00"))
    assert quiet_ends(quiet("09:00", "09:00"), BERLIN, utc("2026-11-23 00:00"), utc("2026-11-30 00:00")) == []


def test_an_empty_range_has_no_openings() -> None:
    opening = utc("2026-11-20 09:00")  # 10:00 Berlin
    assert openings(win("10:00", "12:00"), BERLIN, opening, opening + timedelta(minutes=1)) == [opening]
    assert openings(win("10:00", "12:00"), BERLIN, opening, opening) == []
    assert list(open_spans(BERLIN, win("10:00", "12:00"), quiet("21:00", "08:00"), opening, opening)) == []


def test_end_of_day_as_24_00() -> None:
    assert in_window(local(BERLIN, "2026-11-23 23:59"), BERLIN, win("20:00", "24:00"))
    assert not in_window(local(BERLIN, "2026-11-24 00:00"), BERLIN, win("20:00", "24:00"))


def test_weekday_set_limits_the_opening_days() -> None:
    found = openings(
        win("12:00", "14:00", "mon-fri"), BERLIN, utc("2026-11-20 00:00"), utc("2026-11-24 00:00")
    )
    assert found == [utc("2026-11-20 11:00"), utc("2026-11-23 11:00")]  # Friday, then Monday


@pytest.mark.parametrize(
    ("zone", "opening_utc"),
    [
        ("Asia/Kathmandu", "2026-11-21 03:15"),  # +05:45
        ("Asia/Kolkata", "2026-11-21 03:30"),  # +05:30
        ("Australia/Adelaide", "2026-11-20 22:30"),  # +10:30 in (southern) summer
        ("Australia/Lord_Howe", "2026-11-20 22:00"),  # +11 in summer
        ("Pacific/Chatham", "2026-11-20 19:15"),  # +13:45 in summer
    ],
)
def test_odd_offsets(zone: str, opening_utc: str) -> None:
    tz = ZoneInfo(zone)
    found = openings(win("09:00", "10:00"), tz, utc("2026-11-20 12:00"), utc("2026-11-21 12:00"))
    assert found == [utc(opening_utc)]


def test_transitions_of_real_zones() -> None:
    year = (utc("2026-01-01 00:00"), utc("2027-01-01 00:00"))
    assert transitions(BERLIN, *year) == [utc("2026-03-29 01:00"), utc("2026-10-25 01:00")]
    assert transitions(LORD_HOWE, *year) == [utc("2026-04-04 15:00"), utc("2026-10-03 15:30")]
    assert transitions(ZoneInfo("Asia/Kathmandu"), *year) == []


def test_resolve_wall_in_gap_fold_and_plain_time() -> None:
    assert resolve_wall(local(BERLIN, "2026-03-29 02:30"), BERLIN) == ()
    assert resolve_wall(local(BERLIN, "2026-10-25 02:30"), BERLIN) == (
        utc("2026-10-25 00:30"),
        utc("2026-10-25 01:30"),
    )
    assert resolve_wall(local(BERLIN, "2026-10-26 02:30"), BERLIN) == (utc("2026-10-26 01:30"),)


def test_spring_gap_opens_a_window_at_the_transition() -> None:
    days = (utc("2026-03-28 00:00"), utc("2026-03-31 00:00"))
    # 02:30 does not exist on 29 March; local time jumps 02:00 → 03:00 straight into the window.
    assert openings(win("02:30", "04:00"), BERLIN, *days) == [
        utc("2026-03-28 01:30"),
        utc("2026-03-29 01:00"),
        utc("2026-03-30 00:30"),
    ]
    # A window lying wholly inside the skipped hour never opens that day.
    assert openings(win("02:00", "02:30"), BERLIN, *days) == [
        utc("2026-03-28 01:00"),
        utc("2026-03-30 00:00"),
    ]


def test_autumn_fold_opens_at_the_earliest_instant_and_stays_open() -> None:
    day = (utc("2026-10-24 22:00"), utc("2026-10-25 22:00"))
    # 02:00–03:00 happens twice; the window opens at the first 02:00 and closes at the second 03:00.
    assert openings(win("02:00", "03:00"), BERLIN, *day) == [utc("2026-10-25 00:00")]
    spans = list(open_spans(BERLIN, win("02:00", "03:00"), quiet("00:00", "00:00"), *day))
    assert spans == [(utc("2026-10-25 00:00"), utc("2026-10-25 02:00"))]
    # A short window inside the fold is entered twice: local time leaves it and comes back.
    assert openings(win("02:30", "02:45"), BERLIN, *day) == [utc("2026-10-25 00:30"), utc("2026-10-25 01:30")]


def test_quiet_hours_end_at_a_spring_forward_jump() -> None:
    # New York, 8 March 2026: 02:00 EST → 03:00 EDT at 07:00 UTC; quiet hours until 02:30 end then.
    ends = quiet_ends(quiet("21:00", "02:30"), NEW_YORK, utc("2026-03-07 12:00"), utc("2026-03-09 12:00"))
    assert ends == [utc("2026-03-08 07:00"), utc("2026-03-09 06:30")]  # 02:30 EST on the 7th is 07:30 UTC
    assert openings(quiet("21:00", "02:30"), NEW_YORK, utc("2026-03-08 00:00"), utc("2026-03-08 12:00")) == [
        utc("2026-03-08 07:00")
    ]


def test_lord_howe_half_hour_dst() -> None:
    # 4 Oct 2026: 02:00 → 02:30 local at 15:30 UTC (3 Oct). A window 02:15–03:00 opens at the jump.
    days = (utc("2026-10-02 12:00"), utc("2026-10-04 12:00"))
    assert openings(win("02:15", "03:00"), LORD_HOWE, *days) == [
        utc("2026-10-02 15:45"),
        utc("2026-10-03 15:30"),
    ]
    # 5 Apr 2026: 02:00 → 01:30 local at 15:00 UTC (4 Apr), so 01:30–02:00 happens twice. A window
    # 01:45–02:15 is entered at 01:45 (+11), left at the jump back to 01:30, entered again at 01:45 (+10:30).
    fold_day = (utc("2026-04-04 12:00"), utc("2026-04-05 00:00"))
    assert openings(win("01:45", "02:15"), LORD_HOWE, *fold_day) == [
        utc("2026-04-04 14:45"),
        utc("2026-04-04 15:15"),
    ]
    assert list(open_spans(LORD_HOWE, win("01:45", "02:15"), quiet("00:00", "00:00"), *fold_day)) == [
        (utc("2026-04-04 14:45"), utc("2026-04-04 15:00")),
        (utc("2026-04-04 15:15"), utc("2026-04-04 15:45")),
    ]
    assert in_window(utc("2026-04-04 15:10"), LORD_HOWE, win("01:30", "01:45"))  # the repeated 01:40
    assert not in_window(utc("2026-04-04 15:10") - timedelta(minutes=50), LORD_HOWE, win("01:30", "01:45"))


def test_open_spans_cut_quiet_hours_out_of_the_window() -> None:
    # The worked example: champions 08:00–10:00 with quiet hours 21:00–09:00 leave 09:00–10:00.
    moscow = ZoneInfo("Europe/Moscow")
    spans = list(open_spans(moscow, win("08:00", "10:00"), quiet("21:00", "09:00"), *_two_days()))
    assert spans == [
        (utc("2026-11-21 06:00"), utc("2026-11-21 07:00")),
        (utc("2026-11-22 06:00"), utc("2026-11-22 07:00")),
    ]


def _two_days() -> tuple[datetime, datetime]:
    return utc("2026-11-20 12:00"), utc("2026-11-22 12:00")
