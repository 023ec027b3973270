"""`ritm campaign add | list | show | dry-run | approve | reject | plan | cancel | stats | occurrences`
(SPEC §6, §10, §12.4)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import typer

from dispatcher.campaigns import CampaignRefused, CampaignService
from dispatcher.render import TemplateProblem
from dispatcher.series_report import OccurrenceLine, SeriesTrend, series_occurrences, series_trend
from dispatcher.stats import CampaignStats, campaign_stats
from policy.config import PolicyError
from policy.dry_run import DryRunReport
from policy.dsl import DslError
from policy.occurrences import is_series
from policy.team import canonical_user
from ritm.cli.campaign_report import (
    print_dry_run,
    print_occurrences,
    print_record,
    print_stats,
    print_trend,
    record_json,
)
from ritm.cli.common import STATE, console, emit_json, fail, open_db, parse_at, run
from ritm.services import campaign_service, report_store
from storage.campaigns import list_campaigns
from storage.db import Database
from storage.history import campaign_outcomes

T = TypeVar("T")
campaign_app = typer.Typer(
    help="Campaign files, dry runs, four-eyes approval, planning.", no_args_is_help=True
)
BAD_INPUT = (PolicyError, DslError, TemplateProblem, CampaignRefused)
BY_OPERATOR = "A team member (operator or above) to audit it under; the audit says `cli` without one."


def _with_service(work: Callable[[CampaignService, Database], Awaitable[T]]) -> T:
    """Open the database, build the service, run `work`; expected refusals become one sentence."""
    policy, settings = STATE.policy(), STATE.settings()

    async def main() -> T:
        db = await open_db()
        try:
            return await work(campaign_service(db, policy, settings), db)
        except BAD_INPUT as exc:
            fail(str(exc))
        finally:
            await db.close()

    return run(main)


async def _operator(service: CampaignService, by: str | None, action: str) -> str:
    """The audit actor of a dry run or a plan: `cli` (the machine's operator) or a checked member."""
    return "cli" if by is None else await service.member_id(by, "operator", action)


@campaign_app.command("add")
def add(
    file: Path = typer.Argument(..., help="The campaign TOML file."),
    by: str = typer.Option(
        ..., "--by", help="The author: a team member (operator or above); never the approver."
    ),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Add a campaign (or a changed version of it, which returns it to draft)."""
    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        fail(f"cannot read {file}: {exc}")

    async def work(service: CampaignService, db: Database) -> None:
        result = await service.add(text, file.name, by=by, at=datetime.now(UTC))
        if as_json:
            emit_json({"id": result.record.id, "status": result.record.status, "change": result.change})
        else:
            console.print(
                f"campaign [bold]{result.record.id}[/]: {result.change}, status {result.record.status}"
            )

    _with_service(work)


@campaign_app.command("list")
def list_(as_json: bool = typer.Option(False, "--json")) -> None:
    """All campaigns with their status."""

    async def work(service: CampaignService, db: Database) -> None:
        records = await list_campaigns(db)
        outcomes = await campaign_outcomes(db)
        if as_json:
            emit_json([record_json(r, outcomes.get(r.id)) for r in records])
            return
        for record in records:
            print_record(record, brief=True, outcome=outcomes.get(record.id))

    _with_service(work)


@campaign_app.command("show")
def show(campaign_id: str, as_json: bool = typer.Option(False, "--json")) -> None:
    """One campaign: status, author, last dry run and decision."""

    async def work(service: CampaignService, db: Database) -> None:
        record, _ = await service.load(campaign_id)
        outcome = (await campaign_outcomes(db, [record.id])).get(record.id)
        if as_json:
            emit_json(record_json(record, outcome, full=True))
        else:
            print_record(record, brief=False, outcome=outcome)

    _with_service(work)


@campaign_app.command("dry-run")
def dry_run(
    campaign_id: str,
    at: str | None = typer.Option(None, "--at", help="Evaluate at this instant (ISO-8601)."),
    by: str | None = typer.Option(None, "--by", help=BY_OPERATOR),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Who would get what, when, and who is excluded and why; sends nothing."""
    moment = parse_at(at)

    async def work(service: CampaignService, db: Database) -> DryRunReport:
        actor = await _operator(service, by, "a dry run")
        return await service.dry_run(campaign_id, at=moment, by=actor)

    report = _with_service(work)
    if as_json:
        emit_json(report.to_json())
    else:
        print_dry_run(report)


@campaign_app.command("approve")
def approve(
    campaign_id: str, by: str = typer.Option(..., "--by", help="The approver's Telegram user id.")
) -> None:
    """Approve the last dry run (approver role, never the author)."""

    async def work(service: CampaignService, db: Database) -> None:
        record = await service.approve(campaign_id, by=by, at=datetime.now(UTC))
        console.print(f"campaign [bold]{record.id}[/] approved by {canonical_user(by)}")

    _with_service(work)


@campaign_app.command("reject")
def reject(campaign_id: str, by: str = typer.Option(..., "--by")) -> None:
    """Reject the campaign (approver role)."""

    async def work(service: CampaignService, db: Database) -> None:
        record = await service.reject(campaign_id, by=by, at=datetime.now(UTC))
        console.print(f"campaign [bold]{record.id}[/] rejected by {canonical_user(by)}")

    _with_service(work)


@campaign_app.command("plan")
def plan(
    campaign_id: str,
    at: str | None = typer.Option(None, "--at"),
    by: str | None = typer.Option(None, "--by", help=BY_OPERATOR),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Write the planned messages to the outbox (idempotent)."""
    moment = parse_at(at)

    async def work(service: CampaignService, db: Database) -> dict[str, Any]:
        actor = await _operator(service, by, "planning")
        result = await service.plan(campaign_id, at=moment, by=actor)
        return {
            "status": result.status,
            "inserted": result.inserted,
            "planned": result.report.planned,
            "holdout": result.report.holdout,
        }

    outcome = _with_service(work)
    if as_json:
        emit_json(outcome)
    elif outcome["status"] == "pending_approval":
        console.print(
            f"[yellow]the planned count moved more than 10 % from the approved one ({outcome['planned']}):"
            " the campaign is back to pending approval with the new dry run[/]"
        )
    else:
        console.print(
            f"planned: {outcome['inserted']} new rows"
            f" ({outcome['planned']} to send, {outcome['holdout']} holdout)"
        )


@campaign_app.command("cancel")
def cancel(campaign_id: str, by: str = typer.Option(..., "--by")) -> None:
    """Cancel the campaign and its unsent messages."""

    async def work(service: CampaignService, db: Database) -> int:
        return await service.cancel(campaign_id, by=by, at=datetime.now(UTC))

    rows = _with_service(work)
    console.print(f"campaign {campaign_id} cancelled ({rows} unsent messages cancelled)")


@campaign_app.command("stats")
def stats(
    campaign_id: str,
    at: str | None = typer.Option(None, "--at", help="Count what happened up to this instant."),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Sent, opens, clicks, unsubscribes, conversions and revenue per version/variant/channel; uplift.
    For a series: its occurrences side by side per segment version, with the change from the one before."""
    moment = parse_at(at)

    async def work(service: CampaignService, db: Database) -> CampaignStats | SeriesTrend:
        _, campaign = await service.load(campaign_id)
        if is_series(campaign):  # occurrences side by side, per segment version
            return await series_trend(service, report_store(db), campaign_id, moment)
        price = service.policy.channels.sms.price_per_part
        return await campaign_stats(report_store(db), campaign_id, moment, sms_price=price)

    result = _with_service(work)
    if as_json:
        emit_json(result.to_json())
    elif isinstance(result, SeriesTrend):
        print_trend(result)
    else:
        print_stats(result)


@campaign_app.command("occurrences")
def occurrences(
    campaign_id: str,
    count: int = typer.Option(5, "--count", min=1, max=100, help="How many upcoming ones to list."),
    at: str | None = typer.Option(None, "--at", help="List from this instant (ISO-8601)."),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """A series' occurrences: those opened so far with their state, then the next ones."""
    moment = parse_at(at)

    async def work(service: CampaignService, db: Database) -> list[OccurrenceLine]:
        return await series_occurrences(service, campaign_id, at=moment, count=count)

    lines = _with_service(work)
    if as_json:
        emit_json([line.to_json() for line in lines])
    else:
        print_occurrences(lines)


def register(app: typer.Typer) -> None:
    app.add_typer(campaign_app, name="campaign")
