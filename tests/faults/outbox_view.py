"""Read-only looks at the database a `ritm run` writes (a separate connection, like any reader)."""

from __future__ import annotations

import sqlite3
from collections import Counter
from contextlib import closing
from pathlib import Path

# Rows a dispatcher still has to settle.
TO_DO = ("planned", "retry")


def _connect(db: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=10)
    conn.execute("PRAGMA busy_timeout = 10000")
    return conn


def statuses(db: Path) -> Counter[str]:
    with closing(_connect(db)) as conn:
        return Counter(dict(conn.execute("SELECT status, COUNT(*) FROM outbox GROUP BY status").fetchall()))


def ids_with(db: Path, *wanted: str) -> set[int]:
    marks = ",".join("?" * len(wanted))
    with closing(_connect(db)) as conn:
        return {r[0] for r in conn.execute(f"SELECT id FROM outbox WHERE status IN ({marks})", wanted)}


def row_status(db: Path) -> dict[int, str]:
    with closing(_connect(db)) as conn:
        return dict(conn.execute("SELECT id, status FROM outbox").fetchall())


def row_of_contact(db: Path, campaign: str) -> dict[str, int]:
    with closing(_connect(db)) as conn:
        return dict(
            conn.execute("SELECT contact_id, id FROM outbox WHERE campaign_id = ?", (campaign,)).fetchall()
        )


def ids_of(db: Path, campaign: str) -> set[int]:
    return set(row_of_contact(db, campaign).values())


def revoked(db: Path, channel: str) -> set[str]:
    """Contacts whose consent on `channel` is revoked."""
    with closing(_connect(db)) as conn:
        rows = conn.execute(
            "SELECT contact_id FROM consents WHERE channel = ? AND status = 'revoked'", (channel,)
        ).fetchall()
    return {r[0] for r in rows}


def retry_due(db: Path) -> list[int]:
    """When each row waiting for a retry is due (epoch seconds)."""
    with closing(_connect(db)) as conn:
        return [r[0] for r in conn.execute("SELECT due_at FROM outbox WHERE status = 'retry'")]
