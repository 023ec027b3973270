"""Updates injected into the stand-in reach an aiogram Dispatcher (polling or feed) as Telegram's would."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiogram import Bot, Dispatcher, F, Router
from aiogram.filters import CommandObject, CommandStart
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from aiogram.utils.text_decorations import html_decoration

from ritm.sandbox import DEFAULT_TOKEN, TelegramStandin


def _router() -> Router:
    """A tiny subscriber-side bot: deep link, echo, document receipt, an approval button."""
    router = Router()

    @router.message(CommandStart(deep_link=True))
    async def start(message: Message, command: CommandObject) -> None:
        await message.answer(f"linked: <code>{html_decoration.quote(command.args or '')}</code>")

    @router.message(F.document)
    async def document(message: Message) -> None:
        assert message.document is not None
        await message.answer(f"got {message.document.file_name} ({message.document.file_size} bytes)")

    @router.message(F.text)
    async def echo(message: Message) -> None:
        assert message.from_user is not None and message.text is not None
        await message.answer(
            f"echo: {html_decoration.quote(message.text)} ({message.from_user.language_code})"
        )

    @router.callback_query(F.data.startswith("approve:"))
    async def approve(callback: CallbackQuery) -> None:
        assert isinstance(callback.message, Message) and callback.data is not None
        await callback.answer("Одобрено")
        await callback.message.edit_text(f"✅ {callback.data}", reply_markup=None)

    return router


@pytest.fixture
async def polling(standin: TelegramStandin, bot: Bot) -> AsyncIterator[Dispatcher]:
    standin.set_limits(enabled=False)  # replies to one chat come faster than 1/s here
    dp = Dispatcher()
    dp.include_router(_router())
    task = asyncio.create_task(dp.start_polling(bot, handle_signals=False, close_bot_session=False))
    await standin.wait_for(lambda: standin.requests["getUpdates"] > 0)
    try:
        yield dp
    finally:
        await dp.stop_polling()
        await task


async def test_polling_echoes_a_user_message(standin: TelegramStandin, polling: Dispatcher) -> None:
    standin.user_message(555, "привет <всем>", language_code="en", first_name="Анна")
    [reply] = await standin.wait_for_sent(555)
    assert reply.text == "echo: привет <всем> (en)"
    await standin.wait_until_consumed()  # the next getUpdates confirmed the update by its offset
    assert standin.pending_updates() == 0


async def test_start_deep_link_and_document_upload(standin: TelegramStandin, polling: Dispatcher) -> None:
    standin.start_command(601, "c-42.Zx_9")
    standin.user_document(602, "base.csv", b"id,email\n1,a@b.c\n", mime_type="text/csv")
    [linked] = await standin.wait_for_sent(601)
    [got] = await standin.wait_for_sent(602)
    assert linked.text == "linked: c-42.Zx_9" and linked.entities[0]["type"] == "code"
    assert got.text == "got base.csv (17 bytes)"


async def test_callback_press_is_answered_and_the_card_edited(
    standin: TelegramStandin, bot: Bot, polling: Dispatcher
) -> None:
    keyboard = InlineKeyboardMarkup(
        inline_keyboard=[[InlineKeyboardButton(text="Одобрить", callback_data="approve:digest-48")]]
    )
    standin.add_chat(-1001, title="CRM team")
    await bot.send_message(-1001, "Рассылка digest-48: 1 200 получателей", reply_markup=keyboard)
    [card] = standin.sent(-1001)
    query_id = standin.press_button(77, card, text="Одобрить")
    await standin.wait_for(lambda: standin.callback_answer(query_id) is not None and card.edited)
    assert standin.callback_answer(query_id) == {
        "text": "Одобрено",
        "show_alert": False,
        "url": None,
        "cache_time": 0,
    }
    assert card.text == "✅ approve:digest-48" and card.buttons() == []
    with pytest.raises(ValueError, match="no callback button"):
        standin.press_button(77, card, data="reject:digest-48")


async def test_feed_update_parses_the_injected_json(standin: TelegramStandin, bot: Bot) -> None:
    dp = Dispatcher()
    dp.include_router(_router())
    raw = standin.user_message(700, "/help me", language_code="ru")
    update = Update.model_validate(raw, context={"bot": bot})
    assert update.message is not None and update.message.entities is not None
    assert update.message.entities[0].type == "bot_command" and update.message.entities[0].length == 5
    await dp.feed_update(bot, update)
    assert [m.text for m in standin.sent(700)] == ["echo: /help me (ru)"]


async def _get_updates(standin: TelegramStandin, **params: Any) -> tuple[int, Any]:
    async with (
        aiohttp.ClientSession() as http,
        http.post(f"{standin.base_url}/bot{DEFAULT_TOKEN}/getUpdates", json=params) as resp,
    ):
        return resp.status, await resp.json()


async def test_long_poll_wakes_on_an_update_and_offset_confirms(standin: TelegramStandin) -> None:
    started = time.monotonic()
    poll = asyncio.create_task(_get_updates(standin, timeout=30))
    await standin.wait_for(lambda: standin.requests["getUpdates"] == 1)
    first = standin.user_message(1, "a")
    status, body = await poll
    assert status == 200 and [u["update_id"] for u in body["result"]] == [first["update_id"]]
    assert time.monotonic() - started < 10  # woke at once, not after the 30 s timeout
    second = standin.user_message(1, "b")
    _, body = await _get_updates(standin, offset=first["update_id"] + 1, allowed_updates=["message"])
    assert [u["update_id"] for u in body["result"]] == [second["update_id"]]
    await _get_updates(standin, offset=second["update_id"] + 1)
    assert standin.pending_updates() == 0


async def test_a_second_poller_ends_the_first_with_409(standin: TelegramStandin) -> None:
    older = asyncio.create_task(_get_updates(standin, timeout=30))
    await standin.wait_for(lambda: standin.requests["getUpdates"] == 1)
    newer = asyncio.create_task(_get_updates(standin, timeout=1))
    status, body = await older
    assert status == 409 and body["description"].startswith(
        "Conflict: terminated by other getUpdates request"
    )
    assert (await newer)[1] == {"ok": True, "result": []}


async def test_get_updates_is_refused_while_a_webhook_is_set(standin: TelegramStandin, bot: Bot) -> None:
    await bot.set_webhook("https://ritm.example/hook")
    status, body = await _get_updates(standin)
    assert status == 409 and "webhook is active" in body["description"]
    await bot.delete_webhook(drop_pending_updates=True)
    assert (await _get_updates(standin))[0] == 200


async def test_control_api_drives_the_stand_in_from_another_process(
    standin: TelegramStandin, bot: Bot
) -> None:
    base = f"{standin.base_url}/_standin"
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{base}/updates/start", json={"user_id": 9, "payload": "tok"}) as resp:
            assert (await resp.json())["message"]["text"] == "/start tok"
        async with http.post(f"{base}/updates/message", json={"user_id": "nine", "text": "x"}) as resp:
            assert resp.status == 400 and (await resp.json()) == {"error": "user_id must be an integer"}
        assert standin.pending_updates() == 1  # the bad request added nothing
        card = await bot.send_message(
            9,
            "go?",
            reply_markup=InlineKeyboardMarkup(
                inline_keyboard=[[InlineKeyboardButton(text="Да", callback_data="yes")]]
            ),
        )
        body = {"user_id": 9, "chat_id": 9, "message_id": card.message_id, "data": "yes"}
        async with http.post(f"{base}/updates/callback", json=body) as resp:
            query_id = (await resp.json())["callback_query_id"]
        await bot.answer_callback_query(query_id, text="ok")
        async with http.get(f"{base}/callbacks/{query_id}") as resp:
            assert (await resp.json())["text"] == "ok"
        async with http.post(f"{base}/chats/9/block") as resp:
            assert resp.status == 200
        async with http.get(f"{base}/chats/9/messages") as resp:
            [summary] = await resp.json()
            assert (
                summary["text"] == "go?" and summary["reply_markup"]["inline_keyboard"][0][0]["text"] == "Да"
            )
        async with http.get(f"{base}/stats") as resp:
            stats = await resp.json()
    assert 9 in standin.world.blocked
    assert stats["sent"] == 1 and stats["pending_updates"] == 2 and stats["requests"]["sendMessage"] == 1
