"""The demo's second week: the weekly digest as a series, approved once.

Monday 30 November Мария adds it and Олег approves it; on Tuesday its first occurrence is dry-run and
planned an hour before its start without a new approval. The next Monday a marathon starts for a fifth
of its readers (the marathon protects them from mass sends), so on Tuesday the second occurrence's
count has moved more than 10 %: it goes back to approval with the difference, and Олег approves it.
"""

from __future__ import annotations

from datetime import datetime

from dispatcher.campaigns import CampaignService
from policy.dry_run import DryRunReport
from policy.timeutil import iso_utc
from ritm.demo_campaigns import campaign_text
from ritm.demo_people import Audience
from storage.campaigns import occurrences_of
from storage.db import Database
from storage.outbox import rows_of_campaign

SERIES = "digest-weekly"
MARATHON_SHARE = 5  # every fifth reader of the first occurrence joins the marathon


class SeriesScript:
    def __init__(
        self,
        service: CampaignService,
        db: Database,
        people: Audience,
        *,
        notes: list[str],
        dry_runs: dict[str, DryRunReport],
        author: str,
        approver: str,
    ) -> None:
        self.service, self.db, self.people = service, db, people
        self.notes, self.dry_runs = notes, dry_runs
        self.author, self.approver = author, approver
        self.told: set[str] = set()

    async def add(self, now: datetime) -> None:
        """Мария adds the series; its dry run shows the first occurrence; Олег approves it once."""
        await self.service.add(campaign_text(SERIES), f"{SERIES}.toml", by=self.author, at=now)
        self.dry_runs[SERIES] = await self.service.dry_run(SERIES, at=now, by=self.author)
        await self.service.approve(SERIES, by=self.approver, at=now)
        self.notes.append(
            f"{SERIES}: a weekly series (Tuesdays 11:00, one file), approved once by Олег on {now:%d.%m}"
        )

    async def marathon(self, now: datetime) -> None:
        """A marathon starts for a fifth of the first occurrence's readers (tag set over the webhook)."""
        [first, *_] = await occurrences_of(self.db, SERIES)
        readers = sorted({r["contact_id"] for r in await rows_of_campaign(self.db, first.id, 0)})
        tags = [
            {"contact_id": c, "tag": "marathon", "set_at": iso_utc(now), "action": "set"}
            for c in readers[::MARATHON_SHARE]
        ]
        await self.people.hook({"tags": tags}, now)
        self.notes.append(
            f"{now:%d.%m}: a marathon started for {len(tags)} readers of the digest"
            " (it protects them from mass sends)"
        )

    async def watch(self, now: datetime) -> None:
        """Tell each occurrence once: planned under the series' approval, or sent back to approval by a
        drift — then Олег reads the difference and approves it."""
        for record in await occurrences_of(self.db, SERIES):
            report = record.dry_run
            if record.id in self.told or report is None:
                continue
            if record.status == "pending_approval":
                await self.service.approve(record.id, by=self.approver, at=now)
                self.notes.append(
                    f"{record.id}: planned {report.planned} against {report.compared_planned} of"
                    f" {report.compared_with} — more than 10 % moved, so it went back to approval"
                    " (a card with the difference); Олег approved it"
                )
            elif record.planned_at is not None:
                self.notes.append(
                    f"{record.id}: dry-run and planned at {record.planned_at:%d.%m %H:%M} UTC under the"
                    f" series' approval, {report.planned} messages, no new approval needed"
                )
            else:
                continue
            self.told.add(record.id)
