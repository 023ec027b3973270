"""Pure RFM: metrics at `at`, threshold scores, nearest-rank quantiles and ordered segment rules."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import product

import pytest
from hypothesis import given
from hypothesis import strategies as st

from policy.config import DEFAULT_RFM_RULES, RfmConfig, RfmRule
from policy.contact import ContactData, EventRecord, OrderRecord
from policy.rfm import (
    UNMATCHED,
    RfmCuts,
    RfmMetrics,
    cut_points,
    metrics_of,
    nearest_rank,
    score,
    segment_for,
    segment_names,
)

AT = datetime(2026, 11, 20, 12, tzinfo=UTC)
D = timedelta(days=1)
YEAR = timedelta(days=365)
DEFAULT = RfmConfig()


def test_recency_is_the_floor_of_days_since_the_latest_stamp() -> None:
    contact = ContactData(
        "c",
        events=(EventRecord("open", AT - 3 * D - timedelta(hours=23)), EventRecord("open", AT + D)),
        orders=(OrderRecord("o", 10, "paid", AT - 40 * D, AT - 5 * D),),
    )
    assert metrics_of(contact, AT, YEAR).recency_days == 3  # the event after `at` is ignored


def test_paid_at_counts_for_recency_and_old_activity_still_counts() -> None:
    contact = ContactData("c", orders=(OrderRecord("o", 10, "paid", AT - 800 * D, AT - 700 * D),))
    assert metrics_of(contact, AT, YEAR) == RfmMetrics(recency_days=700, frequency=0, monetary=0.0)


def test_the_period_is_half_open() -> None:
    contact = ContactData(
        "c",
        events=(EventRecord("open", AT - YEAR), EventRecord("open", AT - YEAR + timedelta(seconds=1))),
        orders=(
            OrderRecord("o1", 100, "paid", AT - YEAR, AT - YEAR),  # on the excluded start
            OrderRecord("o2", 200, "paid", AT - 2 * D, AT),  # paid exactly at `at`: included
            OrderRecord("o3", 400, "cancelled", AT - D),
        ),
    )
    assert metrics_of(contact, AT, YEAR) == RfmMetrics(recency_days=0, frequency=3, monetary=200.0)


def test_no_activity_has_no_recency() -> None:
    metrics = metrics_of(ContactData("c", events=(EventRecord("open", AT + D),)), AT, YEAR)
    assert metrics == RfmMetrics(None, 0, 0.0) and not metrics.active
    assert score(metrics, cut_points(DEFAULT)) is None


@pytest.mark.parametrize(
    ("days", "r"), [(0, 5), (7, 5), (8, 4), (30, 4), (31, 3), (90, 3), (91, 2), (180, 2), (181, 1), (5000, 1)]
)
def test_r_by_thresholds(days: int, r: int) -> None:
    scores = score(RfmMetrics(days, 0, 0), cut_points(DEFAULT))
    assert scores is not None and scores.r == r


@pytest.mark.parametrize(
    ("frequency", "f"), [(0, 1), (1, 1), (2, 2), (3, 2), (4, 3), (8, 4), (15, 4), (16, 5), (99, 5)]
)
def test_f_by_thresholds(frequency: int, f: int) -> None:
    scores = score(RfmMetrics(1, frequency, 0), cut_points(DEFAULT))
    assert scores is not None and scores.f == f


@pytest.mark.parametrize(
    ("monetary", "m"), [(0, 1), (999.99, 1), (1000, 2), (5000, 3), (20000, 4), (50000, 5)]
)
def test_m_by_thresholds(monetary: float, m: int) -> None:
    scores = score(RfmMetrics(1, 1, monetary), cut_points(DEFAULT))
    assert scores is not None and scores.m == m


@pytest.mark.parametrize(
    ("values", "percent", "expected"),
    [
        ([1, 2, 3, 4, 5], 20, 1),
        ([1, 2, 3, 4, 5], 60, 3),  # 0.6 · 5 in floats is 3.0000000000000004: integer maths gives rank 3
        ([1, 2, 3, 4, 5], 80, 4),
        ([10, 20, 30, 40, 50, 60, 70], 20, 20),  # rank ceil(1.4) = 2
        ([10, 20, 30, 40, 50, 60, 70], 80, 60),  # rank ceil(5.6) = 6
        ([42], 20, 42),
        ([42], 80, 42),
    ],
)
def test_nearest_rank(values: list[int], percent: int, expected: int) -> None:
    assert nearest_rank(values, percent) == expected


@given(st.lists(st.integers(0, 1000), min_size=1, max_size=60), st.sampled_from([20, 40, 60, 80]))
def test_nearest_rank_definition(values: list[int], percent: int) -> None:
    ordered = sorted(values)
    value = nearest_rank(ordered, percent)
    # The smallest value with at least p % of the values at or below it.
    at_or_below = sum(v <= value for v in ordered)
    assert at_or_below * 100 >= percent * len(ordered)
    assert sum(v < value for v in ordered) * 100 < percent * len(ordered)


def test_quantile_cuts_use_only_active_contacts() -> None:
    config = RfmConfig(method="quantiles")
    active = [RfmMetrics(d, d // 10, d * 100.0) for d in range(1, 11)]
    cuts = cut_points(config, [*active, RfmMetrics(None, 0, 0.0), RfmMetrics(None, 0, 0.0)])
    assert cuts.recency == (2, 4, 6, 8)
    assert cuts.frequency == (0, 0, 0, 0)
    assert cuts.monetary == (200.0, 400.0, 600.0, 800.0)
    assert cut_points(config, []) == cut_points(DEFAULT), "nobody active: the thresholds stand"
    assert cut_points(DEFAULT, active) == RfmCuts((7, 30, 90, 180), (2, 4, 8, 16), (1000, 5000, 20000, 50000),
                                                  tuple(DEFAULT_RFM_RULES))  # fmt: skip


def test_rules_are_ordered_and_first_match_wins() -> None:
    rules = [
        RfmRule(name="whales", r=(1, 5), f=(1, 5), m=(5, 5)),
        RfmRule(name="champions", r=(4, 5), f=(4, 5)),
        RfmRule(name="champions_again", r=(4, 5), f=(4, 5)),
    ]
    assert segment_for(5, 5, 5, rules) == "whales"
    assert segment_for(5, 5, 4, rules) == "champions"
    assert segment_for(1, 1, 1, rules) == UNMATCHED


def test_default_rules_cover_every_score_pair() -> None:
    found = {segment_for(r, f, 1, DEFAULT_RFM_RULES) for r, f in product(range(1, 6), repeat=2)}
    assert UNMATCHED not in found
    assert found == {rule.name for rule in DEFAULT_RFM_RULES}
    assert segment_for(1, 4, 1, DEFAULT_RFM_RULES) == "cant_lose"
    assert segment_for(5, 1, 1, DEFAULT_RFM_RULES) == "new_customers"


def test_segment_names_for_the_dsl() -> None:
    assert segment_names(DEFAULT)[:2] == ("champions", "loyal")
    assert segment_names(DEFAULT)[-2:] == ("other", "no_activity")
