"""Read the query plans of the statements a real operation ran (SQLite's EXPLAIN QUERY PLAN).

Every connection opened inside `recording()` reports each statement it runs, parameters bound (sqlite3's
trace callback gives the expanded SQL), so the guard follows whatever the code does today — no list of
queries to keep in step. `plan_problems` replays the statements' temp-table set-up on a second connection
and explains the rest.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

# The tables that grow with the base: a per-contact path must never walk them whole.
BIG = (
    "contacts",
    "orders",
    "events",
    "tags",
    "outbox",
    "consents",
    "suppressions",
    "silences",
    "trigger_feed",
)
BIG += ("trigger_runs", "trigger_members")
# Tables whose rows belong to one contact: a lookup must be keyed by the contact (or the campaign).
PER_CONTACT = ("orders", "events", "tags", "consents", "silences")
# Suppressions belong to an address: a lookup must be keyed by it.
_KEYWORDS = "WHERE|ON|USING|JOIN|LEFT|INNER|GROUP|ORDER|LIMIT|SET|VALUES|WHEN|THEN|AND|OR|NOT|INDEXED"
_ALIAS = re.compile(
    r"\b(" + "|".join(BIG) + r")\b(?:\s+(?:AS\s+)?(?!" + _KEYWORDS + r")([a-z_][a-z_0-9]*))?", re.IGNORECASE
)
_TEMP_DDL = re.compile(r"^\s*(CREATE\s+TEMP|DROP\s+TABLE\s+IF\s+EXISTS\s+temp\.)", re.IGNORECASE)
_LITERALS = re.compile(r"'(?:[^']|'')*'|\b\d+(?:\.\d+)?\b")
_LISTS = re.compile(r"(?:\?,\s*)+\?")
_EXPLAINABLE = re.compile(r"^\s*(SELECT|WITH|UPDATE|DELETE|INSERT)", re.IGNORECASE)
# A statement that names its contacts (`contact_id IN ('a', 'b', …)`, a batch) reads their rows by the
# contact: walking a status slice of the outbox instead grows with every message sent.
_NAMED_CONTACTS = re.compile(r"\bcontact_id\s+IN\s*\((?!\s*SELECT)", re.IGNORECASE)


class StatementLog:
    """Installed before the connections open (`traced_connections`); `recording()` collects the
    statements run while it is active."""

    def __init__(self) -> None:
        self._current: list[str] | None = None

    def _trace(self, sql: str) -> None:
        if self._current is not None:
            self._current.append(sql)

    @contextmanager
    def recording(self) -> Iterator[list[str]]:
        self._current = found = []
        try:
            yield found
        finally:
            self._current = None


@contextmanager
def traced_connections() -> Iterator[StatementLog]:
    """Every sqlite3 connection opened inside the block (aiosqlite's too) reports to the log."""
    log = StatementLog()
    real = sqlite3.connect

    def traced(*args: object, **kwargs: object) -> sqlite3.Connection:
        conn = real(*args, **kwargs)  # type: ignore[arg-type]
        conn.set_trace_callback(log._trace)
        return conn

    sqlite3.connect = traced  # type: ignore[assignment]
    try:
        yield log
    finally:
        sqlite3.connect = real


def _aliases(sql: str) -> dict[str, str]:
    """name or alias used in the plan → table."""
    names = {}
    for table, alias in _ALIAS.findall(sql):
        names[table.lower()] = table.lower()
        if alias:
            names[alias.lower()] = table.lower()
    return names


def _plan(conn: sqlite3.Connection, sql: str) -> list[tuple[str, bool]]:
    """(detail, inside a correlated subquery) per plan line."""
    rows = conn.execute("EXPLAIN QUERY PLAN " + sql).fetchall()
    detail = {int(r[0]): str(r[3]) for r in rows}
    parent = {int(r[0]): int(r[1]) for r in rows}

    def correlated(node: int) -> bool:
        while node in parent:
            node = parent[node]
            if detail.get(node, "").startswith("CORRELATED"):
                return True
        return False

    return [(str(r[3]), correlated(int(r[0]))) for r in rows]


def plan_problems(db_path: Path, statements: list[str], *, whole_base: bool = False) -> list[str]:
    """The statements whose plan walks a big table whole (`SCAN`) or looks a contact's rows up by
    anything but the contact (orders by status walk every pending order) — each with its plan.

    `whole_base` (a dry run, planning): the outer query may walk the base; only what it asks per
    contact (correlated subqueries) is held to the rule."""
    conn = sqlite3.connect(db_path)
    problems: list[str] = []
    try:
        shapes: set[str] = set()
        for sql in statements:
            if _TEMP_DDL.match(sql):
                conn.execute(sql)
                continue
            if not _EXPLAINABLE.match(sql) or sql.lstrip().upper().startswith("INSERT OR IGNORE INTO OUTBOX"):
                continue
            shape = _LISTS.sub("?", _LITERALS.sub("?", sql))  # each shape once (batches differ in ids)
            if shape in shapes:
                continue
            shapes.add(shape)
            names = _aliases(sql)
            named = bool(_NAMED_CONTACTS.search(sql))
            lines = _plan(conn, sql)
            bad = []
            for line, inside in lines:
                if whole_base and not inside:
                    continue
                words = line.split()
                if len(words) < 2 or words[0] not in ("SCAN", "SEARCH"):
                    continue
                table = names.get(words[1].lower())
                if table is None:
                    continue
                keyed = "contact_id=" in line or "campaign_id=" in line
                by_address = "address=" in line
                if (
                    words[0] == "SCAN"
                    or ((table in PER_CONTACT or named) and not keyed)
                    or (table == "suppressions" and not by_address)
                ):
                    bad.append(line)
            if bad:
                problems.append(f"{sql[:400]}\n    " + "\n    ".join(line for line, _ in lines))
    finally:
        conn.close()
    return problems
