"""What the bot tells the approvers on its own: fatigue alerts and the weekly report with its chart.

`TeamNotices.run_once(now)` is one round (the scheduler calls it; tests call it with their clock). Each
notice has a key per period (`team_notices`), so it is told once however often the round runs; a
notice that reached nobody is released and told at the next round.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError
from aiogram.types import BufferedInputFile

from bot.i18n import N_, Translator
from bot.report_base import channel_name
from bot.services import BotServices
from dispatcher.charts import daily_chart
from dispatcher.fatigue_watch import fatigue_check
from dispatcher.plan_calendar import local_days
from policy.fatigue import FatigueAlert
from policy.timeutil import zone
from storage.daily_stats import team_days
from storage.team import Member, at_least, list_members
from storage.team_notices import claim_notice, release_notice

log = logging.getLogger(__name__)
WEEKLY_AT = time(9, 0)  # Monday, the policy's timezone
REPORT_DAYS = 7
MEASURES = {"unsubscribes": N_("unsubscribes"), "complaints": N_("complaints")}


@dataclass
class NoticeReport:
    alerts: list[FatigueAlert] = field(default_factory=list)
    weekly: bool = False


def alert_text(alert: FatigueAlert, tr: Translator) -> str:
    values: dict[str, object] = {
        "segment": alert.segment,
        "channel": channel_name(tr, alert.channel),
        "campaigns": ", ".join(alert.campaigns),
        "cap": alert.suggested_cap,
    }
    if alert.measure == "open_rate":
        head = tr.gettext(
            "⚠️ <b>Open rate falls</b>: segment {segment}, {channel}: {now} this week"
            " against {before} before.",
            now=f"{alert.now:.1%}",
            before=f"{alert.before:.1%}",
            **values,
        )
    else:
        head = tr.gettext(
            "⚠️ <b>Over-mailing</b>: segment {segment}, {channel}: {measure} {now} per 1 000 sends this week"
            " against {before} before.",
            measure=tr.gettext(MEASURES[alert.measure]),
            now=f"{alert.now:.1f}",
            before=f"{alert.before:.1f}",
            **values,
        )
    tail = tr.gettext(
        "Campaigns: {campaigns}. Suggested cap: at most {cap} per week for {segment} on {channel}.", **values
    )
    return f"{head}\n{tail}"


# A notice in one member's language: its text, and a PNG to send it with (as the caption) or None.
Compose = Callable[[Translator], Awaitable[tuple[str, bytes | None]]]


def _alert_message(alert: FatigueAlert) -> Compose:
    async def compose(tr: Translator) -> tuple[str, bytes | None]:
        return alert_text(alert, tr), None

    return compose


class TeamNotices:
    def __init__(self, bot: Bot, services: BotServices) -> None:
        self.bot = bot
        self.services = services

    async def run_once(self, now: datetime) -> NoticeReport:
        report = NoticeReport()
        year, number, _ = now.isocalendar()
        week = f"{year}-W{number:02d}"
        for alert in await fatigue_check(self.services.db, self.services.policy, now):
            key = f"fatigue:{alert.key}:{week}"
            if await self._tell(key, now, _alert_message(alert)):
                report.alerts.append(alert)
                log.warning(
                    "fatigue alert",
                    extra={"event": "fatigue_alert", "segment": alert.segment, "channel": alert.channel,
                           "measure": alert.measure},
                )  # fmt: skip
        local = now.astimezone(zone(self.services.policy.default_timezone))
        if local.weekday() == 0 and local.time() >= WEEKLY_AT:
            report.weekly = await self._weekly(f"weekly:{week}", now)
        return report

    async def _weekly(self, key: str, now: datetime) -> bool:
        days = local_days(
            now - timedelta(days=REPORT_DAYS), self.services.policy.default_timezone, REPORT_DAYS
        )
        counts = await team_days(self.services.db, days)
        png = await asyncio.to_thread(daily_chart, counts, "last 7 days", "png")

        async def text(tr: Translator) -> tuple[str, bytes | None]:
            caption = tr.gettext(
                "📊 <b>The week</b>: {sends} messages sent, {opens} opens, {clicks} clicks.",
                sends=sum(d.sends for d in counts),
                opens=sum(d.opens for d in counts),
                clicks=sum(d.clicks for d in counts),
            )
            return caption, png

        return await self._tell(key, now, text)

    async def _tell(self, key: str, now: datetime, make: Compose) -> bool:
        if not await claim_notice(self.services.db, key, now):
            return False
        told = 0
        for member in await list_members(self.services.db):
            if at_least(member.role, "approver") and await self._send(member, make):
                told += 1
        if not told:
            await release_notice(self.services.db, key)
        return told > 0

    async def _send(self, member: Member, make: Compose) -> bool:
        tr = self.services.catalogs.translator(member.locale or self.services.default_locale)
        text, png = await make(tr)
        try:
            if png is None:
                await self.bot.send_message(member.user_id, text)
            else:
                photo = BufferedInputFile(png, filename="week.png")
                await self.bot.send_photo(member.user_id, photo, caption=text)
        except TelegramAPIError as exc:
            log.warning(
                "team notice not sent",
                extra={"event": "notice_failed", "user": member.user_id, "why": str(exc)},
            )
            return False
        return True
