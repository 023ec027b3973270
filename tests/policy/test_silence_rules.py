"""Silence windows: derivation from payments, activities and declined offers; who they block."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from policy.config import SilenceRules
from policy.silence import SilenceWindow, blocking, blocks_priority, covering, derive_silences, silenced_until

T0 = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
H = timedelta(hours=1)


def test_derived_windows_have_the_policy_lengths_and_reasons() -> None:
    manual = SilenceWindow(T0 + 100 * H, T0 + 110 * H, "all", "manual: moving house")
    found = derive_silences(
        SilenceRules(),
        paid_at=[T0],
        activity_ends=[T0 - 10 * H],
        offer_declined_at=[T0 + 5 * H],
        manual=[manual],
    )
    assert found == [
        SilenceWindow(T0 - 10 * H, T0 + 38 * H, "mass", "after_activity"),
        SilenceWindow(T0, T0 + 24 * H, "mass", "after_payment"),
        SilenceWindow(T0 + 5 * H, T0 + 77 * H, "mass", "after_offer_declined"),
        manual,
    ]


def test_zero_length_rules_and_empty_manual_windows_add_nothing() -> None:
    rules = SilenceRules.model_validate({"after_payment": "0h"})
    empty = SilenceWindow(T0, T0, "all", "manual")
    assert derive_silences(rules, paid_at=[T0], activity_ends=[], offer_declined_at=[], manual=[empty]) == []


@pytest.mark.parametrize(
    ("blocks", "priority", "expected"),
    [
        ("mass", "mass", True),
        ("mass", "scenario", False),
        ("mass", "service", False),
        ("all", "mass", True),
        ("all", "scenario", True),
        ("all", "service", False),
    ],
)
def test_who_is_blocked(blocks: str, priority: str, expected: bool) -> None:
    window = SilenceWindow(T0, T0 + H, blocks, "manual")  # type: ignore[arg-type]
    assert blocks_priority(window, priority) is expected


def test_windows_are_half_open() -> None:
    window = SilenceWindow(T0, T0 + H, "mass", "manual")
    assert window.covers(T0) and not window.covers(T0 + H) and not window.covers(T0 - timedelta(seconds=1))
    assert covering([window], T0 + H) == []


def test_silenced_until_follows_overlapping_and_adjacent_windows() -> None:
    windows = blocking(
        [
            SilenceWindow(T0 + 3 * H, T0 + 5 * H, "mass", "b"),
            SilenceWindow(T0, T0 + 2 * H, "mass", "a"),
            SilenceWindow(T0 + H, T0 + 3 * H, "mass", "c"),
            SilenceWindow(T0 + 6 * H, T0 + 7 * H, "mass", "d"),
        ],
        "mass",
    )
    assert [w.reason for w in windows] == ["a", "c", "b", "d"]
    assert silenced_until(windows, T0 + 30 * timedelta(minutes=1)) == T0 + 5 * H
    assert silenced_until(windows, T0 + 5 * H) is None
    assert silenced_until(windows, T0 + 6 * H) == T0 + 7 * H
    assert blocking(windows, "scenario") == []
