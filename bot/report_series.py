"""A series' results as HTML blocks: its occurrences side by side per segment version (/stats SERIES)."""

from __future__ import annotations

from bot.format import esc
from bot.i18n import Translator
from dispatcher.series_report import SeriesTrend
from storage.campaigns import CampaignRecord


def trend_blocks(record: CampaignRecord, trend: SeriesTrend, tr: Translator) -> list[str]:
    blocks: list[str] = [
        tr.gettext("<b>Series {id}</b> «{name}»: occurrences side by side", id=record.id, name=record.name)
    ]
    if not trend.occurrences:
        blocks.append(tr.gettext("No occurrence has been opened yet."))
        return blocks
    for index, (occurrence_id, points) in enumerate(trend.occurrences):
        blocks.append(f"<b>{esc(occurrence_id)}</b>")
        for version in trend.versions:
            point = points.get(version)
            if point is None or not point.sent:
                continue
            blocks.append(
                tr.gettext(
                    "  • {version}: sent {sent}, opens {opens}, clicks {clicks}",
                    version=version,
                    sent=point.sent,
                    opens=_rate(point.rate(point.opens), trend.change(index, version, "opens")),
                    clicks=_rate(point.rate(point.clicks), trend.change(index, version, "clicks")),
                )
            )
    return blocks


def _rate(rate: float | None, change: float | None) -> str:
    """`45%`, with the change from the occurrence before in percentage points: `45% ↑3`."""
    shown = "—" if rate is None else f"{rate:.0%}"
    if change is None or round(change * 100) == 0:
        return shown
    return f"{shown} {'↑' if change > 0 else '↓'}{abs(change) * 100:.0f}"
