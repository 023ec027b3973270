"""`ritm segment count|list EXPR` and `ritm rfm`: segment sizes and members at an instant (`--at`)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

import typer
from rich.table import Table

from policy.config import PolicyError
from policy.dsl import DslError
from policy.rfm import NO_ACTIVITY
from policy.segment_names import check_policy_segments
from ritm.cli.common import STATE, console, emit_json, fail, open_db, parse_at, run
from storage.segments import SegmentContext

T = TypeVar("T")

segment_app = typer.Typer(
    help="Segments in the DSL, e.g. 'has:email AND NOT segment:in_activity AND paid_total < 5000'.",
    no_args_is_help=True,
)
EXPR_HELP = "A segment expression (quote it for the shell)."
AT_HELP = "The instant to evaluate at, ISO-8601 (naive = policy timezone); default now."


def _with_context(at: str | None, work: Callable[[SegmentContext], Awaitable[T]]) -> T:
    """Open the database, build a context at `--at`, run `work`; bad input is one sentence, exit 2."""
    policy = STATE.policy()
    try:
        check_policy_segments(policy)
    except PolicyError as exc:
        fail(str(exc))
    moment = parse_at(at)

    async def main() -> T:
        db = await open_db()
        try:
            async with await SegmentContext.create(db, policy, moment) as ctx:
                return await work(ctx)
        except DslError as exc:
            fail(f"segment expression: {exc}")
        finally:
            await db.close()

    return run(main)


@segment_app.command("count")
def count(
    expr: str = typer.Argument(..., help=EXPR_HELP),
    at: str | None = typer.Option(None, "--at", help=AT_HELP),
    as_json: bool = typer.Option(False, "--json", help='Print {"count": n}.'),
) -> None:
    """How many contacts are in the segment."""
    n = _with_context(at, lambda ctx: ctx.count(expr))
    if as_json:
        emit_json({"count": n})
    else:
        console.print(n)


@segment_app.command("list")
def list_(
    expr: str = typer.Argument(..., help=EXPR_HELP),
    at: str | None = typer.Option(None, "--at", help=AT_HELP),
    limit: int | None = typer.Option(None, "--limit", min=0, help="At most this many ids."),
    as_json: bool = typer.Option(False, "--json", help='Print {"ids": [...]}.'),
) -> None:
    """The ids of the segment's contacts, in id order."""
    ids = _with_context(at, lambda ctx: ctx.list(expr, limit))
    if as_json:
        emit_json({"ids": ids})
    else:
        for contact_id in ids:
            console.print(contact_id, highlight=False, markup=False)


def rfm(
    at: str | None = typer.Option(None, "--at", help=AT_HELP),
    as_json: bool = typer.Option(False, "--json", help='Print {"segments": {name: n}, "no_activity": n}.'),
) -> None:
    """The RFM distribution of the base: contacts per RFM segment (SPEC §5)."""
    counts = _with_context(at, lambda ctx: ctx.rfm_counts())
    no_activity = counts.pop(NO_ACTIVITY, 0)
    if as_json:
        emit_json({"segments": counts, "no_activity": no_activity})
        return
    table = Table("RFM segment", "contacts")
    for name, n in counts.items():
        table.add_row(name, str(n))
    table.add_row(NO_ACTIVITY, str(no_activity), style="dim")
    console.print(table)


def register(app: typer.Typer) -> None:
    app.add_typer(segment_app, name="segment")
    app.command("rfm")(rfm)
