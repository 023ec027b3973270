"""Sending answers: long ones packed into Telegram-sized parts, each part sent in order."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

from aiogram import Bot
from aiogram.exceptions import TelegramRetryAfter
from aiogram.types import InlineKeyboardMarkup, Message

from bot.format import pack
from bot.i18n import Translator

log = logging.getLogger(__name__)
MAX_RETRY_AFTER_S = 30  # a longer flood wait is not worth holding a chat answer for


async def answer_blocks(
    message: Message,
    blocks: Sequence[str],
    tr: Translator,
    *,
    reply_markup: InlineKeyboardMarkup | None = None,
) -> list[Message]:
    """Answer in the message's chat; a keyboard goes on the last part."""
    if message.bot is None:
        raise RuntimeError("the message is not bound to a bot")
    return await send_blocks(message.bot, message.chat.id, blocks, tr, reply_markup=reply_markup)


async def send_blocks(
    bot: Bot,
    chat_id: int,
    blocks: Sequence[str],
    tr: Translator,
    *,
    reply_markup: InlineKeyboardMarkup | None = None,
) -> list[Message]:
    parts = pack(
        blocks,
        more=lambda n: tr.ngettext(
            "… and {n} more line (too long for a chat: narrow the question)",
            "… and {n} more lines (too long for a chat: narrow the question)",
            n,
        ),
    )
    sent = []
    for index, part in enumerate(parts):
        markup = reply_markup if index == len(parts) - 1 else None
        sent.append(await _send(bot, chat_id, part, markup))
    return sent


async def _send(bot: Bot, chat_id: int, text: str, markup: InlineKeyboardMarkup | None) -> Message:
    try:
        return await bot.send_message(chat_id, text, parse_mode="HTML", reply_markup=markup)
    except TelegramRetryAfter as exc:
        # Several parts to one chat can meet Telegram's per-chat flood limit: wait as told, once.
        if exc.retry_after > MAX_RETRY_AFTER_S:
            raise
        log.info("flood wait", extra={"event": "bot_retry_after", "chat": chat_id, "s": exc.retry_after})
        await asyncio.sleep(exc.retry_after)
        return await bot.send_message(chat_id, text, parse_mode="HTML", reply_markup=markup)
