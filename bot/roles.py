"""Roles (viewer < operator < approver < admin), checked in one place: the team routers' gate.

Team handlers declare what they need with `flags=needs("operator", "urgent")`; the gate is an inner
middleware on the team router, so it sees the matched handler's flags. It audits every team action
(source "bot"), and refuses — politely, with an audit row — anyone whose role is too low or who is not
in the team at all. Handlers never check roles themselves.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from aiogram import BaseMiddleware
from aiogram.dispatcher.flags import get_flag
from aiogram.types import CallbackQuery, Message, TelegramObject, User

from bot.i18n import N_, Translator
from bot.services import BotServices
from storage.audit import audit
from storage.team import ROLES, Member, at_least

ROLE_FLAG = "role"
ACTION_FLAG = "action"
ROLE_NAMES = {
    "viewer": N_("viewer"),
    "operator": N_("operator"),
    "approver": N_("approver"),
    "admin": N_("admin"),
}


def needs(role: str, action: str) -> dict[str, Any]:
    """Handler flags: the least role that may run it and the audit action name."""
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}")
    return {ROLE_FLAG: role, ACTION_FLAG: action}


def role_name(tr: Translator, role: str | None) -> str:
    return tr.gettext(ROLE_NAMES[role]) if role in ROLE_NAMES else tr.gettext("not in the team")


class RoleGate(BaseMiddleware):
    """Lets a team handler run only for members whose role is high enough; audits either way."""

    def __init__(self, services: BotServices, default_role: str = "viewer") -> None:
        self.services = services
        self.default_role = default_role

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        needed: str = get_flag(data, ROLE_FLAG, default=self.default_role)
        action: str = get_flag(data, ACTION_FLAG, default="command")
        member: Member | None = data.get("member")
        user: User | None = data.get("event_from_user")
        allowed = member is not None and at_least(member.role, needed)
        await self._audit(user, member, event, data["now"], action, needed, allowed)
        if allowed:
            return await handler(event, data)
        await self._refuse(event, data["tr"], member, needed)
        return None

    async def _audit(
        self,
        user: User | None,
        member: Member | None,
        event: TelegramObject,
        now: datetime,
        action: str,
        needed: str,
        allowed: bool,
    ) -> None:
        details: dict[str, Any] = {"input": _what(event)}
        if not allowed:
            details.update(needed=needed, role=member.role if member else None)
        async with self.services.db.transaction() as conn:
            await audit(
                conn,
                at=now,
                actor=str(user.id) if user else "unknown",
                action=f"bot.{action}" if allowed else "bot.refused",
                target=action,
                source="bot",
                details=details,
            )

    @staticmethod
    async def _refuse(event: TelegramObject, tr: Translator, member: Member | None, needed: str) -> None:
        values: dict[str, object] = {}
        if member is None:
            message = N_(
                "Sorry, these commands are for the school's team only. "
                "If you want the school's news here, open the link from the school's email."
            )
        else:
            message = N_("Sorry, this needs the {needed} role; yours is {role}.")
            values = {"needed": role_name(tr, needed), "role": role_name(tr, member.role)}
        # Button alerts are plain text, messages are HTML: the same sentence, escaped or not.
        plain = isinstance(event, CallbackQuery)
        text = tr.plain(message, **values) if plain else tr.gettext(message, **values)
        if isinstance(event, CallbackQuery):
            await event.answer(text, show_alert=True)
        elif isinstance(event, Message):
            await event.answer(text)


def _what(event: TelegramObject) -> str:
    """What the user sent, for the audit row (short: the log is not a message archive)."""
    if isinstance(event, CallbackQuery):
        return f"button:{event.data}"
    if isinstance(event, Message):
        if event.document is not None:
            return f"document:{event.document.file_name}"
        return (event.text or "")[:200]
    return type(event).__name__
