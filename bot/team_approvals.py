"""Approval cards: a mass campaign's dry run goes to every approver with Approve / Reject buttons.

The campaign service enforces the four-eyes rule (the author never approves) and the role; a refused
press gets an alert and leaves every card as it is. A decision edits every card of the campaign, in each
card's own language, so all approvers see who decided. A newer dry run supersedes the older cards.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable
from datetime import datetime

from aiogram import Bot, F, Router
from aiogram.exceptions import TelegramAPIError
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, User

from bot.errors import CAMPAIGN_ERRORS, refusal_alert
from bot.format import TELEGRAM_LIMIT, esc, shorten, utc_text
from bot.i18n import Translator
from bot.report_campaign import card_text, decision_line
from bot.roles import needs
from bot.services import BotServices
from policy.dry_run import DryRunReport
from storage.approval_cards import Card, card_sent, close_cards, drop_card, get_card, new_card, open_cards
from storage.campaigns import CampaignRecord, get_campaign
from storage.team import Member, at_least, list_members

log = logging.getLogger(__name__)
PREFIX = "apr"
# What card_keyboard puts on its buttons; ids stay within SQLite's 64-bit integers.
CARD_DATA = re.compile(rf"{PREFIX}:(ok|no):([0-9]{{1,18}})")


def card_keyboard(card_id: int, tr: Translator) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [
                InlineKeyboardButton(text=tr.plain("✅ Approve"), callback_data=f"{PREFIX}:ok:{card_id}"),
                InlineKeyboardButton(text=tr.plain("❌ Reject"), callback_data=f"{PREFIX}:no:{card_id}"),
            ]
        ]
    )


async def send_cards(
    bot: Bot, services: BotServices, record: CampaignRecord, report: DryRunReport, now: datetime
) -> int:
    """Send a card to every approver and admin; returns how many were delivered."""
    await _close_all(bot, services, record, "superseded", "", now)
    sent = 0
    for member in await list_members(services.db):
        if not at_least(member.role, "approver"):
            continue
        tr = services.catalogs.translator(member.locale or services.default_locale)
        card_id = await new_card(services.db, record.id, member.user_id, tr.locale, report.fingerprint, now)
        text = shorten(card_text(record, report, tr), TELEGRAM_LIMIT)
        try:
            message = await bot.send_message(member.user_id, text, reply_markup=card_keyboard(card_id, tr))
        except TelegramAPIError as exc:
            # Telegram refuses to start a chat the member never opened: the others still get theirs.
            log.warning(
                "approval card not sent",
                extra={
                    "event": "card_failed",
                    "campaign": record.id,
                    "user": member.user_id,
                    "why": str(exc),
                },
            )
            await drop_card(services.db, card_id)
            continue
        await card_sent(services.db, card_id, message.message_id)
        sent += 1
    return sent


async def _close_all(
    bot: Bot, services: BotServices, record: CampaignRecord, decision: str, by: str, now: datetime
) -> None:
    cards = await open_cards(services.db, record.id)
    for card in cards:
        tr = services.catalogs.translator(card.locale)
        line = decision_line(tr, decision, by, utc_text(now))
        if decision == "superseded" or record.dry_run is None:
            text = f"<b>{esc(record.id)}</b>\n{line}"
        else:
            text = f"{card_text(record, record.dry_run, tr)}\n\n{line}"
        await _edit(bot, card, shorten(text, TELEGRAM_LIMIT))
    await close_cards(services.db, [c.id for c in cards], now)


async def _edit(bot: Bot, card: Card, text: str) -> None:
    try:
        await bot.edit_message_text(text, chat_id=card.chat_id, message_id=card.message_id, reply_markup=None)
    except TelegramAPIError as exc:  # deleted by the member, or already showing this text
        log.info("card not edited", extra={"event": "card_edit_failed", "card": card.id, "why": str(exc)})


def _who(member: Member, user: User | None) -> str:
    name = member.name or (user.full_name if user else "")
    return f"{name} ({member.user_id})" if name else str(member.user_id)


async def decide(
    callback: CallbackQuery,
    bot: Bot,
    services: BotServices,
    member: Member,
    tr: Translator,
    now: datetime,
) -> None:
    found = CARD_DATA.fullmatch(callback.data or "")
    if found is None:  # not a button we made: an old client, or hand-crafted callback data
        await callback.answer(tr.plain("This button is not one of ours."), show_alert=True)
        return
    verdict, card_id = found.group(1), int(found.group(2))
    card = await get_card(services.db, card_id)
    record = await get_campaign(services.db, card.campaign_id) if card else None
    if card is None or card.closed or record is None:
        await callback.answer(tr.plain("This card is closed."), show_alert=True)
        return
    if record.dry_run_fingerprint != card.fingerprint:
        await callback.answer(
            tr.plain("This card shows an older dry run; use the newest card."), show_alert=True
        )
        return
    by = str(member.user_id)
    try:
        if verdict == "ok":
            record = await services.campaigns.approve(record.id, by=by, at=now, source="bot")
        else:
            record = await services.campaigns.reject(record.id, by=by, at=now, source="bot")
    except CAMPAIGN_ERRORS as exc:
        await callback.answer(refusal_alert(exc, tr), show_alert=True)
        return
    await callback.answer(tr.plain("Approved.") if verdict == "ok" else tr.plain("Rejected."))
    await _close_all(
        bot,
        services,
        record,
        "approved" if verdict == "ok" else "rejected",
        _who(member, callback.from_user),
        now,
    )


def cards_closer(
    bot: Bot, services: BotServices
) -> Callable[[CampaignRecord, str, Member, datetime], Awaitable[None]]:
    """What the dashboard calls after a decision taken there: every card shows it, as after a press."""

    async def close(record: CampaignRecord, decision: str, member: Member, now: datetime) -> None:
        await _close_all(bot, services, record, decision, _who(member, None), now)

    return close


def build_router() -> Router:
    """A fresh router with this feature's handlers (one per dispatcher)."""
    router = Router(name="team_approvals")
    router.callback_query.register(
        decide, F.data.startswith(f"{PREFIX}:"), flags=needs("approver", "approval")
    )
    return router
