"""`ritm contact link ID [--json]`: the contact's Telegram deep link, to hand them by any means.

Opening it in Telegram starts the bot with the contact's signed token; the bot binds that chat and
grants Telegram consent (see `bot.subscriber`). The link is signed with RITM_SECRET, so it verifies only
on a `ritm run` with the same secret; the bot is named by RITM_BOT_USERNAME, else asked of getMe.
"""

from __future__ import annotations

import typer

from dispatcher.links import ConnectLinkError
from ritm.cli.common import STATE, console, emit_json, fail, open_db, run
from ritm.cli.contact_cmd import contact_app
from ritm.services import link_signer
from ritm.settings import Settings
from storage.reports import contact_exists


@contact_app.command("link")
def link(contact_id: str, as_json: bool = typer.Option(False, "--json")) -> None:
    """Print the contact's Telegram deep link (https://t.me/<bot>?start=<signed token>)."""
    settings = STATE.signing_settings()

    async def main() -> str:
        db = await open_db()
        try:
            known = await contact_exists(db, contact_id)
        finally:
            await db.close()
        if not known:
            fail(f"there is no contact {contact_id[:64]!r}")
        named = settings if settings.bot_username else await _ask_telegram(settings)
        try:
            return link_signer(named).telegram_connect_url(contact_id)
        except ConnectLinkError as exc:
            fail(str(exc))

    url = run(main)
    if as_json:
        emit_json({"contact": contact_id, "url": url})
        return
    console.print(url, highlight=False, soft_wrap=True)


async def _ask_telegram(settings: Settings) -> Settings:
    """The settings with the bot's username from getMe (RITM_BOT_TOKEN), when Telegram answers."""
    from ritm.telegram_bot import BotTokenError, open_bot  # aiogram takes seconds to import

    try:
        bot, named = await open_bot(settings)
    except BotTokenError as exc:
        fail(str(exc))
    if bot is not None:
        await bot.session.close()
    return named


def register(app: typer.Typer) -> None:
    """The command hangs off `ritm contact` (registered by `ritm.cli.contact_cmd`)."""
