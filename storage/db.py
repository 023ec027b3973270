"""The one writer connection of a process: pragmas, forward-only migrations, explicit transactions."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib import resources
from pathlib import Path

import aiosqlite

log = logging.getLogger(__name__)

# The connection a write transaction yields: callers above storage name it by this alias, never the driver.
Connection = aiosqlite.Connection

BUSY_TIMEOUT_MS = 5000
# SQLite 3.7.0 – 3.51.2 can corrupt a WAL database when two connections write or checkpoint at once.
_WAL_RACE = ((3, 7, 0), (3, 51, 2))


def sqlite_version_warning() -> str | None:
    """A warning sentence when the linked SQLite has the WAL-reset race, else None."""
    version = sqlite3.sqlite_version_info
    if _WAL_RACE[0] <= version <= _WAL_RACE[1]:
        return (
            f"SQLite {sqlite3.sqlite_version} has the WAL-reset race fixed in 3.51.3: keep CLI writes "
            "beside a running `ritm run` short (they are serialised by the busy timeout)"
        )
    return None


def migration_files() -> list[tuple[int, str, str]]:
    """(number, name, sql) of every shipped migration, in order."""
    found = []
    for entry in resources.files("storage.migrations").iterdir():
        if entry.name.endswith(".sql"):
            number = int(entry.name.split("_", 1)[0])
            found.append((number, entry.name, entry.read_text(encoding="utf-8")))
    return sorted(found)


class Database:
    """An open aiosqlite connection in autocommit mode; writes go through `transaction()`."""

    def __init__(self, conn: aiosqlite.Connection, path: Path) -> None:
        self.conn = conn
        self.path = path
        # One connection serves every coroutine of the process (worker, bot, HTTP): their write
        # transactions take turns instead of nesting (SQLite has one transaction per connection).
        self._writer = asyncio.Lock()

    @classmethod
    async def open(cls, path: str | Path, *, migrate: bool = True) -> Database:
        db_path = Path(path)
        conn = await aiosqlite.connect(db_path, isolation_level=None)
        conn.row_factory = aiosqlite.Row
        for pragma in (
            "PRAGMA journal_mode = WAL",
            "PRAGMA synchronous = NORMAL",
            "PRAGMA foreign_keys = ON",
            f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}",
            "PRAGMA temp_store = MEMORY",
            "PRAGMA cache_size = -65536",
        ):
            await conn.execute(pragma)
        db = cls(conn, db_path)
        if migrate:
            await db.migrate()
        return db

    async def close(self) -> None:
        await self.conn.close()

    async def __aenter__(self) -> Database:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[aiosqlite.Connection]:
        """`BEGIN IMMEDIATE` … `COMMIT`, rolled back on any error; one at a time per process."""
        async with self._writer:
            await self.conn.execute("BEGIN IMMEDIATE")
            try:
                yield self.conn
            except BaseException:
                await self.conn.execute("ROLLBACK")
                raise
            await self.conn.execute("COMMIT")

    async def schema_version(self) -> int:
        await self.conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations (number INTEGER PRIMARY KEY, name TEXT, at TEXT)"
        )
        async with self.conn.execute("SELECT COALESCE(MAX(number), 0) FROM schema_migrations") as cur:
            row = await cur.fetchone()
        return int(row[0]) if row else 0

    async def migrate(self) -> list[str]:
        """Apply the migrations this database lacks, each in its own transaction; return their names.

        "Lacks" is by number, not "above the highest": a database that got a later migration first
        (two branches of work meeting) still gets the earlier one.
        """
        await self.schema_version()  # creates the bookkeeping table on a fresh file
        done = {int(r[0]) for r in await self.fetchall("SELECT number FROM schema_migrations")}
        applied = []
        for number, name, sql in migration_files():
            if number in done:
                continue
            async with self.transaction() as conn:
                for statement in _statements(sql):
                    await conn.execute(statement)
                await conn.execute(
                    "INSERT INTO schema_migrations (number, name, at) VALUES (?, ?, datetime('now'))",
                    (number, name),
                )
            applied.append(name)
            log.info("migration applied", extra={"event": "migration", "migration": name})
        return applied

    async def fetchall(
        self, sql: str, params: tuple[object, ...] | dict[str, object] = ()
    ) -> list[sqlite3.Row]:
        async with self.conn.execute(sql, params) as cur:
            return list(await cur.fetchall())

    async def fetchone(
        self, sql: str, params: tuple[object, ...] | dict[str, object] = ()
    ) -> sqlite3.Row | None:
        async with self.conn.execute(sql, params) as cur:
            row: sqlite3.Row | None = await cur.fetchone()
            return row

    async def scalar(self, sql: str, params: tuple[object, ...] | dict[str, object] = ()) -> object:
        row = await self.fetchone(sql, params)
        return None if row is None else row[0]


def _statements(sql: str) -> list[str]:
    """Split a migration into statements with SQLite's own tokenizer (comments may hold `;`)."""
    statements, buffer = [], ""
    for line in sql.splitlines(keepends=True):
        buffer += line
        if sqlite3.complete_statement(buffer):
            if any(not ln.strip().startswith("--") and ln.strip() for ln in buffer.splitlines()):
                statements.append(buffer.strip())
            buffer = ""
    return statements
