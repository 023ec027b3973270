"""The stand-in speaks the Bot API wire format: aiogram and raw HTTP clients get Telegram's answers."""

from __future__ import annotations

import asyncio
import json
import sys
from typing import Any

import aiohttp
import pytest
from aiogram import Bot
from aiogram.exceptions import TelegramBadRequest, TelegramForbiddenError, TelegramUnauthorizedError
from aiogram.types import (
    BotCommand,
    BotCommandScopeAllPrivateChats,
    BotCommandScopeChat,
    BufferedInputFile,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    LinkPreviewOptions,
)

from ritm.sandbox import DEFAULT_TOKEN, TelegramStandin
from tests.telegram_support import standin_bot


async def _raw(
    standin: TelegramStandin, method: str, *, token: str = DEFAULT_TOKEN, **kw: Any
) -> tuple[int, Any]:
    async with (
        aiohttp.ClientSession() as http,
        http.request(kw.pop("http_method", "POST"), f"{standin.base_url}/bot{token}/{method}", **kw) as resp,
    ):
        return resp.status, await resp.json()


def _keyboard() -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [InlineKeyboardButton(text="Программа", url="https://school.example/program")],
            [InlineKeyboardButton(text="Хочу", callback_data="want:42")],
        ]
    )


async def test_get_me_describes_the_bot_of_the_token(bot: Bot) -> None:
    me = await bot.get_me()
    assert me.id == int(DEFAULT_TOKEN.split(":")[0])
    assert me.is_bot and me.username == "ritm_standin_bot"


async def test_send_message_parses_html_and_keeps_the_keyboard(standin: TelegramStandin, bot: Bot) -> None:
    sent = await bot.send_message(
        501,
        "<b>Привет</b>, 😀 <a href='https://school.example'>эфир</a> &lt;19:00&gt;",
        reply_markup=_keyboard(),
        link_preview_options=LinkPreviewOptions(is_disabled=True),
    )
    assert sent.text == "Привет, 😀 эфир <19:00>"
    assert sent.entities is not None
    bold, link = sent.entities
    assert (bold.type, bold.offset, bold.length) == ("bold", 0, 6)
    assert (link.type, link.offset, link.length, link.url) == (
        "text_link",
        11,
        4,
        "https://school.example",
    )  # 😀 = 2
    assert (
        sent.reply_markup is not None and sent.reply_markup.inline_keyboard[1][0].callback_data == "want:42"
    )
    [stored] = standin.sent(501)
    assert stored.parse_mode == "HTML" and stored.link_preview_disabled
    assert stored.html is not None and stored.html.startswith("<b>Привет</b>")
    assert [b["text"] for b in stored.buttons()] == ["Программа", "Хочу"]


@pytest.mark.parametrize("encoding", ["json", "form", "query"])
async def test_every_request_encoding_is_understood(standin: TelegramStandin, encoding: str) -> None:
    params = {"chat_id": 777, "text": "<i>hi</i>", "parse_mode": "HTML"}
    markup = {"inline_keyboard": [[{"text": "ok", "callback_data": "ok"}]]}
    if encoding == "json":
        status, body = await _raw(standin, "sendMessage", json={**params, "reply_markup": markup})
    elif encoding == "form":
        status, body = await _raw(standin, "sendMessage", data={**params, "reply_markup": json.dumps(markup)})
    else:
        status, body = await _raw(standin, "sendMessage", http_method="GET", params=params)
    assert status == 200 and body["ok"] is True
    assert body["result"]["text"] == "hi"
    assert body["result"]["entities"] == [{"type": "italic", "offset": 0, "length": 2}]
    assert (body["result"].get("reply_markup") is not None) == (encoding != "query")


async def test_unknown_token_is_401_and_unknown_method_404(standin: TelegramStandin) -> None:
    status, body = await _raw(standin, "getMe", token="42:forged")
    assert (status, body) == (401, {"ok": False, "error_code": 401, "description": "Unauthorized"})
    status, body = await _raw(standin, "sendTelepathy")
    assert (status, body) == (404, {"ok": False, "error_code": 404, "description": "Not Found"})
    async with TelegramStandin("1:other") as other, standin_bot(other) as foreign:
        stranger = Bot(DEFAULT_TOKEN, session=foreign.session)  # same server, a token it does not accept
        with pytest.raises(TelegramUnauthorizedError):
            await stranger.get_me()
        assert (await foreign.get_me()).id == 1


async def test_blocked_chat_is_403_like_telegram(standin: TelegramStandin, bot: Bot) -> None:
    standin.block(900)
    with pytest.raises(TelegramForbiddenError, match="bot was blocked by the user"):
        await bot.send_message(900, "hello")
    status, body = await _raw(standin, "sendMessage", json={"chat_id": 900, "text": "x"})
    assert (status, body["description"]) == (403, "Forbidden: bot was blocked by the user")
    assert standin.sent(900) == []


async def test_chat_not_found_for_unknown_groups_and_missing_ids(standin: TelegramStandin, bot: Bot) -> None:
    standin.mark_missing(31337)
    for chat_id in (-100123, 31337):
        with pytest.raises(TelegramBadRequest, match="Bad Request: chat not found"):
            await bot.send_message(chat_id, "x")
    standin.add_chat(-100123, title="Команда")
    assert (await bot.send_message(-100123, "x")).chat.title == "Команда"


