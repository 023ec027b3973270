"""The Telegram channel: send one message through an aiogram Bot, paced, and map the answer to a result.

429 handling: aiogram does not retry flood errors, and handing a 429 back to the outbox would cost
a tick and a backoff step (the second retry waits 5 min), so a 429 storm would turn into minutes of
latency and attempts counted against the message. Instead the whole channel pauses for retry_after
(every concurrent send waits, which is what the server asks for) and the refused message is sent
again when the pause ends — a 429 means Telegram did not accept it, so resending cannot duplicate.
Only if the pauses outlast `max_wait_s` (kept well under the worker's lease) does the message go back
to the outbox as "retry" with the server's retry_after — never "failed": Telegram did not refuse the
message, only its timing. Each 429 also cuts the limiter's overall rate (adaptive pacing,
`dispatcher.pacing`), so a server allowing less than configured is soon asked only for what it allows.
"""

from __future__ import annotations

import html
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Protocol

from aiogram import Bot
from aiogram.exceptions import (
    ClientDecodeError,
    TelegramAPIError,
    TelegramBadRequest,
    TelegramEntityTooLarge,
    TelegramForbiddenError,
    TelegramMigrateToChat,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
    TelegramUnauthorizedError,
)
from aiogram.methods import Response
from aiogram.types import (
    BufferedInputFile,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    LinkPreviewOptions,
    Message,
)

from dispatcher.channels.base import Attachment, Button, SendResult, TelegramMessage
from dispatcher.ratelimit import Clock, RateLimiter, RateLimits

log = logging.getLogger(__name__)

# pydantic caches parametrised generics only weakly and aiogram parametrises Response[...] on every
# answer: each time the GC drops Response[Message] it is rebuilt, for milliseconds. Holding the types
# the channel receives keeps that cache warm (measured: a large share of a broadcast's client CPU).
_ANSWER_TYPES = (Response[Message],)

# Telegram's wording for an address that will never work (chat deleted, user gone, id mistyped).
_DEAD_ADDRESS = (
    "chat not found",
    "user not found",
    "peer_id_invalid",
    "chat_id is empty",
    "group chat was deactivated",
)


class TelegramLimitSettings(Protocol):
    """The limiter settings the channel reads (ritm.settings.TelegramSettings has them)."""

    @property
    def rate_per_s(self) -> float: ...
    @property
    def per_chat_per_s(self) -> float: ...
    @property
    def per_group_per_min(self) -> float: ...


def escape_html(text: str) -> str:
    """Escape user data for Telegram's HTML parse mode (&, <, > and quotes, safe inside attributes too)."""
    return html.escape(text, quote=True)


def limits_from_settings(settings: TelegramLimitSettings) -> RateLimits:
    return RateLimits(
        per_s=settings.rate_per_s,
        per_key_per_s=settings.per_chat_per_s,
        per_group_per_min=settings.per_group_per_min,
    )


def inline_keyboard(rows: tuple[tuple[Button, ...], ...]) -> InlineKeyboardMarkup | None:
    """Our buttons as an inline keyboard; a button needs exactly one of url / callback_data."""
    if not rows:
        return None
    keyboard = []
    for row in rows:
        line = []
        for button in row:
            if (button.url is None) == (button.callback_data is None):
                raise ValueError(f"button {button.text!r} needs exactly one of url and callback_data")
            line.append(
                InlineKeyboardButton(text=button.text, url=button.url, callback_data=button.callback_data)
            )
        keyboard.append(line)
    return InlineKeyboardMarkup(inline_keyboard=keyboard)


