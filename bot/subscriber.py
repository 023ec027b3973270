"""The subscriber side: link a chat by deep link, stop Telegram messages, choose channels and frequency.

`/start <token>` — the signed token from `LinkSigner.start_token(contact_id)` (t.me/<bot>?start=<token>)
binds this chat to the contact and grants Telegram consent (source "deep_link"); a forged token gets one
sentence and changes nothing. `/stop` asks first, then revokes Telegram consent (never deletes).
`/prefs` shows a keyboard: email and Telegram on/off (consent granted/revoked, source "bot") and how
often — stored as `contacts.fields.frequency`, "normal" (default) or "weekly", for segments and
campaigns to honour (e.g. an audience `… AND NOT …` on it once the DSL reads custom fields).
Consent changes are audited by storage; other clicks are not. Callback data starts with `sub:`; the
"Join" / "Add to calendar" buttons of reminders are URL buttons and never reach the bot.
"""

from __future__ import annotations

import logging
from datetime import datetime

from aiogram import F, Router
from aiogram.filters import Command, CommandObject, CommandStart
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message

from bot.i18n import Translator
from bot.services import BotServices
from bot.team_help import help_text
from storage.reports import Subscriber, chat_contact, contact_exists, set_frequency, subscriber
from storage.team import Member
from storage.tracking import bind_telegram, grant_consent, revoke_consent

log = logging.getLogger(__name__)
PREFIX = "sub"
FREQUENCIES = ("normal", "weekly")


async def start_linked(
    message: Message, command: CommandObject, services: BotServices, tr: Translator, now: datetime
) -> None:
    if message.chat.type != "private":  # a group must never become someone's personal channel
        await message.answer(tr.gettext("Open this link in a private chat with the bot."))
        return
    contact_id = services.signer.start_contact((command.args or "").strip())
    if contact_id is None or not await contact_exists(services.db, contact_id):
        log.info("bad start token", extra={"event": "start_forged", "chat": message.chat.id})
        await message.answer(
            tr.gettext("This link is not valid: open the newest link from the school's email.")
        )
        return
    async with services.db.transaction() as conn:
        await bind_telegram(conn, contact_id, message.chat.id, now)
        await grant_consent(conn, contact_id, "telegram", "deep_link", now)
    await message.answer(
        tr.gettext(
            "Done: the school's messages will come to this chat. "
            "/prefs to choose what and how often, /stop to stop."
        )
    )


async def start_plain(
    message: Message, services: BotServices, member: Member | None, tr: Translator, now: datetime
) -> None:
    if member is not None:
        await message.answer(help_text(member, tr))
        return
    if await chat_contact(services.db, message.chat.id) is not None:
        await message.answer(
            tr.gettext("This chat is connected. /prefs to choose what and how often, /stop to stop.")
        )
        return
    await message.answer(
        tr.gettext("Hello! To get the school's messages here, open the link from the school's email.")
    )


async def stop(message: Message, services: BotServices, tr: Translator) -> None:
    if await chat_contact(services.db, message.chat.id) is None:
        await message.answer(tr.gettext("This chat is not connected to a subscription."))
        return
    keyboard = InlineKeyboardMarkup(
        inline_keyboard=[
            [
                InlineKeyboardButton(text=tr.plain("Yes, stop"), callback_data=f"{PREFIX}:stop:yes"),
                InlineKeyboardButton(text=tr.plain("No, keep"), callback_data=f"{PREFIX}:stop:no"),
            ]
        ]
    )
    await message.answer(tr.gettext("Stop the school's messages in Telegram?"), reply_markup=keyboard)


