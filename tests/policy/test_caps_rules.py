"""Caps: who they apply to, when they block, where they release — tables plus a grid brute force."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from policy.caps import (
    CapLedger,
    Channel,
    Counted,
    Priority,
    applies,
    binding_cap,
    release_candidates,
    violates,
)
from policy.config import Cap

T0 = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
DAY = timedelta(days=1)
STEP = timedelta(minutes=15)


def cap(limit: int, per: timedelta, channel: str = "any", scope: str = "mass") -> Cap:
    return Cap.model_validate({"max": limit, "per": per, "channel": channel, "scope": scope})


def msg(hours: float, channel: Channel = "email", priority: Priority = "mass") -> Counted:
    return Counted(T0 + timedelta(hours=hours), channel, priority)


@pytest.mark.parametrize(
    ("scope", "channel", "priority", "on", "expected"),
    [
        ("mass", "any", "mass", "email", True),
        ("mass", "any", "scenario", "email", False),
        ("scenario", "any", "scenario", "telegram", True),
        ("scenario", "any", "mass", "telegram", False),
        ("nonservice", "any", "mass", "sms", True),
        ("nonservice", "any", "scenario", "sms", True),
        ("nonservice", "any", "service", "email", False),
        ("nonservice", "email", "mass", "email", True),
        ("nonservice", "email", "mass", "telegram", False),
    ],
)
def test_applies(scope: str, channel: str, priority: str, on: str, expected: bool) -> None:
    assert applies(cap(1, DAY, channel, scope), priority, on) is expected


def test_one_a_day_blocks_within_a_day_either_side() -> None:
    daily = cap(1, DAY)
    sent = [msg(0)]
    assert violates(daily, T0 + timedelta(hours=23, minutes=59), sent)
    assert violates(daily, T0 - timedelta(hours=23), sent)  # an earlier message would share an interval too
    assert not violates(daily, T0 + DAY, sent)  # [T0 + 1 s, T0 + 1 d + 1 s) … the release is exactly m + per
    assert not violates(daily, T0 - DAY, sent)


def test_two_a_week_needs_two_messages_in_one_interval_with_t() -> None:
    weekly = cap(2, timedelta(days=7))
    assert not violates(weekly, T0 + timedelta(days=3), [msg(0)])
    two = [msg(0), msg(24 * 5)]
    assert violates(weekly, T0 + timedelta(days=3), two)
    assert violates(weekly, T0 - timedelta(days=1), two)  # [T0 − 1 d, T0 + 6 d) would hold three
    assert not violates(weekly, T0 - timedelta(days=2), two)  # the second message is 7 days later
    assert not violates(weekly, T0 + timedelta(days=7), two)


def test_zero_max_blocks_everything_and_other_scopes_do_not_count() -> None:
    assert violates(cap(0, DAY), T0, [])
    assert not violates(cap(1, DAY), T0, [msg(1, priority="scenario")])
    assert not violates(cap(1, DAY, channel="telegram"), T0, [msg(1, channel="email")])


def test_binding_cap_is_the_first_blocking_one_that_applies() -> None:
    sent = [msg(-2, channel="telegram")]
    email_only = cap(1, DAY, channel="email", scope="nonservice")
    daily, hourly = cap(1, DAY), cap(1, timedelta(hours=1))
    assert binding_cap([email_only, hourly, daily], T0, sent, "mass", "email") is daily
    assert binding_cap([email_only, daily, hourly], T0 - timedelta(hours=2), sent, "mass", "email") is daily
    assert binding_cap([email_only, daily], T0, sent, "scenario", "email") is None


def test_release_candidates_are_m_plus_per_of_counted_messages() -> None:
    sent = [msg(0), msg(5, priority="scenario"), msg(1, channel="telegram")]
    caps = [cap(1, DAY), cap(3, timedelta(days=5), scope="nonservice")]
    assert release_candidates(caps, sent) == sorted(
        {T0 + DAY, T0 + timedelta(hours=1) + DAY, *(m.at + timedelta(days=5) for m in sent)}
    )
    assert release_candidates(caps, sent, priority="scenario", channel="email") == sorted(
        m.at + timedelta(days=5) for m in sent
    )


def test_ledger_next_free_follows_chains_of_messages() -> None:
    sent = [msg(0), msg(20), msg(40)]
    ledger = CapLedger([cap(1, DAY)], sent, "mass", "email")
    assert ledger.binding(T0) is not None
    assert ledger.next_free(T0) == T0 + timedelta(hours=40) + DAY
    assert ledger.next_free(T0 - DAY) == T0 - DAY
    assert CapLedger([cap(2, DAY)], [msg(0)], "mass", "email").idle  # one message cannot fill max 2
    assert CapLedger([cap(0, DAY)], [], "mass", "email").next_free(T0) is None


@st.composite
def grid_cases(draw: st.DrawFn) -> tuple[Cap, datetime, list[Counted]]:
    per = draw(st.integers(1, 12)) * STEP
    limit = draw(st.integers(0, 4))
    times = draw(st.lists(st.integers(-40, 40), max_size=8))
    counted = [Counted(T0 + i * STEP, "email", "mass") for i in times]
    return cap(limit, per), T0 + draw(st.integers(-20, 20)) * STEP, counted


@settings(max_examples=400, deadline=None)
@given(case=grid_cases())
def test_violates_matches_every_interval_on_the_grid(case: tuple[Cap, datetime, list[Counted]]) -> None:
    rule, t, counted = case
    # All instants sit on a 15-minute grid, so intervals [x, x + per) starting on the grid are all
    # there is to check: count what each interval containing t holds before adding t.
    starts = [t - rule.per + k * STEP for k in range(1, int(rule.per / STEP) + 1)]
    fullest = max(sum(1 for m in counted if x <= m.at < x + rule.per) for x in starts)
    assert violates(rule, t, counted) is (fullest + 1 > rule.max)
    free = CapLedger([rule], counted, "mass", "email").next_free(t)
    if free is not None:
        assert not violates(rule, free, counted)
        probe = t
        while probe < free:  # nothing between t and the answer was free
            assert violates(rule, probe, counted)
            probe += STEP
