"""One `ritm run` per database (the instance lease) and a graceful stop (SPEC §12.2)."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from dispatcher.clock import ManualClock
from policy.timeutil import to_epoch
from ritm.app import serve
from ritm.instance import InstanceLease, LeaseHeld
from ritm.sandbox.loopback import loopback_app
from storage.db import Database
from storage.instance_lease import acquire, current, heartbeat
from tests.e2e.conftest import World
from tests.e2e.durable_support import addresses_in_claim_order, committed, plan, statuses, until
from tests.e2e.people import add_contacts, relax
from tests.secret_support import TEST_SECRET

HOST = socket.gethostname()


async def test_a_live_lease_refuses_a_second_holder_until_it_expires(tmp_path: Path) -> None:
    clock = ManualClock(datetime(2026, 12, 1, 9, 0, tzinfo=UTC))
    async with await Database.open(tmp_path / "ritm.db") as db:
        first = InstanceLease(db, "first", clock, host="web-1", pid=101)
        second = InstanceLease(db, "second", clock, host="web-2", pid=202)
        await first.take()
        with pytest.raises(LeaseHeld) as refused:
            await second.take()
        assert "host web-1, pid 101, since 2026-12-01T09:00:00" in str(refused.value)
        clock.advance(timedelta(seconds=25))
        assert await first.renew()  # a heartbeat keeps it alive past the first expiry
        clock.advance(timedelta(seconds=25))
        with pytest.raises(LeaseHeld):
            await second.take()
        clock.advance(timedelta(seconds=6))  # 31 s without a heartbeat: the holder is presumed dead
        await second.take()
        lease = await current(db)
        assert lease is not None and (lease.holder, lease.host, lease.pid) == ("second", "web-2", 202)
        assert not await first.renew()  # the old holder learns it lost the lease (and stops)


async def test_a_dead_pid_on_this_host_frees_the_lease_at_once(tmp_path: Path) -> None:
    child = await asyncio.create_subprocess_exec(sys.executable, "-c", "pass")
    await child.wait()  # reaped: its pid no longer exists
    dead_pid = child.pid
    now = to_epoch(datetime(2026, 12, 1, 9, 0, tzinfo=UTC))
    async with await Database.open(tmp_path / "ritm.db") as db:
        await acquire(db, holder="crashed", host=HOST, pid=dead_pid, now=now)
        await acquire(db, holder="elsewhere", host="other-host", pid=dead_pid, now=now)  # refused
        lease = await current(db)
        assert lease is not None and lease.holder == "crashed"
        clock = ManualClock(datetime(2026, 12, 1, 9, 0, 1, tzinfo=UTC))
        await InstanceLease(db, "restarted", clock).take()  # no 30 s wait after a SIGKILL
        assert not await heartbeat(db, holder="crashed", now=now + 2)


async def test_a_second_app_on_the_same_database_refuses_to_serve(world: World) -> None:
    stop = asyncio.Event()
    running = asyncio.create_task(serve(world.app, stop=stop))
    await until(lambda: committed(world.app.db.path, "SELECT COUNT(*) FROM instance_lease") == [(1,)])
    second = await loopback_app(
        world.policy,
        world.clock,
        world.smtp,
        world.telegram,
        db=world.app.db.path,
        public_url="https://ritm.school.example",
        secret=TEST_SECRET,
    )
    try:
        with pytest.raises(LeaseHeld, match=f"pid {os.getpid()}"):
            await serve(second, stop=asyncio.Event())
        stop.set()
        await running
        # A clean stop gives the lease up: the next instance starts at once.
        assert committed(world.app.db.path, "SELECT COUNT(*) FROM instance_lease") == [(0,)]
        await InstanceLease(second.db, second.worker.holder, world.clock).take()
    finally:
        await second.close()


def test_ritm_run_exits_2_naming_the_holder(tmp_path: Path) -> None:
    db_path = tmp_path / "ritm.db"

    async def hold() -> None:
        async with await Database.open(db_path) as db:
            now = to_epoch(datetime.now(UTC))
            await acquire(db, holder="live", host=HOST, pid=os.getpid(), now=now)

    asyncio.run(hold())
    env = {**os.environ, "RITM_DB": str(db_path), "RITM_HTTP_PORT": "0", "RITM_SECRET": TEST_SECRET}
    done = subprocess.run(
        [sys.executable, "-m", "ritm", "run"], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 2, done.stderr
    message = " ".join(done.stderr.split())
    assert f"host {HOST}, pid {os.getpid()}, since" in message and "Traceback" not in message


async def test_a_graceful_stop_finishes_the_sends_in_flight(world: World) -> None:
    relax(world)
    world.clock.set(datetime.now(UTC).replace(microsecond=0))  # the scheduler's first run is now
    db_path = world.app.db.path
    await add_contacts(world.app.db, [f"g{i:02d}" for i in range(10)], at=world.clock())
    await plan(world, "graceful", priority="service")
    in_hand = addresses_in_claim_order(db_path)[:2]
    world.smtp.hold(*in_hand)
    stop = asyncio.Event()
    running = asyncio.create_task(serve(world.app, stop=stop, dispatch_every_s=0.2))
    await until(lambda: world.smtp.waiting == set(in_hand))
    stop.set()  # what SIGTERM does
    for _ in range(50):
        await asyncio.sleep(0)
    assert not running.done()  # waiting for the two sends the SMTP server still holds
    world.smtp.let_go()
    await running
    final = statuses(db_path)
    assert final["sending"] == 0 and final["uncertain"] == 0
    assert final["sent"] >= 2 and final["sent"] + final["planned"] == 10
    assert set(in_hand) <= {m.rcpt_tos[0] for m in world.smtp.messages}
    assert committed(db_path, "SELECT COUNT(*) FROM outbox WHERE claimed_by IS NOT NULL") == [(0,)]
