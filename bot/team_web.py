"""/web: a one-time sign-in link to the team dashboard, for the member who asks (in a private chat)."""

from __future__ import annotations

from datetime import datetime

from aiogram import Router
from aiogram.filters import Command
from aiogram.types import LinkPreviewOptions, Message

from bot.i18n import Translator
from bot.roles import needs
from bot.services import BotServices
from storage.team import Member
from web.signin import LOGIN_TTL, issue_login_link


async def web_link(
    message: Message, services: BotServices, member: Member, tr: Translator, now: datetime
) -> None:
    if message.chat.type != "private":  # a link in a group would let anyone there sign in as you
        await message.answer(tr.gettext("Send /web to me in a private chat: the link signs in as you."))
        return
    link = await issue_login_link(services.db, services.signer, member.user_id, now)
    await message.answer(
        tr.gettext(
            "Your sign-in link to the team dashboard (it works once, for {minutes} minutes):\n{url}",
            minutes=int(LOGIN_TTL.total_seconds() // 60),
            url=link.url,
        ),
        link_preview_options=LinkPreviewOptions(is_disabled=True),
    )


def build_router() -> Router:
    """A fresh router with this feature's handlers (one per dispatcher)."""
    router = Router(name="team_web")
    router.message.register(web_link, Command("web"), flags=needs("viewer", "web"))
    return router
