"""The stand-in's flood control: Telegram's send limits, answered with a real 429 and retry_after.

Telegram documents ~30 messages/s per bot, ~1 message/s per chat ("short bursts" tolerated) and 20
messages/min per group. The per-second limits are token buckets holding `burst_s` seconds' worth of
messages (a quiet bot may send a short burst, a sustained rate above the limit is refused); the group
limit is a strict sliding minute, as Telegram states it. Only accepted sends consume quota.

This deliberately shares no code with `dispatcher.ratelimit`: the client's limiter is tested against an
independent implementation of the rule, not against itself.
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, replace

Clock = Callable[[], float]


@dataclass(frozen=True)
class StandinLimits:
    """What the stand-in enforces; every field may be changed at run time with `set_limits`."""

    per_bot_per_s: float = 30.0
    per_chat_per_s: float = 1.0
    per_group_per_min: float = 20.0
    burst_s: float = 1.0  # how many seconds' worth of messages a rested bucket holds
    enabled: bool = True


class _Bucket:
    def __init__(self, rate_per_s: float, capacity: float, now: float) -> None:
        self.rate_per_s = rate_per_s
        self.capacity = capacity
        self.tokens = capacity
        self.at = now

    def refill(self, now: float) -> None:
        self.tokens = min(self.capacity, self.tokens + (now - self.at) * self.rate_per_s)
        self.at = now

    def wait_s(self, now: float) -> float:
        self.refill(now)
        missing = 1.0 - self.tokens
        return 0.0 if missing <= 1e-9 else missing / self.rate_per_s  # float residue is not a refusal

    def take(self) -> None:
        self.tokens -= 1.0


class _Window:
    def __init__(self, limit: int, window_s: float) -> None:
        self.limit = limit
        self.window_s = window_s
        self.times: deque[float] = deque()

    def wait_s(self, now: float) -> float:
        while self.times and self.times[0] <= now - self.window_s:
            self.times.popleft()
        return 0.0 if len(self.times) < self.limit else self.times[0] + self.window_s - now

    def take(self, now: float) -> None:
        self.times.append(now)


class FloodControl:
    """Decides whether one send may pass now; a refusal carries Telegram's whole-second retry_after."""

    def __init__(self, limits: StandinLimits | None = None, clock: Clock = time.monotonic) -> None:
        self.clock = clock
        self.count_429 = 0
        self.limits = limits or StandinLimits()
        self.set_limits(self.limits)

    def set_limits(self, limits: StandinLimits | None = None, **changes: float | bool) -> StandinLimits:
        """Replace the limits (or some fields of them); quotas restart full."""
        self.limits = replace(limits or self.limits, **changes)  # type: ignore[arg-type]
        now = self.clock()
        bot_rate = self.limits.per_bot_per_s
        self._bot = _Bucket(bot_rate, max(1.0, bot_rate * self.limits.burst_s), now)
        self._chats: dict[int, _Bucket] = {}
        self._groups: dict[int, _Window] = {}
        self._sweep_at = 10_000
        return self.limits

    def admit(self, chat_id: int) -> int | None:
        """Take one send for `chat_id` (None), or return retry_after in whole seconds ≥ 1, taking nothing."""
        limits = self.limits
        if not limits.enabled:
            return None
        now = self.clock()
        chat = self._chats.get(chat_id)
        if chat is None:
            rate = limits.per_chat_per_s
            chat = self._chats[chat_id] = _Bucket(rate, max(1.0, rate * limits.burst_s), now)
        waits = [self._bot.wait_s(now), chat.wait_s(now)]
        group = None
        if chat_id < 0:
            group = self._groups.get(chat_id)
            if group is None:
                per_min = limits.per_group_per_min
                limit = max(1, math.floor(per_min))
                group = self._groups[chat_id] = _Window(limit, 60.0 * limit / per_min)
            waits.append(group.wait_s(now))
        wait = max(waits)
        if wait > 0:
            self.count_429 += 1
            return max(1, math.ceil(wait))
        self._bot.take()
        chat.take()
        if group is not None:
            group.take(now)
        self._forget_rested(now)
        return None

    def _forget_rested(self, now: float) -> None:
        # A broadcast touches millions of chats once; a full bucket carries no information, drop it.
        # The threshold doubles with what survives a sweep, so sweeps stay amortised O(1) per send.
        if len(self._chats) < self._sweep_at:
            return
        for chat_id, bucket in list(self._chats.items()):
            bucket.refill(now)
            if bucket.tokens >= bucket.capacity:
                del self._chats[chat_id]
        self._sweep_at = max(10_000, 2 * len(self._chats))
