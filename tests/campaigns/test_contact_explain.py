"""`contact explain`: every rule's verdict now and the next instant a message could reach the contact."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from dispatcher.campaign_cache import CampaignCache
from dispatcher.explain import explain_contact
from dispatcher.planner import evaluate_campaign
from policy.config import Policy
from storage.campaigns import insert_campaign
from storage.db import Database
from tests.campaigns.test_worked_dry_run import load_worked

AT = datetime(2026, 11, 20, 12, tzinfo=UTC)


async def test_explain_matches_the_worked_dry_run(
    db: Database, worked_dir: Path, worked_policy: Policy
) -> None:
    await load_worked(db, worked_dir, worked_policy)
    # h00005: at_risk in Moscow, window 18:00–21:00 local; the dry run plans it at 15:00 UTC.
    result = await explain_contact(db, worked_policy, "h00005", AT)
    assert result is not None
    assert result.rfm_segment == "at_risk" and result.window.from_ == "18:00"
    verdicts = {r.rule: r.ok for r in result.rules_now}
    assert verdicts["window"] is False and verdicts["quiet_hours"] is True
    assert result.next["mass"].at == datetime(2026, 11, 20, 15, tzinfo=UTC)
    assert result.as_json()["next"]["mass"]["at"] == "2026-11-20T15:00:00+00:00"

    async with db.transaction() as conn:
        text = (worked_dir / "campaign.toml").read_text(encoding="utf-8")
        await insert_campaign(
            conn, id="worked-1", name="W", priority="mass", source=text, fingerprint="f", author="1", at=AT
        )
    cache = CampaignCache(db, worked_policy)
    planned = await explain_contact(db, worked_policy, "h00005", AT, "worked-1", cache)
    assert planned is not None and planned.as_json()["campaign"]["due_at"] == "2026-11-20T15:00:00+00:00"
    # Every contact's explanation gives the dry run's own decision for it.
    loaded = await cache.get("worked-1")
    assert loaded is not None
    evaluation = await evaluate_campaign(db, loaded.campaign, worked_policy, AT)
    for d in evaluation.decisions[::5]:
        one = await explain_contact(db, worked_policy, d.contact_id, AT, "worked-1", cache)
        assert one is not None and one.campaign is not None
        assert (one.campaign.excluded, one.campaign.holdout) == (d.reason, d.holdout), d.contact_id
        if d.reason is not None and d.reason.startswith("protected:"):
            assert one.next["mass"].at is None and d.reason[10:] in one.next["mass"].why
    assert await explain_contact(db, worked_policy, "nobody", AT) is None
