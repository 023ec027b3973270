"""Series schedules as plain data: simple forms, local time across DST, bounds, skips, ids."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from policy.series import WEEKDAYS, SeriesError, build_series, occurrence_day, to_rrule

START = datetime(2026, 10, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "rule"),
    [
        ("every tuesday 11:00", "FREQ=WEEKLY;BYDAY=TU;BYHOUR=11;BYMINUTE=0"),
        ("Every Monday and Thursday at 9:30", "FREQ=WEEKLY;BYDAY=MO,TH;BYHOUR=9;BYMINUTE=30"),
        ("every day at 10:00", "FREQ=DAILY;BYHOUR=10;BYMINUTE=0"),
        ("monthly on day 1 at 10:00", "FREQ=MONTHLY;BYMONTHDAY=1;BYHOUR=10;BYMINUTE=0"),
        ("RRULE:FREQ=WEEKLY;BYDAY=FR", "FREQ=WEEKLY;BYDAY=FR"),
    ],
)
def test_simple_forms_become_rrules(text: str, rule: str) -> None:
    assert to_rrule(text) == rule


def test_occurrences_keep_local_time_across_dst() -> None:
    series = build_series({"schedule": "every tuesday 11:00"}, START, "Europe/Berlin")
    first = list(series.occurrences())[:6]
    assert [o.start.astimezone(UTC).hour for o in first] == [9, 9, 9, 10, 10, 10]  # CEST, then CET
    assert [o.number for o in first] == [1, 2, 3, 4, 5, 6]


def test_until_is_inclusive_and_skips_count_towards_count_but_get_no_number() -> None:
    until = build_series({"schedule": "every day 10:00", "until": "2026-10-03"}, START, "UTC")
    assert [o.date.day for o in until.occurrences()] == [1, 2, 3]
    counted = build_series({"schedule": "every day 10:00", "count": 4, "skip": ["2026-10-02"]}, START, "UTC")
    assert [(o.number, o.date.day) for o in counted.occurrences()] == [(1, 1), (2, 3), (3, 4)]
    assert counted.on(date(2026, 10, 2)) is None and counted.on(date(2026, 10, 4)).number == 3  # type: ignore[union-attr]


def test_due_and_upcoming_follow_the_clock() -> None:
    series = build_series({"schedule": "every day 10:00", "run_window": "3h"}, START, "UTC")
    now = datetime(2026, 10, 5, 9, 30, tzinfo=UTC)
    assert [o.date.day for o in series.due(now, timedelta(hours=1))] == [5]
    assert series.due(now - timedelta(hours=1), timedelta(hours=1)) == []
    late = datetime(2026, 10, 5, 12, 59, tzinfo=UTC)
    assert [o.date.day for o in series.upcoming(late, 2)] == [5, 6]


@pytest.mark.parametrize(
    ("keys", "key"),
    [
        ({"schedule": "FREQ=MONTHLY;BYMONTHDAY=31;BYMONTH=2"}, "schedule"),
        ({"schedule": "every day 10:00", "until": "2026-09-01"}, "until"),
        ({"schedule": "every day 10:00", "count": 0}, "count"),
        ({"schedule": "every day 10:00", "count": True}, "count"),
        ({"schedule": "FREQ=DAILY;BYHOUR=9,18"}, "schedule"),
        ({"schedule": "every day 10:00", "skip": ["tomorrow"]}, "skip.0"),
        ({"schedule": "every day 10:00", "count": 1, "skip": ["2026-10-01"]}, "skip"),
        ({"schedule": ""}, "schedule"),
    ],
)
def test_bad_series_keys_name_the_key(keys: dict[str, object], key: str) -> None:
    with pytest.raises(SeriesError) as caught:
        build_series(keys, START, "UTC")
    assert caught.value.key == key


def test_occurrence_ids() -> None:
    assert occurrence_day("digest@2026-12-08") == ("digest", date(2026, 12, 8))
    assert occurrence_day("digest") is None and occurrence_day("digest@soon") is None


@given(
    zone_name=st.sampled_from(["Europe/Moscow", "Europe/Berlin", "America/New_York", "Australia/Sydney"]),
    hour=st.integers(0, 23),
    minute=st.sampled_from([0, 15, 30, 45]),
    days=st.lists(st.sampled_from(list(WEEKDAYS)), min_size=1, max_size=7),
    offset_days=st.integers(0, 365),
)
def test_occurrences_run_once_a_local_day_at_the_local_time(
    zone_name: str, hour: int, minute: int, days: list[str], offset_days: int
) -> None:
    anchor = START + timedelta(days=offset_days)
    text = f"every {' and '.join(days)} at {hour}:{minute:02d}"
    series = build_series({"schedule": text, "count": 30}, anchor, zone_name)
    found = list(series.occurrences())
    assert len(found) == 30 and found[0].start >= anchor - timedelta(minutes=1)
    assert len({o.date for o in found}) == len(found)  # one a local day: ids are unique
    assert [o.start for o in found] == sorted(o.start for o in found)
    tz = ZoneInfo(zone_name)
    for occurrence in found:
        local = occurrence.start.astimezone(tz)
        assert local.date() == occurrence.date
        assert local.strftime("%A").lower() in days
        if local.utcoffset() == (local - timedelta(hours=3)).utcoffset():  # not next to a DST jump
            assert (local.hour, local.minute) == (hour, minute)
