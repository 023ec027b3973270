"""`import_csv`: stream a contacts, orders or events CSV into SQLite and say what happened to each row.

Rows are parsed and validated first (bad ones are reported by line and never half-written), then
written in batches, each batch in its own short `BEGIN IMMEDIATE` transaction, so a million-row file
streams in bounded memory and a `ritm run` beside it only waits for one batch at a time. A batch costs
a few statements (lookups through `json_each`, multi-row inserts), never one await per row.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import aiosqlite

from policy.config import Policy
from policy.timeutil import to_epoch
from storage.audit import audit
from storage.bulk import UpsertCounts
from storage.column_map import KINDS, ImportFileError, Kind
from storage.contacts import ContactRecord, contacts_by_email, known_contacts, upsert_contacts
from storage.csv_source import CsvSource
from storage.db import Database
from storage.identity import resolve_aliases
from storage.import_rows import BadRow, RowParser
from storage.orders_events import EventRecord, OrderRecord, insert_events, upsert_orders

__all__ = ["ImportFileError", "ImportReport", "RowError", "import_csv"]

BATCH_ROWS = 10_000  # rows per transaction: few checkpoints, yet a short hold on the write lock
MAX_ERRORS = 10_000  # kept in the report; `rejected` still counts every bad row

Record = ContactRecord | OrderRecord | EventRecord


@dataclass(frozen=True, slots=True)
class RowError:
    """A rejected row: its 1-based physical line in the file (header = 1) and one reason."""

    line: int
    reason: str


@dataclass
class ImportReport:
    """The outcome of one file; `to_json()` is the CLI's `--json` contract."""

    kind: str
    imported: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    errors: list[RowError] = field(default_factory=list)
    warnings: list[RowError] = field(default_factory=list)  # imported, but something was left out

    @property
    def good_rows(self) -> int:
        return self.imported + self.updated + self.unchanged

    def reject(self, line: int, reason: str) -> None:
        self.rejected += 1
        if len(self.errors) < MAX_ERRORS:
            self.errors.append(RowError(line, reason))

    def warn(self, line: int, reason: str) -> None:
        if len(self.warnings) < MAX_ERRORS:
            self.warnings.append(RowError(line, reason))

    def add(self, counts: UpsertCounts) -> None:
        self.imported += counts.imported
        self.updated += counts.updated
        self.unchanged += counts.unchanged

    def to_json(self) -> dict[str, object]:
        return {
            "imported": self.imported,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "rejected": self.rejected,
            "errors": [{"line": e.line, "reason": e.reason} for e in self.errors],
            "warnings": [{"line": w.line, "reason": w.reason} for w in self.warnings],
        }


@dataclass
class _Batch:
    """Parsed rows waiting to be written: records with their file lines, and the rows read so far.

    `emails` maps a record's index to the email naming its contact (orders/events without an id).
    """

    records: list[Record] = field(default_factory=list)
    lines: list[int] = field(default_factory=list)
    emails: dict[int, str] = field(default_factory=dict)
    rows_read: int = 0
    rejected: list[RowError] = field(default_factory=list)  # for the report, in file order
    warnings: list[RowError] = field(default_factory=list)


@contextmanager
def _bulk_gc() -> Iterator[None]:
    """Relax the young-generation GC threshold while loading.

    A bulk load allocates millions of short-lived, acyclic objects; at the default threshold (700
    allocations) the collector rescans each batch many times over, about a sixth of the import's CPU.
    """
    old = gc.get_threshold()
    gc.set_threshold(max(old[0], 100_000), *old[1:])
    try:
        yield
    finally:
        gc.set_threshold(*old)


async def import_csv(
    db: Database,
    kind: Kind,
    path: Path,
    policy: Policy,
    *,
    now: datetime,
    progress: Callable[[int], None] | None = None,
    actor: str = "cli",
    batch_rows: int = BATCH_ROWS,
    merge_by_email: bool = False,
) -> ImportReport:
    """Import one CSV file of `kind`; raise `ImportFileError` (nothing written) when it is unusable.

    A contact row claiming an email or phone another contact owns is rejected naming that contact, or
    with `merge_by_email` updates the contact that owns the email."""
    if kind not in KINDS:
        raise ImportFileError(f"unknown import kind {kind!r}: use contacts, orders or events")
    report = ImportReport(kind)
    now_s = to_epoch(now)
    with CsvSource(Path(path), kind) as source, _bulk_gc():
        parser = RowParser(source.hmap, policy, now=now_s)
        batches = _batches(source, parser, kind, batch_rows)
        # The next batch is parsed on a thread while this one is written: SQLite releases the GIL
        # while it steps, so parsing and writing overlap instead of taking turns.
        loop = asyncio.get_running_loop()
        ahead = loop.run_in_executor(None, next, batches, None)
        try:
            while (batch := await ahead) is not None:
                ahead = loop.run_in_executor(None, next, batches, None)
                for row in batch.rejected:
                    report.reject(row.line, row.reason)
                for row in batch.warnings:
                    report.warn(row.line, row.reason)
                await _write_batch(db, kind, batch, report, now_s, progress, merge_by_email)
        finally:
            with contextlib.suppress(Exception):
                await ahead  # the thread is done with the file before it is closed
    report.errors.sort(key=lambda e: e.line)
    async with db.transaction() as conn:
        await audit(
            conn, at=now, actor=actor, action=f"import.{kind}", target=Path(path).name,
            details={k: v for k, v in report.to_json().items() if k not in ("errors", "warnings")},
        )  # fmt: skip
        await refresh_statistics(conn)
    return report


