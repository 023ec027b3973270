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
