"""`ritm contact merge KEEP OTHER [--dry-run] [--json]` and `ritm contact duplicates [--json]`."""

from __future__ import annotations

import typer

from ritm.cli.common import console, emit_json, fail, open_db, parse_at, run
from storage.merge import MergeError, MergeReport, duplicates, merge_contacts


def merge(
    keep: str = typer.Argument(..., help="The contact that stays."),
    other: str = typer.Argument(..., help="The contact folded into KEEP (its id then resolves to KEEP)."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Say what would move; change nothing."),
    at: str | None = typer.Option(None, "--at", help="Stamp the merge with this instant (ISO-8601)."),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Fold OTHER into KEEP: orders, events, tags, silences, consents (the stricter wins), outbox history."""
    moment = parse_at(at)

    async def main() -> MergeReport:
        db = await open_db()
        try:
            return await merge_contacts(db, keep.strip(), other.strip(), at=moment, dry_run=dry_run)
        except MergeError as exc:
            fail(str(exc))
        finally:
            await db.close()

    report = run(main)
    if as_json:
        emit_json(report.to_json())
        return
    verb = "would move" if report.dry_run else "moved"
    moved = ", ".join(f"{n} {table}" for table, n in report.moved.items() if n) or "nothing"
    console.print(f"{report.other} → {report.keep}: {verb} {moved}", highlight=False, markup=False)
    if report.taken:
        console.print(f"  {report.keep} takes from {report.other}: {', '.join(report.taken)}", markup=False)
    if report.kept_under_other:
        console.print(
            f"  {report.kept_under_other} outbox rows stay under {report.other}"
            " (the same campaign step reached both)",
            markup=False,
        )
    consents = ", ".join(f"{ch} {status}" for ch, status in report.consents.items()) or "none"
    console.print(f"  consents of {report.keep}: {consents}", markup=False)


def list_duplicates(as_json: bool = typer.Option(False, "--json")) -> None:
    """Contacts that shared an address when addresses became unique, each with the contact owning it."""

    async def main() -> list[tuple[str, str]]:
        db = await open_db()
        try:
            return await duplicates(db)
        finally:
            await db.close()

    pairs = run(main)
    if as_json:
        emit_json({"duplicates": [{"contact": c, "owner": owner} for c, owner in pairs]})
        return
    if not pairs:
        console.print("no contact shares an address with another")
    for contact, owner in pairs:
        console.print(f"{contact} shares an address with {owner}: ritm contact merge {owner} {contact}")


def register(contact_app: typer.Typer) -> None:
    contact_app.command("merge")(merge)
    contact_app.command("duplicates")(list_duplicates)
