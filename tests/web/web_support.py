"""A whole Ritm with its bot and its HTTP server on a loopback port: the dashboard as a browser sees it."""

from __future__ import annotations

import re
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from aiohttp import web

from tests.bot.conftest import BotWorld, bot_world

LINK = re.compile(r"http://127\.0\.0\.1:\d+/app/login/[A-Za-z0-9_-]+")


@dataclass
class WebWorld:
    bot: BotWorld
    base: str  # http://127.0.0.1:PORT

    async def login_link(self, user_id: int) -> str:
        """Ask the bot for a sign-in link as `user_id` (/web) and return it."""
        [reply] = await self.bot.say(user_id, "/web")
        found = LINK.search(reply.text or "")
        assert found, reply.text
        assert reply.link_preview_disabled  # a preview fetch must not be what the member sees first
        return found.group(0)


@asynccontextmanager
async def web_world(tmp_path: Path) -> AsyncIterator[WebWorld]:
    # The socket is bound first: the public URL (in every link) must name its port.
    listening = socket.socket()
    listening.bind(("127.0.0.1", 0))
    base = f"http://127.0.0.1:{listening.getsockname()[1]}"
    async with bot_world(tmp_path, public_url=base) as world:
        runner = web.AppRunner(world.app.http, access_log=None)
        await runner.setup()
        await web.SockSite(runner, listening).start()
        try:
            yield WebWorld(world, base)
        finally:
            await runner.cleanup()
