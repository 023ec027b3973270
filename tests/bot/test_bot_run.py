"""`run_bot` without a bot token has nothing to do and returns at once."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from aiogram import Bot

from bot.app import run_bot


@dataclass
class _NoBot:
    bot: Bot | None = None


async def test_run_bot_without_a_token_returns_at_once() -> None:
    await asyncio.wait_for(run_bot(_NoBot(), asyncio.Event()), timeout=1)  # type: ignore[arg-type]
