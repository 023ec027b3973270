"""The bot's factory: one Dispatcher with the subscriber side, the gated team side and a fallback.

Router order is the routing rule: subscriber commands (/start, /stop, /prefs and their buttons) first,
then the team routers under one role gate, then the fallback for everything else. `run_bot` sets the
command menus and polls until `stop` is set; `ritm run` calls it beside the dispatcher.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from aiogram import Bot, Dispatcher, Router
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
)
from bot.commands import set_commands
from bot.context import ContextMiddleware
from bot.i18n import Translator
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


async def run_bot(host: BotHost, stop: asyncio.Event, *, handle_as_tasks: bool = True) -> None:
    """Set the command menus, then poll Telegram until `stop` is set (nothing to do without a bot).

    Updates are handled as concurrent tasks (a long dry run does not hold up other users); tests pass
    `handle_as_tasks=False` so that an update is fully handled before the next poll confirms it.
    """
    bot = host.bot
    if bot is None:
        log.info("no bot token: the chat-ops bot is off", extra={"event": "bot_off"})
        return
    services = services_from(host)
    dp = build_dispatcher(services)
    await set_commands(bot, services.catalogs, await list_members(services.db))
    await poll_until(dp, bot, stop, handle_as_tasks=handle_as_tasks)


async def poll_until(dp: Dispatcher, bot: Bot, stop: asyncio.Event, *, handle_as_tasks: bool = True) -> None:
    polling = asyncio.create_task(
        dp.start_polling(bot, handle_signals=False, close_bot_session=False, handle_as_tasks=handle_as_tasks)
    )
    stopped = asyncio.create_task(stop.wait())
    try:
        await asyncio.wait({polling, stopped}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        stopped.cancel()
        if not polling.done():
            try:
                await dp.stop_polling()
            except RuntimeError:  # not started yet: nothing to wind down
                polling.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await polling
    if not polling.cancelled() and polling.exception() is not None:
        # aiogram retries network errors itself; what ends polling is fatal (e.g. a revoked token).
        log.error("bot polling stopped", exc_info=polling.exception(), extra={"event": "bot_crashed"})
        polling.result()
