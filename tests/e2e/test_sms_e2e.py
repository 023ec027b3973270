"""SMS end to end: a campaign goes through the durable dispatch path to the SMS.ru stand-in over real
HTTP; each failure mode lands where it should; delivery callbacks (and forged ones) at /hooks/sms."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from aiohttp.test_utils import TestServer

from dispatcher.campaigns import CampaignRefused
from dispatcher.channels import smsru_wire as wire
from dispatcher.clock import ManualClock
from dispatcher.stats import SmsStats, campaign_stats
from policy.config import QuietHours
from policy.timeutil import to_epoch
from ritm.app import App
from ritm.cli.campaign_report import sms_line
from ritm.policy_file import load_policy
from ritm.sandbox.loopback import loopback_app
from ritm.sandbox.smsru_api import SmsRuStandin
from ritm.sandbox.smtp_server import CapturingSmtpServer
from ritm.sandbox.telegram_api import TelegramStandin
from storage.campaigns import get_campaign
from storage.db import Database
from storage.outbox import rows_of_campaign
from storage.team import add_member
from tests.e2e.people import campaign_toml
from tests.secret_support import TEST_SECRET

AUTHOR = "101"


@dataclass
class SmsWorld:
    app: App
    sms: SmsRuStandin
    clock: ManualClock


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[SmsWorld]:
    policy = load_policy(None)
    policy = policy.model_copy(
        update={"quiet_hours": QuietHours.model_validate({"from": "00:00", "to": "00:00"})}
    )
    clock = ManualClock(datetime(2026, 11, 24, 9, 0, tzinfo=UTC))
    async with (
        CapturingSmtpServer(directory=tmp_path / "mail") as smtp,
        TelegramStandin() as telegram,
        SmsRuStandin(balance=100.0) as sms,
    ):
        app = await loopback_app(
            policy,
            clock,
            smtp,
            telegram,
            db=tmp_path / "ritm.db",
            public_url="https://ritm.school.example",
            secret=TEST_SECRET,
            sms=sms,
        )
        server = TestServer(app.http)
        await server.start_server()
        sms.callback_url = str(server.make_url("/hooks/sms"))
        await add_member(app.db, int(AUTHOR), "approver", by="test", at=clock())
        try:
            yield SmsWorld(app, sms, clock)
        finally:
            await server.close()
            await app.close()


async def add_phones(db: Database, phones: dict[str, str], *, at: datetime) -> None:
    async with db.transaction() as conn:
        await conn.executemany(
            "INSERT INTO contacts (id, name, phone, timezone, created_at)"
            " VALUES (?, ?, ?, 'Europe/Moscow', ?)",
            [(cid, f"Гость {cid}", phone, to_epoch(at)) for cid, phone in phones.items()],
        )
        await conn.executemany(
            "INSERT INTO consents (contact_id, channel, status, source, at)"
            " VALUES (?, 'sms', 'granted', 'test', ?)",
            [(cid, to_epoch(at)) for cid in phones],
        )


async def send_service_sms(world: SmsWorld, campaign_id: str) -> dict[str, tuple[str, str | None]]:
    now = world.clock()
    text = campaign_toml(
        campaign_id, start=now, deadline=now + timedelta(days=1), priority="service", channels='["sms"]'
    ).replace("Новости школы. Отписаться: {{ unsubscribe_url }}", "Доступ открыт, код 4815")
    await world.app.service.add(text, f"{campaign_id}.toml", by=AUTHOR, at=now)
    await world.app.service.dry_run(campaign_id, at=now, by=AUTHOR)
    await world.app.service.plan(campaign_id, at=now)
    while (await world.app.dispatch(world.clock())).claimed:
        pass
    rows = await rows_of_campaign(world.app.db, campaign_id)
    return {r["contact_id"]: (r["status"], r["reason"]) for r in rows}


async def test_an_sms_goes_out_with_its_parts_and_a_report_marks_it_delivered(world: SmsWorld) -> None:
    await add_phones(world.app.db, {"p1": "+79001110001", "p2": "+79001110002"}, at=world.clock())
    assert await send_service_sms(world, "access") == {"p1": ("sent", None), "p2": ("sent", None)}
    first, second = world.sms.to("+79001110001")[0], world.sms.to("+79001110002")[0]
    assert first.text == "Доступ открыт, код 4815" and first.parts == 1
    stored = await world.app.db.fetchall("SELECT message_id, sms_parts FROM outbox ORDER BY contact_id")
    assert [tuple(r) for r in stored] == [(first.sms_id, 1), (second.sms_id, 1)]

    assert await world.sms.report(first.sms_id, wire.DELIVERED) == "200 100"
    assert await world.sms.report(second.sms_id, wire.PHONE_FAILURE) == "200 100"
    reports = await world.app.db.fetchall("SELECT outbox_id, state, code FROM sms_reports ORDER BY outbox_id")
    assert [(r[1], r[2]) for r in reports] == [("delivered", 103), ("failed", 106)]
    assert await world.sms.report(first.sms_id, wire.IN_TRANSIT) == "200 100"  # not final: ignored

    stats = await campaign_stats(world.app.reports, "access", world.clock(), sms_price=3.5)
    assert stats.sms == SmsStats(sent=2, parts=2, cost=7.0, delivered=1, failed=1)
    assert stats.to_json()["sms"] == {"sent": 2, "parts": 2, "cost": 7.0, "delivered": 1, "failed": 1}
    per_channel = stats.to_json()["channels"]["sms"]
    assert (per_channel["sent"], per_channel["delivered"]) == (2, 1)  # delivered: as SMS.ru reported
    assert sms_line(stats.sms) == "SMS: 2 sent in 2 parts, cost 7.00; delivered 1, not delivered 1"


async def test_a_forged_callback_gets_403_and_changes_nothing(world: SmsWorld) -> None:
    await add_phones(world.app.db, {"p1": "+79001110001"}, at=world.clock())
    await send_service_sms(world, "access")
    [sent] = world.sms.sent
    answer = await world.sms.report(sent.sms_id, wire.DELIVERED, api_id="somebody-else")
    assert answer.startswith("403 ")
    assert await world.app.db.scalar("SELECT COUNT(*) FROM sms_reports") == 0


async def test_a_bad_number_is_suppressed_for_sms_and_the_rest_go_out(world: SmsWorld) -> None:
    await add_phones(world.app.db, {"p1": "+79001110001", "p2": "+79001110002"}, at=world.clock())
    world.sms.unroutable.add("79001110001")
    assert await send_service_sms(world, "access") == {"p1": ("failed", "bad_address"), "p2": ("sent", None)}
    suppressed = await world.app.db.fetchall("SELECT channel, address, reason FROM suppressions")
    assert [tuple(r) for r in suppressed] == [("sms", "+79001110001", "bad_address")]


async def test_low_balance_and_an_outage_are_retried_and_sent_once_they_pass(world: SmsWorld) -> None:
    await add_phones(world.app.db, {"p1": "+79001110001"}, at=world.clock())
    world.sms.balance = 1.0
    assert await send_service_sms(world, "access") == {"p1": ("retry", None)}
    error = await world.app.db.scalar("SELECT error FROM outbox")
    assert isinstance(error, str) and error.startswith("SMS.ru 201")
    world.sms.balance = 50.0
    world.sms.fail_next(wire.UNAVAILABLE)
    for _ in range(2):  # the outage, then the message goes through: never twice
        world.clock.advance(timedelta(minutes=10))
        while (await world.app.dispatch(world.clock())).claimed:
            pass
    rows = await rows_of_campaign(world.app.db, "access")
    assert [(r["status"], r["attempts"]) for r in rows] == [("sent", 3)]
    assert len(world.sms.sent) == 1


def set_sms(world: SmsWorld, **changes: object) -> None:
    """Change `[channels.sms]` of the running app's policy."""
    policy = world.app.policy
    sms = policy.channels.sms.model_copy(update=changes)
    changed = policy.model_copy(update={"channels": policy.channels.model_copy(update={"sms": sms})})
    for holder in (world.app, world.app.worker, world.app.service, world.app.campaigns, world.app.followups):
        holder.policy = changed  # type: ignore[attr-defined]


