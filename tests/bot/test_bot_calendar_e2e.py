"""/calendar: the next 7 local days per campaign, with double bookings and cap overruns marked."""

from __future__ import annotations

from datetime import timedelta

from policy.timeutil import to_epoch
from tests.bot.conftest import VIEWER, BotWorld


async def test_calendar_groups_by_day_and_marks_conflicts(world: BotWorld) -> None:
    now = world.clock()  # Tue 2026-11-24 09:00 UTC = 12:00 in Moscow
    today, tomorrow = to_epoch(now + timedelta(hours=2)), to_epoch(now + timedelta(days=1))
    rows = [
        ("digest-48", "h00012", 0, "mass", "general", today),
        ("webinar-1127", "h00012", 0, "scenario", "invite", today + 600),  # 2 non-service today
        ("digest-48", "h00013", 0, "mass", "general", today),
        ("promo-1", "h00013", 0, "mass", "all", today + 900),  # 2 mass today: over the 1-a-day cap
        ("stream-moved", "h00014", 0, "service", "notice", today),
        ("stream-moved", "h00012", 0, "service", "notice", today),  # service never conflicts
        ("digest-48", "h00014", 0, "mass", "general", tomorrow),
        ("old", "h00014", 0, "mass", "general", to_epoch(now - timedelta(hours=1))),  # in the past
    ]
    async with world.app.db.transaction() as conn:
        await conn.executemany(
            "INSERT INTO outbox (campaign_id, contact_id, step, priority, channel, version, due_at, status,"
            " created_at) VALUES (?, ?, ?, ?, 'email', ?, ?, 'planned', 0)",
            rows,
        )
        await conn.execute("UPDATE outbox SET status = 'sent', sent_at = due_at WHERE campaign_id = 'old'")
    [reply] = await world.say(VIEWER, "/calendar", language_code="ru")
    lines = (reply.text or "").splitlines()
    assert lines[0] == "Ближайшие 7 дней (Europe/Moscow)"
    assert lines[1] == "вт 24 нояб.: 6 сообщений"
    assert "  • digest-48 (mass) · general · почта: 2" in lines
    assert "  • webinar-1127 (scenario) · invite · почта: 1" in lines
    assert "  ⚠️ 2 контакта получат 2+ несервисных сообщения за день" in lines
    assert "  ⚠️ сверх лимита 1/1d mass (any): 1 контакт" in lines
    assert "ср 25 нояб.: 1 сообщение" in lines
    assert sum(1 for ln in lines if ln.endswith("ничего не запланировано")) == 5
