"""What `ritm demo` prints at the end: per campaign and step, what was sent, held back, and why."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from rich.console import Console
from rich.table import Table

from ritm.demo import DemoStory
from storage.db import Database
from storage.outbox import REMINDER_STEP


def step_name(step: int) -> str:
    if step == 0:
        return "first send"
    if step >= REMINDER_STEP:
        return f"reminder {step - REMINDER_STEP + 1}"
    return f"cascade step {step}"


async def outcome_rows(db: Database) -> list[tuple[str, int, str, str, str, int]]:
    rows = await db.fetchall(
        "SELECT campaign_id, step, channel, status, COALESCE(reason, ''), COUNT(*) FROM outbox"
        " GROUP BY campaign_id, step, channel, status, reason ORDER BY campaign_id, step, channel, status"
    )
    return [(r[0], int(r[1]), r[2], r[3], r[4], int(r[5])) for r in rows]


async def print_report(console: Console, db: Database, story: DemoStory) -> None:
    for campaign_id, report in story.dry_runs.items():
        _print_dry_run(console, campaign_id, report)
    table = Table("campaign", "step", "channel", "status", "why", "messages", title="What the dispatcher did")
    for campaign_id, step, channel, status, reason, count in await outcome_rows(db):
        table.add_row(campaign_id, step_name(step), channel, status, reason, str(count))
    console.print(table)
    sent = await db.fetchall("SELECT channel, COUNT(*) FROM outbox WHERE status = 'sent' GROUP BY channel")
    totals = {r[0]: int(r[1]) for r in sent}
    console.print(
        f"sent: {totals.get('email', 0)} emails, {totals.get('telegram', 0)} Telegram messages;"
        f" campaign statuses: {await _statuses(db)}"
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
    out = story.out_dir
    console.print(
        f"\nCaptured emails: {out / 'mail'} (one .eml per message);"
        f" Telegram transcript: {out / 'telegram.txt'};"
        f" the database: {out / 'ritm.db'} — try `ritm --db {out / 'ritm.db'} campaign list`."
    )


def _print_dry_run(console: Console, campaign_id: str, report: dict[str, Any]) -> None:
    def listed(counts: dict[str, int]) -> str:
        return ", ".join(f"{k} {v}" for k, v in counts.items()) or "none"

    console.print(
        f"[bold]dry run {campaign_id}[/]: audience {report['audience']};"
        f" excluded {listed(report['excluded'])};"
        f" eligible {report['eligible']}, holdout {report['holdout']}, planned {report['planned']}"
        f" (channels: {listed(report['by_channel'])}; versions: {listed(report['by_version'])});"
        f" due {report['first_due']} … {report['last_due']}"
    )


async def _statuses(db: Database) -> str:
    rows = await db.fetchall("SELECT id, status FROM campaigns ORDER BY id")
    return ", ".join(f"{r[0]} {r[1]}" for r in rows)


async def _print_payer(console: Console, db: Database, contact_id: str) -> None:
    rows = await db.fetchall(
        "SELECT campaign_id, step, channel, status, COALESCE(reason, '') FROM outbox WHERE contact_id = ?"
        " ORDER BY due_at",
        (contact_id,),
    )
    story: dict[str, list[str]] = defaultdict(list)
    for campaign_id, step, channel, status, reason in rows:
        story[campaign_id].append(
            f"{step_name(int(step))} by {channel}: {status}{' (' + reason + ')' if reason else ''}"
        )
    console.print(f"the payer {contact_id}: " + "; ".join(f"{c}: {', '.join(v)}" for c, v in story.items()))
