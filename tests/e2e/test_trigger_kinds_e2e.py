"""Each trigger kind fires exactly once per contact per `reentry` and stops on its `until`: a tag being
set, entering a segment (by a change, or by time alone), and yearly dates in the contact's own zone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from policy.timeutil import to_epoch
from storage.outbox import rows_of_campaign
from tests.e2e.conftest import AUTHOR, World
from tests.e2e.people import add_contacts, relax
from tests.e2e.test_triggers_e2e import go_live, run_for


async def add_campaign(world: World, text: str, campaign_id: str) -> None:
    now = world.clock()
    await world.app.service.add(text, f"{campaign_id}.toml", by=AUTHOR, at=now)
    await world.app.service.dry_run(campaign_id, at=now, by=AUTHOR)
    await world.app.service.plan(campaign_id, at=now)


async def sql(world: World, statement: str, rows: list[tuple[object, ...]]) -> None:
    async with world.app.db.transaction() as conn:
        await conn.executemany(statement, rows)


def sent_to(world: World) -> list[str]:
    return sorted(m.rcpt_tos[0].split("@")[0] for m in world.smtp.messages)


async def runs_of(world: World, campaign_id: str) -> list[tuple[str, str]]:
    rows = await world.app.db.fetchall(
        "SELECT contact_id, key FROM trigger_runs WHERE campaign_id = ? ORDER BY id", (campaign_id,)
    )
    return [(r[0], r[1]) for r in rows]


TAG_TRIGGER = """
id = "welcome-funnel"
name = "Funnel welcome"
trigger = "tag:funnel"
until = "tag:marathon"
reentry = "after 7d"
windows = { from = "00:00", to = "00:00" }
[[steps]]
channel = "email"
template = "winback"
[[steps]]
after = "2d"
channel = "email"
template = "anniversary"
"""


async def test_a_tag_set_starts_once_per_reentry_and_another_tag_stops_it(world: World) -> None:
    relax(world)
    await add_contacts(world.app.db, ["t1", "t2"], at=world.clock())
    await add_campaign(world, TAG_TRIGGER, "welcome-funnel")
    tag_sql = (
        "INSERT INTO tags (contact_id, tag, set_at) VALUES (?, ?, ?)"
        " ON CONFLICT (contact_id, tag) DO UPDATE SET set_at = excluded.set_at, removed_at = NULL"
    )
    now = to_epoch(world.clock())
    await sql(world, tag_sql, [("t1", "funnel", now), ("t2", "funnel", now)])
    await run_for(world, timedelta(hours=1))
    assert sent_to(world) == ["t1", "t2"]
    # t1 joins a marathon: the run's second step is stopped; the tag set again within 7 days starts nothing.
    now = to_epoch(world.clock())
    await sql(world, tag_sql, [("t1", "marathon", now), ("t1", "funnel", now), ("t2", "funnel", now)])
    await run_for(world, timedelta(days=3), timedelta(hours=1))
    assert sent_to(world) == ["t1", "t2", "t2"]
    steps = {
        (r["contact_id"], r["step"] % 100): (r["status"], r["reason"])
        for r in await rows_of_campaign(world.app.db, "welcome-funnel")
    }
    assert steps[("t1", 1)] == ("suppressed", "trigger_stopped")
    assert steps[("t2", 1)] == ("sent", None)
    assert [c for c, _ in await runs_of(world, "welcome-funnel")] == ["t1", "t2"]
    world.clock.advance(timedelta(days=7))
    await sql(world, tag_sql, [("t2", "funnel", to_epoch(world.clock()))])
    await run_for(world, timedelta(hours=1))
    assert [c for c, _ in await runs_of(world, "welcome-funnel")] == ["t1", "t2", "t2"]


async def test_entering_a_segment_by_time_alone_and_by_a_change(world: World) -> None:
    relax(world)
    start = world.clock()
    await add_contacts(world.app.db, ["w1", "w2", "w3", "w4"], at=start - timedelta(days=100), telegram=True)
    visit = "INSERT INTO events (contact_id, type, at) VALUES (?, 'visit', ?)"
    day = 86_400
    now = to_epoch(start)
    # w1 falls asleep tomorrow; w2 is asleep already (not entering); w3 never did anything; w4 is active.
    await sql(world, visit, [("w1", now - 29 * day - 3600), ("w2", now - 40 * day), ("w4", now - day)])
    await go_live(world, "winback.toml", "winback")
    await run_for(world, timedelta(days=2), timedelta(hours=1))
    assert sent_to(world) == ["w1"]
    assert [c for c, _ in await runs_of(world, "winback")] == ["w1"]
    # w1 opens the email: the Telegram step three days later is stopped; w1 is awake again.
    await sql(
        world,
        "INSERT INTO events (contact_id, type, at) VALUES (?, 'open', ?)",
        [("w1", to_epoch(world.clock()))],
    )
    await run_for(world, timedelta(days=4), timedelta(hours=1))
    steps = {
        (r["contact_id"], r["step"] % 100): (r["status"], r["reason"])
        for r in await rows_of_campaign(world.app.db, "winback")
    }
    assert steps[("w1", 1)] == ("suppressed", "trigger_stopped")
    assert world.telegram.all_sent() == []
    assert [c for c, _ in await runs_of(world, "winback")] == ["w1"]  # once per reentry (90 days)


ANNIVERSARY_BIRTHDAY = """
id = "birthday"
name = "Birthday"
trigger = "date:fields.birthday"
[[steps]]
channel = "email"
template = "anniversary"
"""


async def test_dates_fire_once_a_year_on_the_contacts_local_day(world: World) -> None:
    relax(world)
    start = world.clock()  # 2026-11-24 09:00 UTC
    await add_contacts(world.app.db, ["a1", "a2"], at=start - timedelta(days=500))
    await add_contacts(world.app.db, ["b1"], at=start, timezone="Asia/Vladivostok")
    paid = (
        "INSERT INTO orders (id, contact_id, amount, status, created_at, paid_at)"
        " VALUES (?, ?, 100, 'paid', ?, ?)"
    )
    first = to_epoch(datetime(2025, 11, 25, 7, tzinfo=UTC))  # 10:00 in Moscow
    await sql(world, paid, [("o1", "a1", first, first), ("o2", "a1", first + 86_400, first + 86_400)])
    await sql(world, paid, [("o3", "a2", first - 90 * 86_400, first - 90 * 86_400)])
    await sql(world, "UPDATE contacts SET fields = ? WHERE id = ?", [('{"birthday": "1990-11-25"}', "b1")])
    await go_live(world, "anniversary.toml", "first-payment-anniversary")
    await add_campaign(world, ANNIVERSARY_BIRTHDAY, "birthday")
    await run_for(world, timedelta(days=3), timedelta(hours=1))
    assert sent_to(world) == ["a1", "b1"]
    assert await runs_of(world, "first-payment-anniversary") == [("a1", "date:2026")]
    assert await runs_of(world, "birthday") == [("b1", "date:2026")]
    sent = {
        r["contact_id"]: r["sent_at"]
        for r in await world.app.db.fetchall("SELECT contact_id, sent_at FROM outbox")
    }
    # The 25th in Vladivostok begins at 14:00 UTC on the 24th; in Moscow at 21:00 UTC on the 24th.
    assert (
        datetime(2026, 11, 24, 14, tzinfo=UTC)
        <= datetime.fromtimestamp(sent["b1"], UTC)
        < datetime(2026, 11, 25, 14, tzinfo=UTC)
    )
    assert (
        datetime(2026, 11, 24, 21, tzinfo=UTC)
        <= datetime.fromtimestamp(sent["a1"], UTC)
        < datetime(2026, 11, 25, 21, tzinfo=UTC)
    )
