"""The pure evaluator of the segment DSL: does one contact belong to an expression at `at`?

It is the reference the SQL compiler (storage/segments.py) is tested against, and it serves
`contact explain`. The rules, shared with the compiler:

- `at` is truncated to whole seconds; every row stamped after it is ignored. Consents and
  suppressions are current state (storage keeps no history of them), so `has:` ignores `at`.
- `within D` means a timestamp in [at − D, at]: a tag's set_at, an event's at, an order's paid_at
  for `order:paid` and its created_at for the other statuses.
- `order:pending` / `order:cancelled` / `order:refunded`: an order with that (current) status
  created ≤ at; `order:paid`: an order with status paid and paid_at ≤ at. `product = "X"` narrows
  either to orders of exactly that product (an order without one matches no product).
- paid_total = sum of paid orders with paid_at ≤ at (0 without any); orders_count = the number of
  those orders (a refunded order is in neither); frequency and monetary are those of `policy.rfm`
  (0 without activity).
- recency_days, r, f and m do not exist for a contact without activity: every comparison on them is
  false (so `NOT r >= 4` holds for such a contact). created_days = floor(days since created_at);
  without created_at every comparison on it is false.
- timezone is the contact's, or the policy's default_timezone when the contact has none.
- locale, region, interest: a missing value (NULL or empty) is the empty string, compared as a string
  like any other: `region = ""` finds contacts without a region, `region != "Урал"` includes them.
- Strings compare by code point (SQLite's BINARY collation agrees); numbers compare numerically.

RFM scores: with `method = "thresholds"` the evaluator scores the contact itself. With quantiles the
cut points come from the whole base, so pass `rfm` (from `SegmentContext.rfm_of`, or `score(metrics_of(
…), cut_points(config, base_metrics))`); without it an expression that needs the scores of a contact
with activity raises ValueError.
"""

from __future__ import annotations

from datetime import datetime

from policy.config import Policy
from policy.contact import ContactData
from policy.dsl import COMPARE_OPS, All, And, Compare, Event, Expr, Has, Not, Or, Order, Rfm, SegmentRef, Tag
from policy.rfm import DAY, NO_ACTIVITY, RfmMetrics, RfmScores, cut_points, metrics_of, score, whole_seconds
from policy.segment_names import resolve, segment_expr


def evaluate(
    expr_or_text: Expr | str,
    contact: ContactData,
    policy: Policy,
    at: datetime,
    rfm: RfmScores | None = None,
) -> bool:
    """True when `contact` is in the expression at `at`; `DslError` for a bad or unknown name."""
    tree = resolve(expr_or_text, policy)
    return _Evaluation(contact, policy, whole_seconds(at), rfm).holds(tree)


class _Evaluation:
    """One contact at one instant; metrics, scores and named segments are computed at most once."""

    def __init__(self, contact: ContactData, policy: Policy, at: datetime, rfm: RfmScores | None) -> None:
        self.contact = contact
        self.policy = policy
        self.at = at
        self.given_scores = rfm
        self._metrics: RfmMetrics | None = None
        self._segments: dict[str, bool] = {}

    def holds(self, node: Expr) -> bool:
        match node:
            case All():
                return True
            case Not(item):
                return not self.holds(item)
            case And(items):
                return all(self.holds(i) for i in items)
            case Or(items):
                return any(self.holds(i) for i in items)
            case Tag():
                return self.tag(node)
            case Has(channel):
                return self.contact.reachable(channel)
            case Order():
                return self.order(node)
            case Event():
                return self.event(node)
            case SegmentRef(name):
                if name not in self._segments:
                    self._segments[name] = self.holds(segment_expr(self.policy, name))
                return self._segments[name]
            case Rfm(name):
                if name == NO_ACTIVITY:
                    return not self.metrics().active
                scores = self.scores()
                return scores is not None and scores.segment == name
            case Compare(field, op, value):
                actual = self.field(field)
                return actual is not None and COMPARE_OPS[op](actual, value)
        raise TypeError(f"not a DSL node: {node!r}")

    def tag(self, node: Tag) -> bool:
        since = self.at - node.within if node.within is not None else None
        return any(
            t.tag == node.name and t.active_at(self.at) and (since is None or t.set_at >= since)
            for t in self.contact.tags
        )

    def order(self, node: Order) -> bool:
        since = self.at - node.within if node.within is not None else None
        for o in self.contact.orders:
            if o.status != node.status or (node.product is not None and o.product != node.product):
                continue
            stamp = o.paid_at if node.status == "paid" else o.created_at
            if stamp is not None and stamp <= self.at and (since is None or stamp >= since):
                return True
        return False

    def event(self, node: Event) -> bool:
        since = self.at - node.within if node.within is not None else None
        return any(
            e.type == node.type and e.at <= self.at and (since is None or e.at >= since)
            for e in self.contact.events
        )

    def metrics(self) -> RfmMetrics:
        if self._metrics is None:
            self._metrics = metrics_of(self.contact, self.at, self.policy.rfm.period)
        return self._metrics

    def scores(self) -> RfmScores | None:
        metrics = self.metrics()
        if not metrics.active:
            return None
        if self.given_scores is not None:
            return self.given_scores
        if self.policy.rfm.method != "thresholds":
            raise ValueError("RFM by quantiles depends on the whole base: pass the contact's scores as `rfm`")
        return score(metrics, cut_points(self.policy.rfm))

    def field(self, name: str) -> object:
        """The field's value at `at`, or None when it does not exist for this contact."""
        c = self.contact
        if name == "paid_total":
            return sum(o.amount for o in c.orders if o.paid_by(self.at))
        if name == "orders_count":
            return sum(1 for o in c.orders if o.paid_by(self.at))
        if name == "recency_days":
            return self.metrics().recency_days
        if name == "frequency":
            return self.metrics().frequency
        if name == "monetary":
            return self.metrics().monetary
        if name in ("r", "f", "m"):
            scores = self.scores()
            return None if scores is None else getattr(scores, name)
        if name == "created_days":
            return None if c.created_at is None else (self.at - c.created_at) // DAY
        if name == "timezone":
            return c.timezone or self.policy.default_timezone
        if name in ("locale", "region", "interest"):
            return getattr(c, name) or ""
        raise ValueError(f"unknown field {name!r}")
