"""A campaign file sent as a document: the same validation as `ritm campaign add`, the sender as author."""

from __future__ import annotations

from datetime import datetime

from aiogram import Bot, F, Router
from aiogram.exceptions import TelegramAPIError
from aiogram.types import Message

from bot.errors import CAMPAIGN_ERRORS, refusal
from bot.i18n import Translator
from bot.roles import needs
from bot.services import BotServices
from storage.team import Member

MAX_CAMPAIGN_BYTES = 256 * 1024  # a campaign file is a page of TOML; anything bigger is a mistake


async def campaign_file(
    message: Message, bot: Bot, services: BotServices, member: Member, tr: Translator, now: datetime
) -> None:
    document = message.document
    assert document is not None  # the filter guarantees it
    name = document.file_name or "campaign.toml"
    if not name.lower().endswith(".toml"):
        await message.answer(tr.gettext("Send a campaign file with the .toml extension."))
        return
    if (document.file_size or 0) > MAX_CAMPAIGN_BYTES:
        await message.answer(tr.gettext("The file is too big for a campaign file (at most 256 KB)."))
        return
    try:
        data = await bot.download(document)
    except TelegramAPIError as exc:
        await message.answer(tr.gettext("Could not download the file: {why}", why=str(exc)))
        return
    raw = data.read() if data is not None else b""
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        await message.answer(tr.gettext("{name}: the file is not UTF-8 text.", name=name))
        return
    try:
        added = await services.campaigns.add(text, name, by=str(member.user_id), at=now, source="bot")
    except CAMPAIGN_ERRORS as exc:
        await message.answer(refusal(exc, tr))
        return
    if added.change == "unchanged":
        reply = tr.gettext("{id}: unchanged ({status}).", id=added.record.id, status=added.record.status)
    else:
        reply = tr.gettext("{id}: added as draft; /dryrun {id}", id=added.record.id)
    await message.answer(reply)


def build_router() -> Router:
    """A fresh router with this feature's handlers (one per dispatcher)."""
    router = Router(name="team_documents")
    router.message.register(campaign_file, F.document, flags=needs("operator", "campaign_file"))
    return router
