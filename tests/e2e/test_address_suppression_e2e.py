"""The send-time re-check reads per-address suppressions: a complaint about an address that arrives
after planning keeps the planned message from going out (whichever contact holds the address)."""

from __future__ import annotations

from datetime import timedelta

from aiohttp.test_utils import TestClient, TestServer

from storage.outbox import rows_of_campaign
from storage.suppressions import suppress
from tests.e2e.conftest import APPROVER, AUTHOR, World
from tests.e2e.people import add_contacts, campaign_toml, relax
from tests.e2e.test_hooks_and_followups import post_hook


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


async def test_the_webhook_refuses_another_contacts_address_naming_it(world: World) -> None:
    await add_contacts(world.app.db, ["w1"], at=world.clock())
    contacts = [
        {"id": "w2", "email": "W1@EXAMPLE.ORG", "name": "Дубль"},
        {"id": "w3", "email": "w3@example.org", "phone": "8 900 000-00-03"},
        {"id": "w4", "phone": "+7 900 000 00 03"},
    ]
    async with TestClient(TestServer(world.app.http)) as client:
        status, body = await post_hook(client, world, {"contacts": contacts})
    assert status == 200, body
    assert body["contacts"] == {"imported": 1, "updated": 0, "unchanged": 0}
    assert body["errors"] == [
        {"kind": "contacts", "index": 0, "reason": "email W1@example.org belongs to contact w1"},
        {"kind": "contacts", "index": 2, "reason": "phone +79000000003 belongs to contact w3"},
    ]
    ids = [r[0] for r in await world.app.db.fetchall("SELECT id FROM contacts ORDER BY id")]
    assert ids == ["w1", "w3"]
