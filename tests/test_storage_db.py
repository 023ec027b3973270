from __future__ import annotations

from pathlib import Path

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
