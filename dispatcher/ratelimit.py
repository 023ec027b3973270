"""Client-side rate limiters for the channels: pace sends so the provider never has to refuse them.

Three rules, all optional except the overall rate:
- an overall rate (GCRA: each caller reserves the next free slot, so N waiters wake once each, in order);
- per key (per chat) at most `limit` sends in any `window_s`, measured from when the previous send
  *finished* — its request reached the server by then, so network jitter can never squeeze two sends
  to one chat closer than the window on the server's side;
- per group key an extra per-minute window (Telegram: 20 messages/min per group).
`pause_for(s)` stops everything for `s` seconds (a 429's retry_after) and resumes at the paced rate.
The overall rate adapts (`dispatcher.pacing.Aimd`): `refused` — a 429 — pauses and halves it, `accepted`
climbs it back towards the configured rate; the per-chat and per-group rules never adapt (they are
Telegram's documented limits, and a 429 does not say which limit it was).

Time is injected (`clock`, `sleep`) so the logic is tested without wall-clock sleeping; production uses
`time.monotonic` and `asyncio.sleep`, so the throughput is real.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Hashable
from contextlib import asynccontextmanager
from dataclasses import dataclass

from dispatcher.pacing import Aimd

Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]


@dataclass(frozen=True)
class RateLimits:
    """How fast a channel may send. Defaults are Telegram's safe values (it asks for under 30/s)."""

    per_s: float = 25.0
    burst: int = 1  # sends allowed back to back after a quiet spell
    per_key_per_s: float | None = 1.0
    per_group_per_min: float | None = 20.0

    def __post_init__(self) -> None:
        for name in ("per_s", "per_key_per_s", "per_group_per_min"):
            value = getattr(self, name)
            if value is not None and not value > 0:
                raise ValueError(f"rate limit {name} must be positive, got {value!r}")
        if self.burst < 1:
            raise ValueError(f"rate limit burst must be at least 1, got {self.burst!r}")


class Gcra:
    """Generic cell rate algorithm as a reservation book: `reserve(now)` says when the caller may go."""

    def __init__(self, per_s: float, burst: int = 1) -> None:
        self.burst = burst
        self.set_rate(per_s)
        self._tat = -math.inf  # theoretical arrival time of the next send

    def set_rate(self, per_s: float) -> None:
        """Pace at `per_s` from the next reservation on (slots already booked keep their instant)."""
        self.interval_s = 1.0 / per_s
        self.tolerance_s = (self.burst - 1) * self.interval_s

    def reserve(self, now: float, not_before: float = -math.inf) -> float:
        """Book the next slot at or after `now` and `not_before`; return its instant."""
        tat = max(self._tat, now, not_before)
        go = max(now, not_before, tat - self.tolerance_s)
        self._tat = tat + self.interval_s
        return now if go - now < 1e-9 else go  # float residue of the sums is not a reason to sleep


class SlidingWindow:
    """At most `limit` events in any half-open interval of `window_s` seconds."""

    def __init__(self, limit: int, window_s: float) -> None:
        self.limit = limit
        self.window_s = window_s
        self.times: deque[float] = deque()

    @classmethod
    def from_rate(cls, count: float, period_s: float) -> SlidingWindow:
        """`count` per `period_s` as whole events per window: 1/s -> 1 per 1 s, 0.5/s -> 1 per 2 s."""
        limit = max(1, math.floor(count + 1e-9))
        return cls(limit, period_s * limit / count)

    def ready_at(self, now: float) -> float:
        while self.times and self.times[0] <= now - self.window_s:
            self.times.popleft()
        return now if len(self.times) < self.limit else self.times[0] + self.window_s

    def record(self, at: float) -> None:
        self.times.append(at)
        if len(self.times) > self.limit:
            self.times.popleft()

    def idle(self, now: float) -> bool:
        return not self.times or self.times[-1] <= now - self.window_s


class _Key:
    def __init__(self, windows: list[SlidingWindow]) -> None:
        self.lock = asyncio.Lock()
        self.windows = windows


