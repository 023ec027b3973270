"""A weekly series on the injected clock: one approval, four occurrences, one sent back by a drift."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from dispatcher.campaigns import CampaignRefused
from dispatcher.series_report import series_trend
from storage.campaigns import occurrences_of
from storage.outbox import status_counts
from tests.e2e.conftest import APPROVER, AUTHOR, EXAMPLES, World
from tests.e2e.people import add_contacts

SERIES = "digest-weekly"
WEEKS = ("2026-12-01", "2026-12-08", "2026-12-15", "2026-12-22")


async def test_a_weekly_series_runs_four_weeks_and_a_drift_goes_back_to_approval(world: World) -> None:
    app, clock = world.app, world.clock
    clock.set(datetime(2026, 11, 30, 9, 0, tzinfo=UTC))
    await add_contacts(app.db, [f"c{i:03d}" for i in range(40)], at=clock())
    text = (EXAMPLES / "digest_series.toml").read_text(encoding="utf-8")
    added = await app.service.add(text, "digest_series.toml", by=AUTHOR, at=clock())
    assert added.campaign.series is not None

    report = await app.service.dry_run(SERIES, at=clock(), by=AUTHOR)
    assert report.campaign == f"{SERIES}@2026-12-01"  # a series' dry run shows its next occurrence
    assert report.status == "pending_approval" and report.planned > 30
    assert "дайджест №1" in report.previews["general"].subject
    with pytest.raises(CampaignRefused, match="four-eyes"):
        await app.service.approve(SERIES, by=AUTHOR, at=clock())
    await app.service.approve(SERIES, by=APPROVER, at=clock())
    with pytest.raises(CampaignRefused, match="is a series"):
        await app.service.plan(SERIES, at=clock())

    reapproved: list[str] = []
    end = datetime(2026, 12, 27, tzinfo=UTC)
    while clock() < end:
        now = clock()
        if now == datetime(2026, 12, 14, 12, tzinfo=UTC):  # the base grows by a quarter before week 3
            await add_contacts(app.db, [f"n{i:03d}" for i in range(10)], at=now)
        for occurrence in await occurrences_of(app.db, SERIES):
            if occurrence.status == "pending_approval":
                with pytest.raises(CampaignRefused, match="four-eyes"):
                    await app.service.approve(occurrence.id, by=AUTHOR, at=now)
                await app.service.approve(occurrence.id, by=APPROVER, at=now)
                reapproved.append(occurrence.id)
        await app.plan_due(now)
        while (await app.dispatch(now)).claimed:
            pass
        clock.advance(timedelta(hours=1))

    occurrences = await occurrences_of(app.db, SERIES)
    assert [o.id for o in occurrences] == [f"{SERIES}@{day}" for day in WEEKS]
    assert reapproved == [f"{SERIES}@2026-12-15"]
    planned = []
    for occurrence in occurrences:
        assert occurrence.status in ("sending", "done") and occurrence.dry_run is not None
        counts = await status_counts(app.db, occurrence.id)
        assert counts.get("sent") == occurrence.dry_run.planned, occurrence.id
        planned.append(occurrence.dry_run.planned)
    # Each occurrence draws its own holdout, so counts wobble a little without drifting.
    assert abs(planned[1] - planned[0]) <= planned[0] * 0.1
    assert planned[2] > planned[1] * 1.1
    assert abs(planned[3] - planned[2]) <= planned[2] * 0.1
    [sent_back] = await app.db.fetchall(
        "SELECT target, details FROM audit_log WHERE action = 'campaign.reapproval_needed'"
    )
    assert sent_back[0] == f"{SERIES}@2026-12-15"
    details = json.loads(sent_back[1])
    assert details["compared_with"] == f"{SERIES}@2026-12-08"
    assert details["compared_planned"] == planned[1]

    trend = await series_trend(app.service, app.reports, SERIES, clock())
    assert trend.versions == ("clients", "warm", "general")
    assert [occurrence_id for occurrence_id, _ in trend.occurrences] == [o.id for o in occurrences]
    assert [sum(p.sent for p in points.values()) for _, points in trend.occurrences] == planned

    subjects = [str(m.message["Subject"]) for m in world.smtp.messages]
    for number in (1, 2, 3, 4):
        assert any(f"дайджест №{number}:" in s for s in subjects), number
    assert not any("№5" in s for s in subjects)  # 2026-12-29 is skipped and the clock stops before
    approvals = await app.db.fetchall("SELECT campaign_id, by_user FROM approvals ORDER BY id")
    assert [tuple(r) for r in approvals] == [(SERIES, APPROVER), (f"{SERIES}@2026-12-15", APPROVER)]
