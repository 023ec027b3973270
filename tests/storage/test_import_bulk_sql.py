"""Multi-row inserts: every row lands whatever the count, duplicates are counted once, limits respected."""

from __future__ import annotations

import pytest

from storage import bulk
from storage.bulk import insert_rows
from storage.db import Database


@pytest.mark.parametrize("count", [0, 1, 3, 511, 512, 513, 1500])
async def test_every_row_lands_once(db: Database, count: int) -> None:
    rows = [(f"c{i}", f"Имя {i}") for i in range(count)]
    async with db.transaction() as conn:
        assert await insert_rows(conn, "INSERT INTO contacts (id, name)", rows) == count
        # Re-running with OR IGNORE changes nothing and says so.
        assert await insert_rows(conn, "INSERT OR IGNORE INTO contacts (id, name)", rows) == 0
    assert await db.scalar("SELECT COUNT(*) FROM contacts") == count
    if count:
        assert (
            await db.scalar("SELECT name FROM contacts WHERE id = ?", (f"c{count - 1}",))
            == f"Имя {count - 1}"
        )


async def test_a_lower_parameter_limit_falls_back_to_small_statements(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Ask for statements beyond any build's limit (32766 by default, 250000 on some distributions):
    # 32768 rows × 11 columns fails, and the rows go 999 parameters at a time instead.
    monkeypatch.setattr(bulk, "MAX_PARAMS", 10_000_000)
    monkeypatch.setattr(bulk, "MAX_ROWS_PER_STATEMENT", 1 << 15)
    columns = (
        "id, email, name, telegram_chat_id, phone, timezone, locale, region, interest, created_at, fields"
    )
    rows = [(f"c{i}", None, "x", None, None, None, None, None, None, i, "{}") for i in range(40_000)]
    async with db.transaction() as conn:
        assert await insert_rows(conn, f"INSERT INTO contacts ({columns})", rows) == 40_000
    assert await db.scalar("SELECT COUNT(*) FROM contacts") == 40_000
    assert await db.scalar("SELECT SUM(created_at) FROM contacts") == sum(range(40_000))
