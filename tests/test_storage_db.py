from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest

from storage.db import Database, migration_files


async def test_migrations_are_idempotent(tmp_path: Path) -> None:
    first = await Database.open(tmp_path / "a.db")
    assert await first.schema_version() == max(n for n, _, _ in migration_files())
    assert await first.migrate() == []
    await first.close()
    again = await Database.open(tmp_path / "a.db")
    assert await again.migrate() == []
    assert await again.scalar("PRAGMA journal_mode") == "wal"
    assert await again.scalar("PRAGMA foreign_keys") == 1
    await again.close()


async def test_failed_transaction_rolls_back(db: Database) -> None:
    try:
        async with db.transaction() as conn:
            await conn.execute("INSERT INTO contacts (id, name) VALUES ('c1', 'Анна')")
            raise RuntimeError("boom")
    except RuntimeError:
        pass
    assert await db.scalar("SELECT COUNT(*) FROM contacts") == 0


async def test_a_missing_earlier_migration_is_still_applied(tmp_path: Path) -> None:
    first = await Database.open(tmp_path / "b.db")
    last = max(n for n, _, _ in migration_files())
    async with first.transaction() as conn:
        await conn.execute("DELETE FROM schema_migrations WHERE number = 3")
        for index in ("events_type_at_contact", "consents_channel", "orders_paid_by_contact"):
            await conn.execute(f"DROP INDEX {index}")
    assert await first.migrate() == ["0003_segment_indexes.sql"]
    assert await first.scalar("SELECT COUNT(*) FROM sqlite_master WHERE name = 'events_type_at_contact'") == 1
    assert await first.schema_version() == last
    await first.close()


def _insert(name: str) -> Callable[[sqlite3.Connection], int]:
    def work(conn: sqlite3.Connection) -> int:
        conn.execute("INSERT INTO contacts (id, name) VALUES (?, ?)", (name, name))
        return int(conn.execute("SELECT COUNT(*) FROM contacts").fetchone()[0])

    return work


async def test_a_hot_write_commits_and_an_error_rolls_it_back(db: Database) -> None:
    assert await db.write_at_once(_insert("c1")) == 1

    def failing(conn: sqlite3.Connection) -> None:
        _insert("c2")(conn)
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        await db.write_at_once(failing)
    assert await db.write_at_once(_insert("c3")) == 2  # c2 is gone, and the connection is usable
    assert [r[0] for r in await db.fetchall("SELECT id FROM contacts ORDER BY id")] == ["c1", "c3"]


async def test_a_hot_write_waits_off_the_loop_while_another_process_holds_the_lock(db: Database) -> None:
    """The write runs on the loop only when the lock is free at once; held elsewhere, it waits on the
    writer's thread and the loop keeps turning (here: a ticker counts while the write waits)."""
    other = sqlite3.connect(db.path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0.01)

    counting = asyncio.create_task(ticker())
    writing = asyncio.create_task(db.write_at_once(_insert("c1")))
    await asyncio.sleep(0.3)  # a real outside lock, held for a real while
    assert not writing.done() and ticks >= 10
    other.execute("COMMIT")
    other.close()
    assert await asyncio.wait_for(writing, 10) == 1
    counting.cancel()
