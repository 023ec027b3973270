"""Query plans guarded: what the worker, the re-check, follow-ups, explain and the planner ask per contact
never walks a whole table (issue: a per-contact order lookup walked `orders` by date at 1 M contacts).

A populated base (the synthetic one, 3 000 contacts) runs the real operations; every statement they ran
is explained afterwards. A failure prints the statement and its plan.
"""

from __future__ import annotations

import shutil
import sqlite3
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from dispatcher.clock import ManualClock
from dispatcher.explain import explain_contact
from ritm.app import App
from ritm.policy_file import load_policy
from ritm.sandbox.loopback import loopback_app
from ritm.sandbox.smtp_server import CapturingSmtpServer
from ritm.sandbox.telegram_api import TelegramStandin
from ritm.synthetic import DEFAULT_ANCHOR, write_demo_base
from storage.db import Database
from storage.importer import import_csv
from storage.merge import merge_contacts
from storage.team import add_member
from storage.tracking import revoke_consent
from tests.plans.support import StatementLog, plan_problems, traced_connections

OnBase = tuple[App, ManualClock, Path, StatementLog]
EXAMPLES = Path(__file__).resolve().parents[2] / "ritm" / "examples"
CONTACTS = 3000


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The synthetic base imported once per module (copied per test); the import leaves statistics."""
    import asyncio

    folder = tmp_path_factory.mktemp("plans")
    write_demo_base(folder / "csv", CONTACTS, seed=5)

    async def build() -> None:
        db = await Database.open(folder / "base.db")
        policy = load_policy(None)
        for kind in ("contacts", "orders", "events"):
            await import_csv(db, kind, folder / "csv" / f"{kind}.csv", policy, now=DEFAULT_ANCHOR)  # type: ignore[arg-type]
        await db.close()

    asyncio.run(build())
    return folder / "base.db"


@pytest.fixture
async def app_on_base(base: Path, tmp_path: Path) -> AsyncIterator[OnBase]:
    db_path = tmp_path / "ritm.db"
    shutil.copy(base, db_path)
    with sqlite3.connect(db_path) as conn:  # the import left the planner its statistics
        assert conn.execute("SELECT COUNT(*) FROM sqlite_stat1 WHERE tbl = 'orders'").fetchone()[0] > 0
    policy = load_policy(None)
    clock = ManualClock(datetime(2026, 11, 20, 9, 0, tzinfo=UTC))
    async with (
        CapturingSmtpServer(directory=tmp_path / "mail") as smtp,
        TelegramStandin() as standin,
    ):
        # Open for the whole test: read connections are opened when first needed, not with the app.
        with traced_connections() as log:
            app = await loopback_app(
                policy, clock, smtp, standin, db=db_path, public_url="https://ritm.school.example",
                secret="plans-" * 8, templates=None,
            )  # fmt: skip
            await add_member(app.db, 101, "approver", by="test", at=clock())
            await add_member(app.db, 202, "approver", by="test", at=clock())
            try:
                yield app, clock, db_path, log
            finally:
                await app.close()


def _assert_clean(db_path: Path, statements: list[str], *, whole_base: bool = False) -> None:
    assert statements, "nothing was recorded: the guard would pass vacuously"
    problems = plan_problems(db_path, statements, whole_base=whole_base)
    assert not problems, "per-contact lookups that walk a table:\n" + "\n".join(problems)


async def test_plans_of_planning_sending_follow_ups_and_explain(app_on_base: OnBase) -> None:
    app, clock, db_path, log = app_on_base
    added = [
        await app.service.add(
            (EXAMPLES / f"{name}.toml").read_text(encoding="utf-8"), f"{name}.toml", by="101", at=clock()
        )
        for name in ("webinar", "digest")
    ]
    campaign_ids = [a.campaign.id for a in added]
    clock.set(min(a.campaign.start for a in added) - timedelta(hours=1))

    with log.recording() as planning:
        for cid in campaign_ids:
            await app.service.dry_run(cid, at=clock(), by="101")
            await app.service.approve(cid, by="202", at=clock())
            await app.service.plan(cid, at=clock())
    _assert_clean(db_path, planning, whole_base=True)

    with log.recording() as sending:
        for _ in range(3 * 24 * 4):  # three days of 15-minute steps
            while (await app.dispatch(clock())).claimed:
                pass
            await app.loop.idle_s()  # what `ritm run` asks between drains: when is the next row due
            clock.advance(timedelta(minutes=15))
    _assert_clean(db_path, sending)

    with log.recording() as follow_ups:
        await app.follow_up(clock())
    _assert_clean(db_path, follow_ups)

    ids = [r[0] for r in await app.db.fetchall("SELECT contact_id FROM outbox LIMIT 20")]
    with log.recording() as explaining:
        for contact_id in ids:
            await explain_contact(app.db, app.policy, contact_id, clock(), campaign_id=campaign_ids[0])
    _assert_clean(db_path, explaining)


async def test_plans_of_identity_lookups_merge_and_suppressions(app_on_base: OnBase, base: Path) -> None:
    """Re-importing the base (address owners, aliases), a merge, a suppression and explaining the
    contacts it holds: every per-contact or per-address question is keyed."""
    app, clock, db_path, log = app_on_base
    ids = [r[0] for r in await app.db.fetchall("SELECT id FROM contacts WHERE email IS NOT NULL LIMIT 2")]
    with log.recording() as importing:
        report = await import_csv(
            app.db, "contacts", base.parent / "csv" / "contacts.csv", app.policy, now=clock()
        )
        assert report.unchanged == CONTACTS and not report.rejected
    _assert_clean(db_path, importing)
    with log.recording() as merging:
        await merge_contacts(app.db, ids[0], ids[1], at=clock())
    _assert_clean(db_path, merging)
    with log.recording() as suppressing:
        async with app.db.transaction() as conn:
            await revoke_consent(conn, ids[0], "email", "unsubscribe_link", clock())
        for contact_id in ids:  # the second id is an alias of the first now
            explained = await explain_contact(app.db, app.policy, contact_id, clock())
            assert explained is not None and explained.reachable["email"].why.startswith(
                "suppressed: address"
            )
    _assert_clean(db_path, suppressing)


PRODUCT_CAMPAIGN = """
id = "course-x-upsell"
name = "Для купивших курс X"
priority = "mass"
channels = ["email", "telegram"]
audience = 'order:paid product = "Курс X" within 365d AND NOT order:refunded product = "Курс X"'
start = "2026-11-20T12:00:00+03:00"
deadline = "2026-11-22T21:00:00+03:00"

