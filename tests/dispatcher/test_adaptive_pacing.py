"""Adaptive pacing: the AIMD rule as a table and as properties, then the limiter against a slower server.

The server side is the stand-in's own flood control (an independent implementation of Telegram's
limits) on the same virtual clock, so minutes of pacing run in milliseconds and exactly.
"""

from __future__ import annotations

import asyncio

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dispatcher.pacing import CLIMB_SENDS, Aimd
from dispatcher.ratelimit import RateLimiter, RateLimits
from ritm.sandbox.telegram_limits import FloodControl, StandinLimits
from tests.telegram_support import VirtualTime


@pytest.fixture
def vtime() -> VirtualTime:
    return VirtualTime()


def test_a_refusal_halves_once_per_generation_and_successes_climb_back_linearly() -> None:
    aimd = Aimd(100.0)
    assert (aimd.rate_per_s, aimd.generation) == (100.0, 0)
    aimd.accepted()
    assert aimd.rate_per_s == 100.0  # never above the ceiling
    assert aimd.refused(0) is True
    assert (aimd.rate_per_s, aimd.generation) == (50.0, 1)
    assert aimd.refused(0) is False  # a send paced at the old rate says nothing new
    assert aimd.rate_per_s == 50.0
    assert aimd.refused(1) is True
    assert aimd.rate_per_s == 25.0
    rates = []
    for _ in range(CLIMB_SENDS):
        aimd.accepted()
        rates.append(aimd.rate_per_s)
    assert rates[-1] == pytest.approx(50.0)  # back at the refused rate after CLIMB_SENDS successes
    steps = {round(b - a, 9) for a, b in zip([25.0, *rates], rates, strict=False)}
    assert steps == {round(25.0 / CLIMB_SENDS, 9)}  # additive: every success adds the same step
    for _ in range(10 * CLIMB_SENDS):
        aimd.accepted()
    assert aimd.rate_per_s == 100.0


def test_the_floor_holds_and_the_rate_still_recovers_from_it() -> None:
    aimd = Aimd(25.0)
    for _ in range(20):
        aimd.refused(aimd.generation)
    assert aimd.rate_per_s == 1.0
    for _ in range(CLIMB_SENDS):
        aimd.accepted()
    assert aimd.rate_per_s > 1.0
    assert Aimd(0.5).floor_per_s == 0.5  # a ceiling below the floor is the floor


def test_a_nonsense_ceiling_is_refused() -> None:
    with pytest.raises(ValueError, match="must be positive"):
        Aimd(0.0)


_EVENTS = st.lists(st.sampled_from(["ok", "429", "stale429"]), max_size=400)


@given(ceiling=st.floats(min_value=0.1, max_value=10_000.0), events=_EVENTS)
def test_aimd_properties(ceiling: float, events: list[str]) -> None:
    aimd = Aimd(ceiling)
    for event in events:
        before, step, generation = aimd.rate_per_s, aimd.step_per_s, aimd.generation
        if event == "ok":
            aimd.accepted()
            assert aimd.rate_per_s == min(ceiling, before + step)
            assert aimd.step_per_s == step
        elif event == "429":
            assert aimd.refused(generation)
            assert aimd.rate_per_s == max(aimd.floor_per_s, before / 2)
            assert aimd.generation == generation + 1
        else:
            assert not aimd.refused(generation - 1)
            assert (aimd.rate_per_s, aimd.generation) == (before, generation)
        assert aimd.floor_per_s <= aimd.rate_per_s <= ceiling


async def _broadcast(
    vtime: VirtualTime, *, server_per_s: float, configured_per_s: float, messages: int
) -> tuple[RateLimiter, list[float], list[float], dict[int, int]]:
    """Send `messages` to distinct chats, 32 in flight, each call taking 5 ms of (virtual) network time;
    a 429 pauses, cuts and retries the same message. Returns the limiter, the instants of 429s and of
    accepted calls, and how many times each chat got its message."""
    flood = FloodControl(StandinLimits(per_bot_per_s=server_per_s), clock=vtime.clock)
    limiter = RateLimiter(RateLimits(per_s=configured_per_s), clock=vtime.clock, sleep=vtime.sleep)
    refused_at: list[float] = []
    accepted_at: list[float] = []
    delivered: dict[int, int] = {}
    gate = asyncio.Semaphore(32)

    async def send(chat: int) -> None:
        async with gate:
            while True:
                async with limiter.slot(chat) as generation:
                    await vtime.sleep(0.005)
                    retry_after = flood.admit(chat)
                if retry_after is None:
                    limiter.accepted()
                    accepted_at.append(vtime.now)
                    delivered[chat] = delivered.get(chat, 0) + 1
                    return
                refused_at.append(vtime.now)
                limiter.refused(generation, retry_after)

    await vtime.run(asyncio.gather(*(send(chat) for chat in range(1, messages + 1))))
    return limiter, refused_at, accepted_at, delivered


@pytest.mark.parametrize(
    ("server_per_s", "configured_per_s", "messages"),
    [(20.0, 100.0, 3000), (2.0, 25.0, 600), (30.0, 1000.0, 3000)],
)
async def test_a_slower_server_is_soon_asked_only_for_what_it_allows(
    vtime: VirtualTime, server_per_s: float, configured_per_s: float, messages: int
) -> None:
    t0 = vtime.now
    limiter, refused_at, accepted_at, delivered = await _broadcast(
        vtime, server_per_s=server_per_s, configured_per_s=configured_per_s, messages=messages
    )
    assert sorted(delivered) == list(range(1, messages + 1))
    assert set(delivered.values()) == {1}  # nothing lost, nothing twice
    late_calls = sum(1 for t in accepted_at + refused_at if t >= t0 + 60)
    late_429 = sum(1 for t in refused_at if t >= t0 + 60)
    assert late_calls > 100
    assert late_429 <= 0.05 * late_calls
    assert limiter.rate_per_s <= configured_per_s
    span = max(accepted_at) - min(accepted_at)
    achieved = (len(accepted_at) - 1) / span
    assert achieved >= 0.6 * server_per_s  # the sawtooth between L/2 and L averages about 3/4 of L
    print(  # the figures, for the report (pytest -s)
        f"server {server_per_s}/s, configured {configured_per_s}/s: {len(refused_at)} x 429 in "
        f"{len(refused_at) + len(accepted_at)} calls, after 60 s {late_429}/{late_calls}, "
        f"{achieved:.1f} msg/s"
    )


async def test_a_server_at_the_configured_rate_never_sees_a_429(vtime: VirtualTime) -> None:
    limiter, refused_at, accepted_at, _ = await _broadcast(
        vtime, server_per_s=30.0, configured_per_s=30.0, messages=900
    )
    assert refused_at == []
    assert limiter.rate_per_s == 30.0
    assert (len(accepted_at) - 1) / (max(accepted_at) - min(accepted_at)) == pytest.approx(30.0, rel=0.01)
