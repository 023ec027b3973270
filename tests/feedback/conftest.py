"""Fixtures of the bounce/complaint tests: a Ritm on loopback with a VERP return path, and dovecot."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from dispatcher.clock import ManualClock
from dispatcher.imap_feedback import FeedbackMailbox
from ritm.policy_file import load_policy
from ritm.sandbox.loopback import loopback_app
from ritm.sandbox.smtp_server import CapturingSmtpServer
from ritm.sandbox.telegram_api import TelegramStandin
from ritm.settings import BouncesSettings
from storage.team import add_member
from tests.e2e.conftest import APPROVER, AUTHOR, World
from tests.feedback.imap_support import ImapServer, dovecot
from tests.secret_support import TEST_SECRET

RETURN_PATH = "bounces@school.example"


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[World]:
    """An empty base on loopback whose emails carry a VERP return path (bounces+<row>@school.example)."""
    policy = load_policy(None)
    clock = ManualClock(datetime(2026, 11, 24, 9, 0, tzinfo=UTC))
    async with CapturingSmtpServer(directory=tmp_path / "mail") as smtp, TelegramStandin() as standin:
        app = await loopback_app(
            policy,
            clock,
            smtp,
            standin,
            db=tmp_path / "ritm.db",
            public_url="https://ritm.school.example",
            secret=TEST_SECRET,
            return_path=RETURN_PATH,
        )
        await add_member(app.db, int(AUTHOR), "approver", by="test", at=clock())
        await add_member(app.db, int(APPROVER), "approver", by="test", at=clock())
        try:
            yield World(app, smtp, standin, clock, policy)
        finally:
            await app.close()


@pytest.fixture
def imap() -> Iterator[ImapServer]:
    with dovecot() as server:
        yield server


def mailbox_of(
    world: World, server: ImapServer, *, trust: bool = True, **overrides: object
) -> FeedbackMailbox:
    """The reader `ritm run` builds, aimed at the test's dovecot (`trust`: its certificate, if TLS)."""
    config = BouncesSettings.model_validate(
        {
            "imap_host": server.host,
            "imap_port": server.port,
            "imap_user": server.user,
            "imap_password": server.password,
            "imap_tls": "none" if server.client_tls is None else "tls",
            **overrides,
        }
    )
    return FeedbackMailbox(
        world.app.db,
        config,
        clock=world.clock,
        return_path=RETURN_PATH,
        ssl_context=server.client_tls if trust else None,
        timeout_s=10,
    )
