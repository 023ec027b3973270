"""/calendar: planned messages for the next 7 local days, per campaign and version, conflicts marked.

Days are the policy's default timezone's calendar days (DST-correct: each day's bounds are computed
with zoneinfo). A conflict is a contact with two or more non-service messages due the same day, or a
day on which contacts exceed a global cap of a day or shorter.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta

from aiogram import Router
from aiogram.filters import Command
from aiogram.types import Message
from babel.dates import format_date

from bot.i18n import Translator
from bot.replies import answer_blocks
from bot.report_base import calendar_blocks
from bot.roles import needs
from bot.services import BotServices
from policy.config import Cap
from policy.timeutil import format_duration, to_epoch, zone
from storage.reports import Day, double_booked, over_cap, planned_by_day

DAYS = 7


def local_days(now: datetime, timezone: str, count: int = DAYS) -> list[Day]:
    """(ISO date, first second, end second) of today (from `now`) and the next days, local time."""
    tz = zone(timezone)
    today = now.astimezone(tz).date()
    days = []
    for i in range(count):
        date = today + timedelta(days=i)
        start = datetime.combine(date, time(0), tzinfo=tz)
        end = datetime.combine(date + timedelta(days=1), time(0), tzinfo=tz)
        days.append((date.isoformat(), to_epoch(max(start, now)), to_epoch(end)))
    return days


def describe_cap(cap: Cap) -> str:
    return f"{cap.max}/{format_duration(cap.per)} {cap.scope} ({cap.channel})"


async def calendar(message: Message, services: BotServices, tr: Translator, now: datetime) -> None:
    timezone = services.policy.default_timezone
    days = local_days(now, timezone)
    rows = await planned_by_day(services.db, days)
    doubles = await double_booked(services.db, days)
    daily_caps = [c for c in services.policy.caps if c.per <= timedelta(days=1)]
    caps = [(describe_cap(cap), await over_cap(services.db, days, cap)) for cap in daily_caps]
    labels = [
        (key, format_date(datetime.fromisoformat(key).date(), "EEE d MMM", locale=tr.locale))
        for key, _, _ in days
    ]
    await answer_blocks(message, calendar_blocks(labels, rows, doubles, caps, timezone, tr), tr)


def build_router() -> Router:
    """A fresh router with this feature's handlers (one per dispatcher)."""
    router = Router(name="team_calendar")
    router.message.register(calendar, Command("calendar"), flags=needs("viewer", "calendar"))
    return router
