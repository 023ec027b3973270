"""Fatigue alerts and the weekly report reach the approvers, once per week, from real outbox rows."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

from bot.services import services_from
from bot.team_notices import TeamNotices
from policy.timeutil import to_epoch
from tests.bot.conftest import ADMIN, APPROVER, AUTHOR, OPERATOR, VIEWER, BotWorld

WEEK = timedelta(days=7)
PEOPLE = 400  # per segment


async def mail_weekly(world: BotWorld, now: datetime, unsubscribed: dict[str, list[int]]) -> None:
    """Five weeks of one email a week to each of 400 `clients` and 400 `warm` contacts; the
    unsubscribes each week (the last list item is the current week) come from the first contacts."""
    db = world.app.db
    async with db.transaction() as conn:
        await conn.executemany(
            "INSERT INTO contacts (id, email, created_at) VALUES (?, ?, 0)",
            [(f"{seg}{i}", f"{seg}{i}@example.org") for seg in unsubscribed for i in range(PEOPLE)],
        )
        for week in range(5):
            sent_at = to_epoch(now - (5 - week) * WEEK + timedelta(days=1))
            campaign = f"news-w{week}"
            rows = [
                (campaign, f"{seg}{i}", seg, sent_at, sent_at) for seg in unsubscribed for i in range(PEOPLE)
            ]
            await conn.executemany(
                "INSERT INTO outbox (campaign_id, contact_id, step, priority, channel, version, due_at,"
                " status, sent_at, created_at) VALUES (?, ?, 0, 'mass', 'email', ?, ?, 'sent', ?, 0)",
                rows,
            )
            events = [
                (f"{seg}{i}", sent_at + 3600, campaign, json.dumps({"channel": "email"}))
                for seg, per_week in unsubscribed.items()
                for i in range(per_week[week])
            ]
            await conn.executemany(
                "INSERT INTO events (contact_id, type, at, campaign_id, meta)"
                " VALUES (?, 'unsubscribe', ?, ?, ?)",
                events,
            )


async def test_an_alert_fires_when_a_segments_unsubscribe_rate_triples(world: BotWorld) -> None:
    now = world.clock()
    # clients: 2 a week (5 per 1 000) for four weeks, then 6 (15 per 1 000); warm: 2 then 3 (×1.5).
    await mail_weekly(world, now, {"clients": [2, 2, 2, 2, 6], "warm": [2, 2, 2, 2, 3]})
    assert world.app.bot is not None
    notices = TeamNotices(world.app.bot, services_from(world.app))
    report = await notices.run_once(now)
    assert [(a.segment, a.channel, a.measure) for a in report.alerts] == [
        ("clients", "email", "unsubscribes")
    ]
    for approver in (AUTHOR, APPROVER, ADMIN):
        [alert] = world.standin.sent(approver)
        text = alert.text or ""
        assert "Перегрев базы: сегмент clients, почта: отписки 15.0 на 1 000 отправок" in text, text
        assert "против 5.0 раньше" in text and "Кампании: news-w4" in text
        assert "не больше 1 в неделю для clients" in text
    for member in (VIEWER, OPERATOR):
        assert world.standin.sent(member) == []
    # Told once a week, however often the round runs.
    world.clock.advance(timedelta(hours=1))
    assert (await notices.run_once(world.clock())).alerts == []
    assert len(world.standin.sent(APPROVER)) == 1


async def test_the_weekly_report_carries_a_chart_on_monday_morning(world: BotWorld) -> None:
    now = world.clock()  # Tuesday
    await mail_weekly(world, now + WEEK, {"clients": [0, 0, 0, 0, 0]})
    assert world.app.bot is not None
    notices = TeamNotices(world.app.bot, services_from(world.app))
    assert not (await notices.run_once(now)).weekly
    monday = datetime.fromisoformat("2026-11-30T09:05:00+03:00")
    world.clock.set(monday)
    assert (await notices.run_once(monday)).weekly
    [report] = world.standin.sent(APPROVER)
    assert report.photo is not None and report.photo.data.startswith(b"\x89PNG")
    assert (report.text or "").startswith("📊 Неделя: отправлено сообщений 400")
    assert not (await notices.run_once(monday + timedelta(hours=2))).weekly
