"""Fixtures of the fault suite: the SMTP server and the Telegram stand-in, and a figures printer."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import pytest

from ritm.sandbox.telegram_api import TelegramStandin
from tests.faults.tally import Figures
from tests.faults.world import Mailroom


@pytest.fixture
async def mail() -> AsyncIterator[Mailroom]:
    room = Mailroom()
    await room.up()
    try:
        yield room
    finally:
        await room.down()


@pytest.fixture
async def standin() -> AsyncIterator[TelegramStandin]:
    async with TelegramStandin() as server:
        yield server


@pytest.fixture
def show(capsys: pytest.CaptureFixture[str]) -> Callable[[Figures], None]:
    """Print a scenario's figures line even when pytest captures output (the README quotes them)."""

    def printer(figures: Figures) -> None:
        with capsys.disabled():
            print("\n" + figures.line(), flush=True)

    return printer
