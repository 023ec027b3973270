"""The process's aiogram Bot from RITM_BOT_TOKEN, and the start-up check that Telegram accepts it.

A malformed token (aiogram refuses it before any request) or one Telegram refuses (401, or 404 for a
token of the right shape that names no bot) stops `ritm run` with one sentence, before anything else
starts. An unreachable Bot API does not: the token cannot be judged then, and the bot's polling waits
the outage out (`bot.polling`) while HTTP and the dispatcher run.
"""

from __future__ import annotations

import logging

from aiogram import Bot
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import TelegramNotFound, TelegramUnauthorizedError
from aiogram.utils.token import TokenValidationError, validate_token

from ritm.settings import Settings

log = logging.getLogger(__name__)

CHECK_TIMEOUT_S = 10  # getMe at start: long enough for a slow network, short enough to start anyway
_FROM_BOTFATHER = "copy the token again from @BotFather (it looks like 123456789:AAE…)"


class BotTokenError(ValueError):
    """RITM_BOT_TOKEN is malformed or refused by Telegram; the message is one sentence naming it."""


def make_bot(settings: Settings) -> Bot | None:
    """The Bot for RITM_BOT_TOKEN (None without one); a malformed token raises BotTokenError."""
    if settings.bot_token is None:
        return None
    token = settings.bot_token.get_secret_value()
    try:
        validate_token(token)
    except TokenValidationError:
        raise BotTokenError(f"RITM_BOT_TOKEN is not a bot token: {_FROM_BOTFATHER}") from None
    api_url = settings.telegram_api_url
    session = AiohttpSession(api=TelegramAPIServer.from_base(api_url)) if api_url else AiohttpSession()
    return Bot(token, session=session, default=DefaultBotProperties(parse_mode="HTML"))


async def check_bot(bot: Bot) -> str | None:
    """Ask Telegram who the bot is (getMe) and return its username (None when it did not answer);
    a refused token raises BotTokenError."""
    try:
        me = await bot.get_me(request_timeout=CHECK_TIMEOUT_S)
    except (TelegramUnauthorizedError, TelegramNotFound) as exc:
        raise BotTokenError(
            f"RITM_BOT_TOKEN was refused by the Telegram Bot API ({exc.message}): {_FROM_BOTFATHER}"
        ) from None
    except Exception as exc:  # unreachable or unwell: polling retries, the rest of the process runs
        log.warning(
            "could not check RITM_BOT_TOKEN now: the Bot API did not answer; the bot keeps trying",
            extra={"event": "bot_check_deferred", "why": f"{type(exc).__name__}: {exc}"},
        )
        return None
    log.info("bot token accepted", extra={"event": "bot_ready", "username": me.username})
    return me.username


async def open_bot(settings: Settings) -> tuple[Bot | None, Settings]:
    """`make_bot`, then `check_bot`; the session is closed when the token is refused. The settings
    come back with the bot's username from getMe when RITM_BOT_USERNAME does not give it."""
    bot = make_bot(settings)
    if bot is not None:
        try:
            username = await check_bot(bot)
        except BotTokenError:
            await bot.session.close()
            raise
        if settings.bot_username is None and username:
            settings = settings.model_copy(update={"bot_username": username})
    return bot, settings
