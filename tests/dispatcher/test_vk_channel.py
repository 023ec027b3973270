"""VkChannel against the VK API stand-in over real HTTP: delivery, each failure mode VK has, idempotency."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator

import aiohttp
import pytest

from dispatcher.channels.base import Button, VkMessage
from dispatcher.channels.vk import PAUSE_S, VkChannel, random_id_of
from dispatcher.ratelimit import RateLimiter, RateLimits
from ritm.sandbox.vk_api import DEFAULT_VK_TOKEN, VkStandin
from tests.telegram_support import VirtualTime

ALLOWED, STRANGER = 501, 502


@pytest.fixture
async def standin() -> AsyncIterator[VkStandin]:
    async with VkStandin(allowed=[ALLOWED]) as server:
        yield server


@pytest.fixture
async def channel(standin: VkStandin) -> AsyncIterator[VkChannel]:
    vk = VkChannel(DEFAULT_VK_TOKEN, api_url=standin.url, rate_per_s=1000.0, max_wait_s=0.0)
    yield vk
    await vk.close()


def message(peer_id: int = ALLOWED, random_id: int = 7, text: str = "Эфир в 19:00") -> VkMessage:
    return VkMessage(peer_id=peer_id, text=text, random_id=random_id)


async def test_a_message_with_link_buttons_reaches_the_user(standin: VkStandin, channel: VkChannel) -> None:
    buttons = ((Button("Присоединиться", url="https://school.example/live"),),)
    result = await channel.send(VkMessage(ALLOWED, "Эфир в 19:00", random_id=42, buttons=buttons))
    assert (result.kind, result.provider_id) == ("sent", f"vk:{ALLOWED}:1")
    [sent] = standin.sent_to(ALLOWED)
    assert (sent.text, sent.random_id) == ("Эфир в 19:00", 42)
    assert sent.links() == [("Присоединиться", "https://school.example/live")]
    assert sent.keyboard is not None and sent.keyboard["inline"] is True


async def test_error_901_a_user_without_permission_is_blocked(standin: VkStandin, channel: VkChannel) -> None:
    result = await channel.send(message(peer_id=STRANGER))
    assert result.kind == "blocked" and "901" in result.detail
    assert standin.sent == []


async def test_a_lost_answer_and_its_retry_make_one_message(standin: VkStandin, channel: VkChannel) -> None:
    standin.lose_next_answers(1)
    first = await channel.send(message(random_id=99))
    assert first.kind == "retry"  # we cannot know it arrived
    again = await channel.send(message(random_id=99))
    assert (again.kind, again.provider_id) == ("sent", f"vk:{ALLOWED}:1")
    assert len(standin.sent_to(ALLOWED)) == 1 and standin.calls == 2
    other = await channel.send(message(random_id=100))  # another row: another message
    assert other.provider_id == f"vk:{ALLOWED}:2"


async def test_network_down_is_a_retry_and_the_next_attempt_goes(standin: VkStandin) -> None:
    url = standin.url
    await standin.stop()
    vk = VkChannel(DEFAULT_VK_TOKEN, api_url=url, max_wait_s=0.0)
    try:
        result = await vk.send(message())
        assert result.kind == "retry" and "unreachable" in result.detail
    finally:
        await vk.close()
    async with VkStandin(allowed=[ALLOWED]) as back:
        vk = VkChannel(DEFAULT_VK_TOKEN, api_url=back.url)
        try:
            assert (await vk.send(message())).kind == "sent"
        finally:
            await vk.close()
        assert len(back.sent) == 1


async def test_a_bad_token_keeps_the_rows_and_is_logged_once(
    standin: VkStandin, caplog: pytest.LogCaptureFixture
) -> None:
    vk = VkChannel("vk1.a.wrong", api_url=standin.url)
    try:
        with caplog.at_level(logging.ERROR, logger="dispatcher.channels.vk"):
            results = [await vk.send(message(random_id=n)) for n in (1, 2, 3)]
    finally:
        await vk.close()
    assert {r.kind for r in results} == {"retry"} and "VK error 5" in results[0].detail
    assert [r.event for r in caplog.records if hasattr(r, "event")] == ["vk_token_rejected"]
    assert standin.sent == []


async def test_flood_control_backs_off_and_cuts_the_rate(standin: VkStandin, channel: VkChannel) -> None:
    standin.fail_next(9)
    result = await channel.send(message())
    assert (result.kind, result.retry_after_s) == ("retry", PAUSE_S[9])
    assert channel.limiter.rate_per_s == pytest.approx(500.0) and channel.refusals == 1
    assert standin.sent == []


async def test_too_many_requests_pauses_then_every_message_goes_once() -> None:
    """The stand-in allows 3 calls a second; the channel asks for 50/s, gets error 6, pauses on its
    (virtual) clock, and sends every message exactly once."""
    vtime = VirtualTime()
    async with VkStandin(allowed=[ALLOWED], rate_per_s=3, clock=vtime.clock) as server:
        limiter = RateLimiter(
            RateLimits(per_s=50.0, per_key_per_s=None, per_group_per_min=None),
            clock=vtime.clock,
            sleep=vtime.sleep,
        )
        vk = VkChannel(DEFAULT_VK_TOKEN, api_url=server.url, limiter=limiter, clock=vtime.clock)
        try:
            results = [await vtime.run(vk.send(message(random_id=n))) for n in range(1, 11)]
        finally:
            await vk.close()
    assert {r.kind for r in results} == {"sent"}
    assert sorted(m.random_id for m in server.sent) == list(range(1, 11))
    assert vk.refusals >= 1 and limiter.rate_per_s < 50.0


async def test_a_malformed_message_fails_without_retrying(standin: VkStandin, channel: VkChannel) -> None:
    too_long = await channel.send(message(text="я" * 4097))
    assert too_long.kind == "failed" and "914" in too_long.detail
    no_url = await channel.send(VkMessage(ALLOWED, "x", 1, buttons=((Button("Да", callback_data="yes"),),)))
    assert no_url.kind == "failed"
    assert standin.sent == []


async def test_the_stand_in_speaks_vk_wire_format_to_any_client(standin: VkStandin) -> None:
    form = {"access_token": DEFAULT_VK_TOKEN, "v": "5.199", "peer_id": str(STRANGER), "random_id": "5"}
    async with aiohttp.ClientSession() as session:
        async with session.post(f"{standin.url}/method/messages.send", data={**form, "message": "hi"}) as r:
            assert r.status == 200
            error = (await r.json())["error"]
        async with session.post(f"{standin.url}/_standin/allow", json={"user_id": STRANGER}) as r:
            assert r.status == 200
        async with session.post(f"{standin.url}/method/messages.send", data={**form, "message": "hi"}) as r:
            answer = await r.json()
        async with session.get(f"{standin.url}/_standin/sent") as r:
            sent = (await r.json())["sent"]
    assert error["error_code"] == 901 and error["error_msg"].startswith("Can't send messages")
    assert {"key": "method", "value": "messages.send"} in error["request_params"]
    assert all(p["key"] != "access_token" for p in error["request_params"])
    assert answer == {"response": 1}
    assert [(m["peer_id"], m["text"]) for m in sent] == [(STRANGER, "hi")]
    assert json.dumps(answer)  # plain JSON, as VK answers


def test_random_id_is_stable_per_row_and_differs_between_rows() -> None:
    first = random_id_of(17, "digest-48", "c1", 0)
    assert first == random_id_of(17, "digest-48", "c1", 0)
    assert 0 < first < 2**31
    others = {random_id_of(17, "digest-48", "c1", 1), random_id_of(18, "digest-48", "c1", 0)}
    assert first not in others and len(others) == 2