[[versions]]
segment = "all"
subject = "Продолжение курса X"
text = "{{ contact.first_name }}, для вас открыт второй модуль."
"""


async def test_plans_of_a_product_audience(app_on_base: OnBase) -> None:
    """`order:paid product = …` over the whole base (dry run, planning), per contact (the send-time
    re-check) and in explain: the product's orders are found by index, never by walking `orders`."""
    app, clock, db_path, log = app_on_base
    with sqlite3.connect(db_path) as conn:
        conn.execute("UPDATE orders SET product = 'Курс X' WHERE rowid % 3 = 0")
        conn.execute("UPDATE orders SET status = 'refunded' WHERE rowid % 15 = 0 AND status = 'paid'")
    added = await app.service.add(PRODUCT_CAMPAIGN, "course-x.toml", by="101", at=clock())
    campaign_id = added.campaign.id
    with log.recording() as planning:
        report = await app.service.dry_run(campaign_id, at=clock(), by="101")
        await app.service.approve(campaign_id, by="202", at=clock())
        await app.service.plan(campaign_id, at=clock())
    assert report.audience > 0
    _assert_clean(db_path, planning, whole_base=True)

    with log.recording() as sending:
        for _ in range(2 * 24 * 4):
            while (await app.dispatch(clock())).claimed:
                pass
            clock.advance(timedelta(minutes=15))
    _assert_clean(db_path, sending)

    ids = [r[0] for r in await app.db.fetchall("SELECT contact_id FROM outbox LIMIT 20")]
    with log.recording() as explaining:
        for contact_id in ids:
            await explain_contact(app.db, app.policy, contact_id, clock(), campaign_id=campaign_id)
    _assert_clean(db_path, explaining)
