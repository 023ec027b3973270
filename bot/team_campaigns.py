"""/campaigns, /dryrun <id> and /stats <id>: campaigns from the chat, through the campaign service."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

from aiogram import Bot, Router
from aiogram.filters import Command, CommandObject
from aiogram.types import BufferedInputFile, Message

from bot.errors import CAMPAIGN_ERRORS, refusal
from bot.i18n import Translator
from bot.replies import answer_blocks
from bot.report_campaign import campaign_list, dry_run_blocks, stats_blocks
from bot.report_series import trend_blocks
from bot.roles import needs
from bot.services import BotServices
from bot.team_approvals import send_cards
from dispatcher.charts import daily_chart
from dispatcher.plan_calendar import local_days
from dispatcher.series_report import series_trend
from dispatcher.stats import campaign_stats
from policy.occurrences import is_series
from storage.campaigns import get_campaign, list_campaigns
from storage.daily_stats import campaign_days
from storage.team import Member

CHART_DAYS = 14  # the /stats chart's span, up to today


async def campaigns(message: Message, services: BotServices, tr: Translator) -> None:
    await answer_blocks(message, campaign_list(await list_campaigns(services.db), tr), tr)


async def dry_run(
    message: Message,
    command: CommandObject,
    bot: Bot,
    services: BotServices,
    member: Member,
    tr: Translator,
    now: datetime,
) -> None:
    campaign_id = (command.args or "").strip()
    if not campaign_id:
        await message.answer(tr.gettext("Usage: /dryrun CAMPAIGN_ID (see /campaigns)."))
        return
    try:
        report = await services.campaigns.dry_run(campaign_id, at=now, by=str(member.user_id), source="bot")
    except CAMPAIGN_ERRORS as exc:
        await message.answer(refusal(exc, tr))
        return
    record = await get_campaign(services.db, campaign_id)
    assert record is not None  # the dry run just stored its report
    blocks = dry_run_blocks(report, record, tr)
    if report.status == "pending_approval":
        sent = await send_cards(bot, services, record, report, now)
        blocks.append(
            tr.ngettext("Approval card sent to {n} approver.", "Approval cards sent to {n} approvers.", sent)
        )
    elif record.priority != "mass":
        blocks.append(tr.gettext("No approval needed for {priority} messages.", priority=record.priority))
    await answer_blocks(message, blocks, tr)


async def stats(
    message: Message, command: CommandObject, services: BotServices, tr: Translator, now: datetime
) -> None:
    campaign_id = (command.args or "").strip()
    record = await get_campaign(services.db, campaign_id) if campaign_id else None
    if record is None:
        await message.answer(
            tr.gettext("Usage: /stats CAMPAIGN_ID; there is no campaign {id}.", id=campaign_id or "—")
        )
        return
    try:
        _, campaign = await services.campaigns.load(campaign_id)
    except CAMPAIGN_ERRORS:  # a file the policy no longer accepts: its rows still have results
        campaign = None
    if campaign is not None and is_series(campaign):  # its occurrences side by side, per version
        trend = await series_trend(services.campaigns, services.reports, campaign_id, now)
        await answer_blocks(message, trend_blocks(record, trend, tr), tr)
        return
    price = services.policy.channels.sms.price_per_part
    result = await campaign_stats(services.reports, campaign_id, now, sms_price=price)
    await answer_blocks(message, stats_blocks(record, result, tr), tr)
    days = local_days(now - timedelta(days=CHART_DAYS - 1), services.policy.default_timezone, CHART_DAYS)
    counts = await campaign_days(services.db, campaign_id, days, result.attribution)
    png = await asyncio.to_thread(daily_chart, counts, f"{campaign_id}: last {CHART_DAYS} days", "png")
    await message.answer_photo(
        BufferedInputFile(png, filename=f"{campaign_id}.png"),
        caption=tr.gettext("{id}: messages sent, opens, clicks and conversions per day.", id=campaign_id),
    )


def build_router() -> Router:
    """A fresh router with this feature's handlers (one per dispatcher)."""
    router = Router(name="team_campaigns")
    router.message.register(campaigns, Command("campaigns"), flags=needs("viewer", "campaigns"))
    router.message.register(dry_run, Command("dryrun"), flags=needs("operator", "dryrun"))
    router.message.register(stats, Command("stats"), flags=needs("viewer", "stats"))
    return router