async def add_sms_campaign(world: SmsWorld, campaign_id: str, text: str) -> None:
    now = world.clock()
    toml = campaign_toml(
        campaign_id, start=now, deadline=now + timedelta(days=1), priority="scenario", channels='["sms"]'
    ).replace("Новости школы. Отписаться: {{ unsubscribe_url }}", text)
    await world.app.service.add(toml, f"{campaign_id}.toml", by=AUTHOR, at=now)


async def test_the_dry_run_shows_sms_parts_and_cost(world: SmsWorld) -> None:
    await add_phones(world.app.db, {"p1": "+79001110001", "p2": "+79001110002"}, at=world.clock())
    set_sms(world, price_per_part=2.5)
    await add_sms_campaign(world, "deadline", "Дедлайн по заданию сегодня в 23:59. " * 2)  # 72: 2 parts
    report = await world.app.service.dry_run("deadline", at=world.clock(), by=AUTHOR)
    assert (report.planned, report.sms_parts, report.sms_cost) == (2, 4, 10.0)
    assert report.to_json()["sms_parts"] == 4 and report.to_json()["sms_cost"] == 10.0


async def test_a_campaign_over_the_months_budget_fails_its_dry_run_with_the_figures(world: SmsWorld) -> None:
    await add_phones(world.app.db, {f"p{i}": f"+7900111000{i}" for i in range(1, 4)}, at=world.clock())
    await send_service_sms(world, "access")  # 3 parts spent this month: 12.00 RUB
    set_sms(world, budget_per_month=20.0)
    await add_sms_campaign(world, "deadline", "Дедлайн сегодня")
    with pytest.raises(CampaignRefused) as refused:
        await world.app.service.dry_run("deadline", at=world.clock(), by=AUTHOR)
    assert str(refused.value) == (
        "over the SMS budget: 3 SMS in 3 parts cost 12.00 RUB, but 8.00 RUB of this month's 20.00 RUB is"
        " left (12.00 RUB spent); shorten the text, narrow the audience or raise [channels.sms]"
        " budget_per_month"
    )
    record = await get_campaign(world.app.db, "deadline")
    assert record is not None and record.dry_run is None and record.status == "draft"
    set_sms(world, budget_per_month=24.0)  # exactly what it needs
    assert (await world.app.service.dry_run("deadline", at=world.clock(), by=AUTHOR)).sms_cost == 12.0


async def test_a_message_over_ten_parts_is_refused_at_the_dry_run(world: SmsWorld) -> None:
    await add_phones(world.app.db, {"p1": "+79001110001"}, at=world.clock())
    await add_sms_campaign(world, "essay", "я" * 671)  # 11 parts of 67
    with pytest.raises(CampaignRefused, match=r"version .* as SMS takes 11 parts \(671 ucs2 characters\)"):
        await world.app.service.dry_run("essay", at=world.clock(), by=AUTHOR)
