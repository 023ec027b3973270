"""Per-update context: who is writing (team member or not), in which language, and what time it is.

An outer middleware on every update reads the clock once and the team row once, and hands handlers
`now`, `member` (or None) and `tr` (the user's translator) by parameter name.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import TelegramObject, User

from bot.i18n import pick_locale
from bot.services import BotServices
from storage.team import get_member, set_member_locale


class ContextMiddleware(BaseMiddleware):
    def __init__(self, services: BotServices) -> None:
        self.services = services

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        services = self.services
        user: User | None = data.get("event_from_user")
        member = await get_member(services.db, user.id) if user is not None else None
        if member is not None and member.locale is None and user is not None and user.language_code:
            # Remember a member's language so that cards we send them unasked are in it too.
            locale = pick_locale(None, user.language_code)
            await set_member_locale(services.db, member.user_id, locale)
            member = replace(member, locale=locale)
        locale = pick_locale(member.locale if member else None, user.language_code if user else None)
        data["member"] = member
        data["tr"] = services.catalogs.translator(locale)
        data["now"] = services.clock()
        return await handler(event, data)