async def test_a_configured_set_of_known_chats_is_all_that_exists() -> None:
    async with TelegramStandin(known_chats={5}) as standin, standin_bot(standin) as bot:
        assert (await bot.send_message(5, "x")).chat.id == 5
        with pytest.raises(TelegramBadRequest, match="chat not found"):
            await bot.send_message(6, "x")


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("Цена < 100", 'can\'t parse entities: Unsupported start tag "" at byte offset 9'),
        ("<b>жирный", "can't parse entities: Can't find end tag corresponding to start tag \"b\""),
        (
            "<b><i>x</b></i>",
            'can\'t parse entities: Unmatched end tag at byte offset 7, expected "</i>", found "</b>"',
        ),
        ("<div>x</div>", 'can\'t parse entities: Unsupported start tag "div" at byte offset 0'),
        ("x" * 4097, "message is too long"),
        ("<b> </b>", "message text is empty"),
    ],
)
async def test_bad_text_is_refused_with_telegrams_words(
    standin: TelegramStandin, text: str, reason: str
) -> None:
    status, body = await _raw(standin, "sendMessage", json={"chat_id": 1, "text": text, "parse_mode": "HTML"})
    assert (status, body) == (400, {"ok": False, "error_code": 400, "description": f"Bad Request: {reason}"})
    assert standin.sent(1) == []


async def test_the_length_limit_counts_text_after_entity_parsing(bot: Bot) -> None:
    assert (await bot.send_message(2, "<b>" + "я" * 4096 + "</b>")).text == "я" * 4096


async def test_callback_data_over_64_bytes_is_refused(bot: Bot) -> None:
    markup = InlineKeyboardMarkup(inline_keyboard=[[InlineKeyboardButton(text="x", callback_data="ж" * 33)]])
    with pytest.raises(TelegramBadRequest, match="BUTTON_DATA_INVALID"):
        await bot.send_message(3, "x", reply_markup=markup)


async def test_documents_and_photos_travel_as_multipart(standin: TelegramStandin, bot: Bot) -> None:
    ics = b"BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n"
    msg = await bot.send_document(10, BufferedInputFile(ics, "webinar.ics"), caption="<b>Эфир</b>")
    assert msg.document is not None and msg.document.file_name == "webinar.ics"
    assert msg.caption == "Эфир" and msg.document.file_size == len(ics)
    photo = await bot.send_photo(11, BufferedInputFile(b"\x89PNG fake", "p.png"))
    assert photo.photo is not None and photo.photo[0].file_id
    again = await bot.send_document(12, msg.document.file_id)  # a file_id is reusable, as on Telegram
    assert again.document is not None and again.document.file_unique_id == msg.document.file_unique_id
    stored = standin.sent(10)[0].document
    assert stored is not None and stored.data == ics
    form = aiohttp.FormData()  # a plain client puts the file straight into the "document" field
    form.add_field("chat_id", "13")
    form.add_field("document", b"a,b\n1,2\n", filename="base.csv", content_type="text/csv")
    status, body = await _raw(standin, "sendDocument", data=form)
    assert status == 200 and body["result"]["document"]["mime_type"] == "text/csv"


async def test_edit_delete_and_get_chat(standin: TelegramStandin, bot: Bot) -> None:
    msg = await bot.send_message(20, "Одобрить рассылку?", reply_markup=_keyboard())
    edited = await bot.edit_message_text("<b>Одобрено</b>", chat_id=20, message_id=msg.message_id)
    assert not isinstance(edited, bool) and edited.text == "Одобрено" and edited.edit_date is not None
    assert standin.sent(20)[0].edited and standin.sent(20)[0].buttons() == []
    with pytest.raises(TelegramBadRequest, match="message is not modified"):
        await bot.edit_message_text("<b>Одобрено</b>", chat_id=20, message_id=msg.message_id)
    await bot.edit_message_reply_markup(chat_id=20, message_id=msg.message_id, reply_markup=_keyboard())
    assert len(standin.sent(20)[0].buttons()) == 2
    assert await bot.delete_message(20, msg.message_id) is True
    with pytest.raises(TelegramBadRequest, match="message to delete not found"):
        await bot.delete_message(20, msg.message_id)
    chat = await bot.get_chat(20)
    assert (chat.id, chat.type) == (20, "private")


async def test_commands_are_kept_per_scope_and_language(standin: TelegramStandin, bot: Bot) -> None:
    team = BotCommandScopeChat(chat_id=-100500)
    await bot.set_my_commands(
        [BotCommand(command="start", description="Начать")], BotCommandScopeAllPrivateChats()
    )
    await bot.set_my_commands([BotCommand(command="dryrun", description="Dry run")], team, language_code="en")
    assert [c.command for c in await bot.get_my_commands(scope=team, language_code="en")] == ["dryrun"]
    assert await bot.get_my_commands(scope=team) == []
    assert standin.commands({"type": "all_private_chats"}) == [{"command": "start", "description": "Начать"}]
    with pytest.raises(TelegramBadRequest, match="BOT_COMMAND_INVALID"):
        await bot.set_my_commands([BotCommand(command="Bad Command", description="x")])


async def test_the_stand_in_runs_as_its_own_process() -> None:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "ritm.sandbox.telegram_serve", "--port", "0", stdout=asyncio.subprocess.PIPE
    )
    try:
        assert proc.stdout is not None
        base_url = (await asyncio.wait_for(proc.stdout.readline(), 60)).decode().strip()
        async with aiohttp.ClientSession() as http, http.get(f"{base_url}/bot{DEFAULT_TOKEN}/getMe") as resp:
            assert (await resp.json())["result"]["username"] == "ritm_standin_bot"
    finally:
        proc.terminate()
        await proc.wait()
    bad = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "ritm.sandbox.telegram_serve", "--rate", "0", stderr=asyncio.subprocess.PIPE
    )
    _, err = await bad.communicate()
    assert bad.returncode == 2 and err.decode().strip().endswith("--rate must be positive")
