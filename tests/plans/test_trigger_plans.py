"""Query plans of a trigger tick (SPEC §12.4): it reads the feed by id range and each contact's runs by
key — a tick after a few changes never walks the base, the feed or the runs whole."""

from __future__ import annotations

from datetime import timedelta

from policy.timeutil import to_epoch
from tests.plans.test_query_plans import EXAMPLES, OnBase, _assert_clean, app_on_base, base

__all__ = ["app_on_base", "base"]  # the fixtures this module uses


async def test_plans_of_trigger_ticks_and_their_send_time_checks(app_on_base: OnBase) -> None:
    app, clock, db_path, log = app_on_base
    for name, campaign_id in (("dunning", "dunning"), ("winback", "winback")):
        text = (EXAMPLES / f"{name}.toml").read_text(encoding="utf-8")
        await app.service.add(text, f"{name}.toml", by="101", at=clock())
        await app.service.dry_run(campaign_id, at=clock(), by="101")
        await app.service.plan(campaign_id, at=clock())
    await app.fire_triggers(clock())  # the first look of `enter:` learns the segment (whole base: hourly)
    ids = [r[0] for r in await app.db.fetchall("SELECT id FROM contacts ORDER BY id LIMIT 40")]
    now_s = to_epoch(clock())
    async with app.db.transaction() as conn:
        await conn.executemany(
            "INSERT INTO orders (id, contact_id, amount, status, created_at)"
            " VALUES (?, ?, 990, 'pending', ?)",
            [(f"plan-{cid}", cid, now_s) for cid in ids],
        )
        await conn.executemany(
            "INSERT INTO events (contact_id, type, at) VALUES (?, 'visit', ?)", [(cid, now_s) for cid in ids]
        )
    clock.advance(timedelta(minutes=5))
    with log.recording() as tick:
        report = await app.fire_triggers(clock())
    assert report.started["dunning"] > 0
    _assert_clean(db_path, tick)

    async with app.db.transaction() as conn:  # half of them pay: their next step is stopped
        await conn.executemany(
            "UPDATE orders SET status = 'paid', paid_at = ? WHERE id = ?",
            [(now_s + 600, f"plan-{cid}") for cid in ids[::2]],
        )
    with log.recording() as sending:
        for _ in range(2 * 24 * 4):
            while (await app.dispatch(clock())).claimed:
                pass
            clock.advance(timedelta(minutes=15))
    stopped = await app.db.scalar("SELECT COUNT(*) FROM outbox WHERE reason = 'trigger_stopped'")
    assert stopped > 0
    _assert_clean(db_path, sending)
