"""The command menu: which commands each role sees, in ru and en, set with `setMyCommands`.

Subscribers (the default scope) see /start, /prefs and /stop; each team member gets a chat scope with
the commands their role allows. The same table drives /help, so the menu and the help never disagree.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError
from aiogram.types import BotCommand, BotCommandScopeChat, BotCommandScopeDefault

from bot.i18n import LOCALES, N_, RUSSIAN_SPEAKING, Catalogs, Translator
from storage.team import Member, at_least

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Command:
    name: str
    description: str  # a message id
    role: str | None  # None: a subscriber command
    usage: str = ""


TEAM_COMMANDS = (
    Command("help", N_("what I can do"), "viewer"),
    Command("whoami", N_("your id, role and language"), "viewer"),
    Command("segments", N_("sizes of the base, RFM and saved segments"), "viewer"),
    Command("segment", N_("size, reach, RFM and a sample of a segment"), "viewer", "NAME | DSL"),
    Command("rfm", N_("the RFM distribution"), "viewer"),
    Command("campaigns", N_("campaigns and their status"), "viewer"),
    Command("stats", N_("results of a campaign"), "viewer", "ID"),
    Command("calendar", N_("planned messages for the next 7 days"), "viewer"),
    Command("contact", N_("why a contact would get a message now, and when next"), "viewer", "ID"),
    Command("web", N_("a one-time sign-in link to the team dashboard"), "viewer"),
    Command("lang", N_("reply language: ru or en"), "viewer", "ru | en"),
    Command("dryrun", N_("dry run of a campaign; mass ones go to approvers"), "operator", "ID"),
    Command("urgent", N_("send an urgent service message to a segment"), "operator", "[NAME | DSL]"),
    Command("cancel", N_("cancel the current dialog"), "operator"),
    Command("pause", N_("pause every message but service ones"), "admin"),
    Command("resume", N_("resume sending"), "admin"),
)
SUBSCRIBER_COMMANDS = (
    Command("start", N_("connect this chat to your subscription"), None),
    Command("prefs", N_("channels and how often"), None),
    Command("stop", N_("stop messages in Telegram"), None),
)
# Telegram picks a list by the user's language code; ours map to two catalogs.
LANGUAGE_CODES = ("", "en", *sorted(RUSSIAN_SPEAKING))


def commands_for(role: str | None) -> list[Command]:
    """The team commands a role may run (none for a stranger)."""
    return [c for c in TEAM_COMMANDS if role is not None and c.role and at_least(role, c.role)]


def menu(commands: list[Command] | tuple[Command, ...], tr: Translator) -> list[BotCommand]:
    return [BotCommand(command=c.name, description=tr.plain(c.description)) for c in commands]


def _locale_of(code: str, fallback: str) -> str:
    if not code:
        return fallback
    return "ru" if code in RUSSIAN_SPEAKING else "en"


async def set_commands(bot: Bot, catalogs: Catalogs, members: list[Member]) -> int:
    """Set the subscriber menu and every member's menu; returns how many lists were set."""
    done = 0
    for code in LANGUAGE_CODES:
        tr = catalogs.translator(_locale_of(code, "en"))
        done += await _set(bot, menu(SUBSCRIBER_COMMANDS, tr), BotCommandScopeDefault(), code)
    for member in members:
        done += await set_member_commands(bot, catalogs, member)
    return done


async def set_member_commands(bot: Bot, catalogs: Catalogs, member: Member) -> int:
    """A member's chat-scoped menu: their language by default, and one list per catalog."""
    commands = commands_for(member.role)
    scope = BotCommandScopeChat(chat_id=member.user_id)
    done = 0
    for code in ("", *LOCALES):
        tr = catalogs.translator(_locale_of(code, member.locale or catalogs.default))
        done += await _set(bot, menu(commands, tr), scope, code)
    return done


async def _set(
    bot: Bot, commands: list[BotCommand], scope: BotCommandScopeDefault | BotCommandScopeChat, code: str
) -> int:
    try:
        await bot.set_my_commands(commands, scope=scope, language_code=code or None)
    except TelegramAPIError as exc:
        # A menu is a convenience: a refusal must not keep the bot from answering.
        log.warning("commands not set", extra={"event": "set_commands_failed", "why": str(exc)})
        return 0
    return 1
