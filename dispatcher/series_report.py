"""A series' occurrences with their state: those already opened, then the next ones of its schedule."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from dispatcher.campaigns import CampaignRefused, CampaignService
from policy.occurrences import is_series
from policy.series import occurrence_day
from policy.timeutil import iso_utc

UPCOMING = "upcoming"  # not opened yet: it is dry-run and planned an hour before its start


@dataclass(frozen=True)
class OccurrenceLine:
    id: str
    number: int | None  # None for an opened occurrence its series' schedule no longer has
    date: date
    start: datetime | None
    deadline: datetime | None
    state: str  # the occurrence's campaign status, or `upcoming`
    planned: int | None  # from its own dry run

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "number": self.number,
            "date": self.date.isoformat(),
            "start": iso_utc(self.start),
            "deadline": iso_utc(self.deadline),
            "state": self.state,
            "planned": self.planned,
        }


async def series_occurrences(
    service: CampaignService, series_id: str, *, at: datetime, count: int
) -> list[OccurrenceLine]:
    """Every occurrence opened so far, then the next `count` still to come at `at`."""
    _, campaign = await service.load(series_id)
    series = campaign.series
    if series is None or not is_series(campaign):
        raise CampaignRefused(f"{series_id} is not a series: its file has no schedule")
    lines: list[OccurrenceLine] = []
    opened = set()
    for record in await service.store.occurrences(series_id):
        found = occurrence_day(record.id)
        if found is None:
            continue
        occurrence = series.on(found[1])
        opened.add(record.id)
        lines.append(
            OccurrenceLine(
                id=record.id,
                number=occurrence.number if occurrence else None,
                date=found[1],
                start=occurrence.start if occurrence else None,
                deadline=occurrence.start + series.run_window if occurrence else None,
                state=record.status,
                planned=record.dry_run.planned if record.dry_run else None,
            )
        )
    for occurrence in series.upcoming(at, count + len(opened)):
        occurrence_id = occurrence.campaign_id(series_id)
        if occurrence_id in opened:
            continue
        if len([line for line in lines if line.state == UPCOMING]) >= count:
            break
        lines.append(
            OccurrenceLine(
                id=occurrence_id,
                number=occurrence.number,
                date=occurrence.date,
                start=occurrence.start,
                deadline=occurrence.start + series.run_window,
                state=UPCOMING,
                planned=None,
            )
        )
    return lines
