"""A series' occurrences with their state (those already opened, then the next ones of its schedule), and
their results side by side per segment version: the trend of a regular mailing."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from dispatcher.campaigns import CampaignRefused, CampaignService
from dispatcher.ports import ResultsStore
from dispatcher.stats import campaign_stats
from policy.occurrences import UPCOMING, is_series
from policy.series import occurrence_day
from policy.timeutil import iso_utc


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


@dataclass(frozen=True)
class SegmentPoint:
    """One version (segment) of one occurrence: its first sends and what came of them."""

    sent: int
    opens: int
    clicks: int
    conversions: int
    revenue: float

    def rate(self, value: int) -> float | None:
        return value / self.sent if self.sent else None

    def to_json(self) -> dict[str, Any]:
        return {
            "sent": self.sent,
            "opens": self.opens,
            "clicks": self.clicks,
            "conversions": self.conversions,
            "revenue": round(self.revenue, 2),
            "open_rate": _round(self.rate(self.opens)),
            "click_rate": _round(self.rate(self.clicks)),
            "conversion_rate": _round(self.rate(self.conversions)),
        }


@dataclass(frozen=True)
class SeriesTrend:
    """Occurrences side by side, per segment version: how the series does week after week."""

    series: str
    at: datetime
    versions: tuple[str, ...]  # in the file's order
    occurrences: tuple[tuple[str, dict[str, SegmentPoint]], ...]  # (occurrence id, version -> point)

    def change(self, index: int, version: str, measure: str) -> float | None:
        """The change of a rate (`opens`, `clicks`, `conversions`) from the occurrence before, in points."""
        if index == 0:
            return None
        now = self.occurrences[index][1].get(version)
        before = self.occurrences[index - 1][1].get(version)
        if now is None or before is None:
            return None
        a, b = now.rate(getattr(now, measure)), before.rate(getattr(before, measure))
        return None if a is None or b is None else a - b

    def to_json(self) -> dict[str, Any]:
        return {
            "series": self.series,
            "occurrences": [
                {"id": occurrence_id, "versions": {v: p.to_json() for v, p in points.items()}}
                for occurrence_id, points in self.occurrences
            ],
        }


async def series_trend(
    service: CampaignService, store: ResultsStore, series_id: str, at: datetime
) -> SeriesTrend:
    """Every opened occurrence's results per version, measured up to `at` (one `campaign_stats` each)."""
    _, campaign = await service.load(series_id)
    if not is_series(campaign):
        raise CampaignRefused(f"{series_id} is not a series: its file has no schedule")
    rows = []
    for record in await service.store.occurrences(series_id):
        stats = await campaign_stats(store, record.id, at)
        points: dict[str, SegmentPoint] = {}
        for g in stats.groups:  # channels and variants of one version add up
            p = points.get(g.version, SegmentPoint(0, 0, 0, 0, 0.0))
            points[g.version] = SegmentPoint(
                p.sent + g.sent,
                p.opens + g.opens,
                p.clicks + g.clicks,
                p.conversions + g.conversions,
                p.revenue + g.revenue,
            )
        rows.append((record.id, points))
    return SeriesTrend(series_id, at, tuple(v.name for v in campaign.versions), tuple(rows))


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 4)
