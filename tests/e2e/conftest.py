"""A whole Ritm on loopback: SQLite file, the real SMTP sandbox, the Telegram stand-in, a manual clock."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest

from dispatcher.clock import ManualClock
from policy.config import Policy
from ritm.app import App
from ritm.policy_file import load_policy
from ritm.sandbox.loopback import loopback_app
from ritm.sandbox.smtp_server import CapturingSmtpServer
from ritm.sandbox.telegram_api import TelegramStandin
from storage.importer import import_csv
from storage.team import add_member
from tests.secret_support import TEST_SECRET

WORKED = Path(__file__).resolve().parents[1] / "fixtures" / "worked"
EXAMPLES = Path(__file__).resolve().parents[2] / "ritm" / "examples"
AUTHOR, APPROVER = "101", "202"


@dataclass
class World:
    app: App
    smtp: CapturingSmtpServer
    telegram: TelegramStandin
    clock: ManualClock
    policy: Policy


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[World]:
    """An empty base; tests add the contacts they need."""
    async for w in _world(tmp_path, worked=False):
        yield w


@pytest.fixture
async def worked_world(tmp_path: Path) -> AsyncIterator[World]:
    """The SPEC's worked example base, imported through the CSV importer."""
    async for w in _world(tmp_path, worked=True):
        yield w


async def _world(tmp_path: Path, *, worked: bool) -> AsyncIterator[World]:
    policy = load_policy(None)
    clock = ManualClock(datetime(2026, 11, 24, 9, 0, tzinfo=UTC))
    async with CapturingSmtpServer(directory=tmp_path / "mail") as smtp, TelegramStandin() as standin:
        (tmp_path / "templates").mkdir()
        app = await loopback_app(
            policy,
            clock,
            smtp,
            standin,
            db=tmp_path / "ritm.db",
            public_url="https://ritm.school.example",
            secret=TEST_SECRET,
            templates=tmp_path / "templates",
        )
        for kind in ("contacts", "orders", "events") if worked else ():
            await import_csv(app.db, kind, WORKED / f"{kind}.csv", policy, now=clock())  # type: ignore[arg-type]
        await add_member(app.db, int(AUTHOR), "approver", by="test", at=clock())  # four-eyes, not rank
        await add_member(app.db, int(APPROVER), "approver", by="test", at=clock())
        try:
            yield World(app, smtp, standin, clock, policy)
        finally:
            await app.close()