async def stop_answer(callback: CallbackQuery, services: BotServices, tr: Translator, now: datetime) -> None:
    contact_id = await _contact(callback, services)
    if contact_id is None:
        await callback.answer(tr.plain("This chat is not connected to a subscription."), show_alert=True)
        return
    if callback.data == f"{PREFIX}:stop:yes":
        async with services.db.transaction() as conn:
            await revoke_consent(conn, contact_id, "telegram", "bot", now)
        text = tr.gettext("Stopped: no more messages here. /prefs to turn them back on.")
    else:
        text = tr.gettext("Kept: messages keep coming.")
    await callback.answer()
    if isinstance(callback.message, Message):
        await callback.message.edit_text(text, reply_markup=None)


async def prefs(message: Message, services: BotServices, tr: Translator) -> None:
    contact_id = await chat_contact(services.db, message.chat.id)
    state = await subscriber(services.db, contact_id) if contact_id else None
    if state is None:
        await message.answer(tr.gettext("This chat is not connected to a subscription."))
        return
    await message.answer(tr.gettext("Your preferences:"), reply_markup=prefs_keyboard(state, tr))


def prefs_keyboard(state: Subscriber, tr: Translator) -> InlineKeyboardMarkup:
    def onoff(channel: str) -> str:
        return tr.plain("on") if state.on(channel) else tr.plain("off")

    def freq(value: str, label: str) -> InlineKeyboardButton:
        mark = "● " if state.frequency == value else ""
        return InlineKeyboardButton(text=mark + label, callback_data=f"{PREFIX}:freq:{value}")

    return InlineKeyboardMarkup(
        inline_keyboard=[
            [
                InlineKeyboardButton(
                    text=tr.plain("Email: {state}", state=onoff("email")), callback_data=f"{PREFIX}:ch:email"
                )
            ],
            [
                InlineKeyboardButton(
                    text=tr.plain("Telegram: {state}", state=onoff("telegram")),
                    callback_data=f"{PREFIX}:ch:telegram",
                )
            ],
            [freq("normal", tr.plain("As usual")), freq("weekly", tr.plain("Once a week"))],
        ]
    )


async def change_pref(callback: CallbackQuery, services: BotServices, tr: Translator, now: datetime) -> None:
    contact_id = await _contact(callback, services)
    state = await subscriber(services.db, contact_id) if contact_id else None
    if contact_id is None or state is None:
        await callback.answer(tr.plain("This chat is not connected to a subscription."), show_alert=True)
        return
    _, kind, value = (callback.data or "::").split(":", 2)
    if kind == "ch" and value in ("email", "telegram"):
        if value == "email" and not state.has_email and not state.on("email"):
            await callback.answer(tr.plain("The school has no email address of yours."), show_alert=True)
            return
        async with services.db.transaction() as conn:
            change = revoke_consent if state.on(value) else grant_consent
            await change(conn, contact_id, value, "bot", now)
    elif kind == "freq" and value in FREQUENCIES:
        async with services.db.transaction() as conn:
            await set_frequency(conn, contact_id, value)
    fresh = await subscriber(services.db, contact_id)
    await callback.answer(tr.plain("Saved."))
    if fresh is not None and fresh != state and isinstance(callback.message, Message):
        await callback.message.edit_reply_markup(reply_markup=prefs_keyboard(fresh, tr))


async def _contact(callback: CallbackQuery, services: BotServices) -> str | None:
    """The contact of the chat the button was pressed in (it may have been unbound since)."""
    chat = callback.message.chat.id if callback.message is not None else None
    return await chat_contact(services.db, chat) if chat is not None else None


def build_router() -> Router:
    """A fresh router with this feature's handlers (one per dispatcher)."""
    router = Router(name="subscriber")
    router.message.register(start_linked, CommandStart(deep_link=True))
    router.message.register(start_plain, CommandStart())
    router.message.register(stop, Command("stop"))
    router.callback_query.register(stop_answer, F.data.startswith(f"{PREFIX}:stop:"))
    router.message.register(prefs, Command("prefs"))
    router.callback_query.register(
        change_pref, F.data.startswith(f"{PREFIX}:ch:") | F.data.startswith(f"{PREFIX}:freq:")
    )
    return router
