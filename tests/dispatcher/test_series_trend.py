"""The series trend as plain data: rates per send and their change from the occurrence before."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.i18n import shipped_catalogs
from bot.report_series import trend_blocks
from dispatcher.series_report import SegmentPoint, SeriesTrend
from storage.campaigns import CampaignRecord

AT = datetime(2026, 12, 20, tzinfo=UTC)
TREND = SeriesTrend(
    "digest",
    AT,
    ("clients", "general"),
    (
        ("digest@2026-12-01", {"general": SegmentPoint(100, 25, 10, 1, 990.0)}),
        (
            "digest@2026-12-08",
            {"general": SegmentPoint(80, 40, 4, 0, 0.0), "clients": SegmentPoint(10, 5, 5, 1, 5000.0)},
        ),
    ),
)


def test_changes_are_in_points_from_the_occurrence_before() -> None:
    assert TREND.change(0, "general", "opens") is None
    assert TREND.change(1, "general", "opens") == pytest.approx(0.5 - 0.25)
    assert TREND.change(1, "general", "clicks") == pytest.approx(0.05 - 0.10)
    assert TREND.change(1, "clients", "opens") is None  # nothing to compare with
    assert TREND.to_json()["occurrences"][1]["versions"]["general"]["open_rate"] == 0.5
    assert SegmentPoint(0, 0, 0, 0, 0.0).rate(0) is None


def test_the_bot_shows_the_trend_with_arrows() -> None:
    record = CampaignRecord("digest", "Дайджест", "mass", "approved", "", "", "1", AT, AT, None, None, None)
    blocks = trend_blocks(record, TREND, shipped_catalogs().translator("en"))
    assert blocks[0] == "<b>Series digest</b> «Дайджест»: occurrences side by side"
    assert "  • general: sent 80, opens 50% ↑25, clicks 5% ↓5" in blocks
    assert "  • clients: sent 10, opens 50%, clicks 50%" in blocks
    ru = trend_blocks(record, TREND, shipped_catalogs().translator("ru"))
    assert "  • general: отправлено 100, открытия 25%, клики 10%" in ru
