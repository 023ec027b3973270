"""Pure helpers behind /stats and /calendar: the uplift interval, and local days across DST."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dispatcher.plan_calendar import local_days
from policy.timeutil import to_epoch
from policy.uplift import uplift


def test_uplift_not_significant_when_the_interval_holds_zero() -> None:
    result = uplift(1000, 120, 1000, 100)
    assert result is not None
    assert result.difference == pytest.approx(0.02)
    assert result.low == pytest.approx(0.02 - 1.959964 * 0.0139857, abs=1e-6)
    assert result.high == pytest.approx(0.02 + 1.959964 * 0.0139857, abs=1e-6)
    assert not result.significant


def test_uplift_significant_with_enough_contacts() -> None:
    result = uplift(10000, 1200, 10000, 1000)
    assert result is not None and result.significant and result.low > 0


def test_uplift_needs_both_arms() -> None:
    assert uplift(0, 0, 10, 1) is None and uplift(10, 1, 0, 0) is None
    with pytest.raises(ValueError, match="between 0"):
        uplift(10, 11, 10, 1)


@given(st.integers(1, 5000), st.integers(1, 5000), st.data())
def test_uplift_interval_surrounds_the_difference(nt: int, nh: int, data: st.DataObject) -> None:
    ct, ch = data.draw(st.integers(0, nt)), data.draw(st.integers(0, nh))
    result = uplift(nt, ct, nh, ch)
    assert result is not None
    assert result.low <= result.difference <= result.high
    assert result.significant == (result.low > 0 or result.high < 0)


def test_local_days_follow_dst() -> None:
    now = datetime(2026, 10, 24, 12, 0, tzinfo=UTC)  # Berlin leaves summer time on Sunday the 25th
    days = local_days(now, "Europe/Berlin")
    assert [d.key for d in days] == [f"2026-10-{d}" for d in range(24, 31)]
    assert days[0].start == now  # today starts now, not at midnight
    assert to_epoch(days[1].end) - to_epoch(days[1].start) == 25 * 3600
    assert to_epoch(days[2].end) - to_epoch(days[2].start) == 24 * 3600
    assert all(a.end == b.start for a, b in itertools.pairwise(days))
