"""A claimed batch's RFM is scored once: the send-time re-check reads each contact's segment and the
templates get that same segment, without a second scoring of the batch when its rows are rendered."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from dispatcher.clock import ManualClock
from policy.rfm import NO_ACTIVITY
from ritm.app import App
from ritm.policy_file import load_policy
from ritm.sandbox.loopback import loopback_app
from ritm.sandbox.smtp_server import CapturingSmtpServer
from ritm.sandbox.telegram_api import TelegramStandin
from storage.importer import import_csv
from storage.segments import SegmentContext
from storage.team import add_member
from tests.e2e.conftest import APPROVER, AUTHOR, WORKED
from tests.plans.support import StatementLog, traced_connections
from tests.secret_support import TEST_SECRET

RFM_CAMPAIGN = """
id = "rfm-subject"
name = "Сегмент в теме"
priority = "mass"
channels = ["email"]
audience = "all"
start = "2026-11-25T09:00:00"
deadline = "2026-11-27T21:00:00"

[[versions]]
segment = "all"
subject = "rfm={{ contact.rfm }}"
text = "{{ contact.first_name }}, здравствуйте."
"""
RFM_TABLE = re.compile(r"\s*CREATE TEMP TABLE ritm_rfm_\d+\b", re.IGNORECASE)

Traced = tuple[App, ManualClock, CapturingSmtpServer, StatementLog]


@pytest.fixture
async def traced_world(tmp_path: Path) -> AsyncIterator[Traced]:
    """The worked base, every connection of the app reporting its statements."""
    policy = load_policy(None)
    clock = ManualClock(datetime(2026, 11, 24, 9, 0, tzinfo=UTC))
    async with CapturingSmtpServer(directory=tmp_path / "mail") as smtp, TelegramStandin() as standin:
        with traced_connections() as log:
            app = await loopback_app(
                policy, clock, smtp, standin, db=tmp_path / "ritm.db",
                public_url="https://ritm.school.example", secret=TEST_SECRET, templates=None,
            )  # fmt: skip
            try:
                for kind in ("contacts", "orders", "events"):
                    await import_csv(app.db, kind, WORKED / f"{kind}.csv", policy, now=clock())  # type: ignore[arg-type]
                await add_member(app.db, int(AUTHOR), "approver", by="test", at=clock())
                await add_member(app.db, int(APPROVER), "approver", by="test", at=clock())
                yield app, clock, smtp, log
            finally:
                await app.close()


async def test_templates_get_the_rechecked_rfm_and_a_batch_scores_it_once(traced_world: Traced) -> None:
    app, clock, smtp, log = traced_world
    added = await app.service.add(RFM_CAMPAIGN, "rfm.toml", by=AUTHOR, at=clock())
    clock.set(added.campaign.start - timedelta(hours=1))
    await app.service.dry_run(added.campaign.id, at=clock(), by=AUTHOR)
    await app.service.approve(added.campaign.id, by=APPROVER, at=clock())
    await app.service.plan(added.campaign.id, at=clock())

    batches = 0
    subjects: dict[str, tuple[str, datetime]] = {}  # contact → (subject, the instant it was sent at)
    with log.recording() as sending:
        for _ in range(3 * 24 * 4):
            before = len(smtp.messages)
            while (await app.dispatch(clock())).claimed:
                batches += 1
            for message in smtp.messages[before:]:
                outbox_id = int(str(message.message["X-Ritm-Outbox"]))
                row = await app.db.fetchone("SELECT contact_id FROM outbox WHERE id = ?", (outbox_id,))
                assert row is not None
                subjects[str(row[0])] = (str(message.message["Subject"]), clock())
            clock.advance(timedelta(minutes=15))

    assert len(subjects) > 20, "the campaign must reach a good part of the worked base"
    for contact_id, (subject, at) in subjects.items():
        # Scored from the contact's own rows in Python (policy.rfm), not by the batch's SQL.
        async with SegmentContext(app.db, app.policy, at) as segments:
            scores = await segments.rfm_of(contact_id)
        assert subject == f"rfm={scores.segment if scores is not None else NO_ACTIVITY}", contact_id
    assert len({subject for subject, _ in subjects.values()}) >= 3, "the base's segments differ"
    # One scoring of RFM per claimed batch (the re-check's); rendering did not build a second table.
    assert batches > 0
    assert len([sql for sql in sending if RFM_TABLE.match(sql)]) == batches
