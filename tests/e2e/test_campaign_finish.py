"""A campaign is closed (`done`) right after its last row is settled, and an idle `ritm run` does not
look for closable campaigns at every tick: that look walks a campaign's rows, 0.1 s at 1 M contacts,
so rows another process settles are picked up within a minute instead."""

from __future__ import annotations

from datetime import timedelta

from policy.timeutil import to_epoch
from storage.campaigns import get_campaign
from tests.e2e.conftest import APPROVER, AUTHOR, World
from tests.e2e.people import add_contacts, campaign_toml, relax


async def status(world: World, campaign_id: str) -> str:
    record = await get_campaign(world.app.db, campaign_id)
    assert record is not None
    return record.status


async def test_closed_after_its_last_send_and_within_a_minute_of_another_process(world: World) -> None:
    relax(world)
    now = world.clock()
    await add_contacts(world.app.db, ["f01", "f02", "f03", "f04"], at=now)
    for campaign_id in ("fin-1", "fin-2"):
        text = campaign_toml(campaign_id, start=now, deadline=now + timedelta(days=2))
        await world.app.service.add(text, f"{campaign_id}.toml", by=AUTHOR, at=now)
        await world.app.service.dry_run(campaign_id, at=now, by=AUTHOR)
        await world.app.service.approve(campaign_id, by=APPROVER, at=now)
        await world.app.service.plan(campaign_id, at=now)
    async with world.app.db.transaction() as conn:  # fin-2 waits a day for one contact
        await conn.execute(
            "UPDATE outbox SET due_at = ? WHERE campaign_id = 'fin-2' AND contact_id = 'f04'",
            (to_epoch(now + timedelta(days=1)),),
        )
    while (await world.app.dispatch(now)).claimed:
        pass
    await world.app.dispatch(now)  # the next tick finds fin-1's last outcome written
    assert (await status(world, "fin-1"), await status(world, "fin-2")) == ("done", "sending")

    async with world.app.db.transaction() as conn:  # as `ritm outbox cancel` in another process
        await conn.execute("UPDATE outbox SET status = 'cancelled' WHERE campaign_id = 'fin-2'"
                           " AND status = 'planned'")  # fmt: skip
    await world.app.dispatch(now + timedelta(seconds=30))
    assert await status(world, "fin-2") == "sending"  # idle ticks within the minute do not look
    await world.app.dispatch(now + timedelta(seconds=61))
    assert await status(world, "fin-2") == "done"
