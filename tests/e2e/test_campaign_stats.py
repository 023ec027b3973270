"""Campaign results from the outbox, the events and the orders (SPEC §9)."""

from __future__ import annotations

from datetime import timedelta

from dispatcher.stats import campaign_stats
from policy.assign import in_holdout
from policy.timeutil import to_epoch
from tests.e2e.conftest import APPROVER, AUTHOR, World
from tests.e2e.people import add_contacts, campaign_toml, relax


async def test_stats_count_sends_reactions_and_conversions_per_group(world: World) -> None:
    relax(world)
    now = world.clock()
    ids = await add_contacts(world.app.db, [f"s{i:02d}" for i in range(40)], at=now)
    text = campaign_toml("st-1", start=now, deadline=now + timedelta(days=1)).replace(
        "windows = {", "holdout = 0.25\nwindows = {"
    )
    await world.app.service.add(text, "st.toml", by=AUTHOR, at=now)
    await world.app.service.dry_run("st-1", at=now, by=AUTHOR)
    await world.app.service.approve("st-1", by=APPROVER, at=now)
    await world.app.service.plan("st-1", at=now)
    while (await world.app.dispatch(now)).claimed:
        pass
    held = [c for c in ids if in_holdout("st-1", c, 0.25)]
    treated = [c for c in ids if c not in held]
    assert held and treated
    t = to_epoch(now)
    async with world.app.db.transaction() as conn:
        await conn.execute(
            "INSERT INTO events (contact_id, type, at, campaign_id) VALUES (?, 'open', ?, 'st-1')",
            (treated[0], t + 60),
        )
        await conn.execute(
            "INSERT INTO events (contact_id, type, at, campaign_id) VALUES (?, 'click', ?, 'st-1')",
            (treated[0], t + 90),
        )
        for i, cid in enumerate([treated[0], treated[1], held[0]]):
            await conn.execute(
                "INSERT INTO orders (id, contact_id, amount, currency, status, created_at, paid_at)"
                " VALUES (?, ?, 1000, 'RUB', 'paid', ?, ?)",
                (f"o{i}", cid, t + 3600, t + 3600),
            )
        # Outside the 7-day attribution window: not a conversion.
        await conn.execute(
            "INSERT INTO orders (id, contact_id, amount, currency, status, created_at, paid_at)"
            " VALUES ('late', ?, 9000, 'RUB', 'paid', ?, ?)",
            (treated[2], t + 8 * 86400, t + 8 * 86400),
        )
    stats = (await campaign_stats(world.app.reports, "st-1", now + timedelta(days=10))).to_json()
    [group] = stats["groups"]
    assert group["sent"] == len(treated) and group["statuses"]["holdout"] == len(held)
    assert (group["opens"], group["clicks"], group["conversions"], group["revenue"]) == (1, 1, 2, 2000.0)
    assert stats["treated"] == {"contacts": len(treated), "converted": 2, "revenue": 2000.0}
    assert stats["holdout"]["converted"] == 1
    lift = stats["uplift"]
    assert lift is not None and lift["difference"] == round(2 / len(treated) - 1 / len(held), 4)
    assert lift["ci95"][0] < lift["difference"] < lift["ci95"][1]
