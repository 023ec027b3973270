"""Over-mailing alerts (SPEC §12.6): per segment × channel, the last window against the windows before.

Pure: counts in, alerts out. Rates are per 1 000 sends, so a baseline of several windows compares with
one window as it is. A segment is a campaign version (what the team targets), `all` when unversioned.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from policy.config import Alerts

Measure = Literal["unsubscribes", "complaints", "open_rate"]
PER = 1000


@dataclass(frozen=True)
class Usage:
    """What one segment × channel got in a span: sends, the contacts they went to, and reactions."""

    segment: str
    channel: str
    sends: int
    contacts: int
    unsubscribes: int
    complaints: int
    opens: int  # contacts who opened (email only: Telegram has no open tracking)
    campaigns: tuple[str, ...] = ()

    def per_thousand(self, count: int) -> float:
        return PER * count / self.sends if self.sends else 0.0

    @property
    def open_rate(self) -> float:
        return self.opens / self.sends if self.sends else 0.0

    @property
    def sends_per_contact(self) -> float:
        return self.sends / self.contacts if self.contacts else 0.0


@dataclass(frozen=True)
class FatigueAlert:
    segment: str
    channel: str
    measure: Measure
    now: float  # per 1 000 sends (open rate: a fraction)
    before: float
    campaigns: tuple[str, ...]
    sends: int
    suggested_cap: int  # messages per contact per window on this channel for this segment

    @property
    def key(self) -> str:
        return f"{self.segment}|{self.channel}|{self.measure}"


def suggested_cap(current: Usage, baseline: Usage | None, windows: int) -> int:
    """Back to the calm baseline's pace, and in any case one message fewer than now (at least one)."""
    now_pace = math.ceil(current.sends_per_contact) if current.contacts else 1
    cap = now_pace - 1
    if baseline is not None and baseline.contacts:
        cap = min(cap, math.ceil(baseline.sends / baseline.contacts / windows))
    return max(1, cap)


def fatigue_alerts(current: Sequence[Usage], baseline: Sequence[Usage], rules: Alerts) -> list[FatigueAlert]:
    """The alerts for the current window (empty when the watch is off)."""
    if not rules.enabled:
        return []
    before = {(u.segment, u.channel): u for u in baseline}
    alerts: list[FatigueAlert] = []
    for now in sorted(current, key=lambda u: (u.segment, u.channel)):
        if now.sends < rules.min_sends:
            continue
        old = before.get((now.segment, now.channel))
        found: list[tuple[Measure, float, float]] = []
        checks: tuple[tuple[Measure, int, int, float], ...] = (
            ("unsubscribes", now.unsubscribes, old.unsubscribes if old else 0, rules.unsubscribe_factor),
            ("complaints", now.complaints, old.complaints if old else 0, rules.complaint_factor),
        )
        for measure, count, old_count, factor in checks:
            previous = old.per_thousand(old_count) if old else 0.0
            if count >= rules.min_events and now.per_thousand(count) >= factor * previous:
                found.append((measure, now.per_thousand(count), previous))
        # Only email is tracked for opens, and a baseline without opens has no rate to fall from.
        comparable = now.channel == "email" and old is not None and old.sends >= rules.min_sends
        if (
            old is not None
            and comparable
            and old.opens
            and now.open_rate <= old.open_rate * (1 - rules.open_rate_drop)
        ):
            found.append(("open_rate", now.open_rate, old.open_rate))
        cap = suggested_cap(now, old, rules.baseline_windows)
        alerts.extend(
            FatigueAlert(now.segment, now.channel, m, value, prev, now.campaigns, now.sends, cap)
            for m, value, prev in found
        )
    return alerts
