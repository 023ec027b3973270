"""Batched SQL helpers shared by the bulk repositories: multi-row inserts, key lists, outcome counts."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from itertools import chain

import aiosqlite

# Bound parameters per statement: SQLite's default limit (999 before 3.32, 32766 since).
MAX_PARAMS = 32766 if sqlite3.sqlite_version_info >= (3, 32, 0) else 999
# Rows per statement. Two statement texts per table (this many rows, and one row for the remainder)
# keep the driver's statement cache small; each call is one hop to aiosqlite's thread.
MAX_ROWS_PER_STATEMENT = 256


@dataclass(slots=True)
class UpsertCounts:
    """How a batch of records landed: new rows, changed rows, rows that were already so."""

    imported: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: dict[int, str] = field(default_factory=dict)  # a record's index in the batch → why not

    def __iadd__(self, other: UpsertCounts) -> UpsertCounts:
        self.imported += other.imported
        self.updated += other.updated
        self.unchanged += other.unchanged
        return self


def ids_param(values: Iterable[str]) -> str:
    """A list of keys as one JSON parameter for `IN (SELECT value FROM json_each(?))`."""
    return json.dumps(list(dict.fromkeys(values)), ensure_ascii=False)


async def insert_rows(
    conn: aiosqlite.Connection, head: str, rows: Sequence[tuple[object, ...]], tail: str = ""
) -> int:
    """Run `head VALUES (…), (…), … tail` over `rows`, many rows per statement; return rows changed.

    Multi-row VALUES cut the per-row cost of `executemany` (a step and a reset per row) several-fold.
    A build of SQLite with a lower parameter limit than its version's default gets 999 at a time.
    """
    if not rows:
        return 0
    width = len(rows[0])
    try:
        return await _insert(conn, head, rows, tail, max(1, min(MAX_PARAMS // width, MAX_ROWS_PER_STATEMENT)))
    except sqlite3.OperationalError as exc:
        if "too many SQL variables" not in str(exc):
            raise
    return await _insert(conn, head, rows, tail, max(1, 999 // width))


async def _insert(
    conn: aiosqlite.Connection, head: str, rows: Sequence[tuple[object, ...]], tail: str, per: int
) -> int:
    one = f"({', '.join('?' * len(rows[0]))})"

    def sql(count: int) -> str:
        return f"{head} VALUES {', '.join([one] * count)}{tail}"

    changed = 0
    full = len(rows) - len(rows) % per
    if full:
        params = [tuple(chain.from_iterable(rows[i : i + per])) for i in range(0, full, per)]
        cur = await conn.executemany(sql(per), params)
        changed += max(cur.rowcount, 0)
    if full < len(rows):  # the remainder row by row, still in one call
        cur = await conn.executemany(sql(1), rows[full:])
        changed += max(cur.rowcount, 0)
    return changed
