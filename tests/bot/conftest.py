"""A whole Ritm with its chat-ops bot polling the Telegram stand-in over HTTP, on a manual clock.

Users act through the stand-in (`say`, `press`, `upload`); the bot polls it as in production
(`bot.app.run_bot`, updates handled one by one so that "consumed" means "handled").
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from bot.app import run_bot
from dispatcher.clock import ManualClock
from ritm.app import App
from ritm.policy_file import load_policy
from ritm.sandbox.loopback import loopback_app
from ritm.sandbox.smtp_server import CapturingSmtpServer
from ritm.sandbox.telegram_api import TelegramStandin
from ritm.sandbox.telegram_records import SentMessage
from storage.importer import import_csv
from storage.team import add_member
from tests.secret_support import TEST_SECRET

WORKED = Path(__file__).resolve().parents[1] / "fixtures" / "worked"
EXAMPLES = Path(__file__).resolve().parents[2] / "ritm" / "examples"
AUTHOR, APPROVER, VIEWER, OPERATOR, ADMIN = 101, 202, 303, 404, 505
STRANGER = 909
START = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
# How long an update may take to be handled: a chart's first drawing imports matplotlib, which takes
# seconds on a busy machine (a bound, not a sleep: the wait ends when the update is handled).
HANDLED_S = 30.0


@dataclass
class BotWorld:
    app: App
    standin: TelegramStandin
    smtp: CapturingSmtpServer
    clock: ManualClock
    errors: list[logging.LogRecord] = field(default_factory=list)

    async def say(self, user_id: int, text: str, *, language_code: str = "en") -> list[SentMessage]:
        """Send `text` as the user; return what the bot sent to that chat while handling it."""
        before = len(self.standin.sent(user_id))
        self.standin.user_message(user_id, text, language_code=language_code)
        await self.standin.wait_until_consumed(timeout_s=HANDLED_S)
        return self.standin.sent(user_id)[before:]

    async def upload(
        self, user_id: int, filename: str, data: bytes, *, language_code: str = "en"
    ) -> list[SentMessage]:
        before = len(self.standin.sent(user_id))
        self.standin.user_document(
            user_id, filename, data, mime_type="application/toml", language_code=language_code
        )
        await self.standin.wait_until_consumed(timeout_s=HANDLED_S)
        return self.standin.sent(user_id)[before:]

    async def press(
        self, user_id: int, message: SentMessage, *, data: str | None = None, text: str | None = None
    ) -> dict[str, Any]:
        """Press a button as the user; return the bot's answer to the press."""
        query_id = self.standin.press_button(user_id, message, data=data, text=text)
        await self.standin.wait_until_consumed(timeout_s=HANDLED_S)
        answer = self.standin.callback_answer(query_id)
        assert answer is not None, "the bot did not answer the button press"
        return answer

    async def audit_rows(self, action: str) -> list[tuple[str, str, str, str]]:
        rows = await self.app.db.fetchall(
            "SELECT actor, action, COALESCE(target, ''), source FROM audit_log WHERE action = ? ORDER BY id",
            (action,),
        )
        return [(str(r[0]), str(r[1]), str(r[2]), str(r[3])) for r in rows]


class _Errors(logging.Handler):
    def __init__(self, sink: list[logging.LogRecord]) -> None:
        super().__init__(logging.ERROR)
        self.sink = sink

    def emit(self, record: logging.LogRecord) -> None:
        self.sink.append(record)


@asynccontextmanager
async def bot_world(
    tmp_path: Path, *, public_url: str = "https://ritm.school.example"
) -> AsyncIterator[BotWorld]:
    """The worked base, the team, and the bot polling the stand-in (the dashboard's tests reuse it)."""
    policy = load_policy(None)
    clock = ManualClock(START)
    async with CapturingSmtpServer(directory=tmp_path / "mail") as smtp, TelegramStandin() as standin:
        standin.set_limits(enabled=False)  # replies to one chat come faster than Telegram's 1/s here
        app = await loopback_app(
            policy,
            clock,
            smtp,
            standin,
            db=tmp_path / "ritm.db",
            public_url=public_url,
            secret=TEST_SECRET,
        )
        for kind in ("contacts", "orders", "events"):
            await import_csv(app.db, kind, WORKED / f"{kind}.csv", policy, now=clock())
        for user_id, role in (
            (AUTHOR, "approver"),
            (APPROVER, "approver"),
            (VIEWER, "viewer"),
            (OPERATOR, "operator"),
            (ADMIN, "admin"),
        ):
            await add_member(app.db, user_id, role, by="test", at=clock(), name=f"member{user_id}")
        errors: list[logging.LogRecord] = []
        handler = _Errors(errors)
        logging.getLogger("bot").addHandler(handler)
        stop = asyncio.Event()
        polling = asyncio.create_task(run_bot(app, stop, handle_as_tasks=False))
        await standin.wait_for(lambda: standin.requests["getUpdates"] > 0)
        try:
            yield BotWorld(app, standin, smtp, clock, errors)
        finally:
            stop.set()
            await polling
            logging.getLogger("bot").removeHandler(handler)
            await app.close()
    assert not errors, [r.getMessage() for r in errors]


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[BotWorld]:
    async with bot_world(tmp_path) as made:
        yield made
