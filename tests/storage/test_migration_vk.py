"""Migration 0021 on a database with data: consents and suppressions keep their rows while their CHECK
widens to vk; contacts get an empty vk_id."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from storage.db import Database, migration_files


async def test_rows_survive_and_vk_becomes_a_channel(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE schema_migrations (number INTEGER PRIMARY KEY, name TEXT, at TEXT)")
    for number, name, sql in migration_files():
        if number < 21:
            conn.executescript(sql)
            conn.execute("INSERT INTO schema_migrations VALUES (?, ?, datetime('now'))", (number, name))
    conn.execute("INSERT INTO contacts (id, email, telegram_chat_id) VALUES ('c1', 'c1@example.org', 77)")
    conn.executemany(
        "INSERT INTO consents (contact_id, channel, status, source, at) VALUES ('c1', ?, ?, 'bot', 5)",
        [("email", "granted"), ("telegram", "revoked")],
    )
    conn.execute("INSERT INTO suppressions VALUES ('telegram', '77', 'unsubscribe', 5)")
    with pytest.raises(sqlite3.IntegrityError):  # before 0021 the channel did not exist
        conn.execute("INSERT INTO consents VALUES ('c1', 'vk', 'granted', 'vk', 6)")
    conn.commit()
    conn.close()

    db = await Database.open(path)
    try:
        consents = await db.fetchall("SELECT channel, status, source, at FROM consents ORDER BY channel")
        assert [tuple(r) for r in consents] == [
            ("email", "granted", "bot", 5),
            ("telegram", "revoked", "bot", 5),
        ]
        assert await db.scalar("SELECT reason FROM suppressions WHERE channel = 'telegram'") == "unsubscribe"
        assert await db.scalar("SELECT vk_id FROM contacts WHERE id = 'c1'") is None
        async with db.transaction() as write:
            await write.execute("INSERT INTO consents VALUES ('c1', 'vk', 'granted', 'vk', 6)")
            await write.execute("INSERT INTO suppressions VALUES ('vk', '123', 'bot_blocked', 6)")
        with pytest.raises(sqlite3.IntegrityError):
            async with db.transaction() as write:
                await write.execute("INSERT INTO consents VALUES ('c1', 'fax', 'granted', 'x', 6)")
    finally:
        await db.close()
