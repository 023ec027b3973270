"""Frequency caps (SPEC §4): at most `max` counted messages in any half-open interval of length `per`.

A cap counts the contact's messages of its scope (mass, scenario or both = nonservice) on its channel
(or on any). A new message at `t` is blocked by a cap iff some interval [x, x + per) that contains `t`
already holds `max` counted messages — adding it would make `max + 1`. Every cap that applies binds
("the strictest binds"); a blocked message is deferred to a release instant `m + per`.

Blocking is checked on sorted instants with bisect: only the messages in (t − per, t + per) can share
an interval with `t`, and `max` of them fit one interval together with `t` iff the span of
`max` consecutive ones, stretched to include `t`, is shorter than `per`.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

from policy.config import Cap, Channel

Priority = Literal["service", "scenario", "mass"]

NEVER = datetime.max.replace(tzinfo=UTC)  # "blocked for good": a cap with max = 0


@dataclass(frozen=True, slots=True)
class Counted:
    """A message the contact already has planned, in flight or sent, as caps see it."""

    at: datetime
    channel: Channel
    priority: Priority


def applies(cap: Cap, priority: str, channel: str) -> bool:
    """Whether `cap` limits (and counts) a message of this priority on this channel."""
    if priority == "service":
        return False
    in_scope = cap.scope == "nonservice" or cap.scope == priority
    return in_scope and cap.channel in ("any", channel)


def counts(cap: Cap, counted_msg: Counted) -> bool:
    """Whether a message already there counts towards `cap`."""
    return applies(cap, counted_msg.priority, counted_msg.channel)


def _release(limit: int, per: timedelta, times: Sequence[datetime], t: datetime) -> datetime | None:
    """None when `t` is free under this cap; else an instant > t up to which `t`..there is blocked.

    Each group of `limit` consecutive counted instants blocks the open interval (last − per, first + per);
    we return the latest end among the groups holding `t`, so every instant skipped is really blocked.
    """
    if limit <= 0:
        return NEVER
    lo = bisect_right(times, t - per)
    hi = bisect_left(times, t + per)
    release: datetime | None = None
    for i in range(lo, hi - limit + 1):
        first, last = times[i], times[i + limit - 1]
        if max(last, t) - min(first, t) < per:
            end = first + per
            release = end if release is None or end > release else release
    return release


def violates(cap: Cap, t: datetime, counted: Iterable[Counted]) -> bool:
    """Whether adding a message at `t` would put more than `cap.max` counted ones in some interval."""
    times = sorted(m.at for m in counted if counts(cap, m))
    return _release(cap.max, cap.per, times, t) is not None


def binding_cap(
    caps: Sequence[Cap], t: datetime, counted: Sequence[Counted], priority: str, channel: str
) -> Cap | None:
    """The first cap (in the given order) that applies to the message and blocks it at `t`."""
    for cap in caps:
        if applies(cap, priority, channel) and violates(cap, t, counted):
            return cap
    return None


def release_candidates(
    caps: Sequence[Cap],
    counted: Sequence[Counted],
    *,
    priority: str | None = None,
    channel: str | None = None,
) -> list[datetime]:
    """Sorted distinct `m + per` for each cap and each counted message it counts (caps limited to
    those applying to `priority`/`channel` when given): the instants a cap can start to allow."""
    found = {
        m.at + cap.per
        for cap in caps
        if priority is None or channel is None or applies(cap, priority, channel)
        for m in counted
        if counts(cap, m)
    }
    return sorted(found)


class CapLedger:
    """The caps that apply to one message, each with the sorted instants it counts — built once per
    contact so the due-time search can ask "blocked at t?" and "free again when?" cheaply."""

    __slots__ = ("_rules",)

    def __init__(self, caps: Iterable[Cap], counted: Sequence[Counted], priority: str, channel: str) -> None:
        rules: list[tuple[Cap, list[datetime]]] = []
        for cap in caps:
            if applies(cap, priority, channel):
                times = sorted(m.at for m in counted if counts(cap, m))
                if cap.max <= 0 or len(times) >= cap.max:  # fewer than max messages never fill a cap
                    rules.append((cap, times))
        self._rules = rules

    @property
    def idle(self) -> bool:
        """True when no cap can block any instant."""
        return not self._rules

    def binding(self, t: datetime) -> Cap | None:
        """The first cap blocking a message at `t`, if any."""
        for cap, times in self._rules:
            if _release(cap.max, cap.per, times, t) is not None:
                return cap
        return None

    def next_free(self, t: datetime) -> datetime | None:
        """The earliest instant ≥ t at which no cap blocks; None if a cap blocks for good."""
        while True:
            moved = False
            for cap, times in self._rules:
                release = _release(cap.max, cap.per, times, t)
                if release is NEVER:
                    return None
                if release is not None:
                    t, moved = release, True
            if not moved:
                return t
