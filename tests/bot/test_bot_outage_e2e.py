"""The bot rides out Bot API outages: 5xx answers and refused connections, at start and while polling.

The stand-in is switched to answer 502 to everything, or stopped and started again on the same port;
afterwards the bot answers a command. Each outage is logged once (a warning, then an info line).
A short backoff keeps the test quick; its schedule (1 s doubling to 60 s) is tested as a table.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from bot.app import run_bot
from bot.polling import Backoff
from dispatcher.clock import ManualClock
from ritm.policy_file import load_policy
from ritm.sandbox.loopback import loopback_app
from ritm.sandbox.smtp_server import CapturingSmtpServer
from ritm.sandbox.telegram_api import TelegramStandin
from storage.team import add_member

VIEWER = 303
FAST = Backoff(first_s=0.02, max_s=0.1)


class _Events(logging.Handler):
    """Collects the `event` key of every record and wakes waiters when one arrives."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.events: list[tuple[int, str]] = []
        self.arrived = asyncio.Event()

    def emit(self, record: logging.LogRecord) -> None:
        self.events.append((record.levelno, str(getattr(record, "event", ""))))
        self.arrived.set()

    async def wait_for(self, event: str, count: int) -> None:
        async with asyncio.timeout(10):
            while self.count(event) < count:
                self.arrived.clear()
                await self.arrived.wait()

    def count(self, event: str, level: int | None = None) -> int:
        return sum(1 for lv, ev in self.events if ev == event and (level is None or lv == level))


@pytest.fixture
def events() -> Iterator[_Events]:
    handler = _Events()
    logger = logging.getLogger("bot")
    logger.addHandler(handler)
    previous = logger.level
    logger.setLevel(logging.INFO)
    yield handler
    logger.setLevel(previous)
    logger.removeHandler(handler)


async def _whoami(standin: TelegramStandin) -> str:
    before = len(standin.sent(VIEWER))
    standin.user_message(VIEWER, "/whoami", language_code="en")
    await standin.wait_for_sent(VIEWER, before + 1, timeout_s=10)
    return standin.sent(VIEWER)[-1].text or ""


async def test_outages_at_start_and_while_polling_are_ridden_out_and_logged_once(
    tmp_path: Path, events: _Events
) -> None:
    policy = load_policy(None)
    clock = ManualClock(datetime(2026, 11, 24, 9, 0, tzinfo=UTC))
    async with CapturingSmtpServer(directory=tmp_path / "mail") as smtp, TelegramStandin() as standin:
        standin.set_limits(enabled=False)
        app = await loopback_app(
            policy, clock, smtp, standin, db=tmp_path / "ritm.db", public_url="https://r.example", secret="s"
        )
        await add_member(app.db, VIEWER, "viewer", by="test", at=clock())
        stop = asyncio.Event()
        standin.start_outage(502)  # Telegram is down when the bot starts
        polling = asyncio.create_task(run_bot(app, stop, handle_as_tasks=False, backoff=FAST))
        try:
            await standin.wait_for(lambda: standin.requests["getMe"] >= 3)
            assert standin.requests["setMyCommands"] == 0  # menus wait until the API answers
            standin.end_outage()
            assert "303" in await _whoami(standin)
            assert standin.commands()  # the menus were set once the API came back
            assert events.count("set_commands_failed") == 0

            standin.start_outage(503, "Service Unavailable")  # down while polling
            calls = standin.requests["getUpdates"]
            await standin.wait_for(lambda: standin.requests["getUpdates"] >= calls + 4)
            report = await app.dispatch(clock())  # the rest of the process goes on meanwhile
            assert report.claimed == 0
            standin.end_outage()
            assert "303" in await _whoami(standin)

            port = urlsplit(standin.base_url).port
            await standin.stop()  # connections refused
            await events.wait_for("bot_api_down", 3)
            await standin.start(port=port or 0)
            assert "303" in await _whoami(standin)
            await events.wait_for("bot_api_up", 3)
            assert not polling.done()  # polling never stopped
        finally:
            stop.set()
            await asyncio.wait_for(polling, 10)
            await app.close()
    assert events.count("bot_api_down", logging.WARNING) == 3  # one warning per outage …
    assert events.count("bot_api_up", logging.INFO) == 3  # … and one line when it is over
    assert events.count("bot_crashed") == events.count("bot_update_failed") == 0


def test_the_backoff_doubles_from_one_second_up_to_a_minute() -> None:
    backoff = Backoff()
    assert [backoff.delay_s(n) for n in range(1, 10)] == [1, 2, 4, 8, 16, 32, 60, 60, 60]
    assert backoff.delay_s(10_000) == 60
