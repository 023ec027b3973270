"""The SPEC's worked example end to end: import, dry run, plan — against expected.json."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from dispatcher.planner import evaluate_campaign, summarise, write_plan
from policy.campaign import parse_campaign
from policy.config import Policy
from policy.timeutil import iso_utc, parse_instant
from storage.db import Database
from storage.importer import import_csv
from storage.outbox import rows_of_campaign

NOW = datetime(2026, 11, 24, tzinfo=UTC)


async def load_worked(db: Database, worked_dir: Path, policy: Policy) -> None:
    for kind in ("contacts", "orders", "events"):
        await import_csv(db, kind, worked_dir / f"{kind}.csv", policy, now=NOW)  # type: ignore[arg-type]


async def test_dry_run_matches_the_worked_example(
    db: Database, worked_dir: Path, worked_policy: Policy
) -> None:
    expected = json.loads((worked_dir / "expected.json").read_text())
    at = parse_instant(expected["at"])
    want = expected["dry_run_worked-1"]
    await load_worked(db, worked_dir, worked_policy)
    campaign = parse_campaign((worked_dir / "campaign.toml").read_text(), "campaign.toml", worked_policy)

    evaluation = await evaluate_campaign(db, campaign, worked_policy, at)
    report = summarise(evaluation)

    for key in ("audience", "excluded", "eligible", "holdout", "planned", "first_due", "last_due"):
        assert report.to_json()[key] == want[key], key
    due = {
        d.contact_id: iso_utc(d.due_at)
        for d in evaluation.decisions
        if d.reason is None and not d.holdout and d.due_at is not None
    }
    assert due == want["due_by_contact"]


async def test_plan_writes_exactly_the_dry_run_rows(
    db: Database, worked_dir: Path, worked_policy: Policy
) -> None:
    at = datetime(2026, 11, 20, 12, tzinfo=UTC)
    await load_worked(db, worked_dir, worked_policy)
    campaign = parse_campaign((worked_dir / "campaign.toml").read_text(), "campaign.toml", worked_policy)
    evaluation = await evaluate_campaign(db, campaign, worked_policy, at)
    report = summarise(evaluation)

    assert await write_plan(db, evaluation, now=at) == report.eligible
    rows = await rows_of_campaign(db, campaign.id)
    assert sum(r["status"] == "planned" for r in rows) == report.planned
    assert sum(r["status"] == "holdout" for r in rows) == report.holdout
    planned = {r["contact_id"]: r["due_at"] for r in rows if r["status"] == "planned"}
    assert planned == {
        d.contact_id: d.due_at for d in evaluation.decisions if d.reason is None and not d.holdout
    }

    # Planning again changes nothing: the unique key makes it a no-op.
    again = await evaluate_campaign(db, campaign, worked_policy, at)
    assert await write_plan(db, again, now=at) == 0
    assert len(await rows_of_campaign(db, campaign.id)) == len(rows)
