"""`ritm demo`: the whole loop on embedded defaults (see ritm/demo.py)."""

from __future__ import annotations

from pathlib import Path

import typer

from ritm.cli.common import STATE, console, run
from ritm.event_loop import DEFAULT_EVENT_LOOP, loop_factory
from storage.db import Database


def register(app: typer.Typer) -> None:
    @app.command("demo")
    def demo(
        out: Path = typer.Option(
            Path("demo-out"), "--out", help="Where the database, mail and transcript go."
        ),
        contacts: int = typer.Option(2000, "--contacts", min=100, help="Size of the synthetic base."),
        seed: int = typer.Option(7, "--seed"),
    ) -> None:
        """Run webinar invitation, digest, cascade, reminders, a payment, a pause and a service notice."""
        from ritm.demo import prepare, run_demo  # aiogram takes seconds to import: only for the demo
        from ritm.demo_report import print_report

        policy = STATE.policy()
        counts = prepare(out, contacts=contacts, seed=seed)
        console.print(
            f"synthetic base in {out / 'base'}: {counts['contacts']} contacts, {counts['orders']} orders,"
            f" {counts['events']} events"
        )

        async def main() -> None:
            story = await run_demo(out, policy=policy, say=console.print)
            db = await Database.open(out / "ritm.db")
            try:
                await print_report(console, db, story)
            finally:
                await db.close()

        run(main, loop_factory(DEFAULT_EVENT_LOOP))  # the demo runs as `ritm run` does
