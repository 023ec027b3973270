"""A subscriber who chose "weekly" in the bot gets at most one non-service message a week."""

from __future__ import annotations

from datetime import timedelta

from tests.e2e.conftest import APPROVER, AUTHOR, World
from tests.e2e.people import add_contacts, campaign_toml, relax


async def test_weekly_readers_get_one_mass_message_a_week(world: World) -> None:
    relax(world)  # no global caps: only the subscriber's own choice limits them here
    now = world.clock()
    await add_contacts(world.app.db, ["weekly1", "normal1"], at=now)
    async with world.app.db.transaction() as conn:
        await conn.execute(
            "UPDATE contacts SET fields = json_set(fields, '$.frequency', 'weekly') WHERE id = 'weekly1'"
        )
    for day, campaign_id in enumerate(("news-1", "news-2")):
        at = now + timedelta(days=2 * day)
        text = campaign_toml(campaign_id, start=at, deadline=at + timedelta(days=1))
        await world.app.service.add(text, f"{campaign_id}.toml", by=AUTHOR, at=at)
        report = await world.app.service.dry_run(campaign_id, at=at, by=AUTHOR)
        await world.app.service.approve(campaign_id, by=APPROVER, at=at)
        await world.app.service.plan(campaign_id, at=at)
        if campaign_id == "news-2":
            assert report.excluded == {"cap": 1} and report.planned == 1
    explained = await world.app.db.fetchall(
        "SELECT contact_id, campaign_id FROM outbox WHERE status = 'planned' ORDER BY contact_id, campaign_id"
    )
    assert [tuple(r) for r in explained] == [
        ("normal1", "news-1"),
        ("normal1", "news-2"),
        ("weekly1", "news-1"),
    ]
