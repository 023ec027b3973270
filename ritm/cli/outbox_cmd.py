"""`ritm outbox list | retry` (SPEC §12.6): the queue row by row, and failed or uncertain rows re-queued."""

from __future__ import annotations

import dataclasses

import typer
from rich.table import Table

from policy.timeutil import iso_utc
from ritm.cli.common import console, emit_json, fail, open_db, parse_at, run
from ritm.cli.tables import add_short, add_text, compact_table
from ritm.cli.times import local_short, zone_note
from storage.campaigns import get_campaign
from storage.history import (
    OUTBOX_STATUSES,
    RETRYABLE_STATUSES,
    OutboxEntry,
    OutboxFilter,
    RetryPlan,
    outbox_entries,
    retry_rows,
)

outbox_app = typer.Typer(
    help="The outbox: every planned message and what became of it.", no_args_is_help=True
)


def entry_json(entry: OutboxEntry) -> dict[str, object]:
    data = dataclasses.asdict(entry)
    data["due_at"] = iso_utc(entry.due_at)
    data["sent_at"] = iso_utc(entry.sent_at)
    return data


def entries_table(entries: list[OutboxEntry], *, title: str, show_contact: bool = True) -> Table:
    """Rows in 80 columns: short fields never wrap, only the reason folds."""
    table = compact_table(title)
    add_short(table, "id", right=True)
    for heading in ("campaign", "contact", "channel", "status", "at"):
        if heading != "contact" or show_contact:
            add_short(table, heading)
    add_text(table, "why")
    for e in entries:
        step = f"/{e.step}" if e.step else ""
        cells = [str(e.id), f"{e.campaign_id}{step}"]
        if show_contact:
            cells.append(e.contact_id)
        cells += [e.channel, e.status, local_short(e.sent_at or e.due_at), e.why]
        table.add_row(*cells)
    return table


@outbox_app.command("list")
def list_(
    campaign: str | None = typer.Option(None, "--campaign", help="Only this campaign's rows."),
    status: str | None = typer.Option(
        None, "--status", help=f"Only rows in this state: {', '.join(OUTBOX_STATUSES)}."
    ),
    contact: str | None = typer.Option(None, "--contact", help="Only this contact's rows."),
    limit: int = typer.Option(50, "--limit", help="At most this many rows, latest due first."),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Outbox rows, latest due first: channel, state, when, and why it was not sent."""
    if status is not None and status not in OUTBOX_STATUSES:
        fail(f"--status: unknown state {status!r}; use one of {', '.join(OUTBOX_STATUSES)}")
    if limit < 1:
        fail("--limit must be at least 1")

    async def main() -> list[OutboxEntry]:
        db = await open_db()
        try:
            return await outbox_entries(db, OutboxFilter(campaign, status, contact, limit))
        finally:
            await db.close()

    entries = run(main)
    if as_json:
        emit_json([entry_json(e) for e in entries])
        return
    if not entries:
        console.print("no outbox rows match")
        return
    console.print(entries_table(entries, title=f"Outbox ({len(entries)} rows, latest first)"))
    console.print(zone_note())


@outbox_app.command("retry")
def retry(
    campaign: str = typer.Option(..., "--campaign", help="The campaign whose rows to re-send."),
    status: str = typer.Option(..., "--status", help="failed or uncertain."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Count what would be re-queued; change nothing."),
    at: str | None = typer.Option(None, "--at", help="Due at this instant (ISO-8601; default now)."),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Put a campaign's failed or uncertain messages back in the queue, due now.

    An uncertain message may have reached the contact before the crash: re-sending it can deliver it twice."""
    if status not in RETRYABLE_STATUSES:
        fail(f"--status must be {' or '.join(RETRYABLE_STATUSES)}, got {status!r}")
    moment = parse_at(at)

    async def main() -> RetryPlan:
        db = await open_db()
        try:
            if await get_campaign(db, campaign) is None:
                fail(f"there is no campaign {campaign!r}")
            return await retry_rows(db, campaign, status, now=moment, by="cli", dry_run=dry_run)
        finally:
            await db.close()

    plan = run(main)
    if as_json:
        emit_json({**dataclasses.asdict(plan), "dry_run": dry_run})
        return
    verb = "would re-queue" if dry_run else "re-queued"
    line = f"{campaign}: {verb} {plan.requeued} {status} messages"
    if plan.past_deadline:
        line += f"; {plan.past_deadline} are past their deadline and stay {status}"
    console.print(line)
    if status == "uncertain" and plan.requeued:
        console.print(
            "[yellow]uncertain messages may have been delivered already: some contacts may get two[/]"
        )


def register(app: typer.Typer) -> None:
    app.add_typer(outbox_app, name="outbox")
