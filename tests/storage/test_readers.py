"""One writer, pooled readers: which connection a read uses, what it sees, and that the pool stays bounded."""

from __future__ import annotations

import asyncio
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest

from storage.db import Database
from storage.readers import MAX_READERS, READERS, ReaderPool
from storage.segments import reading
from tests.segments_support import diff_policy

AT = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)


async def add(db: Database, ids: range) -> None:
    async with db.transaction() as conn:
        await conn.executemany(
            "INSERT INTO contacts (id, name) VALUES (?, 'x')", [(f"c{i:05d}",) for i in ids]
        )


async def test_a_read_inside_a_transaction_sees_its_writes_and_one_outside_does_not(db: Database) -> None:
    await add(db, range(3))
    outside: list[object] = []
    entered, release = asyncio.Event(), asyncio.Event()

    async def writer() -> None:
        async with db.transaction() as conn:
            await conn.execute("DELETE FROM contacts WHERE id = 'c00000'")
            assert await db.scalar("SELECT COUNT(*) FROM contacts") == 2, "the writer's own view"
            entered.set()
            await release.wait()

    async def reader() -> None:
        await entered.wait()
        outside.append(await db.scalar("SELECT COUNT(*) FROM contacts"))
        release.set()

    await asyncio.gather(writer(), reader())
    assert outside == [3], "a reader sees the last commit, never a transaction in progress"
    assert await db.scalar("SELECT COUNT(*) FROM contacts") == 2


async def test_a_stream_survives_scopes_dropping_their_tables_and_the_writer_writing(db: Database) -> None:
    """What broke on one shared connection: a temp-table DROP while a SELECT on it was still stepping."""
    await add(db, range(3000))
    seen = 0

    async def stream() -> None:
        nonlocal seen
        async with db.cursor("SELECT id FROM contacts ORDER BY id") as cur:
            while rows := await cur.fetchmany(100):
                seen += len(rows)
                await asyncio.sleep(0)

    async def scopes() -> None:
        for _ in range(10):
            async with reading(db, diff_policy(), AT) as ctx:
                assert await ctx.count("rfm:no_activity") == 3000  # builds a table, drops it on exit

    async def writes() -> None:
        for k in range(10):
            async with db.transaction() as conn:
                await conn.execute("UPDATE contacts SET name = ? WHERE id = 'c00001'", (f"n{k}",))

    await asyncio.gather(stream(), scopes(), writes())
    assert seen == 3000


async def test_the_pool_is_bounded_and_a_holder_never_waits_for_itself(db: Database) -> None:
    await add(db, range(10))
    await asyncio.gather(*(db.scalar("SELECT COUNT(*) FROM contacts") for _ in range(50)))
    assert len(db.readers._idle) <= READERS
    # A task holding as many readers as may be open can still read: a nested read never waits.
    held = [await db.readers.acquire() for _ in range(MAX_READERS)]
    assert await db.scalar("SELECT COUNT(*) FROM contacts") == 10
    # Another task waits until one comes back.
    other = asyncio.ensure_future(db.scalar("SELECT COUNT(*) FROM contacts"))
    await asyncio.sleep(0.05)
    assert not other.done()
    await db.readers.release(held.pop())
    assert await other == 10
    for reader in held:
        await db.readers.release(reader)
    assert len(db.readers._idle) == READERS, "the rest were closed"


async def test_closing_the_database_closes_every_reader(tmp_path: Path) -> None:
    db = await Database.open(tmp_path / "r.db")
    lent = await db.readers.acquire()
    await db.scalar("SELECT 1")
    await db.close()
    with pytest.raises(ValueError, match=r"closed|no active connection"):
        await lent.fetchall("SELECT 1")
    with pytest.raises(RuntimeError, match="closed"):
        await db.readers.acquire()


async def test_a_reader_cannot_write_the_database(db: Database) -> None:
    await add(db, range(3))
    async with db.readers.lend() as reader:
        with pytest.raises(sqlite3.OperationalError, match="readonly"):
            await reader.conn.execute("DELETE FROM contacts")
        async with reader.scratch() as conn:  # its own temp tables only, never the file
            await conn.execute("CREATE TEMP TABLE t (x)")
            with pytest.raises(sqlite3.OperationalError, match="readonly"):
                await conn.execute("DELETE FROM contacts")
            await conn.execute("DROP TABLE temp.t")
    assert await db.scalar("SELECT COUNT(*) FROM contacts") == 3


async def test_waiting_tasks_are_served_in_line(db: Database) -> None:
    pool = ReaderPool(db.path, size=1, limit=1)
    held = await pool.acquire()
    served: list[str] = []

    async def read(name: str) -> None:
        reader = await pool.acquire()
        served.append(name)
        await asyncio.sleep(0)
        await pool.release(reader)

    first = asyncio.ensure_future(read("first"))
    await asyncio.sleep(0)
    second = asyncio.ensure_future(read("second"))
    await asyncio.sleep(0)
    await pool.release(held)
    late = asyncio.ensure_future(read("late"))  # arrives while the slot is being handed over
    await asyncio.gather(first, second, late)
    assert served == ["first", "second", "late"]
    await pool.close()
