"""`import_csv`: stream a contacts, orders or events CSV into SQLite and say what happened to each row.

Rows are parsed and validated first (bad ones are reported by line and never half-written), then
written in batches, each batch in its own short `BEGIN IMMEDIATE` transaction, so a million-row file
streams in bounded memory and a `ritm run` beside it only waits for one batch at a time. The next batch
is parsed while SQLite writes the previous one on aiosqlite's thread.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path

import aiosqlite

from policy.config import Policy
from policy.timeutil import to_epoch
from storage.audit import audit
from storage.column_map import KINDS, ImportFileError, Kind
from storage.contacts import ContactRecord, UpsertCounts, contacts_by_email, known_contacts, upsert_contacts
from storage.csv_source import CsvSource
from storage.db import Database
from storage.import_rows import BadRow, RowParser
from storage.orders_events import EventRecord, OrderRecord, insert_events, upsert_orders

__all__ = ["ImportFileError", "ImportReport", "RowError", "import_csv"]

BATCH_ROWS = 5000
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

    @property
    def good_rows(self) -> int:
        return self.imported + self.updated + self.unchanged

    def reject(self, line: int, reason: str) -> None:
        self.rejected += 1
        if len(self.errors) < MAX_ERRORS:
            self.errors.append(RowError(line, reason))

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
        }


@dataclass(slots=True)
class _Pending:
    """A parsed row waiting for its batch; `email` is set when the contact is named by email."""

    line: int
    record: Record
    email: str | None = None


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
) -> ImportReport:
    """Import one CSV file of `kind`; raise `ImportFileError` (nothing written) when it is unusable."""
    if kind not in KINDS:
        raise ImportFileError(f"unknown import kind {kind!r}: use contacts, orders or events")
    report = ImportReport(kind)
    now_s = to_epoch(now)
    with CsvSource(Path(path), kind) as source:
        parser = RowParser(source.hmap, policy, now=now_s)
        batches = _batches(source, parser, kind, report, batch_rows)
        seen = 0
        writing: asyncio.Task[None] | None = None
        while True:
            batch, lines = next(batches, ([], 0))
            if writing is not None:
                await writing
                if progress is not None:
                    progress(seen)
            seen = lines
            if not batch:
                break
            writing = asyncio.ensure_future(_write_batch(db, kind, batch, report, now_s))
            await asyncio.sleep(0)  # let the batch's first statement reach the database thread
    report.errors.sort(key=lambda e: e.line)
    async with db.transaction() as conn:
        await audit(
            conn, at=now, actor=actor, action=f"import.{kind}", target=Path(path).name,
            details={k: v for k, v in report.to_json().items() if k != "errors"},
        )  # fmt: skip
    return report


def _batches(
    source: CsvSource, parser: RowParser, kind: Kind, report: ImportReport, size: int
) -> Iterator[tuple[list[_Pending], int]]:
    """Parsed rows in batches of `size`, with the number of data rows read so far."""
    batch: list[_Pending] = []
    lines = 0
    for line, cells, problem in source.rows():
        lines += 1
        if problem is not None:
            report.reject(line, problem)
            continue
        try:
            if kind == "contacts":
                batch.append(_Pending(line, parser.contact(cells)))
            else:
                cid, email = parser.contact_key(cells)
                record = parser.order(cells, cid) if kind == "orders" else parser.event(cells, cid)
                batch.append(_Pending(line, record, email))
        except BadRow as exc:
            report.reject(line, str(exc))
            continue
        if len(batch) >= size:
            yield batch, lines
            batch = []
    yield batch, lines


async def _write_batch(
    db: Database, kind: Kind, batch: list[_Pending], report: ImportReport, now: int
) -> None:
    async with db.transaction() as conn:
        if kind == "contacts":
            contacts = [p.record for p in batch if isinstance(p.record, ContactRecord)]
            report.add(await upsert_contacts(conn, contacts, now=now))
            return
        resolved = await _resolve_contacts(conn, batch, report)
        if kind == "orders":
            report.add(await upsert_orders(conn, [r for r in resolved if isinstance(r, OrderRecord)]))
        else:
            report.add(await insert_events(conn, [r for r in resolved if isinstance(r, EventRecord)]))


async def _resolve_contacts(
    conn: aiosqlite.Connection, batch: Sequence[_Pending], report: ImportReport
) -> list[OrderRecord | EventRecord]:
    """Rows whose contact exists (by id, or by a unique email); the others are rejected by line."""
    emails = [p.email for p in batch if p.email is not None]
    by_email = await contacts_by_email(conn, emails) if emails else {}
    resolved: list[tuple[int, OrderRecord | EventRecord]] = []
    for p in batch:
        record = p.record
        assert not isinstance(record, ContactRecord)
        if p.email is not None:
            owners = by_email.get(p.email, [])
            if len(owners) != 1:
                why = "no contact has" if not owners else f"{len(owners)} contacts share"
                report.reject(p.line, f"unknown contact: {why} the email {p.email!r}")
                continue
            record = replace(record, contact_id=owners[0])
        resolved.append((p.line, record))
    known = await known_contacts(conn, (r.contact_id for _, r in resolved))
    kept = []
    for line, record in resolved:
        if record.contact_id in known:
            kept.append(record)
        else:
            report.reject(line, f"unknown contact {record.contact_id!r}")
    return kept
