"""The client-side limiter (dispatcher.ratelimit) that keeps the channel under the stand-in's limits.

Driven on virtual time: every wait is exact and no test sleeps on the wall clock.
"""

from __future__ import annotations

import asyncio
import itertools

import pytest

from dispatcher.ratelimit import Gcra, RateLimiter, RateLimits, SlidingWindow
from tests.telegram_support import VirtualTime


def _limiter(vtime: VirtualTime, **limits: float | int | None) -> RateLimiter:
    return RateLimiter(RateLimits(**limits), clock=vtime.clock, sleep=vtime.sleep)  # type: ignore[arg-type]


async def _send_all(
    limiter: RateLimiter,
    vtime: VirtualTime,
    keys: list[int | None],
    *,
    group: bool = False,
    work_s: float = 0.0,
) -> list[float]:
    """Start one send per key at once; return the instant each send was let through, in key order."""
    starts: list[float] = [0.0] * len(keys)

    async def one(index: int, key: int | None) -> None:
        async with limiter.slot(key, group=group):
            starts[index] = vtime.now
            if work_s:
                await vtime.sleep(work_s)

    await vtime.run(asyncio.gather(*(one(i, k) for i, k in enumerate(keys))))
    return starts


async def test_overall_rate_paces_sends_exactly(vtime: VirtualTime) -> None:
    limiter = _limiter(vtime, per_s=25.0, per_key_per_s=None, per_group_per_min=None)
    starts = sorted(await _send_all(limiter, vtime, list(range(100))))
    gaps = [b - a for a, b in itertools.pairwise(starts)]
    assert min(gaps) == pytest.approx(0.04)
    assert starts[-1] - starts[0] == pytest.approx(99 * 0.04)


async def test_burst_lets_a_rested_limiter_send_back_to_back(vtime: VirtualTime) -> None:
    limiter = _limiter(vtime, per_s=10.0, burst=5, per_key_per_s=None)
    starts = sorted(await _send_all(limiter, vtime, list(range(8))))
    t0 = starts[0]
    assert starts[:5] == [t0] * 5
    assert starts[5:] == pytest.approx([t0 + 0.1, t0 + 0.2, t0 + 0.3])


async def test_one_chat_waits_a_second_after_its_previous_send_finished(vtime: VirtualTime) -> None:
    limiter = _limiter(vtime, per_s=1000.0, per_key_per_s=1.0)
    starts = await _send_all(limiter, vtime, [7, 7, 7, 8, 9], work_s=0.25)
    t0 = min(starts)
    same_chat = sorted(starts[:3])
    # each send to chat 7 starts 1 s after the previous one *finished* (0.25 s of work)
    assert same_chat == pytest.approx([t0, t0 + 1.25, t0 + 2.5])
    assert max(starts[3:]) - t0 < 0.01  # other chats are not held up by chat 7


async def test_group_gets_twenty_per_minute(vtime: VirtualTime) -> None:
    limiter = _limiter(vtime, per_s=1000.0, per_key_per_s=None, per_group_per_min=20.0)
    starts = sorted(await _send_all(limiter, vtime, [-100] * 25, group=True))
    t0 = starts[0]
    assert all(s - t0 < 0.1 for s in starts[:20])
    assert starts[20] - t0 == pytest.approx(60.0, abs=0.1)
    in_any_minute = max(sum(1 for s in starts if a <= s < a + 60.0) for a in starts)
    assert in_any_minute == 20


async def test_pause_holds_everything_then_resumes_at_the_paced_rate(vtime: VirtualTime) -> None:
    limiter = _limiter(vtime, per_s=10.0, per_key_per_s=None)
    starts: list[float] = []

    async def sender(i: int) -> None:
        async with limiter.slot(i):
            starts.append(vtime.now)
            if i == 2:
                limiter.pause_for(5.0)  # as on a 429 with retry_after=5

    t0 = vtime.now
    await vtime.run(asyncio.gather(*(sender(i) for i in range(8))))
    pause_end = t0 + 0.2 + 5.0
    assert not [s for s in starts if t0 + 0.2 < s < pause_end]
    after = sorted(s for s in starts if s >= pause_end)
    assert len(after) == 5
    assert after[0] == pytest.approx(pause_end)
    gaps = [b - a for a, b in itertools.pairwise(after)]
    assert min(gaps) >= 0.1 - 1e-9  # no burst when the pause ends
    assert limiter.pauses == 1


async def test_a_shorter_pause_never_cuts_a_longer_one(vtime: VirtualTime) -> None:
    limiter = _limiter(vtime)
    limiter.pause_for(10.0)
    limiter.pause_for(2.0)
    assert limiter.paused_until == vtime.now + 10.0


async def test_idle_chats_are_forgotten_so_memory_stays_flat(vtime: VirtualTime) -> None:
    limiter = _limiter(vtime, per_s=1_000_000.0, per_key_per_s=1.0)
    for batch in range(4):
        await _send_all(limiter, vtime, list(range(batch * 2500, (batch + 1) * 2500)))
        await vtime.run(vtime.sleep(2.0))
    assert limiter.tracked_keys() < 6000  # 10 000 chats went through


def test_gcra_and_window_arithmetic() -> None:
    gcra = Gcra(per_s=2.0, burst=2)
    assert [gcra.reserve(0.0) for _ in range(4)] == [0.0, 0.0, 0.5, 1.0]
    assert gcra.reserve(0.0, not_before=10.0) == 10.0
    window = SlidingWindow.from_rate(0.5, 1.0)  # half a message per second = 1 per 2 s
    assert (window.limit, window.window_s) == (1, 2.0)
    window.record(3.0)
    assert window.ready_at(3.5) == 5.0
    assert window.ready_at(5.0) == 5.0


@pytest.mark.parametrize("field", ["per_s", "per_key_per_s", "per_group_per_min"])
def test_nonsense_limits_are_refused_in_one_sentence(field: str) -> None:
    with pytest.raises(ValueError, match=f"{field} must be positive"):
        RateLimits(**{field: 0})
