"""The pure rules of triggers: what `until` means since a run started, reentry, yearly dates."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from policy.dsl import parse, to_text
from policy.timeutil import zone
from policy.triggers import (
    RUN_STRIDE,
    TriggerError,
    anniversary,
    local_day,
    may_start,
    outbox_step,
    parse_reentry,
    run_and_index,
    since_start,
    step_offsets,
)

T0 = datetime(2026, 11, 24, 9, tzinfo=UTC)


def test_until_reads_unbounded_predicates_since_the_start_and_keeps_explicit_ones() -> None:
    expr = parse("order:paid OR (tag:vip AND NOT event:click within 2h) OR paid_total > 10")
    bounded = to_text(since_start(expr, timedelta(minutes=90, seconds=1)))
    assert bounded == to_text(
        parse(
            "order:paid within 91m OR (tag:vip within 91m AND NOT event:click within 2h) OR paid_total > 10"
        )
    )
    assert "within 1m" in to_text(since_start(parse("event:open"), timedelta(0)))


@pytest.mark.parametrize(
    ("text", "delay"),
    [("never", None), ("after 30d", timedelta(days=30)), ("after 12h", timedelta(hours=12))],
)
def test_reentry_forms(text: str, delay: timedelta | None) -> None:
    assert parse_reentry(text) == delay


@pytest.mark.parametrize(
    "text", ["", "always", "after", "after 0d", "after 30", "after ٣d", "after 3d again"]
)
def test_bad_reentry_is_refused(text: str) -> None:
    with pytest.raises(TriggerError):
        parse_reentry(text)


def test_may_start_once_or_after_the_delay() -> None:
    assert may_start(None, None, T0)
    assert not may_start(T0, None, T0 + timedelta(days=3650))
    assert not may_start(T0, timedelta(days=30), T0 + timedelta(days=30) - timedelta(seconds=1))
    assert may_start(T0, timedelta(days=30), T0 + timedelta(days=30))


@given(st.integers(1, 10**9), st.integers(0, RUN_STRIDE - 1))
def test_outbox_steps_of_runs_never_collide(run: int, index: int) -> None:
    assert run_and_index(outbox_step(run, index)) == (run, index)


def test_step_offsets_add_up() -> None:
    assert step_offsets([timedelta(hours=1), timedelta(hours=24), timedelta(0)]) == [
        timedelta(hours=1),
        timedelta(hours=25),
        timedelta(hours=25),
    ]


@pytest.mark.parametrize(
    ("origin", "today", "fires"),
    [
        (date(2025, 11, 25), date(2026, 11, 25), True),
        (date(2025, 11, 25), date(2025, 11, 25), False),  # the day itself is no anniversary
        (date(2025, 11, 25), date(2026, 11, 24), False),
        (date(2024, 2, 29), date(2025, 2, 28), True),  # leap day in a common year
        (date(2024, 2, 29), date(2028, 2, 29), True),
        (date(2024, 2, 29), date(2028, 2, 28), False),
    ],
)
def test_anniversaries(origin: date, today: date, fires: bool) -> None:
    assert anniversary(origin, today) is fires


def test_local_day_ends_at_the_contacts_midnight() -> None:
    today, end = local_day(datetime(2026, 11, 24, 15, tzinfo=UTC), zone("Asia/Vladivostok"))
    assert today == date(2026, 11, 25) and end == datetime(2026, 11, 25, 14, tzinfo=UTC)
