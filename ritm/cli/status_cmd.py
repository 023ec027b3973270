"""`ritm status` (SPEC §12.6): who holds the database, the queue by campaign and state, errors."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import typer

from policy.timeutil import iso_utc, to_epoch
from ritm.cli.common import console, emit_json, open_db, parse_at, run
from ritm.cli.outbox_cmd import entries_table, entry_json
from ritm.cli.tables import add_short, add_text, compact_table
from ritm.cli.times import local_stamp, zone_note
from storage.campaigns import CampaignRecord, list_campaigns
from storage.history import QUEUE_GROUPS, RECENT_S, CampaignOutcome, QueueStatus, queue_status
from storage.instance_lease import Lease, current
from storage.pause import get_paused


@dataclass(frozen=True)
class Status:
    at: int
    lease: Lease | None
    paused: bool
    campaigns: list[CampaignRecord]
    queue: QueueStatus

    @property
    def running(self) -> bool:
        return self.lease is not None and self.lease.expires_at > self.at

    def outcome(self, campaign_id: str) -> CampaignOutcome:
        return self.queue.by_campaign.get(campaign_id) or CampaignOutcome(campaign_id)


def status_json(s: Status) -> dict[str, object]:
    return {
        "at": iso_utc(s.at),
        "running": s.running,
        "lease": dataclasses.asdict(s.lease) if s.lease else None,
        "paused": s.paused,
        "due_now": s.queue.due_now,
        "queue": {
            r.id: {
                "status": r.status,
                "label": s.outcome(r.id).label(r.status),
                "rows": s.outcome(r.id).counts,
            }
            for r in s.campaigns
        },
        f"sent_last_{RECENT_S // 60}_min": s.queue.sent_recently,
        "last_errors": [entry_json(e) for e in s.queue.errors],
    }


def print_status(s: Status) -> None:
    if s.running and s.lease is not None:
        lease = s.lease
        console.print(
            f"ritm run: up on {lease.host} (pid {lease.pid}) since {local_stamp(lease.since)},"
            f" heartbeat {local_stamp(lease.heartbeat_at)}"
        )
    elif s.lease is not None:
        console.print(
            f"ritm run: not running (last seen on {s.lease.host} at {local_stamp(s.lease.heartbeat_at)})"
        )
    else:
        console.print("ritm run: not running")
    console.print("sending: [yellow]paused[/] (service messages only)" if s.paused else "sending: not paused")
    recent = ", ".join(f"{ch} {n}" for ch, n in sorted(s.queue.sent_recently.items())) or "none"
    console.print(f"sent in the last {RECENT_S // 60} min: {recent}; due now: {s.queue.due_now}")
    if s.campaigns:
        table = compact_table("Queue by campaign and state")
        add_text(table, "campaign / state", min_width=18)
        for heading, _ in QUEUE_GROUPS:
            add_short(table, heading, right=True)
        for record in s.campaigns:
            outcome = s.outcome(record.id)
            counts = [str(outcome.count(*states)) for _, states in QUEUE_GROUPS]
            table.add_row(f"{record.id}\n[dim]{outcome.label(record.status)}[/]", *counts)
        console.print(table)
    if s.queue.errors:
        console.print(entries_table(s.queue.errors, title="Last errors"))
        console.print(zone_note())


def register(app: typer.Typer) -> None:
    @app.command("status")
    def status(
        at: str | None = typer.Option(None, "--at", help="As of this instant (ISO-8601; default now)."),
        as_json: bool = typer.Option(False, "--json"),
    ) -> None:
        """Instance lease, queue by state × campaign, sends in the last 5 min, last errors."""
        moment = to_epoch(parse_at(at))

        async def main() -> Status:
            db = await open_db()
            try:
                return Status(
                    at=moment,
                    lease=await current(db),
                    paused=await get_paused(db),
                    campaigns=await list_campaigns(db),
                    queue=await queue_status(db, now=moment, recent_s=RECENT_S),
                )
            finally:
                await db.close()

        result = run(main)
        if as_json:
            emit_json(status_json(result))
        else:
            print_status(result)
