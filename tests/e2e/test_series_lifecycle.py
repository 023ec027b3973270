"""A series' lifecycle around its occurrences: nothing opens before approval, an edit needs a new one,
and cancelling the series cancels its occurrences' unsent messages."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from storage.campaigns import get_campaign, occurrences_of
from storage.outbox import status_counts
from tests.e2e.conftest import APPROVER, AUTHOR, EXAMPLES, World
from tests.e2e.people import add_contacts

SERIES = "digest-weekly"
FIRST = datetime(2026, 12, 1, 7, 0, tzinfo=UTC)  # an hour before the first occurrence (11:00 Moscow)


async def test_occurrences_open_only_under_an_approval_and_go_with_a_cancelled_series(world: World) -> None:
    app, clock = world.app, world.clock
    clock.set(datetime(2026, 11, 30, 9, 0, tzinfo=UTC))
    await add_contacts(app.db, [f"c{i:03d}" for i in range(20)], at=clock())
    text = (EXAMPLES / "digest_series.toml").read_text(encoding="utf-8")
    await app.service.add(text, "digest_series.toml", by=AUTHOR, at=clock())
    await app.service.dry_run(SERIES, at=clock(), by=AUTHOR)

    assert await app.plan_due(FIRST) == []  # waiting for approval: no occurrence opens
    assert await occurrences_of(app.db, SERIES) == []

    await app.service.approve(SERIES, by=APPROVER, at=clock())
    edited = text.replace('run_window = "2d"', 'run_window = "1d"')
    changed = await app.service.add(edited, "digest_series.toml", by=AUTHOR, at=clock())
    assert changed.record.status == "draft"  # an edit needs a new dry run and approval
    assert await app.plan_due(FIRST) == []

    await app.service.dry_run(SERIES, at=clock(), by=AUTHOR)
    await app.service.approve(SERIES, by=APPROVER, at=clock())
    assert await app.plan_due(FIRST) == [f"{SERIES}@2026-12-01"]
    [occurrence] = await occurrences_of(app.db, SERIES)
    assert occurrence.status == "scheduled" and occurrence.source == edited
    planned = (await status_counts(app.db, occurrence.id)).get("planned", 0)
    assert planned > 0

    cancelled = await app.service.cancel(SERIES, by=AUTHOR, at=FIRST)
    assert cancelled == planned
    assert (await status_counts(app.db, occurrence.id)).get("cancelled") == planned
    assert (await get_campaign(app.db, occurrence.id)).status == "cancelled"  # type: ignore[union-attr]
    assert await app.plan_due(FIRST + timedelta(days=7)) == []
    assert len(await occurrences_of(app.db, SERIES)) == 1
