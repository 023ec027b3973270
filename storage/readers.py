"""Read connections: WAL readers of the database file, each lent to one holder at a time.

A WAL reader sees the last commit when its read starts and never waits for the writer, so a dry run
streaming a million rows, a bot count and the worker's re-check each read on their own connection and
none of them can lock a table another one is reading (SQLite locks a temp table against DROP while a
statement of the same connection reads it). A reader opens the file read-only (`mode=ro`) and keeps
`query_only` on, except inside `scratch()` where its holder builds its own temp tables.

aiosqlite runs a thread per connection, so readers are pooled: at most `READERS` are kept idle and
`MAX_READERS` are lent at once; past that a task waits for one to come back, unless it already holds one
(a nested read never waits for its own task, so the pool cannot deadlock on it).
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections import deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiosqlite

BUSY_TIMEOUT_MS = 5000
READERS = 4  # idle read connections kept per database (each is a thread)
MAX_READERS = 16  # open at once: a storm of HTTP reads queues instead of starting a thread each
# Both kinds of connection: foreign keys and sync settings matter only to the writer, the rest to all.
PRAGMAS = (
    "PRAGMA synchronous = NORMAL",
    "PRAGMA foreign_keys = ON",
    f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}",
    "PRAGMA temp_store = MEMORY",
    "PRAGMA cache_size = -32768",
)
# The writer's connection for hot short transactions on the event loop (storage.db.write_at_once).
# (Later pragmas override the same ones in PRAGMAS: applied in order.)
INLINE_PRAGMAS = (
    *PRAGMAS,
    "PRAGMA busy_timeout = 0",
    "PRAGMA wal_autocheckpoint = 0",
    "PRAGMA cache_size = -4096",
)
Params = tuple[object, ...] | dict[str, object] | list[object]


async def fetchall(conn: aiosqlite.Connection, sql: str, params: Params = ()) -> list[sqlite3.Row]:
    async with conn.execute(sql, params) as cur:
        return list(await cur.fetchall())


async def fetchone(conn: aiosqlite.Connection, sql: str, params: Params = ()) -> sqlite3.Row | None:
    async with conn.execute(sql, params) as cur:
        row: sqlite3.Row | None = await cur.fetchone()
        return row


class Reader:
    """One read connection lent to one holder: plain reads, streaming cursors and its temp tables."""

    def __init__(self, conn: aiosqlite.Connection) -> None:
        self.conn = conn

    async def fetchall(self, sql: str, params: Params = ()) -> list[sqlite3.Row]:
        return await fetchall(self.conn, sql, params)

    async def fetchone(self, sql: str, params: Params = ()) -> sqlite3.Row | None:
        return await fetchone(self.conn, sql, params)

    async def scalar(self, sql: str, params: Params = ()) -> object:
        row = await fetchone(self.conn, sql, params)
        return None if row is None else row[0]

    @asynccontextmanager
    async def scratch(self) -> AsyncIterator[aiosqlite.Connection]:
        """The connection with `query_only` off, to create, fill or drop this holder's temp tables
        (the file itself stays read-only)."""
        await self.conn.execute("PRAGMA query_only = OFF")
        try:
            yield self.conn
        finally:
            await self.conn.execute("PRAGMA query_only = ON")


class ReaderPool:
    """The read connections of one database file; `close()` closes every one, lent or idle.

    Fair: when every slot is taken, tasks wait in line and a returned reader goes to the first of
    them (a stream of quick reads cannot starve a slow one), except that a task which already holds
    a reader is served at once.
    """

    def __init__(self, path: Path, size: int = READERS, limit: int = MAX_READERS) -> None:
        self.path = path
        self.size = size
        self.limit = limit
        self._idle: list[Reader] = []
        self._lent: dict[Reader, asyncio.Task[Any] | None] = {}
        self._busy = 0  # slots taken: lent readers and those being opened
        self._line: deque[asyncio.Future[Reader | None]] = deque()
        self._closed = False

    async def acquire(self) -> Reader:
        """A reader for the calling task alone; waits in line while all slots are taken."""
        if self._closed:
            raise RuntimeError("the database is closed")
        task = asyncio.current_task()
        holds = task is not None and task in self._lent.values()
        reader: Reader | None
        if holds or (not self._line and self._busy < self.limit):
            self._busy += 1
            reader = self._idle.pop() if self._idle else None
        else:
            turn: asyncio.Future[Reader | None] = asyncio.get_running_loop().create_future()
            self._line.append(turn)
            try:
                reader = await turn  # a slot handed over by release(), with its reader or None
            except asyncio.CancelledError:
                if turn.done() and not turn.cancelled():
                    await self._give_back(turn.result())
                else:
                    self._line.remove(turn)
                raise
        if reader is None:
            try:
                reader = await self._open()
            except BaseException:
                await self._give_back(None)
                raise
        self._lent[reader] = task
        return reader

    async def release(self, reader: Reader, *, reusable: bool = True) -> None:
        """Take a reader back; one whose state is unknown (a failed clean-up) is closed instead."""
        self._lent.pop(reader, None)
        if not reusable or self._closed:
            await reader.conn.close()
            await self._give_back(None)
        else:
            await self._give_back(reader)

    async def _give_back(self, reader: Reader | None) -> None:
        """Hand a freed slot (and its reader, if any) to the first in line, else free it."""
        while self._line:
            turn = self._line.popleft()
            if not turn.done():
                turn.set_result(reader)
                return
        self._busy -= 1
        if reader is None:
            return
        if len(self._idle) < self.size and not self._closed:
            self._idle.append(reader)
        else:
            await reader.conn.close()

    @asynccontextmanager
    async def lend(self) -> AsyncIterator[Reader]:
        """A reader for plain reads (no temp tables): back to the pool whatever happens."""
        reader = await self.acquire()
        try:
            yield reader
        finally:
            await self.release(reader)

    async def close(self) -> None:
        self._closed = True
        for turn in self._line:
            if not turn.done():
                turn.set_exception(RuntimeError("the database is closed"))
        self._line.clear()
        readers = [*self._idle, *self._lent]
        self._idle.clear()
        for reader in readers:
            await reader.conn.close()

    async def _open(self) -> Reader:
        conn = await aiosqlite.connect(
            f"{self.path.resolve().as_uri()}?mode=ro", uri=True, isolation_level=None
        )
        conn.row_factory = aiosqlite.Row
        for pragma in (*PRAGMAS, "PRAGMA query_only = ON"):
            await conn.execute(pragma)
        return Reader(conn)
