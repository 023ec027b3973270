"""The dry run and planning stream a base in bounded batches: the report is the one the whole list of
decisions gives, and the rows written are exactly the decided ones (bench/plan_bench.py shows the peak
RSS staying flat from 100 k to 1 M contacts)."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

from dispatcher.planner import (
    DECISION_BATCH,
    decision_batches,
    evaluate_campaign,
    spool_plan,
    summarise,
    tally_campaign,
    write_spool,
)
from policy.campaign import Campaign, parse_campaign
from policy.config import Policy
from policy.dry_run import HOURS
from policy.timeutil import from_epoch
from ritm.demo_campaigns import campaign_text
from ritm.synthetic import DEFAULT_ANCHOR, write_demo_base
from storage.db import Database
from storage.importer import import_csv
from storage.outbox import rows_of_campaign

AT = datetime(2026, 11, 25, 5, 0, tzinfo=UTC)  # an hour before the shipped digest starts
CONTACTS = 2 * DECISION_BATCH + 1234  # three batches, the last one partial


async def _base(db: Database, tmp_path: Path, policy: Policy, contacts: int) -> Campaign:
    write_demo_base(tmp_path / "base", contacts, 7, DEFAULT_ANCHOR)
    for kind in ("contacts", "orders", "events"):
        await import_csv(db, kind, tmp_path / "base" / f"{kind}.csv", policy, now=DEFAULT_ANCHOR)
    return parse_campaign(campaign_text("digest-48"), "digest.toml", policy)


async def test_streamed_report_and_plan_match_the_whole_list(
    db: Database, tmp_path: Path, default_policy: Policy
) -> None:
    campaign = await _base(db, tmp_path, default_policy, CONTACTS)
    whole = await evaluate_campaign(db, campaign, default_policy, AT)
    expected = summarise(whole)
    assert expected.audience == CONTACTS and expected.holdout > 0 and expected.excluded

    sizes = [len(b) async for b in decision_batches(db, campaign, default_policy, AT)]
    assert sizes == [DECISION_BATCH, DECISION_BATCH, 1234]

    # The report's figures, recounted by hand from the list of decisions.
    planned = [d for d in whole.decisions if d.reason is None and not d.holdout]
    assert expected.planned == len(planned)
    assert expected.by_version == Counter(d.version or "(none)" for d in planned)
    assert expected.by_variant == Counter(d.variant for d in planned if d.variant is not None)
    assert expected.by_channel == Counter(d.channel for d in planned)
    assert expected.by_rfm == Counter(d.rfm_segment for d in planned)
    assert expected.due_hours_utc == {
        h: sum(1 for d in planned if f"{from_epoch(d.due_at or 0).hour:02d}" == h) for h in HOURS
    }
    assert expected.first_due == from_epoch(min(d.due_at or 0 for d in planned))
    assert expected.last_due == from_epoch(max(d.due_at or 0 for d in planned))

    tally = await tally_campaign(db, campaign, default_policy, AT)
    assert tally.report() == expected
    for version, (contact, channel, _) in tally.first.items():
        first = next(
            d for d in whole.decisions if d.version == version and d.reason is None and not d.holdout
        )
        assert (first.contact_id, first.channel) == (contact, channel)

    planned, spool = await spool_plan(db, campaign, default_policy, AT)
    with spool:
        assert planned.report() == expected
        assert spool.rows == expected.eligible
        assert await write_spool(db, spool, now=AT) == expected.eligible
        assert await write_spool(db, spool, now=AT) == 0  # idempotent
    rows = await rows_of_campaign(db, campaign.id)
    decided = {
        d.contact_id: (d.channel, d.due_at, d.version, d.variant, "holdout" if d.holdout else "planned")
        for d in whole.decisions
        if d.reason is None
    }
    assert {
        r["contact_id"]: (r["channel"], r["due_at"], r["version"], r["variant"], r["status"]) for r in rows
    } == (decided)
