"""Explain, the dry run, the planner and the send-time re-check agree on random bases in a real SQLite file.

Each example writes a random small base (contacts with addresses, consents, suppressions, tags, orders,
events) and messages another campaign already sent to them, then decides a mass campaign at a random
instant `at` four ways: the dry run (`evaluate_campaign`), the plan it writes, `contact explain` with
the campaign (its own decision and its "next mass message"), and the worker's re-check of a row for
each contact claimed at `at`. All four must tell the same story about every contact at that instant.
"""

from __future__ import annotations

import asyncio
import itertools
import shutil
from datetime import datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st

from dispatcher.campaign_cache import CampaignCache
from dispatcher.explain import HORIZON, explain_contact
from dispatcher.planner import evaluate_campaign, write_plan
from dispatcher.recheck import recheck
from policy.campaign import parse_campaign
from policy.config import CHANNELS, parse_policy
from policy.contact import ContactData
from policy.timeutil import from_epoch, to_epoch
from storage.campaigns import insert_campaign
from storage.db import Database
from storage.outbox import ClaimedRow, PlannedRow, insert_planned, rows_of_campaign
from tests.segments_support import AT_BASE, HOUR, POLICY_TEMPLATE, contacts, write_contacts

# The segment tests' small policy, with send windows (one of them an RFM segment's), quiet hours and caps.
POLICY = parse_policy(
    POLICY_TEMPLATE.format(method="thresholds")
    + """
[quiet_hours]
from = "21:00"
to = "08:00"

[channels.sms]
priorities = ["service", "scenario", "mass"]

[windows]
champions = { from = "08:00", to = "10:00", days = "mon-sun" }
sleepy = { from = "12:00", to = "14:00", days = "mon-fri" }
default = { from = "10:00", to = "20:00", days = "mon-sun" }

[[caps]]
max = 1
per = "1d"
channel = "any"
scope = "mass"

[[segment_caps.rich]]
max = 1
per = "7d"
channel = "email"
scope = "nonservice"
""",
    "agreement policy",
)
CAMPAIGN = "agree"
_copies = itertools.count()


def campaign_text(at: datetime) -> str:
    """A mass campaign on every channel that has started and runs for explain's whole horizon."""
    return f"""
id = "{CAMPAIGN}"
name = "Agreement"
priority = "mass"
channels = ["email", "telegram", "sms"]
audience = "all"
start = "{(at - HOUR).isoformat()}"
deadline = "{(at + HORIZON).isoformat()}"
windows = "policy"
holdout = 0.3

[[variants]]
name = "A"
subject = "A"
weight = 0.5

[[variants]]
name = "B"
subject = "B"
weight = 0.5

[[versions]]
segment = "rich"
name = "rich"
subject = "Для вас"
text = "Разбор."

[[versions]]
segment = "all"
name = "general"
subject = "Привет"
text = "Разбор."
"""


@pytest.fixture(scope="module")
def template_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated empty database; each example works on a copy of it."""
    path = tmp_path_factory.mktemp("agreement") / "template.db"

    async def make() -> None:
        db = await Database.open(path)
        await db.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        await db.close()

    asyncio.run(make())
    return path


@st.composite
def sent_before(draw: st.DrawFn, at: datetime, ids: list[str]) -> list[PlannedRow]:
    """Messages of another campaign that went out in the week before `at` (caps count them)."""
    rows = []
    for i, (cid, hours, channel, priority) in enumerate(
        draw(
            st.lists(
                st.tuples(
                    st.sampled_from(ids),
                    st.integers(1, 24 * 7),
                    st.sampled_from(CHANNELS),
                    st.sampled_from(["mass", "scenario"]),
                ),
                max_size=6,
            )
        )
    ):
        due = to_epoch(at - hours * HOUR)
        rows.append(PlannedRow("other", cid, i, priority, channel, None, None, due, due + 3600, "sent"))
    return rows


async def _agree(template: Path, base: list[ContactData], at: datetime, sent: list[PlannedRow]) -> None:
    copy = template.parent / f"example-{next(_copies)}.db"
    shutil.copyfile(template, copy)
    db = await Database.open(copy)
    try:
        await write_contacts(db, base)
        await insert_planned(db, sent, now=to_epoch(at))
        text = campaign_text(at)
        async with db.transaction() as conn:
            await insert_campaign(
                conn, id=CAMPAIGN, name="A", priority="mass", source=text, fingerprint="f", author="1", at=at
            )
        campaign = parse_campaign(text, "agree.toml", POLICY)
        cache = CampaignCache(db, POLICY)

        dry_run = await evaluate_campaign(db, campaign, POLICY, at)
        decisions = {d.contact_id: d for d in dry_run.decisions}
        assert sorted(decisions) == sorted(c.id for c in base), "audience = all"

        # The worker's re-check of a row claimed at `at` for each contact, on the channel it would use.
        claimed = [
            ClaimedRow(-i, CAMPAIGN, cid, 0, "mass", d.channel or "email", None, None, to_epoch(at), None, 1)
            for i, (cid, d) in enumerate(sorted(decisions.items()), start=1)
        ]
        verdicts = (await recheck(db, POLICY, claimed, at, cache)).verdicts

        for row in claimed:
            d = decisions[row.contact_id]
            note(f"{row.contact_id}: {d}")
            explained = await explain_contact(db, POLICY, row.contact_id, at, CAMPAIGN, cache)
            assert explained is not None and explained.campaign is not None
            # Explain gives the dry run's own decision for the contact ...
            verdict = explained.campaign
            assert (verdict.excluded, verdict.channel, verdict.due_at, verdict.holdout) == (
                d.reason,
                d.channel,
                d.due_at,
                d.holdout,
            )
            assert (verdict.version, verdict.variant) == (d.version, d.variant)
            # ... and its next mass message is that decision's instant (same window, period and rules).
            nxt = explained.next["mass"]
            assert nxt.at == (from_epoch(d.due_at) if d.due_at is not None else None), (nxt, d)
            # The re-check at `at` sends exactly the contacts the plan makes due at `at`.
            v = verdicts[row.id]
            note(f"re-check: {v}")
            due_now = d.due_at == to_epoch(at)
            assert v.send == due_now
            if d.reason is not None and d.reason.startswith("protected:"):
                assert v.reason == d.reason
            if d.reason in ("no_address", "no_consent"):
                assert v.reason in ("no_address", "no_consent")
            if not v.send and d.due_at is not None:
                assert v.defer_to is not None or str(v.reason).split(":")[0] in ("silence", "cap")

        # The plan writes exactly the dry run's eligible rows, holdout marked.
        assert await write_plan(db, dry_run, now=at) == sum(d.reason is None for d in decisions.values())
        rows = {r["contact_id"]: r for r in await rows_of_campaign(db, CAMPAIGN)}
        for cid, d in decisions.items():
            if d.reason is None:
                assert rows[cid]["due_at"] == d.due_at and rows[cid]["channel"] == d.channel
                assert rows[cid]["status"] == ("holdout" if d.holdout else "planned")
            else:
                assert cid not in rows
    finally:
        await db.close()


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)
@given(
    base=contacts(max_size=6),
    hours=st.integers(-30, 30),
    data=st.data(),
)
def test_explain_dry_run_plan_and_recheck_agree(
    template_db: Path, base: list[ContactData], hours: int, data: st.DataObject
) -> None:
    at = AT_BASE + hours * HOUR
    sent = data.draw(sent_before(at, [c.id for c in base]))
    asyncio.run(_agree(template_db, base, at, sent))
