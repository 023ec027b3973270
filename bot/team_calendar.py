"""/calendar: planned messages for the next 7 local days, per campaign and version, conflicts marked."""

from __future__ import annotations

from datetime import datetime

from aiogram import Router
from aiogram.filters import Command
from aiogram.types import Message

from bot.i18n import Translator
from bot.replies import answer_blocks
from bot.report_base import calendar_blocks
from bot.roles import needs
from bot.services import BotServices
from dispatcher.plan_calendar import plan_calendar


async def calendar(message: Message, services: BotServices, tr: Translator, now: datetime) -> None:
    report = await plan_calendar(services.reports, services.policy, now)
    await answer_blocks(message, calendar_blocks(report, tr), tr)


def build_router() -> Router:
    """A fresh router with this feature's handlers (one per dispatcher)."""
    router = Router(name="team_calendar")
    router.message.register(calendar, Command("calendar"), flags=needs("viewer", "calendar"))
    return router
