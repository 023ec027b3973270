"""Planning decides each group of alike contacts once: the grouped stream must give every contact the
decision `decide` gives its own situation.

Each example writes a random small base in which every contact has clones (the same facts under
another id, so groups have several members), marks some contacts with messages of another campaign
(caps count them: those are decided alone), and compares `decision_batches` with one fresh `decide`
per contact's own situation, field by field.
"""

from __future__ import annotations

import asyncio
import itertools
import shutil
from dataclasses import replace
from datetime import datetime
from pathlib import Path

from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st

from dispatcher.planner import Decision, decision_batches
from policy.campaign import parse_campaign
from policy.contact import ContactData
from policy.decide import Decider, Exclude, Send, decide
from policy.steps import first_step
from policy.timeutil import to_epoch
from storage.db import Database
from storage.outbox import PlannedRow, insert_planned
from storage.segments import reading
from storage.situations import limits, member_batches, questions_for, situations
from tests.campaigns.test_decide_agreement import POLICY, campaign_text, sent_before, template_db
from tests.segments_support import AT_BASE, HOUR, contacts, write_contacts

__all__ = ["template_db"]  # the fixture, shared with the agreement tests
_copies = itertools.count()


def clone(c: ContactData, n: int) -> ContactData:
    """The same facts under another id (addresses and order ids made unique, their presence kept)."""
    cid = f"{c.id}k{n}"
    return replace(
        c,
        id=cid,
        email=f"{cid}@example.org" if c.email else c.email,
        telegram_chat_id=c.telegram_chat_id * 100 + n if c.telegram_chat_id is not None else None,
        phone=f"{c.phone}{n}" if c.phone else c.phone,
        orders=tuple(replace(o, id=f"{o.id}k{n}") for o in c.orders),
    )


async def _per_contact(db: Database, at: datetime) -> dict[str, Decision]:
    """Every audience member's decision from its own situation, by a fresh `decide` (no sharing)."""
    campaign = parse_campaign(campaign_text(at), "agree.toml", POLICY)
    step = first_step(campaign, POLICY)
    assert step.deadline is not None
    q = questions_for(
        POLICY, campaign.audience, step.channels, step.protect, [v.segment for v in campaign.versions]
    )
    found = await limits(
        db, POLICY, at=at, begin=max(step.start, at), end=step.deadline, exclude_campaign=campaign.id
    )
    out: dict[str, Decision] = {}
    async with reading(db, POLICY, at) as ctx:
        async for s in situations(db, ctx, POLICY, q, silences=found.silences, counted=found.counted):
            d = decide(s, step, POLICY, at)
            if isinstance(d, Send):
                out[s.contact_id] = Decision(
                    s.contact_id,
                    d.channel,
                    to_epoch(d.due),
                    None,
                    d.holdout,
                    d.version,
                    d.variant,
                    s.rfm_segment,
                )
            else:
                assert isinstance(d, Exclude)  # a first send is never deferred
                channel = Decider(step, POLICY, at).channel(s)
                out[s.contact_id] = Decision(s.contact_id, channel, None, d.reason, rfm_segment=s.rfm_segment)
        groups = {
            cid: group
            async for batch in member_batches(
                db, ctx, POLICY, q, silences=found.silences, counted=found.counted
            )
            for cid, _, group in batch
        }
    # The clones of a contact without silences or counted messages share its group (the grouping is
    # exercised); a contact with either is decided alone.
    alone = set(found.counted) | set(found.silences)
    for cid, group in groups.items():
        assert (group is None) == (cid in alone), cid
        if "k" in cid and group is not None:
            original = cid.split("k")[0]
            assert original in alone or group == groups[original], cid
    return out


async def _check(template: Path, base: list[ContactData], at: datetime, sent: list[PlannedRow]) -> None:
    copy = template.parent / f"grouped-{next(_copies)}.db"
    shutil.copyfile(template, copy)
    db = await Database.open(copy)
    try:
        await write_contacts(db, base)
        await insert_planned(db, sent, now=to_epoch(at))
        campaign = parse_campaign(campaign_text(at), "agree.toml", POLICY)
        grouped = [d async for batch in decision_batches(db, campaign, POLICY, at) for d in batch]
        assert [d.contact_id for d in grouped] == sorted(c.id for c in base)
        expected = await _per_contact(db, at)
        for d in grouped:
            note(f"{d} / {expected[d.contact_id]}")
            assert d == expected[d.contact_id]
    finally:
        await db.close()


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)
@given(
    originals=contacts(max_size=4),
    clones=st.integers(1, 4),
    hours=st.integers(-30, 30),
    data=st.data(),
)
def test_grouped_decisions_are_each_contacts_own(
    template_db: Path, originals: list[ContactData], clones: int, hours: int, data: st.DataObject
) -> None:
    at = AT_BASE + hours * HOUR
    base = originals + [clone(c, n) for c in originals for n in range(1, clones + 1)]
    sent = data.draw(sent_before(at, [c.id for c in base]))
    asyncio.run(_check(template_db, base, at, sent))
