"""TelegramChannel against the Bot API stand-in over real HTTP: delivery, error mapping, 429 storms."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest
from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer

from dispatcher.channels.base import Attachment, Button, TelegramMessage
from dispatcher.channels.telegram import TelegramChannel, escape_html
from dispatcher.ratelimit import RateLimits
from ritm.sandbox import DEFAULT_TOKEN, TelegramStandin
from ritm.settings import TelegramSettings
from tests.telegram_support import standin_bot

# The channel's own limiter is set loose in most tests so the stand-in is what enforces (or not).
LOOSE = RateLimits(per_s=1000.0, per_key_per_s=None, per_group_per_min=None)


@pytest.fixture
async def standin() -> AsyncIterator[TelegramStandin]:
    async with TelegramStandin() as server:
        yield server


@pytest.fixture
async def bot(standin: TelegramStandin) -> AsyncIterator[Bot]:
    async with standin_bot(standin) as client:
        yield client


async def test_send_delivers_escaped_html_buttons_and_no_preview(standin: TelegramStandin, bot: Bot) -> None:
    channel = TelegramChannel(bot, LOOSE)
    name = escape_html('<Иван & "Co">')
    message = TelegramMessage(
        chat_id=1001,
        text=f"Привет, <b>{name}</b>! Эфир в 19:00 https://school.example/live",
        buttons=(
            (Button("Присоединиться", url="https://school.example/live"),),
            (
                Button("В календарь", url="https://ritm.example/e/tok.ics"),
                Button("Не сейчас", callback_data="later"),
            ),
        ),
    )
    result = await channel.send(message)
    assert (result.kind, result.provider_id) == ("sent", "1001:1")
    [stored] = standin.sent(1001)
    assert stored.text == 'Привет, <Иван & "Co">! Эфир в 19:00 https://school.example/live'
    assert stored.parse_mode == "HTML" and stored.link_preview_disabled
    assert [(b["text"], b.get("url"), b.get("callback_data")) for b in stored.buttons()] == [
        ("Присоединиться", "https://school.example/live", None),
        ("В календарь", "https://ritm.example/e/tok.ics", None),
        ("Не сейчас", None, "later"),
    ]


@pytest.mark.parametrize(
    ("setup", "chat_id", "text", "kind", "detail"),
    [
        ("block", 2001, "hi", "blocked", "bot was blocked by the user"),
        ("missing", 2002, "hi", "bad_address", "chat not found"),
        (None, -100777, "hi", "bad_address", "chat not found"),
        (None, 2003, "Скидка <50%", "failed", "can't parse entities"),
        (None, 2004, "x" * 5000, "failed", "message is too long"),
        ("fail500", 2005, "hi", "retry", "Internal Server Error"),
        ("fail502", 2006, "hi", "retry", "Bad Gateway"),
    ],
)
async def test_provider_errors_map_to_result_kinds(
    standin: TelegramStandin, bot: Bot, setup: str | None, chat_id: int, text: str, kind: str, detail: str
) -> None:
    if setup == "block":
        standin.block(chat_id)
    elif setup == "missing":
        standin.mark_missing(chat_id)
    elif setup == "fail500":
        standin.fail_next()
    elif setup == "fail502":
        standin.fail_next(code=502, description="Bad Gateway")
    result = await TelegramChannel(bot, LOOSE).send(TelegramMessage(chat_id=chat_id, text=text))
    assert result.kind == kind
    assert detail in result.detail
    assert standin.sent(chat_id) == []


async def test_a_button_without_action_fails_before_any_request(standin: TelegramStandin, bot: Bot) -> None:
    result = await TelegramChannel(bot, LOOSE).send(
        TelegramMessage(chat_id=5, text="x", buttons=((Button("ничего"),),))
    )
    assert result.kind == "failed" and "needs exactly one of url and callback_data" in result.detail
    assert standin.requests["sendMessage"] == 0


async def test_network_errors_and_a_rejected_token_are_retried_later() -> None:
    async with TelegramStandin(tokens={"1:other"}) as standin, standin_bot(standin) as wrong_token:
        result = await TelegramChannel(wrong_token, LOOSE).send(TelegramMessage(chat_id=1, text="x"))
        assert (result.kind, result.detail) == ("retry", "Unauthorized")
        base_url = standin.base_url
    gone = Bot(DEFAULT_TOKEN, session=AiohttpSession(api=TelegramAPIServer.from_base(base_url)))
    try:
        result = await TelegramChannel(gone, LOOSE).send(TelegramMessage(chat_id=1, text="x"))
    finally:
        await gone.session.close()
    assert result.kind == "retry" and "ClientConnectorError" in result.detail


async def test_a_429_storm_is_ridden_out_with_every_message_delivered_once(standin: TelegramStandin) -> None:
    standin.set_limits(per_bot_per_s=5.0)  # the server allows 5/s, the channel is misconfigured at 50/s
    chats = list(range(3001, 3026))
    async with standin_bot(standin) as bot:
        channel = TelegramChannel(bot, RateLimits(per_s=50.0))
        results = await asyncio.gather(
            *(channel.send(TelegramMessage(chat_id=c, text=f"<b>#{c}</b>")) for c in chats)
        )
    assert [r.kind for r in results] == ["sent"] * len(chats)
    assert standin.count_429 > 0 and channel.count_429 == standin.count_429
    assert channel.limiter.pauses == channel.count_429
    delivered = [m.chat_id for m in standin.all_sent()]
    assert sorted(delivered) == chats  # nothing lost, nothing twice
    assert all(m.text == f"#{m.chat_id}" for m in standin.all_sent())


async def test_pacing_adapts_to_a_server_allowing_a_fifth_of_the_configured_rate(
    standin: TelegramStandin,
) -> None:
    """The stand-in allows 20/s, the channel is configured for 100/s: after a warm-up of 100 accepted
    messages at most 5 % of calls get a 429, and every message arrives exactly once."""
    standin.set_limits(per_bot_per_s=20.0)
    chats = list(range(7001, 7301))
    gate = asyncio.Semaphore(32)  # in flight, like the outbox worker
    warm: dict[str, int] = {}

    async def warmed_up() -> None:
        await standin.wait_for(lambda: len(standin.all_sent()) >= 100, timeout_s=60)
        warm.update(calls=standin.requests["sendMessage"], refused=standin.count_429)

    async with standin_bot(standin) as bot:
        channel = TelegramChannel(bot, RateLimits(per_s=100.0))

        async def send(chat: int) -> str:
            async with gate:
                return (await channel.send(TelegramMessage(chat_id=chat, text=f"#{chat}"))).kind

        watcher = asyncio.create_task(warmed_up())
        kinds = await asyncio.gather(*(send(c) for c in chats))
        await watcher
    assert kinds == ["sent"] * len(chats)
    assert sorted(m.chat_id for m in standin.all_sent()) == chats  # nothing lost, nothing twice
    assert warm["refused"] > 0  # the server did refuse the configured rate at first
    late_calls = standin.requests["sendMessage"] - warm["calls"]
    late_refused = standin.count_429 - warm["refused"]
    assert late_refused <= 0.05 * late_calls, (late_refused, late_calls)
    assert channel.limiter.rate_per_s < 100.0
    assert channel.count_429 == standin.count_429


async def test_a_pause_longer_than_the_budget_hands_the_message_back_to_the_outbox(
    standin: TelegramStandin,
) -> None:
    standin.set_limits(per_chat_per_s=0.1)  # a second message to one chat waits 10 s on the server
    async with standin_bot(standin) as bot:
        channel = TelegramChannel(bot, LOOSE, max_wait_s=2.0)
        first = await channel.send(TelegramMessage(chat_id=4001, text="one"))
        second = await channel.send(TelegramMessage(chat_id=4001, text="two"))
    assert first.kind == "sent"
    assert (second.kind, second.retry_after_s) == ("retry", 10.0)
    assert channel.limiter.paused_until > time.monotonic() + 5  # the channel itself holds off too
    assert [m.text for m in standin.sent(4001)] == ["one"]


async def test_the_default_limiter_keeps_one_chat_under_one_per_second_without_429(
    standin: TelegramStandin, bot: Bot
) -> None:
    channel = TelegramChannel(bot, TelegramSettings())
    started = time.monotonic()
    results = [await channel.send(TelegramMessage(chat_id=5001, text=f"{i}")) for i in range(3)]
    assert [r.kind for r in results] == ["sent"] * 3
    assert standin.count_429 == 0
    assert time.monotonic() - started >= 2.0


def test_limits_come_from_the_telegram_settings_section(bot: Bot) -> None:
    settings = TelegramSettings(rate_per_s=1000.0, per_chat_per_s=0.5, per_group_per_min=10.0)
    channel = TelegramChannel(bot, settings)
    assert channel.limiter.limits == RateLimits(per_s=1000.0, per_key_per_s=0.5, per_group_per_min=10.0)
    assert TelegramChannel(bot).limiter.limits == RateLimits()  # 25/s, 1/s per chat, 20/min per group


async def test_an_ics_invitation_goes_as_a_document(standin: TelegramStandin, bot: Bot) -> None:
    ics = b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nEND:VCALENDAR\r\n"
    attachment = Attachment("webinar.ics", "text/calendar", ics)
    result = await TelegramChannel(bot, LOOSE).send_document(6001, attachment, caption="<b>Эфир</b> 27.11")
    assert result.kind == "sent"
    [stored] = standin.sent(6001)
    assert stored.document is not None and stored.document.data == ics
    assert stored.document.filename == "webinar.ics" and stored.text == "Эфир 27.11"
