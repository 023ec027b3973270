"""The stand-in enforces Telegram's send limits with real 429s and a whole-second retry_after; outages."""

from __future__ import annotations

import asyncio

import aiohttp
import pytest
from aiogram.exceptions import TelegramRetryAfter, TelegramServerError

from ritm.sandbox import DEFAULT_TOKEN, StandinLimits, TelegramStandin
from ritm.sandbox.telegram_limits import FloodControl
from tests.telegram_support import standin_bot


class Frozen:
    """A stand-in clock that moves only when told: the limit logic without wall time."""

    def __init__(self) -> None:
        self.now = 50.0

    def __call__(self) -> float:
        return self.now


def test_per_bot_bucket_allows_one_second_of_burst_then_the_rate() -> None:
    clock = Frozen()
    flood = FloodControl(StandinLimits(per_bot_per_s=30.0), clock)
    assert [flood.admit(chat) for chat in range(1, 31)] == [None] * 30
    assert flood.admit(31) == 1
    clock.now += 1 / 30
    assert flood.admit(31) is None
    assert flood.admit(32) == 1
    assert flood.count_429 == 2


def test_private_chat_gets_one_message_per_second() -> None:
    clock = Frozen()
    flood = FloodControl(StandinLimits(), clock)
    assert flood.admit(7) is None
    clock.now += 0.999
    assert flood.admit(7) == 1
    clock.now += 0.001
    assert flood.admit(7) is None


def test_group_gets_twenty_per_sliding_minute_and_a_long_retry_after() -> None:
    clock = Frozen()
    flood = FloodControl(StandinLimits(per_chat_per_s=100.0), clock)
    for _ in range(20):
        assert flood.admit(-100) is None
        clock.now += 0.5
    assert flood.admit(-100) == 50  # the first of the 20 leaves the window at +60 s
    clock.now = 50.0 + 60.0
    assert flood.admit(-100) is None
    assert flood.admit(-100) == 1


def test_refusals_consume_nothing_and_limits_can_be_switched_off() -> None:
    clock = Frozen()
    flood = FloodControl(StandinLimits(per_bot_per_s=2.0), clock)
    assert [flood.admit(c) for c in (1, 2, 3, 3, 3)] == [None, None, 1, 1, 1]
    clock.now += 0.5
    assert flood.admit(3) is None  # three refusals did not push the refill further out
    flood.set_limits(enabled=False)
    assert all(flood.admit(1) is None for _ in range(100))


async def test_a_burst_over_http_gets_real_429s_with_retry_after() -> None:
    clock = Frozen()  # frozen so exactly one second's worth passes, however slow the machine
    async with TelegramStandin(limits=StandinLimits(per_bot_per_s=30.0), clock=clock) as standin:
        url = f"{standin.base_url}/bot{DEFAULT_TOKEN}/sendMessage"
        async with aiohttp.ClientSession() as http:

            async def send(chat_id: int) -> tuple[int, dict[str, object]]:
                async with http.post(url, json={"chat_id": chat_id, "text": "burst"}) as resp:
                    return resp.status, await resp.json()

            answers = await asyncio.gather(*(send(1000 + i) for i in range(60)))
        refused = [body for status, body in answers if status == 429]
        assert sum(1 for status, _ in answers if status == 200) == 30
        assert len(refused) == 30 == standin.count_429
        assert refused[0] == {
            "ok": False,
            "error_code": 429,
            "description": "Too Many Requests: retry after 1",
            "parameters": {"retry_after": 1},
        }
        assert len(standin.all_sent()) == 30


async def test_aiogram_sees_telegram_retry_after_for_a_hot_chat() -> None:
    clock = Frozen()
    async with TelegramStandin(clock=clock) as standin, standin_bot(standin) as bot:
        await bot.send_message(42, "one")
        with pytest.raises(TelegramRetryAfter) as caught:
            await bot.send_message(42, "two")
        assert caught.value.retry_after == 1
        clock.now += 1.0
        await bot.send_message(42, "two")
        assert [m.text for m in standin.sent(42)] == ["one", "two"]


async def test_limits_change_at_run_time_over_the_control_api(standin: TelegramStandin) -> None:
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{standin.base_url}/_standin/limits", json={"per_bot_per_s": 5}) as resp:
            assert resp.status == 200 and (await resp.json())["per_bot_per_s"] == 5
        async with http.post(f"{standin.base_url}/_standin/limits", json={"per_bot_per_sec": 5}) as resp:
            assert resp.status == 400
            assert "unknown limit 'per_bot_per_sec'" in (await resp.json())["error"]
        async with http.post(f"{standin.base_url}/_standin/limits", json={"burst_s": -1}) as resp:
            assert resp.status == 400
    assert standin.flood.limits.per_bot_per_s == 5 and standin.flood.limits.burst_s == 1.0


async def test_an_outage_answers_every_call_with_a_5xx_until_it_ends(standin: TelegramStandin) -> None:
    async with aiohttp.ClientSession() as http, standin_bot(standin) as bot:
        url = f"{standin.base_url}/_standin/outage"
        for bad in ({"code": 404}, {"code": "x"}, {"code": 502, "description": ""}):
            async with http.post(url, json=bad) as resp:
                assert resp.status == 400
        assert standin.outage is None  # a refused switch changes nothing
        async with http.post(url, json={"code": 502}) as resp:
            assert resp.status == 200
        with pytest.raises(TelegramServerError, match="Bad Gateway"):
            await bot.get_me()
        with pytest.raises(TelegramServerError):
            await bot.get_updates(timeout=0)
        async with http.post(url, json={"code": None}) as resp:
            assert resp.status == 200
        assert (await bot.get_me()).is_bot
