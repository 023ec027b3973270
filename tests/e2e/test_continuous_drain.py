"""Continuous draining (issue 15): while rows are due the worker claims the next batch at once — while the
current one is still in the channel's hands — and, idle, it waits for the next due row or a wake-up
instead of ticking. Real SQLite file and SMTP server; committed state read as another process would."""

from __future__ import annotations

import asyncio

from tests.e2e.conftest import World
from tests.e2e.durable_support import addresses_in_claim_order, committed, plan, statuses, until
from tests.e2e.people import add_contacts, relax


async def test_one_drain_sends_every_batch_claiming_the_next_while_one_is_still_sent(world: World) -> None:
    relax(world)
    world.app.worker.batch = 10
    db_path = world.app.db.path
    await add_contacts(world.app.db, [f"c{i:02d}" for i in range(35)], at=world.clock())
    await plan(world, "stream")
    slow = addresses_in_claim_order(db_path)[0]  # in the first batch
    world.smtp.hold(slow)
    draining = asyncio.create_task(world.app.worker.run_due(world.app.clock))
    # The other slots went on into later batches while the first batch's row still waits.
    await until(lambda: slow in world.smtp.waiting and world.smtp.accepted == 34)
    assert not draining.done()
    await until(lambda: statuses(db_path) == {"sent": 34, "sending": 1})  # answers committed as they come
    world.smtp.let_go()
    report = await draining
    assert report.claimed == 35 and report.outcomes["sent"] == 35
    assert committed(db_path, "SELECT COUNT(*) FROM outbox WHERE claimed_by IS NOT NULL") == [(0,)]


async def test_a_stop_mid_drain_gives_back_every_row_not_handed(world: World) -> None:
    relax(world)
    world.app.worker.batch = 10
    db_path = world.app.db.path
    await add_contacts(world.app.db, [f"s{i:02d}" for i in range(30)], at=world.clock())
    await plan(world, "stopped")
    slow = addresses_in_claim_order(db_path)[12]  # in the second batch
    world.smtp.hold(slow)
    draining = asyncio.create_task(world.app.worker.run_due(world.app.clock))
    await until(lambda: slow in world.smtp.waiting)
    world.app.worker.stop()
    world.smtp.let_go()
    report = await draining
    done = statuses(db_path)
    assert done["planned"] > 0 and done["sent"] == report.outcomes["sent"] and "sending" not in done
    # What was claimed and not handed is claimable again at once, same due time, no attempt counted.
    assert committed(db_path, "SELECT COUNT(*) FROM outbox WHERE claimed_by IS NOT NULL") == [(0,)]
    tried = "SELECT COUNT(*) FROM outbox WHERE status = 'planned' AND attempts > 0"
    assert committed(db_path, tried) == [(0,)]


async def test_idle_the_loop_waits_for_a_wake_up_and_drains_what_it_brings(world: World) -> None:
    relax(world)
    loop = world.app.loop
    loop.poll_s = 3600.0  # no poll would come to the rescue within the test
    stop = asyncio.Event()
    running = asyncio.create_task(loop.run(stop))
    try:
        await until(lambda: loop.rounds == 1)  # nothing due: one look, then it waits
        await asyncio.sleep(0)
        assert loop.rounds == 1
        await add_contacts(world.app.db, [f"w{i}" for i in range(6)], at=world.clock())
        await plan(world, "woken")
        loop.wake()
        await until(lambda: world.smtp.accepted == 6)
        await until(lambda: loop.rounds == 2)
        assert statuses(world.app.db.path) == {"sent": 6}
    finally:
        stop.set()
        await running


async def test_idle_the_loop_sleeps_until_the_next_row_is_due(world: World) -> None:
    relax(world)
    loop = world.app.loop
    loop.poll_s = 3600.0
    assert await loop.idle_s() == 3600.0  # nothing planned: only the poll
    await add_contacts(world.app.db, ["later"], at=world.clock())
    await plan(world, "later")
    async with world.app.db.transaction() as conn:
        await conn.execute("UPDATE outbox SET due_at = due_at + 90")
    assert 89.0 <= await loop.idle_s() <= 90.0
