"""The segment DSL compiled to SQL, and `SegmentContext`: one policy at one instant over one database.

`ctx.compile(text)` gives a parameterised boolean SQL expression over `contacts c` — no value is ever
spliced into the text. Its semantics are those of `policy.evaluate` (read its docstring); the tests
check both select the same contacts on random bases. Two-valued logic: every fragment is 0 or 1,
never NULL, so `NOT` is a true complement. Predicates on other tables are `c.id IN (SELECT …)` forms
(SQLite builds each subquery once per statement); a comparison that holds for a contact without rows
(e.g. `paid_total < 5000`) is written as `c.id NOT IN (the complement)`.

A context is a reading scope: on first use it takes a read connection of its own, its temp tables
live there, and `close()` drops them and gives the connection back (use `async with`). Queries that
use its fragments run on that connection too: `ctx.fetchall`, `ctx.scalar`, `ctx.cursor`.

RFM lives in a per-context temp table built lazily: `compile` only notes that an expression needs it,
and `prepare()` (called by `count`, `list`, `rfm_counts`, `rfm_of`) builds it once. Callers that run
compiled fragments themselves must `await ctx.prepare()` after compiling and before executing.
"""

from __future__ import annotations

import itertools
import logging
import sqlite3
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from types import TracebackType
from typing import Literal

import aiosqlite

from policy.config import Policy
from policy.dsl import (
    COMPARE_OPS,
    RFM_FIELDS,
    STRING_FIELDS,
    All,
    And,
    Compare,
    Event,
    Expr,
    Has,
    Not,
    Or,
    Order,
    Rfm,
    SegmentRef,
    Tag,
)
from policy.rfm import NO_ACTIVITY, RfmCuts, RfmScores, cut_points, metrics_of, score, whole_seconds
from policy.segment_names import resolve, segment_expr
from policy.timeutil import to_epoch
from storage.addresses import ADDRESS_KEY_SQL
from storage.answers import AnswerSets
from storage.contact_data import load_contact
from storage.db import Database
from storage.readers import Params, Reader
from storage.rfm_sql import drop_rfm_table, materialise_rfm, threshold_distribution

ADDRESS_SQL = {
    "email": "(c.email IS NOT NULL AND c.email != '')",
    "telegram": "c.telegram_chat_id IS NOT NULL",
    "sms": "(c.phone IS NOT NULL AND c.phone != '')",
    "vk": "c.vk_id IS NOT NULL",
}
AGGREGATES = {  # field -> (a contact's orders up to `at`, the metric over them)
    "paid_total": ("status = 'paid' AND paid_at <= ?", "SUM(amount)"),
    "orders_count": ("status = 'paid' AND paid_at <= ?", "COUNT(*)"),
}
EMPTY_IS_ZERO = ("paid_total", "orders_count", "frequency", "monetary")
NO_DRIVER = 5  # _drive_rank of a conjunct that is not a member set
Mode = Literal["drive", "scan", "lookup", "answer"]
_names = itertools.count(1)
log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class SqlFragment:
    """A boolean (or TEXT) SQL expression over `contacts c` and its positional parameters."""

    sql: str
    params: list[object] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class _IdSet:
    """A predicate's members: contacts with rows of `source` matching `where` (and, grouped per
    contact, `having`); `unique` when a contact has at most one such row (or group)."""

    source: str
    id_col: str
    where: str
    having: str | None = None
    unique: bool = False

    def ids_sql(self) -> str:
        sql = f"SELECT {self.id_col} AS id FROM {self.source} WHERE {self.where}"
        return sql if self.having is None else f"{sql} GROUP BY {self.id_col} HAVING {self.having}"

    def test(self, mode: Mode) -> str:
        """Membership of `c`: a probe into the list built once, or a keyed lookup of `c`'s own rows.

        Without GROUP BY an aggregate query yields one row even when no row matches, so the lookup
        asks for `COUNT(*) > 0` as the list's GROUP BY implicitly does.
        """
        if mode != "lookup":
            return f"c.id IN ({self.ids_sql()})"
        rows = f"FROM {self.source} WHERE {self.id_col} = c.id AND {self.where}"
        if self.having is None:
            return f"EXISTS (SELECT 1 {rows})"
        return f"EXISTS (SELECT COUNT(*) {rows} HAVING COUNT(*) > 0 AND {self.having})"


