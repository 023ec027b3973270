"""`ritm import contacts|orders|events FILE [--json]`: load a CSV export into the database (SPEC §3, §10).

Exit 0 when the file was read, even with rejected rows (they are listed by line; `--strict` makes that
exit 3); exit 2 with one sentence when the file itself is unusable (missing, not UTF-8 CSV, no required
column, a file of another kind).
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from ritm.cli.common import EXIT_FAILURE, STATE, console, emit_json, err_console, fail, open_db, run
from storage.importer import ImportFileError, ImportReport, import_csv

SHOWN_ERRORS = 10
EXIT_REJECTED = 3  # `--strict`: the file was read, but some rows were not imported
PROGRESS_MIN_BYTES = 8 << 20  # below this an import is over before a bar would help


class ImportKind(StrEnum):
    contacts = "contacts"
    orders = "orders"
    events = "events"


def register(app: typer.Typer) -> None:
    app.command("import")(import_file)


def import_file(
    kind: ImportKind = typer.Argument(..., help="What the file holds: contacts, orders or events."),
    file: Path = typer.Argument(..., help="CSV file, UTF-8, with a header row (Ritm or GetCourse headers)."),
    as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
    strict: bool = typer.Option(
        False, "--strict", help=f"Exit {EXIT_REJECTED} when any row was rejected (scripts can tell)."
    ),
    merge_by_email: bool = typer.Option(
        False,
        "--merge-by-email",
        help="A contact row whose email another contact owns updates that contact (instead of being "
        "rejected); its id then resolves to it.",
    ),
) -> None:
    """Import a CSV file; bad rows are reported by line and the good ones land."""
    if merge_by_email and kind is not ImportKind.contacts:
        fail("--merge-by-email applies to contacts files only")
    policy = STATE.policy()
    now = datetime.now(UTC)  # read once: undated tags and consents are stamped with it

    async def main() -> ImportReport:
        db = await open_db()
        try:
            with _progress(file) as tick:
                return await import_csv(
                    db, kind.value, file, policy, now=now, progress=tick, merge_by_email=merge_by_email
                )
        finally:
            await db.close()

    try:
        report = run(main)
    except ImportFileError as exc:
        fail(str(exc))
    except OSError as exc:  # the database, not the file: a failure, not bad input
        fail(f"import failed: {exc}", EXIT_FAILURE)
    if as_json:
        emit_json(report.to_json())
    else:
        _print_summary(report, file)
    if strict and report.rejected:
        raise typer.Exit(EXIT_REJECTED)


def _print_summary(report: ImportReport, file: Path) -> None:
    table = Table(title=f"{report.kind} from {file.name}", title_justify="left")
    for column in ("imported", "updated", "unchanged", "rejected"):
        table.add_column(column, justify="right")
    table.add_row(
        f"{report.imported:,}",
        f"{report.updated:,}",
        f"{report.unchanged:,}",
        f"[red]{report.rejected:,}[/]" if report.rejected else "0",
    )
    console.print(table)
    for error in report.errors[:SHOWN_ERRORS]:
        console.print(f"  line {error.line}: {error.reason}", highlight=False, markup=False)
    if report.rejected > SHOWN_ERRORS:
        console.print(f"  … and {report.rejected - SHOWN_ERRORS:,} more rejected rows (--json lists them)")
    for warning in report.warnings[:SHOWN_ERRORS]:
        console.print(f"  line {warning.line} (imported): {warning.reason}", highlight=False, markup=False)
    if len(report.warnings) > SHOWN_ERRORS:
        console.print(f"  … and {len(report.warnings) - SHOWN_ERRORS:,} more warnings (--json lists them)")


@contextmanager
def _progress(file: Path) -> Iterator[Callable[[int], None] | None]:
    """A progress bar on stderr for large files when stderr is a terminal; else no callback."""
    try:
        size = file.stat().st_size
    except OSError:
        size = 0
    if size < PROGRESS_MIN_BYTES or not sys.stderr.isatty():
        yield None
        return
    total = _count_lines(file) - 1
    with Progress(
        TextColumn("[bold]importing {task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=err_console,
        transient=True,
    ) as bar:
        task = bar.add_task(file.name, total=max(total, 1))
        yield lambda rows: bar.update(task, completed=rows)


def _count_lines(file: Path) -> int:
    """Physical lines, counted in 1 MiB binary chunks (fast; quoted newlines make it an estimate)."""
    lines = 0
    with file.open("rb") as raw:
        while chunk := raw.read(1 << 20):
            lines += chunk.count(b"\n")
    return lines
