"""The outbox worker rides out provider trouble and re-checks the policy at send time."""

from __future__ import annotations

from datetime import timedelta

from storage.outbox import rows_of_campaign
from storage.pause import set_paused
from tests.e2e.conftest import APPROVER, AUTHOR, World
from tests.e2e.people import add_contacts, campaign_toml, relax
from tests.telegram_support import standin_bot


async def start_campaign(world: World, campaign_id: str, ids: list[str], **kw: str) -> None:
    app, now = world.app, world.clock()
    text = campaign_toml(campaign_id, start=now, deadline=now + timedelta(days=2), **kw)
    await app.service.add(text, f"{campaign_id}.toml", by=AUTHOR, at=now)
    await app.service.dry_run(campaign_id, at=now, by=AUTHOR)
    if kw.get("priority", "mass") == "mass":
        await app.service.approve(campaign_id, by=APPROVER, at=now)
    await app.service.plan(campaign_id, at=now)


async def statuses(world: World, campaign_id: str) -> dict[str, str]:
    return {r["contact_id"]: r["status"] for r in await rows_of_campaign(world.app.db, campaign_id)}


async def test_smtp_outage_then_recovery_loses_and_duplicates_nothing(world: World) -> None:
    relax(world)
    ids = await add_contacts(world.app.db, [f"o{i:03d}" for i in range(20)], at=world.clock())
    await start_campaign(world, "outage-1", ids)
    world.smtp.start_outage("421")
    report = await world.app.dispatch(world.clock())
    assert report.outcomes["retry"] == report.claimed > 0
    assert not world.smtp.messages
    world.smtp.end_outage()
    for _ in range(5):  # backoff 1 min, then the rest of the batch
        world.clock.advance(timedelta(minutes=2))
        while (await world.app.dispatch(world.clock())).claimed:
            pass
    got = await statuses(world, "outage-1")
    mine = {k: v for k, v in got.items() if k in ids}
    assert set(mine.values()) == {"sent"}
    received = [m.rcpt_tos[0] for m in world.smtp.messages if m.rcpt_tos[0].startswith("o")]
    assert sorted(received) == sorted(f"{i}@example.org" for i in ids)


async def test_hard_bounce_suppresses_the_address_for_the_future(world: World) -> None:
    relax(world)
    ids = await add_contacts(world.app.db, ["bounce1", "fine1"], at=world.clock())
    await start_campaign(world, "b-1", ids)
    while (await world.app.dispatch(world.clock())).claimed:
        pass
    got = await statuses(world, "b-1")
    assert got["bounce1"] == "failed" and got["fine1"] == "sent"
    suppressed = await world.app.db.fetchall("SELECT channel, address, reason FROM suppressions")
    assert [tuple(r) for r in suppressed] == [("email", "bounce1@example.org", "hard_bounce")]
    # The next campaign no longer reaches the dead address.
    report = await world.app.service.dry_run("b-1", at=world.clock(), by=AUTHOR)
    assert report.excluded.get("no_consent", 0) >= 1


async def test_payment_and_unsubscribe_between_plan_and_send_are_respected(world: World) -> None:
    relax(world)
    now = world.clock()
    await add_contacts(world.app.db, ["p1", "u1", "k1"], at=now)
    text = campaign_toml("later-1", start=now + timedelta(hours=3), deadline=now + timedelta(days=2))
    await world.app.service.add(text, "later-1.toml", by=AUTHOR, at=now)
    await world.app.service.dry_run("later-1", at=now, by=AUTHOR)
    await world.app.service.approve("later-1", by=APPROVER, at=now)
    await world.app.service.plan("later-1", at=now)
    async with world.app.db.transaction() as conn:
        await conn.execute(
            "INSERT INTO orders (id, contact_id, amount, currency, status, created_at, paid_at)"
            " VALUES ('x1', 'p1', 5000, 'RUB', 'paid', ?, ?)",
            (int(now.timestamp()) + 3600, int(now.timestamp()) + 3600),
        )
        await conn.execute("UPDATE consents SET status = 'revoked' WHERE contact_id = 'u1'")
    world.clock.advance(timedelta(hours=3))
    while (await world.app.dispatch(world.clock())).claimed:
        pass
    rows = {
        r["contact_id"]: (r["status"], r["reason"]) for r in await rows_of_campaign(world.app.db, "later-1")
    }
    assert rows["p1"] == ("suppressed", "silence:after_payment")
    assert rows["u1"] == ("suppressed", "no_consent")
    assert rows["k1"][0] == "sent"


async def test_pause_holds_mass_but_not_service(world: World) -> None:
    relax(world)
    ids = await add_contacts(world.app.db, ["m1", "m2"], at=world.clock())
    await set_paused(world.app.db, True, by=APPROVER, at=world.clock())
    await start_campaign(world, "mass-1", ids)
    await start_campaign(world, "svc-1", ids, priority="service")
    while (await world.app.dispatch(world.clock())).claimed:
        pass
    mass = await statuses(world, "mass-1")
    service = await statuses(world, "svc-1")
    assert {mass[i] for i in ids} == {"planned"}
    assert {service[i] for i in ids} == {"sent"}
    await set_paused(world.app.db, False, by=APPROVER, at=world.clock())
    while (await world.app.dispatch(world.clock())).claimed:
        pass
    mass = await statuses(world, "mass-1")
    assert {mass[i] for i in ids} == {"sent"}


async def test_a_429_storm_is_ridden_out_without_loss_or_duplicates(world: World) -> None:
    """The stand-in allows 5 msg/s while our channel is (mis)configured for 1000/s: Telegram answers
    429 with retry_after, the channel pauses and resumes, and every message arrives exactly once."""
    relax(world)
    world.telegram.set_limits(per_bot_per_s=5.0, per_chat_per_s=50.0, burst_s=1.0)
    ids = await add_contacts(
        world.app.db, [f"t{i:02d}" for i in range(15)], at=world.clock(), email=False, telegram=True
    )
    await start_campaign(world, "tg-1", ids, channels='["telegram"]')
    while (await world.app.dispatch(world.clock())).claimed:
        pass
    got = await statuses(world, "tg-1")
    assert set(got.values()) == {"sent"}
    chats = [m.chat_id for m in world.telegram.all_sent()]
    assert len(chats) == len(set(chats)) == len(ids)
    assert world.telegram.count_429 > 0  # the storm really happened


async def test_a_429_beyond_the_wait_budget_leaves_the_row_to_retry_never_failed(world: World) -> None:
    """Telegram answers 429 with a retry_after longer than the channel may wait: the row goes back to
    the outbox as `retry`, due when the server said, its attempt not lost and nothing sent twice."""
    relax(world)
    [contact] = await add_contacts(world.app.db, ["h1"], at=world.clock(), email=False, telegram=True)
    world.telegram.set_limits(per_chat_per_s=1 / 120)  # one message per chat per two minutes
    async with standin_bot(world.telegram) as other_sender:
        await other_sender.send_message(10_001, "earlier")  # the chat's quota is now spent
    await start_campaign(world, "hold-1", [contact], channels='["telegram"]')
    report = await world.app.dispatch(world.clock())
    assert report.claimed == 1
    [row] = await rows_of_campaign(world.app.db, "hold-1")
    assert (row["status"], row["attempts"]) == ("retry", 1)
    assert row["error"] == "flood control: retry after 120 s"
    assert row["due_at"] == int(world.clock().timestamp()) + 120
    assert [m.text for m in world.telegram.sent(10_001)] == ["earlier"]
