"""/pause and /resume (admin): once the pause is committed, nothing but service messages goes out."""

from __future__ import annotations

from datetime import datetime

from aiogram import Router
from aiogram.filters import Command
from aiogram.types import Message

from bot.i18n import Translator
from bot.roles import needs
from bot.services import BotServices
from storage.pause import get_paused, set_paused
from storage.team import Member


async def pause(
    message: Message, services: BotServices, member: Member, tr: Translator, now: datetime
) -> None:
    if await get_paused(services.db):
        await message.answer(tr.gettext("Already paused. /resume to send again."))
        return
    held = await set_paused(services.db, True, by=str(member.user_id), at=now, source="bot")
    await message.answer(
        tr.ngettext(
            "⏸ Paused: nothing but service messages goes out until /resume. {n} waiting message is held.",
            "⏸ Paused: nothing but service messages goes out until /resume. {n} waiting messages are held.",
            held,
        )
    )


async def resume(
    message: Message, services: BotServices, member: Member, tr: Translator, now: datetime
) -> None:
    if not await get_paused(services.db):
        await message.answer(tr.gettext("Not paused: messages are going out."))
        return
    await set_paused(services.db, False, by=str(member.user_id), at=now, source="bot")
    await message.answer(tr.gettext("▶️ Resumed: planned messages go out again at their due times."))


def build_router() -> Router:
    """A fresh router with this feature's handlers (one per dispatcher)."""
    router = Router(name="team_admin")
    router.message.register(pause, Command("pause"), flags=needs("admin", "pause"))
    router.message.register(resume, Command("resume"), flags=needs("admin", "resume"))
    return router
