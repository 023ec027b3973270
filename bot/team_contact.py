"""/contact <id> [campaign]: why a contact would or would not get a message now, and when next."""

from __future__ import annotations

from datetime import datetime

from aiogram import Router
from aiogram.filters import Command, CommandObject
from aiogram.types import Message

from bot.format import shorten
from bot.i18n import Translator
from bot.replies import answer_blocks
from bot.report_base import contact_blocks
from bot.roles import needs
from bot.services import BotServices
from dispatcher.explain import explain_contact

ECHO_CHARS = 64


async def contact(
    message: Message, command: CommandObject, services: BotServices, tr: Translator, now: datetime
) -> None:
    args = (command.args or "").split()
    if not args or len(args) > 2:
        await message.answer(tr.gettext("Usage: /contact CONTACT_ID [CAMPAIGN_ID]"))
        return
    contact_id, campaign_id = args[0], (args[1] if len(args) == 2 else None)
    try:
        explained = await explain_contact(
            services.db, services.policy, contact_id, now, campaign_id=campaign_id, campaigns=services.cache
        )
    except ValueError as exc:  # an unknown campaign: one sentence
        await message.answer(tr.gettext("Not done: {why}", why=str(exc)))
        return
    if explained is None:
        # The id comes from the user: echo a bounded piece of it (Telegram refuses over 4096 chars).
        await message.answer(tr.gettext("There is no contact {id}.", id=shorten(contact_id, ECHO_CHARS)))
        return
    await answer_blocks(message, contact_blocks(explained, tr), tr)


def build_router() -> Router:
    """A fresh router with this feature's handlers (one per dispatcher)."""
    router = Router(name="team_contact")
    router.message.register(contact, Command("contact"), flags=needs("viewer", "contact"))
    return router
