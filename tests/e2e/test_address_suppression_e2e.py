"""The send-time re-check reads per-address suppressions: a complaint about an address that arrives
after planning keeps the planned message from going out (whichever contact holds the address)."""

from __future__ import annotations

from datetime import timedelta

from storage.outbox import rows_of_campaign
from storage.suppressions import suppress
from tests.e2e.conftest import APPROVER, AUTHOR, World
from tests.e2e.people import add_contacts, campaign_toml, relax


async def test_the_send_time_recheck_reads_address_suppressions(world: World) -> None:
    relax(world)
    now = world.clock()
    await add_contacts(world.app.db, ["s1", "s2"], at=now)
    text = campaign_toml("later-s", start=now + timedelta(hours=3), deadline=now + timedelta(days=2))
    await world.app.service.add(text, "later-s.toml", by=AUTHOR, at=now)
    await world.app.service.dry_run("later-s", at=now, by=AUTHOR)
    await world.app.service.approve("later-s", by=APPROVER, at=now)
    await world.app.service.plan("later-s", at=now)
    async with world.app.db.transaction() as conn:  # a complaint arrives for s1's address after planning
        await suppress(conn, "email", "S1@example.org", "complaint", now, source="feed")
    world.clock.advance(timedelta(hours=3))
    while (await world.app.dispatch(world.clock())).claimed:
        pass
    rows = {
        r["contact_id"]: (r["status"], r["reason"]) for r in await rows_of_campaign(world.app.db, "later-s")
    }
    assert rows == {"s1": ("suppressed", "no_consent"), "s2": ("sent", None)}
    assert [m.rcpt_tos for m in world.smtp.messages] == [("s2@example.org",)]