class SegmentContext:
    """Compiles and counts segments for one policy at one instant (`at`, whole seconds)."""

    def __init__(
        self, db: Database, policy: Policy, at: datetime, *, scope: Sequence[str] | None = None
    ) -> None:
        self.db = db
        self.policy = policy
        # With a scope, RFM is computed for these contacts only: a query over a batch of ids (a worker
        # tick, one contact's explanation) must not score the whole base. Queries must stay inside it.
        self.scope = list(scope) if scope is not None else None
        self.at = whole_seconds(at)
        self.at_s = to_epoch(self.at)
        self.rfm_table = f"ritm_rfm_{next(_names)}"
        self.answers = AnswerSets(f"ritm_answers_{next(_names)}")  # see `question`
        self.cuts: RfmCuts | None = None  # set once the RFM table is built
        self._needs_rfm = False
        self._reader: Reader | None = None  # taken on first use, given back by close()

    @classmethod
    async def create(
        cls, db: Database, policy: Policy, at: datetime, *, scope: Sequence[str] | None = None
    ) -> SegmentContext:
        """A context; nothing is computed until an expression needs it."""
        return cls(db, policy, at, scope=scope)

    async def __aenter__(self) -> SegmentContext:
        return self

    async def __aexit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        await self.close()

    async def close(self) -> None:
        """Drop this context's temp tables and give its read connection back (idempotent)."""
        reader, self._reader = self._reader, None
        if reader is None:
            return
        clean = False
        try:
            await self.answers.drop(reader)
            if self.cuts is not None:
                self.cuts = None
                await drop_rfm_table(reader, self.rfm_table)
            clean = True
        except (sqlite3.Error, ValueError) as exc:  # e.g. a stream left open on the table
            log.warning("scope not cleaned", extra={"event": "reading_scope_close", "error": str(exc)})
        finally:
            # A connection whose tables could not be dropped is closed, and they go with it.
            await self.db.readers.release(reader, reusable=clean)

    async def reader(self) -> Reader:
        """This context's own read connection, where its temp tables live."""
        if self._reader is None:
            self._reader = await self.db.readers.acquire()
        return self._reader

    async def fetchall(self, sql: str, params: Params = ()) -> list[sqlite3.Row]:
        """Rows of a query that uses this context's fragments (after `prepare()`)."""
        return await (await self.reader()).fetchall(sql, params)

    async def scalar(self, sql: str, params: Params = ()) -> object:
        return await (await self.reader()).scalar(sql, params)

    @asynccontextmanager
    async def cursor(self, sql: str, params: Params = ()) -> AsyncIterator[aiosqlite.Cursor]:
        """A streaming cursor on this context's connection (for a whole base, e.g. a dry run)."""
        async with (await self.reader()).conn.execute(sql, params) as cur:
            yield cur

    # -- compiling -------------------------------------------------------------------------------
    def compile(self, text: str | Expr, *, lookup: bool = False) -> SqlFragment:
        """A boolean SQL expression over `contacts c`; `DslError` for bad text or unknown names.

        The default form suits scanning the base (WHERE over all contacts, or columns of a SELECT over
        many). `lookup=True` gives the same predicate as per-contact key lookups, which is cheaper
        when the query visits only a few contacts (e.g. `WHERE c.id IN (?, ?)`).
        """
        params: list[object] = []
        sql = self._sql(resolve(text, self.policy), params, "lookup" if lookup else "drive")
        return SqlFragment(sql, params)

    def question(self, text: str | Expr) -> SqlFragment:
        """`compile` for a column of a SELECT over the whole base (a dry run's questions): each member
        set is a bit of the scope's answer table (`storage.answers`), which the query joins with
        `answers_join()` after `prepare()`; consents are key lookups."""
        params: list[object] = []
        sql = self._sql(resolve(text, self.policy), params, "answer")
        return SqlFragment(sql, params)

    def answers_join(self) -> str:
        """The join the fragments of `question` read (after `prepare()`; empty when none needs it)."""
        return self.answers.join()

    def rfm_segment_sql(self) -> SqlFragment:
        """A TEXT expression over `c`: the contact's RFM segment name or 'no_activity' (a keyed lookup)."""
        self._needs_rfm = True
        sql = f"COALESCE((SELECT segment FROM temp.{self.rfm_table} WHERE id = c.id), ?)"
        return SqlFragment(sql, [NO_ACTIVITY])

    def _sql(self, node: Expr, params: list[object], mode: Mode) -> str:
        """SQL for `node` in `mode`.

        SQLite walks the first `c.id IN (list)` term of a WHERE clause and looks contacts up by key.
        In `drive` mode a conjunction puts its likely smallest member set first to be that list and
        tests the rest per contact (`lookup`); under NOT / OR nothing can drive, so each member set
        is a list built once and probed per contact (`scan`). In `answer` mode (see `question`) each
        member set is a bit of one table joined once.
        """
        own: list[object] = []
        members = self._member_set(node, own)
        if members is not None:
            if mode == "answer":
                bit = self.answers.test(members.ids_sql(), own, unique=members.unique)
                if bit is not None:
                    return bit
            params.extend(own)
            return members.test(mode)
        inner: Mode = "scan" if mode == "drive" else mode
        match node:
            case All():
                return "1"
            case Not(item):
                return f"NOT {self._sql(item, params, inner)}"
            case Or(items):
                return "(" + " OR ".join(self._sql(i, params, inner) for i in items) + ")"
            case And(items):
                ordered = sorted(items, key=self._drive_rank)
                if mode == "drive" and self._drive_rank(ordered[0])[0] < NO_DRIVER:
                    parts = [self._sql(ordered[0], params, "drive")]
                    parts += [self._sql(i, params, "lookup") for i in ordered[1:]]
                else:
                    parts = [self._sql(i, params, inner) for i in ordered]
                return "(" + " AND ".join(parts) + ")"
            case SegmentRef(name):
                return self._sql(segment_expr(self.policy, name), params, mode)
            case Has(channel):
                params.extend([channel, channel])
                if mode == "drive":  # the consents of the channel are the list to walk
                    consent = (
                        "c.id IN (SELECT contact_id FROM consents WHERE channel = ? AND status = 'granted')"
                    )
                else:  # a large set: a key lookup per contact beats building the list
                    consent = (
                        "EXISTS (SELECT 1 FROM consents WHERE contact_id = c.id AND channel = ?"
                        " AND status = 'granted')"
                    )
                # Suppressions are per address: whichever contact holds a suppressed address is out.
                key = ADDRESS_KEY_SQL[channel]
                suppressed = (
                    f"EXISTS (SELECT 1 FROM suppressions WHERE channel = ? AND address = {key})"
                    if mode == "lookup"
                    else f"{key} IN (SELECT address FROM suppressions WHERE channel = ?)"
                )
                return f"({ADDRESS_SQL[channel]} AND {consent} AND NOT {suppressed})"
            case Rfm():  # only no_activity is not a member set
                self._needs_rfm = True
                return "NOT " + _IdSet(f"temp.{self.rfm_table}", "id", "1", unique=True).test(mode)
            case Compare():
                return self._compare(node, params, mode)
        raise TypeError(f"not a DSL node: {node!r}")

    def _drive_rank(self, node: Expr) -> tuple[int, float]:
        """Without statistics, a guess at which conjunct has the fewest members (smallest first)."""
        match node:
            case SegmentRef(name):
                return self._drive_rank(segment_expr(self.policy, name))
            case Tag(within=window) | Order(within=window) | Event(within=window) if window is not None:
                return (0, window.total_seconds())
            case Tag() | Order():
                return (1, 0)
            case Rfm(name) if name != NO_ACTIVITY:
                return (2, 0)
            case Compare(name, op, value) if name in AGGREGATES or name in RFM_FIELDS:
                zero_holds = name in EMPTY_IS_ZERO and COMPARE_OPS[op](0, value)
                return (NO_DRIVER, 0) if zero_holds else (2, 0)
            case Event():
                return (3, 0)
            case Has():
                return (4, 0)
        return (NO_DRIVER, 0)

    def _member_set(self, node: Expr, params: list[object]) -> _IdSet | None:
        """The predicate as the ids of one table's matching rows when it is one; adds params only then.

        These are the predicates true exactly for the contacts that have some matching rows (foreign
        keys guarantee every such contact exists), so a lone one is counted without touching contacts.
        """
        at = self.at_s
        match node:
            case SegmentRef(name):
                return self._member_set(segment_expr(self.policy, name), params)
            case Tag(name, within):
                params.extend([name, at, at, at])
                where = (
                    "tag = ? AND set_at <= ? AND (removed_at IS NULL OR removed_at > ?)"
                    " AND (expires_at IS NULL OR expires_at > ?)"
                )
                return _IdSet(
                    "tags", "contact_id", where + self._since("set_at", within, params), unique=True
                )
            case Order(status, within, product):
                stamp = "paid_at" if status == "paid" else "created_at"
                params.extend([status, at])
                where = f"status = ? AND {stamp} <= ?"
                if product is not None:
                    params.append(product)
                    where += " AND product = ?"
                return _IdSet("orders", "contact_id", where + self._since(stamp, within, params))
            case Event(type_, within):
                params.extend([type_, at])
                return _IdSet(
                    "events", "contact_id", "type = ? AND at <= ?" + self._since("at", within, params)
                )
            case Rfm(name) if name != NO_ACTIVITY:
                self._needs_rfm = True
                params.append(name)
                return _IdSet(f"temp.{self.rfm_table}", "id", "segment = ?", unique=True)
            case Compare(name, op, value) if name in AGGREGATES or name in RFM_FIELDS:
                # paid_total, orders_count, frequency and monetary are 0 for a contact without rows:
                # when the comparison holds for 0 it is not a member set (see _compare).
                if name in EMPTY_IS_ZERO and COMPARE_OPS[op](0, value):
                    return None
                return self._metric_set(name, f"{{}} {op} ?", value, params)
        return None

    def _metric_set(self, name: str, condition: str, value: object, params: list[object]) -> _IdSet:
        """Contacts with rows whose metric satisfies `condition` (`{}` stands for the metric)."""
        if name in RFM_FIELDS:
            self._needs_rfm = True
            params.append(value)
            return _IdSet(f"temp.{self.rfm_table}", "id", condition.format(name), unique=True)
        where, metric = AGGREGATES[name]
        params.extend([self.at_s, value])
        return _IdSet("orders", "contact_id", where, having=condition.format(metric), unique=True)

    def _since(self, column: str, within: timedelta | None, params: list[object]) -> str:
        """`within D`: the stamp is in [at − D, at] (the upper bound is already in the query)."""
        if within is None:
            return ""
        params.append(self.at_s - int(within.total_seconds()))
        return f" AND {column} >= ?"

    def _compare(self, node: Compare, params: list[object], mode: Mode) -> str:
        name, op, value = node.field, node.op, node.value
        if name == "timezone":
            params.extend([self.policy.default_timezone, value])
            return f"COALESCE(NULLIF(c.timezone, ''), ?) {op} ?"
        if name in STRING_FIELDS:
            params.append(value)
            return f"COALESCE(c.{name}, '') {op} ?"
        if name == "created_days":
            # floor((at - created_at) / 1 day), also for contacts created after `at` (negative days).
            params.extend([self.at_s, self.at_s, self.at_s, value])
            days = (
                "CASE WHEN ? >= c.created_at THEN (? - c.created_at) / 86400"
                " ELSE -((c.created_at - ? + 86399) / 86400) END"
            )
            return f"(c.created_at IS NOT NULL AND ({days}) {op} ?)"
        # The comparison holds for 0, the value of a contact without rows: everyone except those
        # whose rows make it fail.
        failing = self._metric_set(name, f"NOT ({{}} {op} ?)", value, params)
        return f"NOT {failing.test(mode)}"

    # -- running ---------------------------------------------------------------------------------
    async def prepare(self) -> None:
        """Build the temp tables the fragments compiled so far refer to (once; cheap when done)."""
        if self._needs_rfm and self.cuts is None:
            await self._build_rfm()
        if self.answers.pending:  # after RFM: a member set may read its table
            await self.answers.build(await self.reader())

    async def count(self, text: str | Expr) -> int:
        tree = resolve(text, self.policy)
        params: list[object] = []
        members = self._member_set(tree, params)
        if members is not None:  # one table answers alone: no need to visit every contact
            what = "COUNT(*)" if members.unique else "COUNT(DISTINCT id)"
            sql = f"SELECT {what} FROM ({members.ids_sql()})"
        else:
            sql = f"SELECT COUNT(*) FROM contacts c WHERE {self._sql(tree, params, 'drive')}"
        await self.prepare()
        return int(await self.scalar(sql, tuple(params)))  # type: ignore[call-overload]

    async def list(self, text: str | Expr, limit: int | None = None) -> list[str]:
        """Ids of the members, ordered by id, at most `limit` of them."""
        frag = self.compile(text)
        await self.prepare()
        sql = f"SELECT c.id FROM contacts c WHERE {frag.sql} ORDER BY c.id"
        params = list(frag.params)
        if limit is not None:
            sql += " LIMIT ?"
            params.append(max(limit, 0))
        return [str(row[0]) for row in await self.fetchall(sql, tuple(params))]

    async def rfm_counts(self) -> dict[str, int]:
        """Members per RFM segment (segments with members, in rule order) and `no_activity`.

        By thresholds, unless the per-contact table is already built, one aggregate pass answers
        without writing the table; quantiles need the table (its cut points come from the base).
        """
        if self.cuts is None and self.policy.rfm.method == "thresholds":
            found = await threshold_distribution(await self.reader(), self.policy.rfm, self.at_s)
        else:
            self._needs_rfm = True
            await self.prepare()
            sql = f"SELECT segment, COUNT(*) FROM temp.{self.rfm_table} GROUP BY segment"
            found = {str(r[0]): int(r[1]) for r in await self.fetchall(sql)}
        order = [rule.name for rule in self.policy.rfm.segments]
        counts = {name: found.pop(name) for name in dict.fromkeys(order) if name in found}
        counts.update(sorted(found.items()))
        total = int(await self.scalar("SELECT COUNT(*) FROM contacts"))  # type: ignore[call-overload]
        counts[NO_ACTIVITY] = total - sum(counts.values())
        return counts

    async def rfm_segments(self) -> dict[str, str]:
        """The RFM segment of each active contact in the scope (one aggregate over their own rows; a
        contact without activity is absent: `no_activity`)."""
        if self.scope is None:
            raise ValueError("RFM segments by contact need a scope (a batch of ids), not the whole base")
        self._needs_rfm = True
        await self.prepare()
        rows = await self.fetchall(f"SELECT id, segment FROM temp.{self.rfm_table}")
        return {str(row[0]): str(row[1]) for row in rows}

    async def rfm_of(self, contact_id: str) -> RfmScores | None:
        """The contact's RFM scores at `at` (None without activity or for an unknown contact)."""
        if self.cuts is None and self.policy.rfm.method == "thresholds":
            # One contact by thresholds needs no base-wide table: score it from its own rows.
            contact = await load_contact(self.db, contact_id)
            if contact is None:
                return None
            return score(metrics_of(contact, self.at, self.policy.rfm.period), cut_points(self.policy.rfm))
        self._needs_rfm = True
        await self.prepare()
        row = await (await self.reader()).fetchone(
            f"SELECT r, f, m, segment FROM temp.{self.rfm_table} WHERE id = ?", (contact_id,)
        )
        return None if row is None else RfmScores(int(row[0]), int(row[1]), int(row[2]), str(row[3]))

    async def _build_rfm(self) -> None:
        reader = await self.reader()
        self.cuts = await materialise_rfm(
            self.db, reader, self.rfm_table, self.policy.rfm, self.at_s, ids=self.scope
        )


@asynccontextmanager
async def reading(
    db: Database, policy: Policy, at: datetime, *, scope: Sequence[str] | None = None
) -> AsyncIterator[SegmentContext]:
    """A reading scope: a context on its own read connection, closed (tables dropped) on exit."""
    ctx = SegmentContext(db, policy, at, scope=scope)
    try:
        yield ctx
    finally:
        await ctx.close()
