"""The bot's factory: one Dispatcher with the subscriber side, the gated team side and a fallback.

Router order is the routing rule: subscriber commands (/start, /stop, /prefs and their buttons) first,
then the team routers under one role gate, then the fallback for everything else. `run_bot` sets the
command menus and polls until `stop` is set (`bot.polling`); `ritm run` calls it beside the dispatcher.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from aiogram import Dispatcher, Router
from aiogram.fsm.storage.memory import MemoryStorage
from aiogram.types import ErrorEvent, Message

from bot import (
    fallback,
    subscriber,
    team_admin,
    team_approvals,
    team_calendar,
    team_campaigns,
    team_contact,
    team_documents,
    team_help,
    team_segments,
    team_urgent,
    team_web,
)
from bot.commands import set_commands
from bot.context import ContextMiddleware
from bot.i18n import Translator
from bot.polling import Backoff, Outage, call_until_ok, poll
from bot.roles import RoleGate
from bot.services import BotHost, BotServices, services_from
from storage.team import list_members

log = logging.getLogger(__name__)
TEAM_FEATURES = (
    team_help,
    team_segments,
    team_campaigns,
    team_approvals,
    team_calendar,
    team_contact,
    team_admin,
    team_documents,
    team_web,
    team_urgent,  # last: its free-text step must not shadow other commands
)


def build_dispatcher(services: BotServices) -> Dispatcher:
    """A fresh Dispatcher with fresh routers (a router belongs to one dispatcher only)."""
    dp = Dispatcher(storage=MemoryStorage(), services=services)
    dp.update.outer_middleware(ContextMiddleware(services))
    team = Router(name="team")
    gate = RoleGate(services)
    team.message.middleware(gate)
    team.callback_query.middleware(gate)
    team.include_routers(*(feature.build_router() for feature in TEAM_FEATURES))
    dp.include_routers(subscriber.build_router(), team, fallback.build_router())
    dp.errors.register(_on_error)
    return dp


async def _on_error(event: ErrorEvent, tr: Translator | None = None) -> bool:
    log.error(
        "bot handler failed",
        exc_info=event.exception,
        extra={"event": "bot_error", "update": event.update.update_id},
    )
    message: Message | None = event.update.message or (
        event.update.callback_query.message
        if event.update.callback_query and isinstance(event.update.callback_query.message, Message)
        else None
    )
    if message is not None and tr is not None:
        with contextlib.suppress(Exception):  # the answer is a courtesy; the log has the error
            await message.answer(
                tr.gettext("Something went wrong on our side; it is logged. Try again later.")
            )
    return True


async def run_bot(
    host: BotHost, stop: asyncio.Event, *, handle_as_tasks: bool = True, backoff: Backoff = Backoff()
) -> None:
    """Wait for the Bot API, set the command menus, then poll until `stop` is set (nothing to do
    without a bot). Outages are retried with `backoff` and never end the bot (`bot.polling`).

    Updates are handled as concurrent tasks (a long dry run does not hold up other users); tests pass
    `handle_as_tasks=False` so that an update is fully handled before the next poll confirms it.
    """
    bot = host.bot
    if bot is None:
        log.info("no bot token: the chat-ops bot is off", extra={"event": "bot_off"})
        return
    services = services_from(host)
    dp = build_dispatcher(services)
    outage = Outage(backoff)
    try:
        # Reach the API before setting the menus: an outage at start is one warning, not one per menu.
        if await call_until_ok(bot.me, stop, outage) is None:
            return
        await set_commands(bot, services.catalogs, await list_members(services.db))
        await poll(dp, bot, stop, outage, handle_as_tasks=handle_as_tasks)
    except Exception:  # outages are retried inside; what gets here is a bug, and it is loud
        log.exception("bot stopped", extra={"event": "bot_crashed"})
        raise