class RateLimiter:
    """Paces sends: `async with limiter.slot(chat_id) as generation: await send()`; then `accepted()`,
    or `refused(generation, retry_after_s)` on a 429."""

    _SWEEP_EVERY = 4096  # per-key entries kept before idle ones are dropped

    def __init__(
        self, limits: RateLimits | None = None, *, clock: Clock = time.monotonic, sleep: Sleep = asyncio.sleep
    ) -> None:
        self.limits = limits or RateLimits()
        self.clock = clock
        self.sleep = sleep
        self.paused_until = -math.inf
        self.pauses = 0
        self.pacing = Aimd(self.limits.per_s)
        self._overall = Gcra(self.limits.per_s, self.limits.burst)
        self._keys: dict[Hashable, _Key] = {}
        self._sweep_at = self._SWEEP_EVERY

    def pause_for(self, seconds: float) -> None:
        """Hold every send for `seconds` from now (a longer pause already running is kept)."""
        self.pauses += 1
        self.paused_until = max(self.paused_until, self.clock() + seconds)

    @property
    def rate_per_s(self) -> float:
        """The overall rate paced now (the configured one unless refusals lowered it)."""
        return self.pacing.rate_per_s

    def refused(self, generation: int, retry_after_s: float) -> bool:
        """A send started in `generation` got a 429: pause for retry_after and cut the rate (once per
        generation); returns whether the rate was cut."""
        self.pause_for(retry_after_s)
        if not self.pacing.refused(generation):
            return False
        self._overall.set_rate(self.pacing.rate_per_s)
        return True

    def accepted(self) -> None:
        """A send went through: the rate climbs one step back towards the configured one."""
        before = self.pacing.rate_per_s
        self.pacing.accepted()
        if self.pacing.rate_per_s != before:
            self._overall.set_rate(self.pacing.rate_per_s)

    async def acquire(self) -> int:
        """Wait for a slot of the overall rate (and for any pause to end); return the pacing generation
        the send starts in (pass it to `refused`)."""
        while True:
            now = self.clock()
            go = self._overall.reserve(now, self.paused_until)
            if go > now:
                await self.sleep(go - now)
            if self.clock() >= self.paused_until:
                return self.pacing.generation  # a pause that began while we slept sends us round again

    @asynccontextmanager
    async def slot(self, key: Hashable | None = None, *, group: bool = False) -> AsyncIterator[int]:
        """Hold a send slot for `key` (a chat) while the body runs; `group` adds the per-minute rule.

        Sends to one key are serialised: the next one waits for this one to finish, then for the key's
        window, then for the overall rate. The body gets the pacing generation (for `refused`).
        """
        if key is None:
            yield await self.acquire()
            return
        state = self._key(key, group)
        async with state.lock:
            await self._wait_for_key(state)
            generation = await self.acquire()
            try:
                yield generation
            finally:
                done = self.clock()
                for window in state.windows:
                    window.record(done)

    async def _wait_for_key(self, state: _Key) -> None:
        while True:
            now = self.clock()
            ready = max((w.ready_at(now) for w in state.windows), default=now)
            ready = max(ready, self.paused_until)
            if ready <= now:
                return
            await self.sleep(ready - now)

    def _key(self, key: Hashable, group: bool) -> _Key:
        state = self._keys.get(key)
        if state is None:
            windows = []
            if self.limits.per_key_per_s is not None:
                windows.append(SlidingWindow.from_rate(self.limits.per_key_per_s, 1.0))
            if group and self.limits.per_group_per_min is not None:
                windows.append(SlidingWindow.from_rate(self.limits.per_group_per_min, 60.0))
            state = self._keys[key] = _Key(windows)
            self._sweep()
        return state

    def _sweep(self) -> None:
        # A broadcast meets each chat once; forgetting idle keys keeps memory flat over a million chats.
        if len(self._keys) < self._sweep_at:
            return
        now = self.clock()
        for key, state in list(self._keys.items()):
            if not state.lock.locked() and all(w.idle(now) for w in state.windows):
                del self._keys[key]
        self._sweep_at = max(self._SWEEP_EVERY, 2 * len(self._keys))

    def tracked_keys(self) -> int:
        """How many per-key states are held (for tests of the sweep)."""
        return len(self._keys)
