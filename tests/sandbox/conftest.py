"""Fixtures for the Telegram stand-in tests: a running stand-in, an aiogram Bot on it, virtual time."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiogram import Bot

from ritm.sandbox import TelegramStandin
from tests.telegram_support import VirtualTime, standin_bot


@pytest.fixture
async def standin() -> AsyncIterator[TelegramStandin]:
    async with TelegramStandin() as server:
        yield server


@pytest.fixture
async def bot(standin: TelegramStandin) -> AsyncIterator[Bot]:
    async with standin_bot(standin) as client:
        yield client


@pytest.fixture
def vtime() -> VirtualTime:
    return VirtualTime()