class TelegramChannel:
    """The TelegramSender port over an aiogram Bot (HTML parse mode, inline buttons, no link previews)."""

    def __init__(
        self,
        bot: Bot,
        settings: TelegramLimitSettings | RateLimits | None = None,
        *,
        limiter: RateLimiter | None = None,
        max_wait_s: float = 60.0,
        clock: Clock = time.monotonic,
    ) -> None:
        self.bot = bot
        if limiter is None:
            limits = (
                settings
                if isinstance(settings, RateLimits) or settings is None
                else limits_from_settings(settings)
            )
            limiter = RateLimiter(limits, clock=clock)
        self.limiter = limiter
        self.max_wait_s = max_wait_s
        self.clock = clock
        self.count_429 = 0

    async def send(self, message: TelegramMessage) -> SendResult:
        """Send one HTML message; the result says sent / retry / blocked / bad_address / failed."""
        try:
            markup = inline_keyboard(message.buttons)
        except ValueError as exc:
            return SendResult("failed", detail=str(exc))
        preview = LinkPreviewOptions(is_disabled=True) if message.disable_preview else None

        def call() -> Awaitable[Message]:
            return self.bot.send_message(
                chat_id=message.chat_id,
                text=message.text,
                parse_mode="HTML",
                reply_markup=markup,
                link_preview_options=preview,
            )

        return await self._deliver(message.chat_id, call)

    async def send_document(
        self, chat_id: int, attachment: Attachment, caption: str | None = None
    ) -> SendResult:
        """Send a file (e.g. an .ics invitation) with an optional HTML caption."""
        document = BufferedInputFile(attachment.data, filename=attachment.filename)

        def call() -> Awaitable[Message]:
            return self.bot.send_document(
                chat_id=chat_id, document=document, caption=caption, parse_mode="HTML"
            )

        return await self._deliver(chat_id, call)

    async def _deliver(self, chat_id: int, call: Callable[[], Awaitable[Message]]) -> SendResult:
        give_up_at = self.clock() + self.max_wait_s
        while True:
            try:
                async with self.limiter.slot(chat_id, group=chat_id < 0) as generation:
                    sent = await call()
                self.limiter.accepted()
                return SendResult("sent", provider_id=f"{sent.chat.id}:{sent.message_id}")
            except TelegramRetryAfter as exc:
                self.count_429 += 1
                cut = self.limiter.refused(generation, exc.retry_after)
                log.warning(
                    "telegram flood control",
                    extra={
                        "event": "telegram_429",
                        "chat_id": chat_id,
                        "retry_after_s": exc.retry_after,
                        "rate_per_s": round(self.limiter.rate_per_s, 3),
                        "rate_cut": cut,
                    },
                )
                if self.clock() + exc.retry_after > give_up_at:
                    detail = f"flood control: retry after {exc.retry_after} s"
                    return SendResult("retry", retry_after_s=float(exc.retry_after), detail=detail)
            except TelegramAPIError as exc:
                return self._result_of(chat_id, exc)
            except ClientDecodeError as exc:
                return SendResult("retry", detail=f"unreadable answer from the Bot API: {exc.message}")

    @staticmethod
    def _result_of(chat_id: int, exc: TelegramAPIError) -> SendResult:
        detail = exc.message
        if isinstance(exc, TelegramForbiddenError):
            return SendResult("blocked", detail=detail)
        if isinstance(exc, TelegramMigrateToChat):
            return SendResult("bad_address", detail=f"group moved to chat {exc.migrate_to_chat_id}")
        if isinstance(exc, TelegramBadRequest):
            if any(phrase in detail.lower() for phrase in _DEAD_ADDRESS):
                return SendResult("bad_address", detail=detail)
            return SendResult("failed", detail=detail)  # can't parse entities, too long: resending won't help
        if isinstance(exc, TelegramEntityTooLarge):
            return SendResult("failed", detail=detail)  # the file is too big: resending won't help
        if isinstance(exc, TelegramServerError | TelegramNetworkError):
            return SendResult("retry", detail=detail)
        if isinstance(exc, TelegramUnauthorizedError):
            # Our token is wrong, not the message: keep it for when the operator fixes the setting.
            log.error("telegram token rejected", extra={"event": "telegram_unauthorized", "chat_id": chat_id})
            return SendResult("retry", detail=detail)
        return SendResult("failed", detail=detail)
