"""/help, /whoami and /lang for the team."""

from __future__ import annotations

from aiogram import Bot, Router
from aiogram.filters import Command, CommandObject
from aiogram.types import Message

from bot.commands import commands_for, set_member_commands
from bot.format import esc
from bot.i18n import LOCALES, Translator
from bot.roles import needs, role_name
from bot.services import BotServices
from storage.team import Member, get_member, set_member_locale


def help_text(member: Member, tr: Translator) -> str:
    lines: list[str] = [
        tr.gettext("<b>Ritm</b> — what you can do as {role}:", role=role_name(tr, member.role))
    ]
    for command in commands_for(member.role):
        usage = f" {esc(command.usage)}" if command.usage else ""
        lines.append(f"/{command.name}{usage} — {tr.gettext(command.description)}")
    lines.append(tr.gettext("Send a campaign file (.toml) as a document to add it as a draft."))
    return "\n".join(lines)


async def show_help(
    message: Message, bot: Bot, member: Member, tr: Translator, services: BotServices
) -> None:
    await message.answer(help_text(member, tr))
    # /help is also when a member's menu catches up with a role changed from the CLI.
    await set_member_commands(bot, services.catalogs, member)


async def whoami(message: Message, member: Member, tr: Translator) -> None:
    await message.answer(
        tr.gettext(
            "You are {name} (id <code>{id}</code>), role: {role}, language: {locale}.",
            name=member.name or (message.from_user.full_name if message.from_user else ""),
            id=member.user_id,
            role=role_name(tr, member.role),
            locale=tr.locale,
        )
    )


async def set_language(
    message: Message, command: CommandObject, bot: Bot, member: Member, services: BotServices, tr: Translator
) -> None:
    wanted = (command.args or "").strip().lower()
    if wanted not in LOCALES:
        await message.answer(tr.gettext("Usage: /lang ru or /lang en."))
        return
    await set_member_locale(services.db, member.user_id, wanted)
    fresh = await get_member(services.db, member.user_id)
    new_tr = services.catalogs.translator(wanted)
    await message.answer(new_tr.gettext("Done: I will answer you in English."))
    if fresh is not None:
        await set_member_commands(bot, services.catalogs, fresh)


def build_router() -> Router:
    """A fresh router with this feature's handlers (one per dispatcher)."""
    router = Router(name="team_help")
    router.message.register(show_help, Command("help"), flags=needs("viewer", "help"))
    router.message.register(whoami, Command("whoami"), flags=needs("viewer", "whoami"))
    router.message.register(set_language, Command("lang"), flags=needs("viewer", "lang"))
    return router
