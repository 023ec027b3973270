"""Silence windows (SPEC §4): periods in which a contact gets no mass (or no mass nor scenario) message.

Derived ones follow a payment, the end of an activity and a declined offer, and block mass only;
manual ones come from the bot and may block everything but service messages. A blocked message is
deferred to the end of the silence, never dropped, while the campaign's deadline allows.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal

from policy.config import SilenceRules
from policy.timeutil import from_epoch

Blocks = Literal["mass", "all"]


@dataclass(frozen=True, slots=True)
class SilenceWindow:
    """No message of the blocked kind during [starts, ends); `reason` says where it came from."""

    starts: datetime
    ends: datetime
    blocks: Blocks
    reason: str

    def covers(self, t: datetime) -> bool:
        return self.starts <= t < self.ends


def blocks_priority(window: SilenceWindow, priority: str) -> bool:
    """Mass is blocked by every silence, scenario only by `blocks = "all"`, service never."""
    if priority == "mass":
        return True
    if priority == "scenario":
        return window.blocks == "all"
    return False


def _after(instants: Iterable[datetime], length: timedelta, reason: str) -> list[SilenceWindow]:
    if length <= timedelta(0):
        return []  # a rule set to zero disables that kind of silence
    return [SilenceWindow(t, t + length, "mass", reason) for t in instants]


def derive_silences(
    rules: SilenceRules,
    *,
    paid_at: Sequence[datetime],
    activity_ends: Sequence[datetime],
    offer_declined_at: Sequence[datetime],
    manual: Sequence[SilenceWindow],
) -> list[SilenceWindow]:
    """Every silence window of one contact, sorted by start: the derived ones plus the manual ones."""
    windows = [
        *_after(paid_at, rules.after_payment, "after_payment"),
        *_after(activity_ends, rules.after_activity, "after_activity"),
        *_after(offer_declined_at, rules.after_offer_declined, "after_offer_declined"),
        *(w for w in manual if w.starts < w.ends),
    ]
    windows.sort(key=lambda w: (w.starts, w.ends))
    return windows


def blocking(silences: Iterable[SilenceWindow], priority: str) -> list[SilenceWindow]:
    """The silences that hold back a message of `priority`, sorted by start."""
    return sorted((w for w in silences if blocks_priority(w, priority)), key=lambda w: (w.starts, w.ends))


def covering(silences: Iterable[SilenceWindow], t: datetime) -> list[SilenceWindow]:
    """The silences whose [starts, ends) holds `t`."""
    return [w for w in silences if w.covers(t)]


def silenced_until(silences: Sequence[SilenceWindow], t: datetime) -> datetime | None:
    """None when `t` is outside every given silence; else the first instant after the silences that
    cover `t` (following overlapping and back-to-back ones), which is where a deferred message may go."""
    moved = False
    while True:
        ends = [w.ends for w in silences if w.starts <= t < w.ends]
        if not ends:
            return t if moved else None
        t, moved = max(ends), True


@dataclass
class SilenceInputs:
    """What one contact's silences are derived from, as storage reads it (epoch seconds)."""

    paid_at: list[int] = field(default_factory=list)
    activity_ends: list[int] = field(default_factory=list)
    offer_declined_at: list[int] = field(default_factory=list)
    manual: list[tuple[int, int, str, str]] = field(default_factory=list)  # starts, ends, blocks, reason


def silences_from(rules: SilenceRules, raw: SilenceInputs) -> list[SilenceWindow]:
    """The contact's silence windows, derived from what storage read."""
    return derive_silences(
        rules,
        paid_at=[from_epoch(t) for t in raw.paid_at],
        activity_ends=[from_epoch(t) for t in raw.activity_ends],
        offer_declined_at=[from_epoch(t) for t in raw.offer_declined_at],
        manual=[
            SilenceWindow(from_epoch(s), from_epoch(e), "all" if blocks == "all" else "mass", reason)
            for s, e, blocks, reason in raw.manual
        ],
    )
