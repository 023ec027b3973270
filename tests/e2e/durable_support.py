"""Helpers for the durable-dispatch tests: plan a campaign, read committed rows, wait on real I/O."""

from __future__ import annotations

import asyncio
import sqlite3
from collections import Counter
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path

from tests.e2e.conftest import APPROVER, AUTHOR, World
from tests.e2e.people import campaign_toml


async def plan(world: World, campaign_id: str, *, priority: str = "mass") -> None:
    app, now = world.app, world.clock()
    text = campaign_toml(campaign_id, start=now, deadline=now + timedelta(days=2), priority=priority)
    await app.service.add(text, f"{campaign_id}.toml", by=AUTHOR, at=now)
    await app.service.dry_run(campaign_id, at=now, by=AUTHOR)
    if priority == "mass":
        await app.service.approve(campaign_id, by=APPROVER, at=now)
    await app.service.plan(campaign_id, at=now)


def committed(db_path: Path, sql: str, params: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
    """What another process would read from the file now: only committed writes."""
    conn = sqlite3.connect(db_path)
    try:
        return [tuple(r) for r in conn.execute(sql, params).fetchall()]
    finally:
        conn.close()


def statuses(db_path: Path) -> Counter[str]:
    return Counter(
        {
            str(s): int(str(n))
            for s, n in committed(db_path, "SELECT status, COUNT(*) FROM outbox GROUP BY status")
        }
    )


def addresses_in_claim_order(db_path: Path) -> list[str]:
    """Recipients in the order the worker hands rows over (same priority and due time: by id)."""
    rows = committed(db_path, "SELECT contact_id FROM outbox ORDER BY due_at, id")
    return [f"{cid}@example.org" for (cid,) in rows]


async def until(condition: Callable[[], bool | Awaitable[bool]], timeout_s: float = 20.0) -> None:
    """Wait for the effect of real sockets and threads (I/O, not scheduling logic we could fake)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while True:
        value = condition()
        if not isinstance(value, bool):
            value = await value
        if value:
            return
        assert loop.time() < deadline, "timed out waiting"
        await asyncio.sleep(0.01)