async def refresh_statistics(conn: aiosqlite.Connection) -> None:
    """Give SQLite's planner row statistics after a bulk change (an approximate ANALYZE: ~1 000 rows
    sampled per index, milliseconds even at a million contacts), so it keys per-contact lookups by the
    contact rather than by a status or a date."""
    await conn.execute("PRAGMA analysis_limit = 1000")
    await conn.execute("ANALYZE")


def _batches(source: CsvSource, parser: RowParser, kind: Kind, size: int) -> Iterator[_Batch]:
    """Parsed rows in batches of `size`; each batch carries the bad rows and warnings met reading it
    (it runs on a thread of its own: only the importer's loop touches the report)."""
    batch = _Batch()
    read = 0
    contacts = kind == "contacts"
    parse: Callable[[list[str]], tuple[OrderRecord | EventRecord, str | None]] = (
        parser.order if kind == "orders" else parser.event
    )
    # The first line of each key (contact or order id): a key repeated in one file is the file's own
    # contradiction; the first occurrence wins and each later one is rejected (SPEC §12.3).
    first_line: dict[str, int] | None = None if kind == "events" else {}
    key_name = "id" if kind == "orders" or parser.hmap.has("id") else "email"
    for line, cells, problem in source.rows():
        if len(batch.records) >= size or len(batch.rejected) >= size:
            batch.rows_read = read
            yield batch
            batch = _Batch()
        read += 1
        if problem is not None:
            batch.rejected.append(RowError(line, problem))
            continue
        try:
            if contacts:
                record: Record = parser.contact(cells)
            else:
                record, email = parse(cells)
                if email is not None:
                    batch.emails[len(batch.records)] = email
        except BadRow as exc:
            batch.rejected.append(RowError(line, str(exc)))
            parser.warnings.clear()
            continue
        if first_line is not None and isinstance(record, ContactRecord | OrderRecord):
            first = first_line.setdefault(record.id, line)
            if first != line:
                batch.rejected.append(RowError(line, f"duplicate {key_name} (first at line {first})"))
                parser.warnings.clear()
                batch.emails.pop(len(batch.records), None)
                continue
        for warning in parser.warnings:
            batch.warnings.append(RowError(line, warning))
        parser.warnings.clear()
        batch.records.append(record)
        batch.lines.append(line)
    batch.rows_read = read
    yield batch


async def _write_batch(
    db: Database,
    kind: Kind,
    batch: _Batch,
    report: ImportReport,
    now: int,
    progress: Callable[[int], None] | None,
    merge_by_email: bool = False,
) -> None:
    if batch.records:
        async with db.transaction() as conn:
            if kind == "contacts":
                contacts = [r for r in batch.records if isinstance(r, ContactRecord)]
                counts = await upsert_contacts(conn, contacts, now=now, merge_by_email=merge_by_email)
                report.add(counts)
                for index, reason in counts.rejected.items():
                    report.reject(batch.lines[index], reason)
            else:
                resolved = await _resolve_contacts(conn, batch, report)
                if kind == "orders":
                    report.add(await upsert_orders(conn, [r for r in resolved if isinstance(r, OrderRecord)]))
                else:
                    report.add(await insert_events(conn, [r for r in resolved if isinstance(r, EventRecord)]))
    if progress is not None:
        progress(batch.rows_read)


async def _resolve_contacts(
    conn: aiosqlite.Connection, batch: _Batch, report: ImportReport
) -> list[OrderRecord | EventRecord]:
    """Rows whose contact exists (by id, or by a unique email); the others are rejected by line."""
    records = [r for r in batch.records if not isinstance(r, ContactRecord)]
    if batch.emails:
        owners = await contacts_by_email(conn, batch.emails.values())
        for index, email in batch.emails.items():
            found = owners.get(email, [])
            if len(found) == 1:
                records[index].contact_id = found[0]
            else:
                why = "no contact has" if not found else f"{len(found)} contacts share"
                report.reject(batch.lines[index], f"unknown contact: {why} the email {email!r}")
    aliases = await resolve_aliases(conn, (r.contact_id for r in records if r.contact_id))
    if aliases:  # rows of a merged contact belong to the contact it was merged into
        for record in records:
            record.contact_id = aliases.get(record.contact_id, record.contact_id)
    known = await known_contacts(conn, (r.contact_id for r in records if r.contact_id))
    kept = []
    for line, record in zip(batch.lines, records, strict=True):
        if record.contact_id in known:
            kept.append(record)
        elif record.contact_id:
            report.reject(line, f"unknown contact {record.contact_id!r}")
    return kept
