"""`ritm contact explain ID [--campaign C] [--at T] [--json]`."""

from __future__ import annotations

import typer
from rich.table import Table

from dispatcher.explain import explain_contact
from dispatcher.explain_report import Explanation
from policy.dsl import DslError
from ritm.cli import contact_merge_cmd
from ritm.cli.common import STATE, console, emit_json, fail, open_db, parse_at, run
from ritm.cli.times import local_stamp

contact_app = typer.Typer(help="One contact: why they would or would not get a message, and when.")


@contact_app.command("explain")
def explain(
    contact_id: str,
    campaign: str | None = typer.Option(None, "--campaign", help="Also decide this campaign for them."),
    at: str | None = typer.Option(None, "--at", help="At this instant (ISO-8601; default now)."),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Every rule's verdict now and the next instant a mass / scenario message could reach them."""
    policy, moment = STATE.policy(), parse_at(at)

    async def main() -> Explanation | None:
        db = await open_db()
        try:
            return await explain_contact(db, policy, contact_id, moment, campaign)
        except (ValueError, DslError) as exc:
            fail(str(exc))
        finally:
            await db.close()

    result = run(main)
    if result is None:
        fail(f"there is no contact {contact_id!r}")
    if as_json:
        emit_json(result.as_json())
        return
    print_explanation(result)


def print_explanation(result: Explanation) -> None:
    window = result.window
    console.print(
        f"[bold]{result.contact}[/] at {local_stamp(result.at)} —"
        f" local {result.local_time} ({result.timezone}),"
        f" RFM {result.rfm_segment}, window {result.window_segment}"
        f" {window.from_}–{window.to} {window.days}"
    )
    table = Table("rule", "ok", "why", title="Now", title_justify="left")
    for channel, reach in result.reachable.items():
        table.add_row(f"reachable:{channel}", _mark(reach.ok), reach.why)
    if result.protected_by:
        table.add_row("protected", _mark(False), f"member of {result.protected_by}")
    for rule in result.rules_now:
        table.add_row(rule.rule, _mark(rule.ok), rule.detail)
    console.print(table)
    for priority, nxt in result.next.items():
        when = local_stamp(nxt.at) if nxt.at else "none"
        console.print(f"next {priority} message: [bold]{when}[/] — {nxt.why}")
    decision = result.campaign
    if decision:
        if not decision.in_audience:
            console.print(f"campaign {decision.id}: not in its audience")
        elif decision.excluded:
            console.print(f"campaign {decision.id}: excluded — {decision.excluded}")
        else:
            holdout = " (holdout: kept as control)" if decision.holdout else ""
            console.print(
                f"campaign {decision.id}: {decision.channel} at {local_stamp(decision.due_at)},"
                f" version {decision.version}{holdout}"
            )
        for follow_up in decision.cascade:
            console.print(f"  cascade step {follow_up.step}: {follow_up.channel or 'none'} — {follow_up.why}")


def _mark(ok: bool) -> str:
    return "[green]yes[/]" if ok else "[red]no[/]"


def register(app: typer.Typer) -> None:
    contact_merge_cmd.register(contact_app)
    app.add_typer(contact_app, name="contact")
