"""`ritm contact history ID` (SPEC §12.6): every message of one contact (state, reason, channel, times)
and every event, oldest first."""

from __future__ import annotations

import dataclasses

import typer

from policy.timeutil import iso_utc
from ritm.cli.common import console, emit_json, fail, open_db, run
from ritm.cli.contact_cmd import contact_app
from ritm.cli.outbox_cmd import entries_table, entry_json
from ritm.cli.tables import add_short, add_text, compact_table
from ritm.cli.times import local_short, zone_note
from storage.history import ContactHistory, contact_history


@contact_app.command("history")
def history(contact_id: str, as_json: bool = typer.Option(False, "--json")) -> None:
    """Every message (state, reason, channel, times) and every event of one contact."""

    async def main() -> ContactHistory | None:
        db = await open_db()
        try:
            return await contact_history(db, contact_id)
        finally:
            await db.close()

    found = run(main)
    if found is None:
        fail(f"there is no contact {contact_id!r}")
    if as_json:
        emit_json(
            {
                "contact": contact_id,
                "messages": [entry_json(m) for m in found.messages],
                "events": [{**dataclasses.asdict(e), "at": iso_utc(e.at)} for e in found.events],
            }
        )
        return
    if found.messages:
        console.print(entries_table(found.messages, title=f"Messages of {contact_id}", show_contact=False))
    else:
        console.print(f"no messages planned for {contact_id}")
    if found.events:
        table = compact_table(f"Events of {contact_id}")
        add_short(table, "at")
        add_short(table, "event")
        add_text(table, "campaign")
        for event in found.events:
            table.add_row(local_short(event.at), event.type, event.campaign_id)
        console.print(table)
    console.print(zone_note())


def register(app: typer.Typer) -> None:
    """The command hangs on `contact`'s group (registered by ritm.cli.contact_cmd)."""
