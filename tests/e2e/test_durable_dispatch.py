"""Per-message durability of the worker (SPEC §12.2): a row is `sending` only while its channel has it,
its outcome is committed as soon as the channel answers, a pause is seen before every hand-off, and a
failing tick gives back what it claimed. Real SQLite file, real SMTP server, committed state read from
a second connection as another process would."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from ritm.sandbox.loopback import loopback_app
from storage.db import Database
from storage.pause import set_paused
from tests.e2e.conftest import World
from tests.e2e.durable_support import addresses_in_claim_order, committed, plan, statuses, until
from tests.e2e.people import add_contacts, relax
from tests.secret_support import TEST_SECRET


async def test_each_outcome_is_committed_while_a_slow_message_still_waits(world: World) -> None:
    relax(world)
    db_path = world.app.db.path
    await add_contacts(world.app.db, [f"d{i:02d}" for i in range(8)] + ["bounce-d"], at=world.clock())
    await plan(world, "per-msg")
    slow = next(a for a in addresses_in_claim_order(db_path) if not a.startswith("bounce"))
    world.smtp.hold(slow)
    tick = asyncio.create_task(world.app.dispatch(world.clock()))
    await until(lambda: slow in world.smtp.waiting and world.smtp.accepted == 7)
    # The tick has not returned, yet every answered row is on disk: sent, and the bounce suppressed.
    await until(lambda: statuses(db_path) == {"sent": 7, "failed": 1, "sending": 1})
    assert not tick.done()
    assert committed(db_path, "SELECT address, reason FROM suppressions") == [
        ("bounce-d@example.org", "hard_bounce")
    ]
    world.smtp.let_go()
    report = await tick
    assert report.outcomes["sent"] == 8 and report.outcomes["failed"] == 1
    assert statuses(db_path) == {"sent": 8, "failed": 1}
    assert committed(db_path, "SELECT COUNT(*) FROM outbox WHERE claimed_by IS NOT NULL") == [(0,)]


async def test_a_failing_recheck_gives_back_every_claimed_row(world: World) -> None:
    relax(world)
    db = world.app.db
    await add_contacts(db, [f"r{i}" for i in range(5)], at=world.clock())
    await plan(world, "breaks")
    before = committed(db.path, "SELECT id, status, due_at, attempts FROM outbox ORDER BY id")
    async with db.transaction() as conn:  # stored data the re-check cannot load: not a policy error
        await conn.execute("UPDATE campaigns SET source = CAST(source AS BLOB) WHERE id = 'breaks'")
    with pytest.raises(TypeError):
        await world.app.dispatch(world.clock())
    after = committed(db.path, "SELECT id, status, due_at, attempts FROM outbox ORDER BY id")
    assert after == before  # same state, same due time, no attempt counted
    assert committed(db.path, "SELECT COUNT(*) FROM outbox WHERE lease_until IS NOT NULL") == [(0,)]
    async with db.transaction() as conn:
        await conn.execute("UPDATE campaigns SET source = CAST(source AS TEXT) WHERE id = 'breaks'")
    report = await world.app.dispatch(world.clock())  # claimable again at once, not after the lease
    assert report.outcomes["sent"] == 5 and world.smtp.accepted == 5


async def test_a_pause_committed_mid_batch_stops_every_later_hand_off(world: World) -> None:
    relax(world)
    world.app.worker.slots["email"] = 1  # one lane: the order of hand-offs is the claim order
    db_path = world.app.db.path
    await add_contacts(world.app.db, [f"p{i}" for i in range(5)], at=world.clock())
    await plan(world, "paused-mid")
    first = addresses_in_claim_order(db_path)[0]
    world.smtp.hold(first)
    tick = asyncio.create_task(world.app.dispatch(world.clock()))
    await until(lambda: first in world.smtp.waiting)
    other = await Database.open(db_path, migrate=False)  # what `ritm pause` does beside `ritm run`
    try:
        held = await set_paused(other, True, by="cli", at=world.clock())
    finally:
        await other.close()
    assert held == 4  # the four rows still waiting; the fifth is in the SMTP server's hands
    world.smtp.let_go()
    report = await tick
    assert world.smtp.accepted == 1 and [m.rcpt_tos[0] for m in world.smtp.messages] == [first]
    assert report.outcomes["sent"] == 1 and report.outcomes["held"] == 4
    rows = committed(
        db_path, "SELECT status, attempts, lease_until, claimed_by FROM outbox WHERE status != 'sent'"
    )
    assert rows == [("planned", 0, None, None)] * 4  # given back untouched, not sent, not lost
    await set_paused(world.app.db, False, by="cli", at=world.clock())
    world.clock.advance(timedelta(seconds=1))
    assert (await world.app.dispatch(world.clock())).outcomes["sent"] == 4


async def test_after_a_crash_only_the_rows_in_the_channels_hands_are_uncertain(world: World) -> None:
    relax(world)
    db_path = world.app.db.path
    await add_contacts(world.app.db, [f"k{i:02d}" for i in range(12)], at=world.clock())
    await plan(world, "crash")
    pool = world.app.settings.smtp.pool_size
    # Lanes compose concurrently (each on its own read connection), so which rows reach the channel's
    # slots first is not fixed: hold everyone, then let go of all but the rows in the channel's hands.
    everyone = addresses_in_claim_order(db_path)
    world.smtp.hold(*everyone)
    dying = asyncio.create_task(world.app.dispatch(world.clock()))
    await until(lambda: len(world.smtp.waiting) == pool)
    in_hand = sorted(world.smtp.waiting)
    world.smtp.release(*(set(everyone) - set(in_hand)))
    at_crash = statuses(db_path)
    assert at_crash == {"sending": pool, "planned": 12 - pool}  # claimed rows keep their status
    # The process "dies" here: it never writes again. A new one starts on the same file.
    world.clock.advance(timedelta(seconds=31))
    successor = await loopback_app(
        world.policy,
        world.clock,
        world.smtp,
        world.telegram,
        db=db_path,
        public_url="https://ritm.school.example",
        secret=TEST_SECRET,
        templates=db_path.parent / "templates",
    )
    try:
        relax(World(successor, world.smtp, world.telegram, world.clock, world.policy))
        found = await successor.recover()
        assert found == {"service_requeued": 0, "uncertain": pool, "claims_released": 12 - pool}
        report = await successor.worker.drain(world.clock())
        assert report.outcomes["sent"] == 12 - pool
        assert statuses(db_path) == {"sent": 12 - pool, "uncertain": pool}
        delivered = [m.rcpt_tos[0] for m in world.smtp.messages]
        assert len(delivered) == len(set(delivered)) == 12 - pool
        assert not set(delivered) & set(in_hand)
        # The dead worker's late writes, if any, cannot touch rows it no longer holds.
        dying.cancel()
        world.smtp.let_go()
        with pytest.raises(asyncio.CancelledError):
            await dying
        assert statuses(db_path) == {"sent": 12 - pool, "uncertain": pool}
    finally:
        await successor.close()
