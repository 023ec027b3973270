"""A database: its one writer connection (forward-only migrations, explicit transactions) and its readers.

Every write goes through `transaction()` on the writer, one at a time per process. Every read outside
a write transaction goes to a read connection of its own (`storage.readers`); a read inside one stays on
the writer, whose view includes what the transaction has written so far.
"""

from __future__ import annotations

import asyncio
import enum
import logging
import sqlite3
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from contextvars import ContextVar
from functools import partial
from importlib import resources
from pathlib import Path
from typing import TypeVar

import aiosqlite

from storage.readers import INLINE_PRAGMAS, PRAGMAS, Params, ReaderPool, fetchall, fetchone

log = logging.getLogger(__name__)

T = TypeVar("T")
# The connection a write transaction yields: callers above storage name it by this alias, never the driver.
Connection = aiosqlite.Connection

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


# The database whose write transaction the current task is inside (its reads stay on the writer).
_writing: ContextVar[Database | None] = ContextVar("writing", default=None)


class Database:
    """The writer connection in autocommit mode (writes go through `transaction()`) and a reader pool."""

    def __init__(self, conn: aiosqlite.Connection, path: Path) -> None:
        self.conn = conn
        self.path = path
        # One writer serves every coroutine of the process (worker, bot, HTTP): their write
        # transactions take turns instead of nesting (SQLite has one transaction per connection).
        self._writer = asyncio.Lock()
        self.readers = ReaderPool(path)
        self._inline: sqlite3.Connection | None = None  # see write_at_once

    @classmethod
    async def open(cls, path: str | Path, *, migrate: bool = True) -> Database:
        db_path = Path(path)
        conn = await aiosqlite.connect(db_path, isolation_level=None)
        conn.row_factory = aiosqlite.Row
        for pragma in ("PRAGMA journal_mode = WAL", *PRAGMAS):
            await conn.execute(pragma)
        db = cls(conn, db_path)
        if migrate:
            await db.migrate()
        return db

    async def close(self) -> None:
        await self.readers.close()
        if self._inline is not None:
            self._inline.close()
            self._inline = None
        await self.conn.close()

    async def __aenter__(self) -> Database:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[aiosqlite.Connection]:
        """`BEGIN IMMEDIATE` … `COMMIT`, rolled back on any error; one at a time per process."""
        async with self._writer:
            token = _writing.set(self)
            try:
                await self.conn.execute("BEGIN IMMEDIATE")
                try:
                    yield self.conn
                except BaseException:
                    await self.conn.execute("ROLLBACK")
                    raise
                await self.conn.execute("COMMIT")
            finally:
                _writing.reset(token)

    async def write_at_once(self, work: Callable[[sqlite3.Connection], T]) -> T:
        """Run `work` inside `BEGIN IMMEDIATE` … `COMMIT` as one short transaction of plain statements.

        For the hottest writes (the worker's hand-off marks and outcomes, one per message): when no other
        process holds SQLite's write lock, `work` runs at once on the event loop's thread over a
        connection of its own — a transaction of a few indexed updates costs less than the hop to the
        writer's thread, and every hop is a GIL hand-off that slows the sends around it. When another
        process holds the lock, `work` waits for it on the writer's thread (busy timeout) like any
        write, never on the loop. Rolled back on any error; takes its turn with the other write
        transactions of the process.
        """
        async with self._writer:
            done = self._write_inline(work)
            if done is not BUSY:
                return done
            # aiosqlite queues a callable on the connection's thread; its public methods are one
            # statement each.
            result: T = await self.conn._execute(partial(_in_transaction, self.conn._conn, work))
            return result

    def write_now(self, work: Callable[[sqlite3.Connection], T]) -> T | Busy:
        """`write_at_once` without waiting: run `work` now, on the loop's thread, or return BUSY when a
        write transaction of this process is under way or another process holds the lock (nothing
        was written; the caller queues the write as usual). No await: the write cannot be cut short."""
        return BUSY if self._writer.locked() else self._write_inline(work)

    def _write_inline(self, work: Callable[[sqlite3.Connection], T]) -> T | Busy:
        """`work` in a transaction on the inline connection, or BUSY when another process holds the lock."""
        try:
            return _in_transaction(self._inline_conn(), work)
        except sqlite3.OperationalError as exc:
            if not _lock_taken(exc):
                raise
        return BUSY

    def _inline_conn(self) -> sqlite3.Connection:
        if self._inline is None:
            # Used only under `_writer` (or while nobody holds it: write_now), from the loop's thread.
            # It never waits for a lock (busy timeout 0) and never checkpoints: both would stall the
            # loop; the writer does them.
            conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            for pragma in INLINE_PRAGMAS:
                conn.execute(pragma)
            self._inline = conn
        return self._inline

    @asynccontextmanager
    async def _read_conn(self) -> AsyncIterator[aiosqlite.Connection]:
        """The writer inside this task's write transaction, else a reader held for the block."""
        if _writing.get() is self:
            yield self.conn
            return
        async with self.readers.lend() as reader:
            yield reader.conn

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
        done = {int(r[0]) for r in await fetchall(self.conn, "SELECT number FROM schema_migrations")}
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

    async def fetchall(self, sql: str, params: Params = ()) -> list[sqlite3.Row]:
        async with self._read_conn() as conn:
            return await fetchall(conn, sql, params)

    async def fetchone(self, sql: str, params: Params = ()) -> sqlite3.Row | None:
        async with self._read_conn() as conn:
            return await fetchone(conn, sql, params)

    async def scalar(self, sql: str, params: Params = ()) -> object:
        row = await self.fetchone(sql, params)
        return None if row is None else row[0]

    @asynccontextmanager
    async def cursor(self, sql: str, params: Params = ()) -> AsyncIterator[aiosqlite.Cursor]:
        """A streaming cursor over `sql`; outside a write transaction its reader is held until the
        block ends, so a long stream never shares a connection with anyone else's statements."""
        async with self._read_conn() as conn, conn.execute(sql, params) as cur:
            yield cur


class Busy(enum.Enum):
    """`Database.write_now` could not write at once."""

    BUSY = "busy"


BUSY = Busy.BUSY


def _in_transaction(conn: sqlite3.Connection, work: Callable[[sqlite3.Connection], T]) -> T:
    conn.execute("BEGIN IMMEDIATE")
    try:
        result = work(conn)
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")
    return result


def _lock_taken(exc: sqlite3.OperationalError) -> bool:
    """BEGIN IMMEDIATE refused at once because another connection holds the write lock."""
    return exc.sqlite_errorcode in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)


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
