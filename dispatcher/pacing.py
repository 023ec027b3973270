"""Adaptive pacing (AIMD): the rate a channel may send at, lowered by the provider's refusals.

The configured rate is a ceiling, not a promise: a Telegram bot may in fact be allowed less (a new bot,
a server under load, a misconfigured paid rate). Each refusal (a 429) halves the rate — multiplicative
decrease — and every accepted send raises it by a fixed step — additive increase — never above the
configured rate.

One cut per generation: the sends already in flight when the rate was cut were paced at the old rate,
so their refusals say nothing new. Only a refusal of a send started after the last cut (a newer
`generation`) cuts again — TCP's "one decrease per round trip".

The step is set at each cut so that the climb from the halved rate back to the refused one takes
`CLIMB_SENDS` accepted sends, whatever the provider's real limit is. The sawtooth between a cut and the
next refusal therefore always holds about `CLIMB_SENDS` accepted sends per refusal (≈ 1 % refused),
both for a server allowing 2/s against 25/s configured and for 30/s against a paid 1000/s.

Pure: no clock, no I/O. `dispatcher.ratelimit.RateLimiter` applies the rate to its overall pacer.
"""

from __future__ import annotations

DECREASE_FACTOR = 0.5  # each cut halves the rate
CLIMB_SENDS = 100  # accepted sends to climb from a cut back to the rate that was refused
FLOOR_PER_S = 1.0  # below this the provider's retry_after pauses do the pacing


class Aimd:
    """The current rate under a configured ceiling: `refused(generation)` cuts, `accepted()` climbs."""

    def __init__(self, ceiling_per_s: float) -> None:
        if not ceiling_per_s > 0:
            raise ValueError(f"the configured rate must be positive, got {ceiling_per_s!r}")
        self.ceiling_per_s = ceiling_per_s
        self.floor_per_s = min(ceiling_per_s, FLOOR_PER_S)
        self.rate_per_s = ceiling_per_s
        self.step_per_s = 0.0  # nothing to climb back to until the first cut
        self.generation = 0  # bumped by every cut; a send carries the generation it started in
        self.cuts = 0

    def refused(self, generation: int) -> bool:
        """A send started in `generation` was refused: cut the rate unless a later cut already did."""
        if generation < self.generation:
            return False
        refused_at = self.rate_per_s
        self.rate_per_s = max(self.floor_per_s, refused_at * DECREASE_FACTOR)
        # From the refused rate, not the floored one: at the floor the rate must still climb again.
        self.step_per_s = refused_at * (1.0 - DECREASE_FACTOR) / CLIMB_SENDS
        self.generation += 1
        self.cuts += 1
        return True

    def accepted(self) -> None:
        """A send went through: climb one step towards the ceiling."""
        if self.rate_per_s < self.ceiling_per_s:
            self.rate_per_s = min(self.ceiling_per_s, self.rate_per_s + self.step_per_s)
