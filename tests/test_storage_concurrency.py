"""Concurrent writers of one process share one connection: their transactions take turns."""

from __future__ import annotations

import asyncio

from storage.db import Database


async def test_concurrent_transactions_do_not_nest(db: Database) -> None:
    async def writer(i: int) -> None:
        async with db.transaction() as conn:
            await conn.execute("INSERT INTO contacts (id, name) VALUES (?, ?)", (f"c{i}", "x"))
            await asyncio.sleep(0)  # another coroutine runs here, mid-transaction
            await conn.execute("UPDATE contacts SET name = ? WHERE id = ?", (f"n{i}", f"c{i}"))

    await asyncio.gather(*(writer(i) for i in range(20)))
    assert await db.scalar("SELECT COUNT(*) FROM contacts WHERE name LIKE 'n%'") == 20
