"""What nobody else handled: a short answer by who is writing, and the audit row for strangers."""

from __future__ import annotations

from datetime import datetime

from aiogram import Router
from aiogram.types import CallbackQuery, Message

from bot.i18n import Translator
from bot.services import BotServices
from storage.audit import audit
from storage.reports import chat_contact
from storage.team import Member


async def anything(
    message: Message, services: BotServices, member: Member | None, tr: Translator, now: datetime
) -> None:
    if member is not None:
        await message.answer(tr.gettext("I did not understand that. /help lists what I can do."))
        return
    if await chat_contact(services.db, message.chat.id) is not None:
        await message.answer(
            tr.gettext("This chat receives the school's messages; replies are not read here. /prefs, /stop.")
        )
        return
    user = message.from_user
    async with services.db.transaction() as conn:
        await audit(
            conn,
            at=now,
            actor=str(user.id) if user else "unknown",
            action="bot.stranger",
            target=str(message.chat.id),
            source="bot",
            details={"input": (message.text or message.caption or "")[:200]},
        )
    await message.answer(
        tr.gettext(
            "Hello! This is the school's bot. "
            "To get its messages here, open the link from the school's email."
        )
    )


async def stale_button(callback: CallbackQuery, tr: Translator) -> None:
    await callback.answer(tr.plain("This button is no longer active."))


def build_router() -> Router:
    """A fresh router with this feature's handlers (one per dispatcher)."""
    router = Router(name="fallback")
    router.message.register(anything)
    router.callback_query.register(stale_button)
    return router
