"""`ritm demo-data --contacts N --seed S --out DIR [--anchor ISO]`: a deterministic synthetic base.

Writes contacts.csv, orders.csv and events.csv in the import format. The same N, seed and anchor give
byte-identical files; the default anchor is a fixed instant (2026-11-23 09:00 Moscow time), never today.
"""

from __future__ import annotations

import time
from pathlib import Path

import typer

from policy.timeutil import TimeParseError, parse_instant
from ritm.cli.common import STATE, console, emit_json, fail
from ritm.synthetic import DEFAULT_ANCHOR, write_demo_base


def register(app: typer.Typer) -> None:
    app.command("demo-data")(demo_data)


def demo_data(
    contacts: int = typer.Option(1000, "--contacts", min=0, help="How many contacts to generate."),
    seed: int = typer.Option(1, "--seed", help="Random seed; the same seed gives the same files."),
    out: Path = typer.Option(Path("demo-data"), "--out", help="Directory for the three CSV files."),
    anchor: str | None = typer.Option(
        None,
        "--anchor",
        help=f"The base's 'now', ISO-8601 (no offset: policy zone); default {DEFAULT_ANCHOR.isoformat()}.",
    ),
    as_json: bool = typer.Option(False, "--json", help="Print rows per file as JSON."),
) -> None:
    """Generate a synthetic school base (contacts, orders, events) as importable CSV files."""
    moment = DEFAULT_ANCHOR
    if anchor is not None:
        try:
            moment = parse_instant(anchor, STATE.policy().default_timezone)
        except TimeParseError as exc:
            fail(f"--anchor: {exc}")
    started = time.perf_counter()
    try:
        counts = write_demo_base(out, contacts, seed, moment)
    except OSError as exc:
        fail(f"cannot write to {out}: {exc.strerror or exc}")
    elapsed = time.perf_counter() - started
    if as_json:
        emit_json({**counts, "out": str(out), "seed": seed, "anchor": moment.isoformat()})
        return
    console.print(
        f"wrote {counts['contacts']:,} contacts, {counts['orders']:,} orders and {counts['events']:,} events "
        f"to {out} in {elapsed:.1f} s (seed {seed}, anchor {moment.isoformat()})",
        highlight=False,
    )
    console.print(
        f"load them with: ritm import contacts {out / 'contacts.csv'} && ritm import orders "
        f"{out / 'orders.csv'} && ritm import events {out / 'events.csv'}",
        highlight=False,
    )
