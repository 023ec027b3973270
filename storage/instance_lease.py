"""The instance lease: which `ritm run` may dispatch from this database (SPEC §12.2).

One row. The holder renews it by a heartbeat; a lease whose `expires_at` passed belongs to a process
that died or hung, and the next `ritm run` takes it over. Rows claimed by any other holder are then
known to be abandoned, which is what makes start-up recovery safe beside a rolling deploy.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from storage.db import Database

HEARTBEAT_S = 5
EXPIRY_S = 30
_NAME = "dispatcher"


@dataclass(frozen=True)
class Lease:
    holder: str
    host: str
    pid: int
    since: int  # epoch seconds
    heartbeat_at: int
    expires_at: int


@dataclass(frozen=True)
class LeaseTaken:
    """The answer of `acquire`: ours (`granted`), or the live lease of another holder."""

    granted: bool
    lease: Lease


async def acquire(
    db: Database,
    *,
    holder: str,
    host: str,
    pid: int,
    now: int,
    expiry_s: int = EXPIRY_S,
    gone: Callable[[Lease], bool] = lambda lease: False,
) -> LeaseTaken:
    """Take the lease unless another holder's is still alive; the check and the write are one transaction.

    `gone(lease)` may declare an unexpired lease's holder dead (a pid that no longer exists on this
    host), so a restart after a crash does not wait for the expiry."""
    async with db.transaction() as conn:
        async with conn.execute(
            "SELECT holder, host, pid, since, heartbeat_at, expires_at FROM instance_lease WHERE name = ?",
            (_NAME,),
        ) as cur:
            row = await cur.fetchone()
        if row is not None and row[0] != holder and int(row[5]) > now:
            theirs = Lease(*tuple(row))
            if not gone(theirs):
                return LeaseTaken(False, theirs)
        mine = Lease(holder, host, pid, now, now, now + expiry_s)
        await conn.execute(
            "INSERT INTO instance_lease (name, holder, host, pid, since, heartbeat_at, expires_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT(name) DO UPDATE SET holder = excluded.holder,"
            " host = excluded.host, pid = excluded.pid, since = excluded.since,"
            " heartbeat_at = excluded.heartbeat_at, expires_at = excluded.expires_at",
            (_NAME, mine.holder, mine.host, mine.pid, mine.since, mine.heartbeat_at, mine.expires_at),
        )
    return LeaseTaken(True, mine)


async def heartbeat(db: Database, *, holder: str, now: int, expiry_s: int = EXPIRY_S) -> bool:
    """Extend our lease; False when it is no longer ours (it expired and another process took it)."""
    async with db.transaction() as conn:
        cur = await conn.execute(
            "UPDATE instance_lease SET heartbeat_at = ?, expires_at = ? WHERE name = ? AND holder = ?",
            (now, now + expiry_s, _NAME, holder),
        )
        return cur.rowcount == 1


async def release(db: Database, *, holder: str) -> None:
    """Give the lease up at a clean stop, so the next `ritm run` starts at once."""
    async with db.transaction() as conn:
        await conn.execute("DELETE FROM instance_lease WHERE name = ? AND holder = ?", (_NAME, holder))


async def current(db: Database) -> Lease | None:
    """The lease as stored (alive or not), for status pages and messages."""
    row = await db.fetchone(
        "SELECT holder, host, pid, since, heartbeat_at, expires_at FROM instance_lease WHERE name = ?",
        (_NAME,),
    )
    return Lease(*tuple(row)) if row is not None else None
