"""Batched SQL helpers shared by the bulk repositories: multi-row inserts, key lists, outcome counts."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import chain

import aiosqlite

# Parameters per statement: SQLite's historical limit, so any build of it takes our statements.
MAX_PARAMS = 999


@dataclass(slots=True)
class UpsertCounts:
    """How a batch of records landed: new rows, changed rows, rows that were already so."""

    imported: int = 0
    updated: int = 0
    unchanged: int = 0

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
    """
    if not rows:
        return 0
    width = len(rows[0])
    per = max(1, MAX_PARAMS // width)
    one = f"({', '.join('?' * width)})"
    full = len(rows) - len(rows) % per
    changed = 0
    if full:
        params = [tuple(chain.from_iterable(rows[i : i + per])) for i in range(0, full, per)]
        cur = await conn.executemany(f"{head} VALUES {', '.join([one] * per)}{tail}", params)
        changed += max(cur.rowcount, 0)
    if full < len(rows):
        cur = await conn.executemany(f"{head} VALUES {one}{tail}", rows[full:])
        changed += max(cur.rowcount, 0)
    return changed
