"""RFM of SPEC §5 as pure functions: metrics of a contact at `at`, cut points, scores, named segments.

Definitions (storage/rfm_sql.py computes exactly the same over the whole base):

- recency_days = floor((at − latest) / 1 day), latest = the latest of any event's `at`, any order's
  `created_at` and any paid order's `paid_at`, each counted only when ≤ at (not limited to the
  period). None of them → no activity: no recency and no scores (segment `no_activity`).
- frequency = events with `at` in (at − period, at] + orders with `created_at` in (at − period, at];
  the period is half-open (excludes its start, includes `at`) so consecutive periods never share a row.
- monetary = sum of the amounts of paid orders with `paid_at` in (at − period, at].
- thresholds: R = 5 − #{t : recency_days > t}; F = 1 + #{t : frequency ≥ t}; M = 1 + #{t : monetary ≥ t}.
- quantiles: the cut points are the 20/40/60/80th percentiles by nearest rank — the value at rank
  ceil(p·N/100) of the ascending values over the N contacts WITH activity — then the same formulas.
- named segment: the first rule whose inclusive ranges hold r, f (and m when given); no rule →
  `other` (the default rules cover every r, f in 1..5, so `other` only appears with custom rules).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from policy.config import RfmConfig, RfmRule
from policy.contact import ContactData

NO_ACTIVITY = "no_activity"
UNMATCHED = "other"
PERCENTILES = (20, 40, 60, 80)
DAY = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class RfmMetrics:
    """Raw RFM metrics; `recency_days` is None for a contact with no activity by `at`."""

    recency_days: int | None
    frequency: int
    monetary: float

    @property
    def active(self) -> bool:
        return self.recency_days is not None


@dataclass(frozen=True, slots=True)
class RfmScores:
    """Scores 1..5 and the named RFM segment they fall in."""

    r: int
    f: int
    m: int
    segment: str


@dataclass(frozen=True, slots=True)
class RfmCuts:
    """Four ascending cut points per metric, and the ordered segment rules."""

    recency: tuple[float, ...]
    frequency: tuple[float, ...]
    monetary: tuple[float, ...]
    rules: tuple[RfmRule, ...]


def whole_seconds(at: datetime) -> datetime:
    """`at` truncated to whole seconds: storage keeps seconds, so both sides compare the same instants."""
    if at.tzinfo is None:
        raise ValueError("`at` must be timezone-aware")
    return at.replace(microsecond=0)


def metrics_of(contact: ContactData, at: datetime, period: timedelta) -> RfmMetrics:
    """The contact's RFM metrics at `at` over the half-open period (at − period, at]."""
    at = whole_seconds(at)
    since = at - period
    stamps = [e.at for e in contact.events if e.at <= at]
    stamps += [o.created_at for o in contact.orders if o.created_at <= at]
    stamps += [o.paid_at for o in contact.orders if o.paid_by(at) and o.paid_at is not None]
    frequency = sum(1 for e in contact.events if since < e.at <= at)
    frequency += sum(1 for o in contact.orders if since < o.created_at <= at)
    monetary = 0.0
    for order in contact.orders:
        if order.paid_by(at) and order.paid_at is not None and order.paid_at > since:
            monetary += order.amount
    recency = (at - max(stamps)) // DAY if stamps else None
    return RfmMetrics(recency_days=recency, frequency=frequency, monetary=monetary)


def nearest_rank(sorted_values: Sequence[float], percent: int) -> float:
    """The value at rank ceil(percent·N/100) (1-based) of ascending values; integer maths, no rounding."""
    rank = (percent * len(sorted_values) + 99) // 100
    return sorted_values[max(rank, 1) - 1]


def cut_points(config: RfmConfig, metrics: Iterable[RfmMetrics] = ()) -> RfmCuts:
    """The policy's cut points: its thresholds, or (method = quantiles) percentiles of `metrics`.

    For quantiles pass the metrics of the whole base at the same `at`; contacts without activity are
    left out. With no active contact at all nobody is scored, so the thresholds are returned.
    """
    rules = tuple(config.segments)
    thresholds = RfmCuts(tuple(config.recency_days), tuple(config.frequency), tuple(config.monetary), rules)
    if config.method == "thresholds":
        return thresholds
    active = [m for m in metrics if m.recency_days is not None]
    if not active:
        return thresholds
    recency = sorted(m.recency_days for m in active if m.recency_days is not None)
    frequency = sorted(m.frequency for m in active)
    monetary = sorted(m.monetary for m in active)
    return RfmCuts(
        recency=tuple(nearest_rank(recency, p) for p in PERCENTILES),
        frequency=tuple(nearest_rank(frequency, p) for p in PERCENTILES),
        monetary=tuple(nearest_rank(monetary, p) for p in PERCENTILES),
        rules=rules,
    )


def score(metrics: RfmMetrics, cuts: RfmCuts) -> RfmScores | None:
    """Scores and segment for `metrics`; None for a contact with no activity."""
    if metrics.recency_days is None:
        return None
    r = 5 - sum(1 for t in cuts.recency if metrics.recency_days > t)
    f = 1 + sum(1 for t in cuts.frequency if metrics.frequency >= t)
    m = 1 + sum(1 for t in cuts.monetary if metrics.monetary >= t)
    return RfmScores(r=r, f=f, m=m, segment=segment_for(r, f, m, cuts.rules))


def segment_for(r: int, f: int, m: int, rules: Sequence[RfmRule]) -> str:
    """The first rule whose inclusive ranges hold the scores; `other` when none does."""
    for rule in rules:
        in_m = rule.m is None or rule.m[0] <= m <= rule.m[1]
        if rule.r[0] <= r <= rule.r[1] and rule.f[0] <= f <= rule.f[1] and in_m:
            return rule.name
    return UNMATCHED


def segment_names(config: RfmConfig) -> tuple[str, ...]:
    """Every name `rfm:NAME` accepts: the rules' names in order, then `other` and `no_activity`."""
    names = list(dict.fromkeys(rule.name for rule in config.segments))
    for extra in (UNMATCHED, NO_ACTIVITY):
        if extra not in names:
            names.append(extra)
    return tuple(names)
