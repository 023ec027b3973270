"""What `ritm demo` prints at the end: per campaign and step, what was sent, held back, and why."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Mapping

from rich.console import Console
from rich.table import Column, Table

from policy.dry_run import DryRunReport
from policy.timeutil import iso_utc
from policy.triggers import run_and_index
from ritm.demo import DUNNING, DemoStory
from storage.db import Database
from storage.outbox import REMINDER_STEP
from storage.outcomes import campaign_statuses, messages_of_contact, outcomes, sent_per_channel


def step_name(step: int, *, trigger: bool = False) -> str:
    if trigger:  # one row per run: name the step, not the run
        return f"trigger step {run_and_index(step)[1] + 1}"
    if step == 0:
        return "first send"
    if step >= REMINDER_STEP:
        return f"reminder {step - REMINDER_STEP + 1}"
    return f"cascade step {step}"


TRIGGERS = frozenset({DUNNING})


async def print_report(console: Console, db: Database, story: DemoStory) -> None:
    for campaign_id, report in story.dry_runs.items():
        _print_dry_run(console, campaign_id, report)
    # Occurrence ids (`digest-weekly@2026-12-08`) differ only at their end: fold them, never cut them.
    campaign = Column("campaign", overflow="fold")
    table = Table(campaign, "step", "channel", "status", "why", "messages", title="What the dispatcher did")
    rows: Counter[tuple[str, str, str, str, str]] = Counter()
    for o in await outcomes(db):
        name = step_name(o.step, trigger=o.campaign_id in TRIGGERS)
        rows[(o.campaign_id, name, o.channel, o.status, o.reason or "")] += o.count
    for (campaign_id, name, channel, status, reason), count in rows.items():
        table.add_row(campaign_id, name, channel, status, reason, str(count))
    console.print(table)
    totals = await sent_per_channel(db)
    statuses = ", ".join(f"{c} {s}" for c, s in (await campaign_statuses(db)).items())
    console.print(
        f"sent: {totals.get('email', 0)} emails, {totals.get('telegram', 0)} Telegram messages,"
        f" {totals.get('vk', 0)} VK messages, {totals.get('sms', 0)} SMS;"
        f" campaign statuses: {statuses}"
    )
    if story.people:
        people = Table("what subscribers did (simulated, over real HTTP)", "count")
        for what, count in story.people.items():
            people.add_row(what, str(count))
        console.print(people)
    for note in story.notes:
        console.print(f"• {note}")
    if story.payer:
        await _print_payer(console, db, story.payer)
    for buyer in story.buyers:
        dunning = [m for m in await messages_of_contact(db, buyer) if m.campaign_id in TRIGGERS]
        steps = [
            f"{step_name(m.step, trigger=True)} by {m.channel}: {m.status}"
            + (f" ({m.reason})" if m.reason else "")
            for m in dunning
        ]
        console.print(f"the buyer {buyer}: " + "; ".join(steps))
    out = story.out_dir
    console.print(
        f"\nCaptured emails: {out / 'mail'} (one .eml per message);"
        f" Telegram transcript: {out / 'telegram.txt'};"
        f" the database: {out / 'ritm.db'} — try `ritm --db {out / 'ritm.db'} campaign list`."
    )


def _print_dry_run(console: Console, campaign_id: str, report: DryRunReport) -> None:
    def listed(counts: Mapping[str, int]) -> str:
        return ", ".join(f"{k} {v}" for k, v in counts.items()) or "none"

    sms = "" if report.sms_cost is None else f"; SMS {report.sms_parts} parts, cost {report.sms_cost:.2f}"
    console.print(
        f"[bold]dry run {campaign_id}[/]: audience {report.audience};"
        f" excluded {listed(report.excluded)};"
        f" eligible {report.eligible}, holdout {report.holdout}, planned {report.planned}"
        f" (channels: {listed(report.by_channel)}; versions: {listed(report.by_version)});"
        f" due {iso_utc(report.first_due)} … {iso_utc(report.last_due)}" + sms
    )


async def _print_payer(console: Console, db: Database, contact_id: str) -> None:
    story: dict[str, list[str]] = defaultdict(list)
    for m in await messages_of_contact(db, contact_id):
        why = f" ({m.reason})" if m.reason else ""
        name = step_name(m.step, trigger=m.campaign_id in TRIGGERS)
        story[m.campaign_id].append(f"{name} by {m.channel}: {m.status}{why}")
    console.print(f"the payer {contact_id}: " + "; ".join(f"{c}: {', '.join(v)}" for c, v in story.items()))
