"""The dry run is one typed report: what the service returns is what storage keeps and reads back."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import timedelta

from policy.dry_run import HOURS, DryRunReport
from storage.campaigns import get_campaign
from tests.e2e.conftest import AUTHOR, World
from tests.e2e.people import add_contacts, campaign_toml, relax

SPEC_KEYS = {
    "audience",
    "excluded",
    "eligible",
    "holdout",
    "planned",
    "by_version",
    "by_variant",
    "by_channel",
    "by_rfm",
    "first_due",
    "last_due",
    "due_hours_utc",
    "previews",
}


async def test_the_stored_dry_run_reads_back_as_the_report_shown(world: World) -> None:
    relax(world)
    now = world.clock()
    await add_contacts(world.app.db, [f"d{i:02d}" for i in range(12)], at=now)
    text = campaign_toml("dr-1", start=now, deadline=now + timedelta(days=1))
    await world.app.service.add(text, "dr.toml", by=AUTHOR, at=now)
    report = await world.app.service.dry_run("dr-1", at=now, by=AUTHOR)
    assert report.status == "pending_approval" and report.planned > 0 and report.previews
    assert report.planned + report.holdout + report.excluded_total == report.audience
    assert sum(report.due_hours_utc.values()) == report.planned

    record = await get_campaign(world.app.db, "dr-1")
    assert record is not None and record.dry_run == replace(report, status=None)
    document = json.loads(json.dumps(report.to_json()))
    assert set(document) >= SPEC_KEYS and document["status"] == "pending_approval"
    assert DryRunReport.from_json(document) == report


def test_a_report_stored_before_later_keys_still_reads() -> None:
    old = {
        "campaign": "c",
        "at": "2026-11-20T12:00:00+00:00",
        "audience": 3,
        "excluded": {"no_consent": 1},
        "eligible": 2,
        "holdout": 0,
        "planned": 2,
        "by_version": {"(none)": 2},
        "by_variant": {},
        "by_channel": {"email": 2},
        "by_rfm": {},
        "first_due": "2026-11-20T12:00:00+00:00",
        "last_due": None,
        "due_hours_utc": {"12": 2},
        "fingerprint": "f",
    }
    report = DryRunReport.from_json(old)
    assert (report.planned, report.excluded_total, report.last_due) == (2, 1, None)
    assert list(report.due_hours_utc) == list(HOURS) and report.due_hours_utc["12"] == 2
    assert report.widened_protect == () and report.previews == {} and report.unversioned == 0
