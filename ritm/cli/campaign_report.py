"""Human output of campaigns and dry runs (rich tables); `--json` prints the SPEC's keys instead."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from rich.panel import Panel
from rich.table import Table

from dispatcher.series_report import OccurrenceLine, SeriesTrend
from dispatcher.stats import FAILED, CampaignStats, SmsStats
from policy.dry_run import DryRunReport
from policy.timeutil import iso_utc
from ritm.cli.common import console
from ritm.cli.tables import add_short, add_text, compact_table
from ritm.cli.times import local_short, local_stamp, zone_note
from storage.campaigns import CampaignRecord
from storage.history import CampaignOutcome

BAR = "█"
PREVIEW_CHARS = 700


def record_json(
    record: CampaignRecord, outcome: CampaignOutcome | None = None, *, full: bool = False
) -> dict[str, Any]:
    outcome = outcome or CampaignOutcome(record.id)
    data: dict[str, Any] = {
        "id": record.id,
        "name": record.name,
        "priority": record.priority,
        "status": record.status,
        "state": outcome.label(record.status),
        "failed": outcome.failed,
        "uncertain": outcome.uncertain,
        "author": record.author,
        "updated_at": iso_utc(record.updated_at),
        "planned_at": iso_utc(record.planned_at) if record.planned_at else None,
    }
    if full:
        data["fingerprint"] = record.fingerprint
        data["dry_run"] = record.dry_run.to_json() if record.dry_run else None
        data["source"] = record.source
    return data


def print_record(record: CampaignRecord, *, brief: bool, outcome: CampaignOutcome | None = None) -> None:
    state = (outcome or CampaignOutcome(record.id)).label(record.status)
    line = f"[bold]{record.id}[/]  {record.name}  [cyan]{record.priority}[/]  [magenta]{state}[/]"
    if brief:
        console.print(line)
        return
    console.print(line)
    console.print(f"author {record.author}, updated {local_stamp(record.updated_at)}")
    if record.dry_run:
        report = record.dry_run
        console.print(
            f"last dry run at {local_stamp(report.at)}: audience {report.audience}, planned {report.planned},"
            f" holdout {report.holdout}"
        )


def _counts(title: str, counts: Mapping[str, int]) -> Table:
    table = Table(title=title, title_justify="left", show_header=False)
    for key, value in counts.items():
        table.add_row(key, str(value))
    return table


def print_dry_run(report: DryRunReport) -> None:
    summary = Table(title=f"Dry run of {report.campaign} at {local_stamp(report.at)}", title_justify="left")
    for column in ("audience", "excluded", "eligible", "holdout", "planned"):
        summary.add_column(column, justify="right")
    summary.add_row(
        str(report.audience),
        str(report.excluded_total),
        str(report.eligible),
        str(report.holdout),
        str(report.planned),
    )
    console.print(summary)
    if report.excluded:
        console.print(_counts("Excluded, by reason (first reason wins)", report.excluded))
    for counts, title in (
        (report.by_version, "By version"),
        (report.by_variant, "By variant"),
        (report.by_channel, "By channel"),
        (report.by_rfm, "By RFM segment"),
    ):
        if counts:
            console.print(_counts(title, counts))
    if report.sms_parts is not None:
        console.print(f"SMS: {report.sms_parts} parts, cost {report.sms_cost or 0:.2f}", highlight=False)
    console.print(f"first due {local_stamp(report.first_due)}, last due {local_stamp(report.last_due)}")
    hours = report.due_hours_utc
    peak = max(hours.values(), default=0)
    if peak:
        histogram = Table(title="Due hours (UTC)", title_justify="left", show_header=False)
        for hour, count in hours.items():
            if count:
                histogram.add_row(hour, str(count), BAR * max(1, round(30 * count / peak)))
        console.print(histogram)
    if report.widened_protect:
        console.print(
            "[yellow]this campaign drops protected segments "
            f"{', '.join(report.widened_protect)}: the approver sees it[/]"
        )
    shown = [(f"preview: {version}", p) for version, p in report.previews.items()]
    for step in report.cascade:
        console.print(f"cascade {step.describe()}", highlight=False)
        if step.fallback_preview is not None:
            shown.append((f"preview: cascade step {step.step} {step.fallback}", step.fallback_preview))
    for name, preview in shown:
        body = preview.text
        if len(body) > PREVIEW_CHARS:
            body = (
                f"{body[:PREVIEW_CHARS]}\n[dim](preview cut: {len(body) - PREVIEW_CHARS} more characters)[/]"
            )
        title = f"{name} ({preview.channel}, {preview.contact})"
        console.print(Panel(f"[bold]{preview.subject}[/]\n\n{body}", title=title, title_align="left"))
    if report.status == "pending_approval":
        console.print(
            "waiting for approval: `ritm campaign approve ID --by USER` (an approver, not the author)"
        )


def sms_line(sms: SmsStats) -> str:
    cost = "" if sms.cost is None else f", cost {sms.cost:.2f}"
    return (
        f"SMS: {sms.sent} sent in {sms.parts} parts{cost};"
        f" delivered {sms.delivered}, not delivered {sms.failed}"
    )


def print_stats(stats: CampaignStats) -> None:
    # Two tables of few columns rather than one of eleven: each fits 80 columns uncut.
    delivery = compact_table(f"Results of {stats.campaign}: delivery")
    money = compact_table(f"Conversions: paid within {stats.attribution.days} d")
    for table in (delivery, money):
        add_text(table, "version · variant · channel", min_width=14)
    for heading in ("sent", "failed", "opens", "clicks", "unsubs"):
        add_short(delivery, heading, right=True)
    for heading in ("conversions", "revenue", "per send"):
        add_short(money, heading, right=True)
    for g in stats.groups:
        group = " · ".join(part for part in (g.version, g.variant, g.channel) if part)
        per_send = g.per_send(g.revenue)
        delivery.add_row(group, str(g.sent), str(g.failed), str(g.opens), str(g.clicks), str(g.unsubscribes))
        money.add_row(
            group, str(g.conversions), f"{g.revenue:,.0f}", "" if per_send is None else f"{per_send:,.2f}"
        )
    console.print(delivery)
    console.print(money)
    console.print(
        f"all steps: sent {stats.count('sent')}, failed {stats.failed},"
        f" suppressed {stats.count('suppressed')}, holdout {stats.count('holdout')}, waiting {stats.waiting}"
    )
    console.print(
        "by channel, all steps: "
        + "; ".join(
            f"{channel} sent {stats.on_channel(channel, 'sent')}, delivered {stats.delivered(channel)},"
            f" bounced {stats.bounced(channel)}, complaints {stats.complaints(channel)},"
            f" failed {stats.on_channel(channel, *FAILED)}"
            for channel in stats.channels
        )
    )
    if stats.sms is not None:
        console.print(sms_line(stats.sms), highlight=False)
    treated = stats.treated
    console.print(
        f"treated: {treated.converted} of {treated.contacts} converted,"
        f" {treated.orders} paid orders, revenue {treated.revenue:,.0f}"
    )
    lift = stats.uplift
    if lift is None:
        console.print("uplift: no holdout to compare with")
    else:
        verdict = "significant" if lift.significant else "not significant"
        console.print(
            f"uplift: {lift.treated_rate:.2%} treated vs {lift.holdout_rate:.2%} holdout →"
            f" {lift.difference:+.2%} (95 % CI {lift.low:+.2%} … {lift.high:+.2%}), {verdict}"
        )
    if stats.show_up_rate is not None:
        console.print(f"show-up rate: {stats.show_up_rate:.1%} of the registered attended")


def print_occurrences(lines: Sequence[OccurrenceLine]) -> None:
    table = compact_table("Occurrences")
    for heading in ("id", "#", "start", "deadline", "state", "planned"):
        add_short(table, heading, right=heading in ("#", "planned"))
    for line in lines:
        table.add_row(
            line.id,
            "" if line.number is None else str(line.number),
            local_short(line.start),
            local_short(line.deadline),
            line.state,
            "" if line.planned is None else str(line.planned),
        )
    console.print(table)
    console.print(zone_note())


def print_trend(trend: SeriesTrend) -> None:
    """Per occurrence and version: sent, open and click rates, and the change from the occurrence before."""
    table = compact_table(f"Series {trend.series}: occurrences side by side")
    add_short(table, "occurrence")
    for version in trend.versions:
        add_text(table, version)
    for index, (occurrence_id, points) in enumerate(trend.occurrences):
        cells = []
        for version in trend.versions:
            point = points.get(version)
            if point is None or not point.sent:
                cells.append("—")
                continue
            cells.append(
                f"{point.sent} sent · opens {_rate(point.rate(point.opens))}"
                f"{_delta(trend.change(index, version, 'opens'))}"
                f" · clicks {_rate(point.rate(point.clicks))}{_delta(trend.change(index, version, 'clicks'))}"
            )
        table.add_row(occurrence_id, *cells)
    console.print(table)


def _rate(value: float | None) -> str:
    return "—" if value is None else f"{value:.0%}"


def _delta(points: float | None) -> str:
    return "" if points is None else f" ({round(points * 100):+d} pt)"
