"""Triggers through the real path: changes arrive (webhook, import, SQL), the trigger tick starts runs,
the worker sends each step through the SMTP sandbox and the Telegram stand-in, on a manual clock."""

from __future__ import annotations

from datetime import timedelta

from aiohttp.test_utils import TestClient, TestServer

from policy.timeutil import iso_utc, to_epoch
from storage.outbox import rows_of_campaign
from tests.e2e.conftest import AUTHOR, EXAMPLES, World
from tests.e2e.people import add_contacts, relax
from tests.e2e.test_hooks_and_followups import post_hook


async def drain(world: World) -> None:
    while (await world.app.dispatch(world.clock())).claimed:
        pass


async def run_for(world: World, span: timedelta, step: timedelta = timedelta(minutes=15)) -> None:
    """Tick triggers and the worker every `step` on the manual clock for `span`."""
    end = world.clock() + span
    while world.clock() < end:
        await world.app.fire_triggers(world.clock())
        await drain(world)
        world.clock.advance(step)


async def go_live(world: World, name: str, campaign_id: str) -> None:
    now = world.clock()
    text = (EXAMPLES / name).read_text(encoding="utf-8")
    await world.app.service.add(text, name, by=AUTHOR, at=now)
    await world.app.service.dry_run(campaign_id, at=now, by=AUTHOR)
    result = await world.app.service.plan(campaign_id, at=now)
    assert result.status == "scheduled" and result.inserted == 0  # nothing until it fires


def order(oid: str, contact: str, at: str, status: str = "pending", paid_at: str = "") -> dict[str, object]:
    item: dict[str, object] = {
        "id": oid,
        "contact_id": contact,
        "amount": 4900,
        "status": status,
        "created_at": at,
    }
    if paid_at:
        item["paid_at"] = paid_at
    return item


async def test_dunning_emails_then_telegrams_and_a_payment_stops_it(world: World) -> None:
    relax(world)
    await add_contacts(world.app.db, ["d1", "d2", "d3"], at=world.clock(), telegram=True)
    await go_live(world, "dunning.toml", "dunning")
    now = world.clock()
    async with TestClient(TestServer(world.app.http)) as client:
        status, body = await post_hook(
            client, world, {"orders": [order("o1", "d1", iso_utc(now)), order("o2", "d2", iso_utc(now))]}
        )
        assert status == 200, body
        await run_for(world, timedelta(hours=2))
        emailed = sorted(m.rcpt_tos[0] for m in world.smtp.messages)
        assert emailed == ["d1@example.org", "d2@example.org"]  # an hour after the order; d3 ordered nothing
        # d1 pays between the email and the Telegram step.
        paid = order("o1", "d1", iso_utc(now), "paid", iso_utc(world.clock()))
        status, body = await post_hook(client, world, {"orders": [paid]})
        assert status == 200, body
        await run_for(world, timedelta(hours=24))
    chats = [m.chat_id for m in world.telegram.all_sent()]
    assert chats == [10_002]  # only d2, who did not pay
    rows = {
        (r["contact_id"], r["step"] % 100): (r["status"], r["reason"])
        for r in await rows_of_campaign(world.app.db, "dunning")
    }
    assert rows == {
        ("d1", 0): ("sent", None),
        ("d1", 1): ("suppressed", "trigger_stopped"),
        ("d2", 0): ("sent", None),
        ("d2", 1): ("sent", None),
    }


async def test_a_payment_before_the_order_does_not_stop_the_run(world: World) -> None:
    relax(world)
    await add_contacts(world.app.db, ["p1"], at=world.clock())
    long_ago = iso_utc(world.clock() - timedelta(days=200))
    async with TestClient(TestServer(world.app.http)) as client:
        await post_hook(client, world, {"orders": [order("old", "p1", long_ago, "paid", long_ago)]})
        await go_live(world, "dunning.toml", "dunning")
        await post_hook(client, world, {"orders": [order("new", "p1", iso_utc(world.clock()))]})
    await run_for(world, timedelta(hours=2))
    assert [m.rcpt_tos[0] for m in world.smtp.messages] == ["p1@example.org"]


async def test_reentry_after_30_days_and_exactly_once_before(world: World) -> None:
    relax(world)
    await add_contacts(world.app.db, ["r1"], at=world.clock())
    await go_live(world, "dunning.toml", "dunning")
    async with TestClient(TestServer(world.app.http)) as client:
        for oid in ["a", "b", "c"]:  # three orders on three days: one run
            await post_hook(client, world, {"orders": [order(oid, "r1", iso_utc(world.clock()))]})
            await run_for(world, timedelta(days=1), timedelta(hours=1))
        assert await world.app.db.scalar("SELECT COUNT(*) FROM trigger_runs") == 1
        world.clock.advance(timedelta(days=30))
        status, body = await post_hook(client, world, {"orders": [order("d", "r1", iso_utc(world.clock()))]})
        assert status == 200, body
        await run_for(world, timedelta(days=3), timedelta(hours=1))  # a weekend may hold it (RFM window)
    assert await world.app.db.scalar("SELECT COUNT(*) FROM trigger_runs") == 2
    assert len(world.smtp.messages) == 2


async def test_the_feed_journals_only_while_a_trigger_is_live_and_is_pruned_behind_it(world: World) -> None:
    await add_contacts(world.app.db, ["f1"], at=world.clock())
    visit = "INSERT INTO events (contact_id, type, at) VALUES ('f1', 'visit', ?)"
    async with world.app.db.transaction() as conn:
        await conn.execute(visit, (to_epoch(world.clock()),))
    assert await world.app.db.scalar("SELECT COUNT(*) FROM trigger_feed") == 0  # no trigger is live
    await go_live(world, "dunning.toml", "dunning")
    async with world.app.db.transaction() as conn:
        await conn.execute(visit, (to_epoch(world.clock()) + 1,))
    assert await world.app.db.scalar("SELECT COUNT(*) FROM trigger_feed") == 1
    await world.app.fire_triggers(world.clock())
    assert await world.app.db.scalar("SELECT COUNT(*) FROM trigger_feed") == 0
